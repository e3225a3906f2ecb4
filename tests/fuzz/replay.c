/* SPDX-License-Identifier: ISC */
/*
 * A stand-in for libFuzzer's main: runs LLVMFuzzerTestOneInput once over
 * each file named on the command line, or over every regular file in a
 * directory named there (in name order). Used when not building with
 * libFuzzer, so that `make check` replays the committed corpora with any
 * compiler. It does not fuzz: no mutation, no coverage.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target over one file; returns -1 when it cannot be read. */
static int
replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 ||
	    (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) != 0) {
		perror(path);
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	/* Exactly size bytes, so a sanitizer sees any read past the end. */
	data = malloc(size > 0 ? (size_t)size : 1);
	if (data == NULL ||
	    fread(data, 1, (size_t)size, fp) != (size_t)size) {
		perror(path);
		free(data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir; returns the number that failed to read. */
static int
replay_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int bad = 0;

	if (d == NULL) {
		perror(dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		char *path;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, de->d_name) < 0)
			abort();
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		names = realloc(names, (n + 1) * sizeof(*names));
		if (names == NULL)
			abort();
		names[n++] = path;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), replay_cmp);
	for (i = 0; i < n; i++) {
		if (replay_file(names[i]) < 0)
			bad++;
		else
			(*count)++;
		free(names[i]);
	}
	free(names);
	return bad;
}

int
main(int argc, char **argv)
{
	int i, bad = 0, count = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			bad++;
		} else if (S_ISDIR(st.st_mode)) {
			bad += replay_dir(argv[i], &count);
		} else if (replay_file(argv[i]) < 0) {
			bad++;
		} else {
			count++;
		}
	}
	fprintf(stderr, "%s: replayed %d inputs, %d unreadable\n", argv[0],
	    count, bad);
	return bad ? 1 : 0;
}

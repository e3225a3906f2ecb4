/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target for the config loader: any bytes, as JSON text, must give
 * either a config or an error message, never both, never a crash or a leak.
 * Built as a libFuzzer binary with --enable-fuzzing; otherwise replay.c
 * supplies main() and runs the committed corpus through it in make check.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "xmalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	char *text, *err = NULL;

	/* config_parse takes a C string: a NUL inside ends the text early. */
	text = xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = config_parse(text, &err);
	if ((cfg == NULL) == (err == NULL) || (err != NULL && *err == '\0'))
		abort();
	if (cfg != NULL) {
		/* A parsed config must also survive the final check. */
		if (config_check(cfg, &err) == -1 && err == NULL)
			abort();
		config_unref(cfg);
	}
	free(err);
	free(text);
	return 0;
}

/* SPDX-License-Identifier: ISC */
/*
 * Tests for buf: appending text and bytes, formatted output, growth far past
 * the first allocation, consuming a prefix, reset and release.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

static void
test_add(void)
{
	struct buf b;
	char big[300];

	buf_init(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "init: empty");
	buf_adds(&b, "hello");
	buf_addc(&b, ',');
	buf_add(&b, " world!", 6);
	is_int(b.len, 12, "length after adds/addc/add");
	is_str(b.data, "hello, world", "contents, NUL-terminated");
	ok(b.cap > b.len, "room for the NUL");
	buf_add(&b, "", 0);
	is_int(b.len, 12, "adding nothing changes nothing");
	buf_add(&b, "a\0b", 3);
	is_int(b.len, 15, "binary bytes count");
	ok(memcmp(b.data + 12, "a\0b", 3) == 0 && b.data[15] == '\0',
	    "binary bytes kept, NUL after them");
	buf_reset(&b);
	ok(b.len == 0 && b.data[0] == '\0', "reset empties, keeps NUL");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_adds(&b, big);
	is_int(b.len, sizeof(big) - 1, "growth past the first allocation");
	is_str(b.data, big, "grown contents");
	buf_fini(&b);
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "fini: empty again");
	buf_reset(&b);
	ok(b.len == 0, "reset of an unallocated buf");
	buf_fini(&b);
}

static void
test_addf(void)
{
	struct buf b;
	char want[1300];
	int i;

	buf_init(&b);
	buf_addf(&b, "%s=%d", "n", 42);
	buf_addf(&b, " %05.1f|%x", 3.14159, 255u);
	is_str(b.data, "n=42 003.1|ff", "addf formats and appends");
	buf_reset(&b);
	for (i = 0; i < 100; i++)
		buf_addf(&b, "%03d,%s;", i, "abcdefg");
	want[0] = '\0';
	for (i = 0; i < 100; i++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "%03d,%s;", i, "abcdefg");
	is_str(b.data, want, "many addf calls, growing");
	buf_reset(&b);
	buf_addf(&b, "%s", "");
	ok(b.len == 0 && b.data[0] == '\0', "empty format");
	buf_fini(&b);
}

static void
test_consume(void)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "0123456789");
	buf_consume(&b, 3);
	is_str(b.data, "3456789", "consume a prefix");
	is_int(b.len, 7, "length after consume");
	buf_consume(&b, 0);
	is_str(b.data, "3456789", "consume nothing");
	buf_consume(&b, 7);
	ok(b.len == 0 && b.data[0] == '\0', "consume everything");
	buf_adds(&b, "ab");
	buf_consume(&b, 5);
	ok(b.len == 0 && b.data[0] == '\0', "consume more than there is");
	buf_adds(&b, "again");
	is_str(b.data, "again", "usable after consume");
	buf_truncate(&b, 9);
	is_str(b.data, "again", "truncate past the end keeps all");
	buf_truncate(&b, 2);
	ok(b.len == 2 && strcmp(b.data, "ag") == 0, "truncate keeps a prefix");
	buf_adds(&b, "ain");
	is_str(b.data, "again", "usable after truncate");
	buf_fini(&b);
}

static void
test_release(void)
{
	struct buf b;
	char *s;

	buf_init(&b);
	buf_adds(&b, "owned");
	s = buf_release(&b);
	is_str(s, "owned", "release hands over the string");
	ok(b.data == NULL && b.len == 0 && b.cap == 0, "and empties the buf");
	free(s);
	s = buf_release(&b);
	ok(s != NULL && s[0] == '\0', "release of an empty buf gives \"\"");
	free(s);
	buf_adds(&b, "reuse");
	is_str(b.data, "reuse", "usable after release");
	buf_fini(&b);
}

int
main(void)
{
	test_add();
	test_addf();
	test_consume();
	test_release();
	return done_testing();
}

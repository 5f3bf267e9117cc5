/* test-maildir-size-cache: the size cache file parser, formatter, lookup
 * and the bounds of reading it. */
#define _GNU_SOURCE 1
#include "maildir_size_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

#define H MAILDIR_SIZE_CACHE_HEADER

/* Parse TEXT (a C string) with at most MAX_ENTRIES entries; the number of
 * entries, or -1 if refused. ENTRIES_R, if not NULL, gets the entries
 * (to free). */
static long parse(const char *text, size_t max_entries,
		  struct maildir_size_cache_entry **entries_r)
{
	struct maildir_size_cache_entry *entries;
	const char *error = NULL;
	size_t count;

	if (maildir_size_cache_parse(text, strlen(text), max_entries, &entries,
				     &count, &error) < 0) {
		if (error == NULL || entries != NULL || count != 0)
			return -2;
		return -1;
	}
	if (entries_r != NULL)
		*entries_r = entries;
	else
		free(entries);
	return (long)count;
}

static void test_size_cache_parse_good(void)
{
	struct maildir_size_cache_entry *entries = NULL;
	struct maildir_size_cache cache;
	const char *text = H "1 0 0\n"
		"1700000001.M1 P1.host 3 5\n"	/* a blank in the base */
		"1700000001.M1P1.host,S=8 8 16\n"
		"1700000001.M1P1.host,S=8,W=9 8 8\n"
		"z 18446744073709551615 18446744073709551615\n";
	char out[512];
	size_t len;

	test_begin("maildir_size_cache_parse: a valid file, found by base, "
		   "formatted back byte for byte");
	test_assert_int_eq(parse(H, 10, NULL), 0);
	if (test_assert_int_eq(parse(text, 5, &entries), 5)) {
		test_assert(entries[1].base_len == 21
			    && memcmp(entries[1].base, "1700000001.M1 P1.host",
				      21) == 0);
		test_assert_int_eq(entries[1].disk_size, 3);
		test_assert_int_eq(entries[1].size, 5);
		test_assert(entries[4].size == UINT64_MAX);
		cache.data = NULL;
		cache.entries = entries;
		cache.count = 5;
		test_assert(maildir_size_cache_find(&cache, "z", 1)
			    == &entries[4]);
		test_assert(maildir_size_cache_find(&cache, "1", 1)
			    == &entries[0]);
		test_assert(maildir_size_cache_find(&cache,
						    "1700000001.M1P1.host,S=8",
						    24) == &entries[2]);
		test_assert(maildir_size_cache_find(&cache,
						    "1700000001.M1P1.host", 20)
			    == NULL);
		test_assert(maildir_size_cache_find(&cache, "zz", 2) == NULL);
		test_assert(maildir_size_cache_find(&cache, "0", 1) == NULL);
		len = maildir_size_cache_format(entries, 5, NULL, 0);
		test_assert_int_eq(len, strlen(text));
		test_assert_int_eq(maildir_size_cache_format(entries, 5, out,
							     len - 1), len);
		test_assert_int_eq(maildir_size_cache_format(entries, 5, out,
							     sizeof(out)),
				   len);
		test_assert(memcmp(out, text, len) == 0);
		free(entries);
	}
	test_end();
}

static void test_size_cache_parse_bad(void)
{
	static const char *const bad[] = {
		"", "relaygate-pop3-sizes 1", "relaygate-pop3-sizes 10\n",
		"RELAYGATE-POP3-SIZES 1\n", H "a 1 1",
		H "b 1 1\na 1 1\n", H "a 1 1\na 1 2\n", H "a 1 1\n\n",
		H "a 01 1\n", H "a 1 -1\n", H "a 1 1 \n", H "a 1 1\r\n", H "a 1\n", H "a\n", H "1 1\n",
		H " 1 1\n", H "a 1 18446744073709551616\n",
		H "a 1 100000000000000000000\n", H "a 2 1\n", H "a 2 5\n",
		H ".a 1 1\n", H "a/b 1 1\n", H "a:2, 1 1\n",
		H "a,S=2 1 1\n", H "a,S=1,S=2 2 2\n",
	};
	char line[MAILDIR_SIZE_CACHE_LINE_MAX + 64];
	size_t i;

	test_begin("maildir_size_cache_parse: every malformed file refused "
		   "whole, nothing allocated");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		test_assert_idx(parse(bad[i], 100, NULL) == -1, i);
	/* a NUL in a base name */
	{
		struct maildir_size_cache_entry *entries;
		const char text[] = H "a\0b 1 1\n";
		const char *error;
		size_t count;

		test_assert(maildir_size_cache_parse(text, sizeof(text) - 1,
						     10, &entries, &count,
						     &error) < 0);
	}
	/* the longest base is accepted, one more byte is not */
	memcpy(line, H, strlen(H));
	memset(line + strlen(H), 'b', MAILDIR_SIZE_CACHE_BASE_MAX);
	snprintf(line + strlen(H) + MAILDIR_SIZE_CACHE_BASE_MAX, 64,
		 " 10000000000000000000 10000000000000000000\n");
	test_assert_int_eq(strlen(line) - strlen(H),
			   MAILDIR_SIZE_CACHE_LINE_MAX);
	test_assert_int_eq(parse(line, 1, NULL), 1);
	memset(line + strlen(H), 'b', MAILDIR_SIZE_CACHE_BASE_MAX + 1);
	snprintf(line + strlen(H) + MAILDIR_SIZE_CACHE_BASE_MAX + 1, 64,
		 " 1 1\n");
	test_assert_int_eq(parse(line, 1, NULL), -1);
	/* blanks belong to the base name: only the last two split */
	test_assert_int_eq(parse(H " a 1 1\n" "a  1 1\n" "a 1 1 1\n", 3,
				 NULL), 3);
	/* more entries than allowed */
	test_assert_int_eq(parse(H "a 1 1\nb 1 1\n", 2, NULL), 2);
	test_assert_int_eq(parse(H "a 1 1\nb 1 1\n", 1, NULL), -1);
	test_assert_int_eq(parse(H "a 1 1\n", 0, NULL), -1);
	test_end();
}

static void test_size_cache_entry_valid(void)
{
	test_begin("maildir_size_cache_entry_valid: base rules, CRLF size "
		   "within [disk, 2 * disk], S= is the size on disk");
	test_assert(maildir_size_cache_entry_valid("a", 1, 0, 0));
	test_assert(maildir_size_cache_entry_valid("a", 1, 5, 10));
	test_assert(!maildir_size_cache_entry_valid("a", 1, 5, 11));
	test_assert(!maildir_size_cache_entry_valid("a", 1, 5, 4));
	test_assert(maildir_size_cache_entry_valid("a", 1, UINT64_MAX,
						   UINT64_MAX));
	test_assert(!maildir_size_cache_entry_valid("a\nb", 3, 1, 1));
	test_assert(!maildir_size_cache_entry_valid("", 0, 1, 1));
	test_assert(maildir_size_cache_entry_valid("x,S=5", 5, 5, 7));
	test_assert(!maildir_size_cache_entry_valid("x,S=5", 5, 6, 7));
	test_assert(maildir_size_cache_entry_valid("x,S=5x", 6, 6, 7));
	test_end();
}

static void test_size_cache_sort(void)
{
	struct maildir_size_cache_entry entries[4] = {
		{ "b", 1, 1, 1 }, { "ab", 2, 1, 1 }, { "a", 1, 1, 1 },
		{ "\xff", 1, 1, 1 },
	};

	test_begin("maildir_size_cache_sort: byte order, shorter first");
	maildir_size_cache_sort(entries, 4);
	test_assert(entries[0].base_len == 1 && entries[0].base[0] == 'a');
	test_assert(entries[1].base_len == 2);
	test_assert(entries[2].base[0] == 'b');
	test_assert(entries[3].base[0] == '\xff');
	test_end();
}

static void test_size_cache_read_bounds(void)
{
	struct maildir_size_cache cache;
	struct maildir_size_cache_entry entry = { "a", 1, 2, 3 };
	char dir[] = "/tmp/relaygate-size-cache.XXXXXX", path[64];
	const char *error;
	int dir_fd, fd;

	test_begin("maildir_size_cache_read/write: none, written and read "
		   "back, refused over the size bound without reading");
	if (!test_assert(mkdtemp(dir) != NULL))
		goto end;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	test_assert_int_eq(maildir_size_cache_read(dir_fd, 10, &cache, &error),
			   0);
	test_assert(maildir_size_cache_write(dir_fd, &entry, 1, &error) == 0);
	test_assert_int_eq(maildir_size_cache_read(dir_fd, 10, &cache, &error),
			   1);
	test_assert(cache.count == 1 && cache.entries[0].size == 3);
	maildir_size_cache_free(&cache);
	test_assert(cache.entries == NULL && cache.data == NULL);
	/* max_entries bounds the file size too */
	snprintf(path, sizeof(path), "%s/%s", dir, MAILDIR_SIZE_CACHE_NAME);
	fd = open(path, O_WRONLY);
	test_assert(ftruncate(fd, (off_t)(strlen(H)
					  + 2 * MAILDIR_SIZE_CACHE_LINE_MAX
					  + 1)) == 0);
	test_assert_int_eq(maildir_size_cache_read(dir_fd, 2, &cache, &error),
			   -1);
	test_assert_strcmp(error, "file too large");
	/* 64 MiB at most whatever the message count (a sparse file) */
	test_assert(ftruncate(fd, MAILDIR_SIZE_CACHE_FILE_MAX + 1) == 0);
	test_assert_int_eq(maildir_size_cache_read(dir_fd, 1000000000, &cache,
						   &error), -1);
	test_assert_strcmp(error, "file too large");
	close(fd);
	unlink(path);
	close(dir_fd);
	rmdir(dir);
end:
	test_end();
}

int main(void)
{
	test_size_cache_parse_good();
	test_size_cache_parse_bad();
	test_size_cache_entry_valid();
	test_size_cache_sort();
	test_size_cache_read_bounds();
	return test_exit();
}

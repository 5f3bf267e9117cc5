/* fuzz-maildir-size-cache: maildir_size_cache_parse on any bytes, as they
 * are and behind a valid header. Invariants: a refused file allocates
 * nothing and says why; an accepted one has at most max_entries entries,
 * each inside the input, valid by maildir_size_cache_entry_valid(), in
 * strictly increasing order, found again by maildir_size_cache_find();
 * formatting the entries gives back the input byte for byte (the parser
 * accepts only what the writer writes). */
#include "maildir_size_cache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ENTRIES 64
#define FUZZ_HEADER_LEN (sizeof(MAILDIR_SIZE_CACHE_HEADER) - 1)

static void fuzz_check_parse(const char *text, size_t len)
{
	struct maildir_size_cache_entry *entries = NULL;
	const struct maildir_size_cache_entry *prev, *entry;
	struct maildir_size_cache cache;
	const char *error = NULL;
	size_t count = 99, i, out_len;
	char *out;

	if (maildir_size_cache_parse(text, len, FUZZ_MAX_ENTRIES, &entries,
				     &count, &error) < 0) {
		FUZZ_CHECK(error != NULL);
		FUZZ_CHECK(entries == NULL && count == 0);
		return;
	}
	FUZZ_CHECK(count <= FUZZ_MAX_ENTRIES);
	FUZZ_CHECK((count == 0) == (entries == NULL));
	FUZZ_CHECK(len >= FUZZ_HEADER_LEN);
	cache.data = NULL;
	cache.entries = entries;
	cache.count = count;
	for (i = 0; i < count; i++) {
		entry = &entries[i];
		FUZZ_CHECK(entry->base >= text + FUZZ_HEADER_LEN);
		FUZZ_CHECK(entry->base + entry->base_len <= text + len);
		FUZZ_CHECK(maildir_size_cache_entry_valid(entry->base,
							  entry->base_len,
							  entry->disk_size,
							  entry->size));
		FUZZ_CHECK(entry->size >= entry->disk_size);
		FUZZ_CHECK(entry->size - entry->disk_size <= entry->disk_size);
		if (i > 0) {
			prev = &entries[i - 1];
			FUZZ_CHECK(memcmp(prev->base, entry->base,
					  prev->base_len < entry->base_len
					  ? prev->base_len : entry->base_len)
				   <= 0);
		}
		FUZZ_CHECK(maildir_size_cache_find(&cache, entry->base,
						   entry->base_len) == entry);
	}
	/* the writer's text is the input */
	out_len = maildir_size_cache_format(entries, count, NULL, 0);
	FUZZ_CHECK(out_len == len);
	out = malloc(out_len);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(maildir_size_cache_format(entries, count, out, out_len)
		   == out_len);
	FUZZ_CHECK(memcmp(out, text, len) == 0);
	free(out);
	/* the sort keeps a sorted array as it is */
	maildir_size_cache_sort(entries, count);
	for (i = 0; i < count; i++)
		FUZZ_CHECK(maildir_size_cache_find(&cache, entries[i].base,
						   entries[i].base_len)
			   == &entries[i]);
	free(entries);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	/* exactly SIZE bytes on the heap: ASan sees any read past the end */
	text = malloc(size > 0 ? size : 1);
	FUZZ_CHECK(text != NULL);
	if (size > 0)
		memcpy(text, data, size);
	fuzz_check_parse(text, size);
	free(text);
	/* the same bytes as the lines of a file with a valid header */
	text = malloc(FUZZ_HEADER_LEN + size);
	FUZZ_CHECK(text != NULL);
	memcpy(text, MAILDIR_SIZE_CACHE_HEADER, FUZZ_HEADER_LEN);
	if (size > 0)
		memcpy(text + FUZZ_HEADER_LEN, data, size);
	fuzz_check_parse(text, FUZZ_HEADER_LEN + size);
	free(text);
	return 0;
}

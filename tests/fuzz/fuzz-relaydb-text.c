/* fuzz-relaydb-text: relaydb_text_parse on any bytes. Invariants: an error
 * names "fuzz.txt:" and returns nothing; accepted grants are valid,
 * distinct, and written back as a list they parse to the same grants. */
#include "relaydb_text.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write RESULT as list text (IPv6 in the full form, to exercise both key
 * forms) into a new buffer; its length in *LEN_R. */
static char *fuzz_write_list(const struct relaydb_text *result, size_t *len_r)
{
	/* per line: address (< ADDRESS_TEXT_MAX) + blank + 12 digits + \n */
	size_t size = result->count * (ADDRESS_TEXT_MAX + 16) + 64, len = 0, i;
	char *text = malloc(size);
	char addr[ADDRESS_TEXT_MAX], comment[64];

	FUZZ_CHECK(text != NULL);
	len += (size_t)snprintf(text, size, "%s\n",
				relaydb_text_comment(0, comment,
						     sizeof(comment)));
	for (i = 0; i < result->count; i++) {
		const struct relaydb_grant *grant = &result->grants[i];
		const char *form = i % 2 == 0
			? address_format_full(&grant->address, addr)
			: address_format(&grant->address, addr);

		len += (size_t)snprintf(text + len, size - len, "%s %lld\n",
					form, (long long)grant->when);
		FUZZ_CHECK(len < size);
	}
	*len_r = len;
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct relaydb_text result = { NULL, 0 }, again = { NULL, 0 };
	char error[256], comment[64];
	size_t i, j, len;
	char *text;

	memset(error, 'X', sizeof(error));
	/* the text is not NUL-terminated: the parser must honour SIZE */
	if (relaydb_text_parse("fuzz.txt", (const char *)data, size, &result,
			       error, sizeof(error)) < 0) {
		FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL);
		FUZZ_CHECK(strncmp(error, "fuzz.txt:", 9) == 0);
		FUZZ_CHECK(result.grants == NULL && result.count == 0);
		return 0;
	}
	for (i = 0; i < result.count; i++) {
		const struct relaydb_grant *grant = &result.grants[i];

		FUZZ_CHECK(grant->address.family == AF_INET
			   || grant->address.family == AF_INET6);
		FUZZ_CHECK(grant->when >= 0 && grant->when <= RELAYDB_TIME_MAX);
		relaydb_text_comment(grant->when, comment, sizeof(comment));
		FUZZ_CHECK(strncmp(comment, "# timestamp (UTC): ", 19) == 0);
		for (j = 0; j < i; j++) {
			FUZZ_CHECK(grant->address.family
				   != result.grants[j].address.family
				   || memcmp(grant->address.bytes,
					     result.grants[j].address.bytes,
					     sizeof(grant->address.bytes)) != 0);
		}
	}

	text = fuzz_write_list(&result, &len);
	FUZZ_CHECK(relaydb_text_parse("again.txt", text, len, &again, error,
				      sizeof(error)) == 0);
	FUZZ_CHECK(again.count == result.count);
	for (i = 0; i < again.count; i++) {
		FUZZ_CHECK(again.grants[i].when == result.grants[i].when);
		FUZZ_CHECK(memcmp(&again.grants[i].address,
				  &result.grants[i].address,
				  sizeof(again.grants[i].address)) == 0);
	}
	free(text);
	relaydb_text_free(&again);
	relaydb_text_free(&result);
	return 0;
}

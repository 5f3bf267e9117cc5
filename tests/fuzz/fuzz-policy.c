/* fuzz-policy: a byte stream read as relaygate-lookupd reads a Postfix
 * policy connection. Invariants: a parsed request ends with an empty
 * line inside the input and within POLICY_REQUEST_MAX, says
 * request=smtpd_access_policy, and its kept values are NUL-terminated
 * copies found in the input; an invalid stream stops the parse. */
#include <stdint.h>
#include <string.h>

#include "fuzz-check.h"
#include "policy_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* True when TEXT (NUL-terminated) occurs in DATA[0..LEN). */
static int occurs(const uint8_t *data, size_t len, const char *text)
{
	size_t n = strlen(text), i;

	if (n == 0)
		return 1;
	for (i = 0; i + n <= len; i++) {
		if (memcmp(data + i, text, n) == 0)
			return 1;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		struct policy_request req;
		size_t consumed = 0;
		const char *error = NULL;
		enum policy_parse_result r;

		r = policy_request_parse(data + pos, size - pos, &req, &consumed,
					 &error);
		if (r == POLICY_PARSE_INVALID) {
			FUZZ_CHECK(error != NULL);
			break;
		}
		if (r == POLICY_PARSE_INCOMPLETE) {
			FUZZ_CHECK(size - pos <= POLICY_REQUEST_MAX + POLICY_LINE_MAX);
			break;
		}
		FUZZ_CHECK(consumed >= 2 && consumed <= size - pos);
		FUZZ_CHECK(consumed <= POLICY_REQUEST_MAX);
		FUZZ_CHECK(data[pos + consumed - 1] == '\n');
		FUZZ_CHECK(req.access_policy);
		FUZZ_CHECK(memchr(req.client_address, '\0',
				  sizeof(req.client_address)) != NULL);
		FUZZ_CHECK(memchr(req.recipient, '\0', sizeof(req.recipient)) != NULL);
		FUZZ_CHECK(occurs(data + pos, consumed, req.client_address));
		FUZZ_CHECK(occurs(data + pos, consumed, "request=smtpd_access_policy"));
		pos += consumed;
	}
	return 0;
}

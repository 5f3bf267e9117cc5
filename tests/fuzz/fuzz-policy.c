/* fuzz-policy: a byte stream read as relaygate-lookupd reads a Postfix
 * policy connection. Invariants: a parsed request ends with an empty
 * line inside the input and within POLICY_REQUEST_MAX, says
 * request=smtpd_access_policy, and its kept values are NUL-terminated
 * copies found in the input; an invalid stream stops the parse; and
 * reading the stream in pieces (the size set by the first byte, as the
 * daemon reads what the network brings) gives the same requests, the same
 * lengths and the same verdicts as reading it whole. */
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

/* Feed DATA[0..LEN) to a fresh parser STEP bytes more at a time. */
static enum policy_parse_result feed_in_pieces(struct policy_parser *parser,
					       const uint8_t *data, size_t len,
					       size_t step, size_t *consumed_r)
{
	size_t have = 0;
	const char *error = NULL;
	enum policy_parse_result r = POLICY_PARSE_INCOMPLETE;

	policy_parser_reset(parser);
	while (have < len) {
		have = len - have > step ? have + step : len;
		r = policy_parser_feed(parser, data, have, consumed_r, &error);
		if (r != POLICY_PARSE_INCOMPLETE)
			break;
	}
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy_parser whole, pieces;
	size_t pos = 1, step;

	if (size == 0)
		return 0;
	step = 1 + data[0] % 97;
	while (pos < size) {
		const struct policy_request *req = &whole.request;
		size_t consumed = 0, consumed_pieces = 0;
		const char *error = NULL;
		enum policy_parse_result r, r_pieces;

		policy_parser_reset(&whole);
		r = policy_parser_feed(&whole, data + pos, size - pos, &consumed,
				       &error);
		r_pieces = feed_in_pieces(&pieces, data + pos, size - pos, step,
					  &consumed_pieces);
		FUZZ_CHECK(r == r_pieces);
		if (r == POLICY_PARSE_INVALID) {
			FUZZ_CHECK(error != NULL);
			break;
		}
		if (r == POLICY_PARSE_INCOMPLETE) {
			FUZZ_CHECK(size - pos <= POLICY_REQUEST_MAX + POLICY_LINE_MAX);
			break;
		}
		FUZZ_CHECK(consumed == consumed_pieces);
		FUZZ_CHECK(memcmp(&whole.request, &pieces.request,
				  sizeof(whole.request)) == 0);
		FUZZ_CHECK(consumed >= 2 && consumed <= size - pos);
		FUZZ_CHECK(consumed <= POLICY_REQUEST_MAX);
		FUZZ_CHECK(data[pos + consumed - 1] == '\n');
		FUZZ_CHECK(req->access_policy);
		FUZZ_CHECK(memchr(req->client_address, '\0',
				  sizeof(req->client_address)) != NULL);
		FUZZ_CHECK(memchr(req->recipient, '\0', sizeof(req->recipient)) != NULL);
		FUZZ_CHECK(occurs(data + pos, consumed, req->client_address));
		FUZZ_CHECK(occurs(data + pos, consumed, "request=smtpd_access_policy"));
		pos += consumed;
	}
	return 0;
}

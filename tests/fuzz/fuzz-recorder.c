/* fuzz-recorder: bytes read as relaygate-recorder reads a connection:
 * lines of at most RECORDER_LINE_MAX bytes, each parsed as a request.
 * Invariants: nothing is read past the line, tokens fit their caps and
 * hold only printable non-blank bytes, and a parsed request written
 * again by the client's formatter parses to the same request. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "recorder_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check_token(const char *token)
{
	size_t i, len = strlen(token);

	FUZZ_CHECK(len >= 1 && len <= RECORDER_TOKEN_MAX);
	for (i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)token[i] > 0x20
			   && (unsigned char)token[i] < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
		struct recorder_request req, again;
		char line[RECORDER_LINE_MAX];
		const char *error = NULL;
		char *copy;
		size_t n;

		if (len + 1 > RECORDER_LINE_MAX)
			break;	/* the daemon closes the connection */
		/* An exact-size copy: ASan catches a read past the line. */
		copy = malloc(len + 1);
		FUZZ_CHECK(copy != NULL);
		memcpy(copy, data + pos, len);
		if (recorder_request_parse(copy, len, &req, &error) == 0) {
			fuzz_check_token(req.user);
			fuzz_check_token(req.source);
			FUZZ_CHECK(req.when >= 0 && req.when <= RELAYDB_TIME_MAX);
			n = recorder_request_format(&req.address, req.when,
						    req.user, req.source, line);
			FUZZ_CHECK(n <= RECORDER_LINE_MAX && line[n - 1] == '\n');
			FUZZ_CHECK(recorder_request_parse(line, n - 1, &again,
							  &error) == 0);
			FUZZ_CHECK(again.when == req.when);
			FUZZ_CHECK(again.address.family == req.address.family
				   && memcmp(again.address.bytes,
					     req.address.bytes,
					     sizeof(req.address.bytes)) == 0);
			FUZZ_CHECK(strcmp(again.user, req.user) == 0);
			FUZZ_CHECK(strcmp(again.source, req.source) == 0);
		} else
			FUZZ_CHECK(error != NULL);
		free(copy);
		if (nl == NULL)
			break;
		pos += len + 1;
	}
	return 0;
}

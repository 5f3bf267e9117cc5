/* fuzz-socketmap: a byte stream read as relaygate-lookupd reads a
 * socketmap connection: netstrings (payload at most SOCKETMAP_REQUEST_MAX)
 * split into "mapname key". Invariants: nothing is read past the input,
 * a parsed netstring re-encodes to the same bytes, names and keys fit
 * their fields, and an invalid stream stops the parse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "fuzz-check.h"
#include "netstring.h"
#include "socketmap_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (pos < size) {
		const unsigned char *payload = NULL;
		size_t payload_len = 0, consumed = 0;
		const char *error = NULL;
		enum netstring_result r;
		struct buffer out;
		struct socketmap_request req;

		r = netstring_parse(data + pos, size - pos, SOCKETMAP_REQUEST_MAX,
				    &payload, &payload_len, &consumed, &error);
		if (r == NETSTRING_INVALID) {
			FUZZ_CHECK(error != NULL);
			break;
		}
		if (r == NETSTRING_INCOMPLETE) {
			FUZZ_CHECK(error == NULL);
			break;
		}
		FUZZ_CHECK(consumed <= size - pos);
		FUZZ_CHECK(payload_len <= SOCKETMAP_REQUEST_MAX);
		FUZZ_CHECK(payload >= data + pos
			   && payload + payload_len <= data + pos + consumed);
		/* Round trip: our writer produces exactly the bytes read. */
		buffer_init(&out, 2 * SOCKETMAP_REQUEST_MAX);
		FUZZ_CHECK(netstring_append(&out, payload, payload_len) == 0);
		FUZZ_CHECK(buffer_length(&out) == consumed);
		FUZZ_CHECK(memcmp(buffer_data(&out), data + pos, consumed) == 0);
		buffer_free(&out);
		if (socketmap_request_parse(payload, payload_len, &req, &error) == 0) {
			FUZZ_CHECK(strlen(req.name) > 0
				   && strlen(req.name) <= SOCKETMAP_NAME_MAX);
			FUZZ_CHECK(strlen(req.key) <= SOCKETMAP_KEY_MAX);
			FUZZ_CHECK(strlen(req.name) + 1 + strlen(req.key)
				   == payload_len);
			FUZZ_CHECK(memcmp(req.name, payload, strlen(req.name)) == 0);
			FUZZ_CHECK(strchr(req.name, ' ') == NULL);
		} else {
			FUZZ_CHECK(error != NULL);
		}
		pos += consumed;
	}
	return 0;
}

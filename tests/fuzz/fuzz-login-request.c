/* fuzz-login-request: a message from an unprivileged login process parsed
 * as relaygate-pop3d's root auth process parses it. Invariants: an
 * accepted request has a known method, a user of 1 to 255 bytes without
 * controls or spaces, a secret of at most 1024 bytes, and formats back to
 * exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "login_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char again[LOGIN_REQUEST_MAX + 16];
	struct login_request request;
	const char *error = NULL;
	size_t len, i;

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	if (login_request_parse(copy, size, &request, &error) < 0) {
		FUZZ_CHECK(error != NULL);
		free(copy);
		return 0;
	}
	FUZZ_CHECK(request.method == LOGIN_METHOD_USER
		   || request.method == LOGIN_METHOD_PLAIN
		   || request.method == LOGIN_METHOD_APOP);
	len = strlen(request.user);
	FUZZ_CHECK(len >= 1 && len <= LOGIN_REQUEST_USER_MAX);
	for (i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)request.user[i] > 0x20
			   && (unsigned char)request.user[i] != 0x7f);
	FUZZ_CHECK(strlen(request.secret) <= LOGIN_REQUEST_SECRET_MAX);
	len = login_request_format(&request, again, sizeof(again));
	FUZZ_CHECK(len == size && memcmp(again, data, size) == 0);
	free(copy);
	return 0;
}

/* fuzz-sasl-plain: a client's AUTH PLAIN response decoded as
 * relaygate-pop3d's login process decodes it. Invariants: on success the
 * three parts lie inside the decoded message, the user is not empty, an
 * authorization identity is empty or the user, and the message re-encodes
 * to the same base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fuzz-check.h"
#include "sasl_plain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_plain plain;
	const char *error = NULL;
	unsigned char again[SASL_PLAIN_MESSAGE_MAX * 2];
	size_t zlen, ulen, plen, total;
	int n;

	if (sasl_plain_decode((const char *)data, size, &plain, &error) < 0) {
		FUZZ_CHECK(error != NULL);
		sasl_plain_wipe(&plain);
		return 0;
	}
	zlen = strlen(plain.authzid);
	ulen = strlen(plain.authcid);
	plen = strlen(plain.password);
	FUZZ_CHECK(plain.authzid == plain.message);
	FUZZ_CHECK(plain.authcid == plain.message + zlen + 1);
	FUZZ_CHECK(plain.password == plain.authcid + ulen + 1);
	FUZZ_CHECK(ulen > 0);
	FUZZ_CHECK(zlen == 0 || strcmp(plain.authzid, plain.authcid) == 0);
	total = zlen + 1 + ulen + 1 + plen;
	FUZZ_CHECK(total <= SASL_PLAIN_MESSAGE_MAX);
	n = EVP_EncodeBlock(again, (const unsigned char *)plain.message, (int)total);
	FUZZ_CHECK(n >= 0 && (size_t)n == size && memcmp(again, data, size) == 0);
	sasl_plain_wipe(&plain);
	return 0;
}

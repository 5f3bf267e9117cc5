/* sasl_plain: decode and split a SASL PLAIN response. Base64 goes through
 * OpenSSL after a strict check of the alphabet and the padding here. */
#include "sasl_plain.h"

#include <string.h>

#include <openssl/evp.h>

/* True when C is in the base64 alphabet (without '='). */
static int sasl_plain_base64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
	    || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int sasl_plain_decode(const char *base64, size_t len, struct sasl_plain *plain,
		      const char **error_r)
{
	size_t i, padding = 0, decoded_len;
	const char *first_nul, *second_nul, *end;
	int ret;

	memset(plain, 0, sizeof(*plain));
	if (len == 0 || len % 4 != 0) {
		*error_r = "invalid base64 length";
		return -1;
	}
	if (len / 4 * 3 > SASL_PLAIN_MESSAGE_MAX) {
		*error_r = "response too long";
		return -1;
	}
	if (base64[len - 1] == '=')
		padding = base64[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - padding; i++) {
		if (!sasl_plain_base64_char(base64[i])) {
			*error_r = "invalid base64 character";
			return -1;
		}
	}
	ret = EVP_DecodeBlock((unsigned char *)plain->message,
			      (const unsigned char *)base64, (int)len);
	if (ret < 0 || (size_t)ret < padding) {
		*error_r = "invalid base64";
		return -1;
	}
	decoded_len = (size_t)ret - padding;
	{
		/* canonical only: unused bits of the last group must be 0 */
		unsigned char again[4];
		size_t tail = decoded_len % 3 == 0 ? 3 : decoded_len % 3;

		if (EVP_EncodeBlock(again, (unsigned char *)plain->message
				    + decoded_len - tail, (int)tail) != 4
		    || memcmp(again, base64 + len - 4, 4) != 0) {
			*error_r = "invalid base64 padding bits";
			return -1;
		}
	}
	plain->message[decoded_len] = '\0';
	end = plain->message + decoded_len;

	first_nul = memchr(plain->message, '\0', decoded_len);
	if (first_nul == NULL || first_nul + 1 >= end) {
		*error_r = "expected authzid NUL authcid NUL password";
		return -1;
	}
	second_nul = memchr(first_nul + 1, '\0',
			    (size_t)(end - (first_nul + 1)));
	if (second_nul == NULL
	    || memchr(second_nul + 1, '\0', (size_t)(end - (second_nul + 1)))
	    != NULL) {
		*error_r = "expected authzid NUL authcid NUL password";
		return -1;
	}
	plain->authzid = plain->message;
	plain->authcid = first_nul + 1;
	plain->password = second_nul + 1;
	if (*plain->authcid == '\0') {
		*error_r = "empty user name";
		return -1;
	}
	if (*plain->authzid != '\0'
	    && strcmp(plain->authzid, plain->authcid) != 0) {
		*error_r = "logging in as another user is not supported";
		return -1;
	}
	return 0;
}

void sasl_plain_wipe(struct sasl_plain *plain)
{
	OPENSSL_cleanse(plain, sizeof(*plain));
}

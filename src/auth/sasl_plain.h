#ifndef RELAYGATE_SASL_PLAIN_H
#define RELAYGATE_SASL_PLAIN_H
/* sasl_plain: the SASL PLAIN message (RFC 4616) from its base64 form, as
 * POP3 AUTH (RFC 5034) and IMAP AUTHENTICATE carry it. */
#include <stddef.h>

/* Longest decoded message accepted (authzid, authcid and password). */
#define SASL_PLAIN_MESSAGE_MAX 2048

struct sasl_plain {
	char message[SASL_PLAIN_MESSAGE_MAX + 1];	/* decoded, NULs inside */
	const char *authzid;	/* "" when absent */
	const char *authcid;	/* the user */
	const char *password;
};

/* Decode BASE64 (LEN bytes; strict RFC 4648 alphabet and padding) into
 * PLAIN. An authorization identity other than empty or the user itself is
 * refused (no proxy logins). Returns 0, or -1 with *error_r. Wipe PLAIN
 * with sasl_plain_wipe() after use. */
int sasl_plain_decode(const char *base64, size_t len, struct sasl_plain *plain,
		      const char **error_r);

/* Erase the password and the rest of PLAIN. */
void sasl_plain_wipe(struct sasl_plain *plain);

#endif

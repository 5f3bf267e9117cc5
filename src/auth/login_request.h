#ifndef RELAYGATE_LOGIN_REQUEST_H
#define RELAYGATE_LOGIN_REQUEST_H
/* login_request: what an unprivileged login process asks of the session
 * process that checks passwords: "METHOD NUL USER NUL SECRET NUL FLAGS",
 * carried in one netstring. The session process trusts none of it. */
#include <stdbool.h>
#include <stddef.h>

#define LOGIN_REQUEST_USER_MAX 255
#define LOGIN_REQUEST_SECRET_MAX 1024
#define LOGIN_REQUEST_MAX (8 + LOGIN_REQUEST_USER_MAX + \
			   LOGIN_REQUEST_SECRET_MAX + 16)

enum login_method {
	LOGIN_METHOD_USER,	/* POP3 USER/PASS, IMAP LOGIN: a password */
	LOGIN_METHOD_PLAIN,	/* SASL PLAIN: a password */
	LOGIN_METHOD_APOP,	/* POP3 APOP: a digest */
};

struct login_request {
	enum login_method method;
	const char *user;
	const char *secret;	/* password or APOP digest */
	bool tls;		/* the client connection is encrypted */
};

/* The name of METHOD ("USER", "PLAIN", "APOP"). */
const char *login_method_name(enum login_method method);

/* Why USER cannot be a request's user name (empty, over 255 bytes, a
 * space, control byte or DEL: what no passwd-file entry holds), or NULL
 * when it can. */
const char *login_request_user_problem(const char *user);

/* Build the request into BUF (SIZE bytes); returns its length, or 0 when
 * the user name has a problem (above), the secret is too long, or the
 * request does not fit: whatever login_request_parse() would refuse. */
size_t login_request_format(const struct login_request *request, char *buf,
			    size_t size);

/* Parse DATA (LEN bytes, modified in place, NUL-terminated by the caller
 * at DATA[LEN]) into REQUEST, whose strings point into DATA. The user must
 * be 1 to 255 printable bytes without spaces. Returns 0, or -1 with
 * *error_r. */
int login_request_parse(char *data, size_t len, struct login_request *request,
			const char **error_r);

#endif

#ifndef RELAYGATE_POLICY_REQUEST_H
#define RELAYGATE_POLICY_REQUEST_H
/* policy_request: the Postfix SMTP access policy delegation protocol
 * (SMTPD_POLICY_README): "name=value" lines ended by an empty line. Only
 * the attributes relaygate needs are kept; unknown ones are ignored. */
#include <stdbool.h>
#include <stddef.h>

/* Longest attribute line and largest request, in bytes (newlines
 * included). Postfix's own requests are far below these. */
#define POLICY_LINE_MAX 4096
#define POLICY_REQUEST_MAX 65536

#define POLICY_VALUE_MAX 256	/* longest kept value, NUL included */

enum policy_parse_result {
	POLICY_PARSE_OK,		/* one whole request */
	POLICY_PARSE_INCOMPLETE,	/* valid so far: wait for more */
	POLICY_PARSE_INVALID,		/* protocol violation: close */
};

struct policy_request {
	bool access_policy;	/* the last request= is smtpd_access_policy */
	char client_address[POLICY_VALUE_MAX];	/* "" if none or too long */
	char protocol_state[32];
	char recipient[POLICY_VALUE_MAX];	/* truncated for the log */
	char sender[POLICY_VALUE_MAX];		/* truncated for the log */
};

/* The state of one request being read: the whole lines applied so far. */
struct policy_parser {
	size_t pos;			/* bytes of DATA already applied */
	struct policy_request request;	/* what they said */
};

/* Start reading a new request (also after each POLICY_PARSE_OK). */
void policy_parser_reset(struct policy_parser *parser);

/* Go on reading the request at the start of DATA (LEN bytes): the same
 * bytes as at the previous call since the reset, and maybe more. On
 * POLICY_PARSE_OK the request is parser->request and *consumed_r its
 * length, empty line included; on POLICY_PARSE_INVALID *error_r says what
 * was wrong (a line or request over the limits, a line without '=' or
 * without a name, a NUL byte, no request=smtpd_access_policy). Of an
 * attribute sent twice the last value counts (SMTPD_POLICY_README allows
 * the first or the last); unknown attributes, whatever their names, are
 * ignored; a client_address too long for any address reads as none. */
enum policy_parse_result policy_parser_feed(struct policy_parser *parser,
					    const unsigned char *data,
					    size_t len, size_t *consumed_r,
					    const char **error_r);

#endif

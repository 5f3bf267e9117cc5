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
	bool access_policy;	/* request=smtpd_access_policy was given */
	char client_address[POLICY_VALUE_MAX];
	char protocol_state[32];
	char recipient[POLICY_VALUE_MAX];	/* truncated for the log */
	char sender[POLICY_VALUE_MAX];		/* truncated for the log */
};

/* Parse the request at the start of DATA (LEN bytes). On POLICY_PARSE_OK
 * *consumed_r is the request's length, empty line included; on
 * POLICY_PARSE_INVALID *error_r says what was wrong (a line or request
 * over the limits, a line without '=', a NUL byte, a repeated attribute
 * we use, a request that is not smtpd_access_policy). */
enum policy_parse_result policy_request_parse(const unsigned char *data,
					      size_t len,
					      struct policy_request *request_r,
					      size_t *consumed_r,
					      const char **error_r);

#endif

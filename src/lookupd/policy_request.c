/* policy_request: bounded parser for Postfix policy requests. Must never
 * read past LEN, keep more than the caps, or accept a line without '='.
 * It resumes where the previous call stopped, so a request that arrives
 * a byte at a time is read once, not once per byte. */
#include "policy_request.h"

#include <string.h>

/* Copy VALUE (LEN bytes) into FIELD of SIZE bytes, truncating. */
static void policy_copy(char *field, size_t size, const unsigned char *value,
			size_t len)
{
	if (len >= size)
		len = size - 1;
	memcpy(field, value, len);
	field[len] = '\0';
}

static bool policy_name_is(const unsigned char *name, size_t len,
			   const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* Apply one "name=value" line (without its newline). SMTPD_POLICY_README:
 * a name holds anything but '=', NUL and newline; attributes we do not
 * use are ignored; of one sent twice the last value counts. */
static int policy_line(struct policy_request *req, const unsigned char *line,
		       size_t len, const char **error_r)
{
	const unsigned char *eq = memchr(line, '=', len);
	const unsigned char *value;
	size_t name_len, value_len;

	if (eq == NULL || eq == line) {
		*error_r = eq == NULL ? "attribute line without '='"
		    : "attribute line without a name";
		return -1;
	}
	name_len = (size_t)(eq - line);
	value = eq + 1;
	value_len = len - name_len - 1;
	if (policy_name_is(line, name_len, "request"))
		req->access_policy = value_len == 19
		    && memcmp(value, "smtpd_access_policy", 19) == 0;
	else if (policy_name_is(line, name_len, "client_address")) {
		/* no address is this long: none, so no grant (DUNNO) */
		if (value_len >= sizeof(req->client_address))
			value_len = 0;
		policy_copy(req->client_address, sizeof(req->client_address),
			    value, value_len);
	} else if (policy_name_is(line, name_len, "protocol_state")) {
		policy_copy(req->protocol_state, sizeof(req->protocol_state),
			    value, value_len);
	} else if (policy_name_is(line, name_len, "recipient")) {
		policy_copy(req->recipient, sizeof(req->recipient), value,
			    value_len);
	} else if (policy_name_is(line, name_len, "sender")) {
		policy_copy(req->sender, sizeof(req->sender), value, value_len);
	}
	return 0;
}

void policy_parser_reset(struct policy_parser *parser)
{
	memset(parser, 0, sizeof(*parser));
}

enum policy_parse_result policy_parser_feed(struct policy_parser *parser,
					    const unsigned char *data,
					    size_t len, size_t *consumed_r,
					    const char **error_r)
{
	struct policy_request *request = &parser->request;
	size_t pos = parser->pos;

	*error_r = NULL;
	for (;;) {
		const unsigned char *nl;
		size_t line_len, avail = len - pos;

		if (avail > POLICY_LINE_MAX)
			avail = POLICY_LINE_MAX;
		nl = memchr(data + pos, '\n', avail);
		if (nl == NULL) {
			parser->pos = pos;
			if (memchr(data + pos, '\0', avail) != NULL) {
				*error_r = "NUL byte in request";
				return POLICY_PARSE_INVALID;
			}
			if (avail == POLICY_LINE_MAX) {
				*error_r = "attribute line too long";
				return POLICY_PARSE_INVALID;
			}
			if (len > POLICY_REQUEST_MAX) {
				*error_r = "request too large";
				return POLICY_PARSE_INVALID;
			}
			return POLICY_PARSE_INCOMPLETE;
		}
		line_len = (size_t)(nl - (data + pos));
		if (pos + line_len + 1 > POLICY_REQUEST_MAX) {
			*error_r = "request too large";
			return POLICY_PARSE_INVALID;
		}
		if (memchr(data + pos, '\0', line_len) != NULL) {
			*error_r = "NUL byte in request";
			return POLICY_PARSE_INVALID;
		}
		/* Tolerate CRLF from hand-written clients. */
		if (line_len > 0 && data[pos + line_len - 1] == '\r')
			line_len--;
		if (line_len == 0) {
			pos = (size_t)(nl - data) + 1;
			break;
		}
		if (policy_line(request, data + pos, line_len, error_r) < 0)
			return POLICY_PARSE_INVALID;
		pos = (size_t)(nl - data) + 1;
	}
	parser->pos = pos;
	if (!request->access_policy) {
		*error_r = "request without request=smtpd_access_policy";
		return POLICY_PARSE_INVALID;
	}
	*consumed_r = pos;
	return POLICY_PARSE_OK;
}

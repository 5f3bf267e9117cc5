/* login_request: the one message that crosses from the unprivileged login
 * process to the process that may read the password file. Strict: field
 * count, lengths and characters are checked before anything is used. */
#include "login_request.h"

#include <string.h>

static const char *const login_method_names[] = {
	[LOGIN_METHOD_USER] = "USER",
	[LOGIN_METHOD_PLAIN] = "PLAIN",
	[LOGIN_METHOD_APOP] = "APOP",
};

const char *login_method_name(enum login_method method)
{
	return login_method_names[method];
}

const char *login_request_user_problem(const char *user)
{
	size_t i;

	if (*user == '\0' || strlen(user) > LOGIN_REQUEST_USER_MAX)
		return "expected a user name of 1 to 255 bytes";
	for (i = 0; user[i] != '\0'; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c <= 0x20 || c == 0x7f)
			return "control character or space in user name";
	}
	return NULL;
}

size_t login_request_format(const struct login_request *request, char *buf,
			    size_t size)
{
	const char *method = login_method_name(request->method);
	const char *flags = request->tls ? "tls" : "plain";
	size_t mlen = strlen(method), ulen = strlen(request->user);
	size_t slen = strlen(request->secret), flen = strlen(flags);
	size_t total = mlen + 1 + ulen + 1 + slen + 1 + flen;

	if (login_request_user_problem(request->user) != NULL
	    || slen > LOGIN_REQUEST_SECRET_MAX || total > size)
		return 0;
	memcpy(buf, method, mlen + 1);
	memcpy(buf + mlen + 1, request->user, ulen + 1);
	memcpy(buf + mlen + 1 + ulen + 1, request->secret, slen + 1);
	memcpy(buf + mlen + 1 + ulen + 1 + slen + 1, flags, flen);
	return total;
}

int login_request_parse(char *data, size_t len, struct login_request *request,
			const char **error_r)
{
	const char *field[4];
	size_t count = 0, i, start = 0;

	memset(request, 0, sizeof(*request));
	if (len > LOGIN_REQUEST_MAX) {
		*error_r = "request too long";
		return -1;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && data[i] != '\0')
			continue;
		if (count == 4) {
			*error_r = "too many fields";
			return -1;
		}
		data[i] = '\0';
		field[count++] = data + start;
		start = i + 1;
	}
	if (count != 4) {
		*error_r = "expected METHOD, USER, SECRET and FLAGS";
		return -1;
	}
	if (strcmp(field[0], "USER") == 0)
		request->method = LOGIN_METHOD_USER;
	else if (strcmp(field[0], "PLAIN") == 0)
		request->method = LOGIN_METHOD_PLAIN;
	else if (strcmp(field[0], "APOP") == 0)
		request->method = LOGIN_METHOD_APOP;
	else {
		*error_r = "unknown method";
		return -1;
	}
	*error_r = login_request_user_problem(field[1]);
	if (*error_r != NULL)
		return -1;
	if (strlen(field[2]) > LOGIN_REQUEST_SECRET_MAX) {
		*error_r = "secret too long";
		return -1;
	}
	if (strcmp(field[3], "tls") == 0)
		request->tls = true;
	else if (strcmp(field[3], "plain") != 0) {
		*error_r = "expected flags tls or plain";
		return -1;
	}
	request->user = field[1];
	request->secret = field[2];
	return 0;
}

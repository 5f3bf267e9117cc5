/* test-login-request: the message from an unprivileged login process to
 * the root auth process round-trips, and every malformed form (field
 * count, method, user characters and length, secret length, flags) is
 * refused before anything is used. */
#include "login_request.h"

#include <string.h>

#include "test-common.h"

static void test_login_request_round_trip(void)
{
	struct login_request in = { LOGIN_METHOD_PLAIN, "joe", "pass word", true };
	struct login_request out;
	char buf[LOGIN_REQUEST_MAX + 16];
	const char *error = NULL;
	size_t len;

	test_begin("login request: format and parse");
	len = login_request_format(&in, buf, sizeof(buf));
	test_assert(len == strlen("PLAIN") + 1 + 3 + 1 + 9 + 1 + 3);
	test_assert(login_request_parse(buf, len, &out, &error) == 0);
	test_assert(out.method == LOGIN_METHOD_PLAIN && out.tls);
	test_assert_strcmp(out.user, "joe");
	test_assert_strcmp(out.secret, "pass word");
	test_assert_strcmp(login_method_name(LOGIN_METHOD_APOP), "APOP");
	test_end();
}

static void test_login_request_bad(void)
{
	static const struct {
		const char *data;
		size_t len;
		const char *reason;
	} cases[] = {
		{ "USER\0joe\0secret", 15, "expected" },
		{ "USER\0joe\0secret\0plain\0x", 23, "too many" },
		{ "LOGIN\0joe\0secret\0plain", 22, "unknown method" },
		{ "USER\0\0secret\0plain", 18, "1 to 255" },
		{ "USER\0jo e\0secret\0plain", 22, "space" },
		{ "USER\0jo\te\0secret\0plain", 22, "control" },
		{ "USER\0joe\0secret\0maybe", 21, "flags" },
	};
	char copy[64], big[2048];
	struct login_request out;
	const char *error;
	size_t i;

	test_begin("login request: malformed ones are refused");
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		error = NULL;
		memcpy(copy, cases[i].data, cases[i].len);
		test_assert_case(login_request_parse(copy, cases[i].len, &out,
						     &error) < 0, cases[i].reason);
		test_assert_case(error != NULL && strstr(error, cases[i].reason)
				 != NULL, cases[i].reason);
	}
	/* a 1025-byte secret */
	memcpy(big, "USER\0joe\0", 9);
	memset(big + 9, 'x', 1025);
	memcpy(big + 9 + 1025, "\0plain", 6);
	error = NULL;
	test_assert(login_request_parse(big, 9 + 1025 + 6, &out, &error) < 0);
	test_assert(error != NULL && strstr(error, "secret") != NULL);
	test_end();
}

static void test_login_request_format_refuses(void)
{
	static const char *const users[] = {
		"", "jo e", "joe\t", "jo\x7f" "e", "jo\x01" "e",
	};
	struct login_request in = { LOGIN_METHOD_USER, "joe", "pw", false };
	char buf[LOGIN_REQUEST_MAX + 16], name[LOGIN_REQUEST_USER_MAX + 2];
	size_t i;

	/* what the auth process would refuse is never sent to it */
	test_begin("login request: format refuses what parse refuses");
	for (i = 0; i < sizeof(users) / sizeof(*users); i++) {
		in.user = users[i];
		test_assert_case(login_request_user_problem(users[i]) != NULL,
				 users[i]);
		test_assert_case(login_request_format(&in, buf, sizeof(buf))
				 == 0, users[i]);
	}
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	in.user = name;
	test_assert(login_request_format(&in, buf, sizeof(buf)) == 0);
	name[LOGIN_REQUEST_USER_MAX] = '\0';
	test_assert(login_request_user_problem(name) == NULL);
	test_assert(login_request_format(&in, buf, sizeof(buf)) > 0);
	test_assert(login_request_user_problem("j\xc3\xb6" "e") == NULL);
	test_end();
}

int main(void)
{
	test_login_request_round_trip();
	test_login_request_bad();
	test_login_request_format_refuses();
	return test_exit();
}

/* test-sasl-plain: SASL PLAIN responses (RFC 4616) as POP3 AUTH sends
 * them: the three parts are split, an authorization identity other than
 * the user is refused, and bad base64 (length, alphabet, padding, stray
 * padding bits) and malformed messages are rejected with a reason. */
#include "sasl_plain.h"

#include <string.h>

#include "test-common.h"

static void test_sasl_plain_good(void)
{
	struct sasl_plain plain;
	const char *error = NULL;

	test_begin("sasl plain: accepted forms");
	/* "\0joe\0secret" */
	test_assert(sasl_plain_decode("AGpvZQBzZWNyZXQ=", 16, &plain, &error) == 0);
	test_assert_strcmp(plain.authzid, "");
	test_assert_strcmp(plain.authcid, "joe");
	test_assert_strcmp(plain.password, "secret");
	sasl_plain_wipe(&plain);
	/* "joe\0joe\0secret": authzid equal to the user */
	test_assert(sasl_plain_decode("am9lAGpvZQBzZWNyZXQ=", 20, &plain, &error) == 0);
	test_assert_strcmp(plain.authcid, "joe");
	/* "\0joe\0" : empty password is left to the verifier */
	test_assert(sasl_plain_decode("AGpvZQA=", 8, &plain, &error) == 0);
	test_assert_strcmp(plain.password, "");
	sasl_plain_wipe(&plain);
	test_assert(plain.message[0] == '\0' && plain.authcid == NULL);
	test_end();
}

static void test_sasl_plain_bad(void)
{
	static const struct {
		const char *input;
		const char *reason;
	} cases[] = {
		{ "", "length" },
		{ "AGpvZQBzZWNyZXQ", "length" },
		{ "AGpv*QBzZWNyZXQ=", "character" },
		{ "AGp=ZQBzZWNyZXQ=", "character" },
		{ "am9lAGpvZQBzZWNyNyZ=", "padding bits" },
		{ "c2VjcmV0", "authzid NUL" },		/* "secret" */
		{ "AABzZWNyZXQ=", "empty user" },	/* "\0\0secret" */
		{ "Ym9iAGpvZQBzZWNyZXQ=", "another user" }, /* bob\0joe\0secret */
		{ "AGpvZQBzZQBjcmV0", "authzid NUL" },	/* three NULs */
	};
	struct sasl_plain plain;
	size_t i;

	test_begin("sasl plain: rejected forms");
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const char *error = NULL;

		test_assert_case(sasl_plain_decode(cases[i].input,
						   strlen(cases[i].input), &plain,
						   &error) < 0, cases[i].input);
		test_assert_case(error != NULL && strstr(error, cases[i].reason)
				 != NULL, cases[i].input);
		sasl_plain_wipe(&plain);
	}
	test_end();
}

int main(void)
{
	test_sasl_plain_good();
	test_sasl_plain_bad();
	return test_exit();
}

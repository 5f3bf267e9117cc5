/* test-relaydb-text: the list/dump text form parses to canonical grants,
 * the two IPv6 key forms of one address collapse to one grant, and every
 * bad line is reported as NAME:LINE with nothing returned. */
#include "relaydb_text.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Parse TEXT (a C string) as "dump.txt". */
static int test_text_parse(const char *text, struct relaydb_text *result,
			   char *error, size_t error_size)
{
	error[0] = '\0';
	return relaydb_text_parse("dump.txt", text, strlen(text), result,
				  error, error_size);
}

/* The grant of RESULT for ADDR_TEXT, or NULL. */
static const struct relaydb_grant *
test_find_grant(const struct relaydb_text *result, const char *addr_text)
{
	struct address addr;
	const char *error;
	size_t i;

	if (!test_assert_case(address_parse(addr_text, &addr, &error) == 0,
			      addr_text))
		return NULL;
	for (i = 0; i < result->count; i++) {
		const struct relaydb_grant *grant = &result->grants[i];

		if (grant->address.family == addr.family
		    && memcmp(grant->address.bytes, addr.bytes,
			      sizeof(addr.bytes)) == 0)
			return grant;
	}
	return NULL;
}

/* RESULT holds ADDR_TEXT with time WHEN. */
static bool test_has_grant(const struct relaydb_text *result,
			   const char *addr_text, int64_t when)
{
	const struct relaydb_grant *grant = test_find_grant(result, addr_text);

	if (grant == NULL) {
		printf("# no grant for %s\n", addr_text);
		return false;
	}
	if (grant->when != when) {
		printf("# grant for %s has time %lld, want %lld\n", addr_text,
		       (long long)grant->when, (long long)when);
		return false;
	}
	return true;
}

static void test_text_good(void)
{
	static const char text[] =
		"# relayers.db dump\n"
		"# timestamp (UTC): Tue Sep 22 22:15:27 1998\n"
		"10.11.12.13 906502527\n"
		"\n"
		"   # indented comment\n"
		"192.0.2.7\t1700000000\n"
		"  198.51.100.1    0  \n"
		"\t \t192.0.2.8 \t 5\n"
		"2001:DB8::5 1700000001\n"
		"IPv6:2001:db8::6 1700000002\n"
		"::ffff:203.0.113.9 1700000003\r\n"
		"fe80:0:0:0:0:0:0:1 253402300799\n"
		"\t\n"
		"# end";
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: a list with comments and blank lines gives canonical grants");
	if (test_assert(test_text_parse(text, &result, error,
					sizeof(error)) == 0)) {
		test_assert_int_eq(result.count, 8);
		test_assert(test_has_grant(&result, "10.11.12.13", 906502527));
		test_assert(test_has_grant(&result, "192.0.2.7", 1700000000));
		test_assert(test_has_grant(&result, "198.51.100.1", 0));
		test_assert(test_has_grant(&result, "192.0.2.8", 5));
		test_assert(test_has_grant(&result, "2001:db8::5", 1700000001));
		test_assert(test_has_grant(&result, "2001:db8::6", 1700000002));
		test_assert(test_has_grant(&result, "203.0.113.9", 1700000003));
		test_assert(test_has_grant(&result, "fe80::1", 253402300799LL));
		/* a mapped address becomes IPv4, not IPv6 */
		{
			const struct relaydb_grant *grant =
				test_find_grant(&result, "203.0.113.9");

			test_assert(grant != NULL
				    && grant->address.family == AF_INET);
		}
		relaydb_text_free(&result);
		test_assert(result.grants == NULL && result.count == 0);
	} else {
		printf("# error: %s\n", error);
	}
	test_end();
}

static void test_text_empty(void)
{
	static const char *const texts[] = {
		"", "\n", "# only a comment\n", "  \n\t\n# x\n\r\n",
	};
	size_t i;

	test_begin("relaydb_text: empty and comment-only text gives no grants");
	for (i = 0; i < N_ELEMENTS(texts); i++) {
		struct relaydb_text result = { NULL, 99 };
		char error[256];

		test_assert_idx(test_text_parse(texts[i], &result, error,
						sizeof(error)) == 0, i);
		test_assert_idx(result.count == 0, i);
		relaydb_text_free(&result);
	}
	test_end();
}

static void test_text_ipv6_forms_collapse(void)
{
	static const char text[] =
		"2001:db8::5 1700000000\n"
		"192.0.2.7 1600000000\n"
		"2001:db8:0:0:0:0:0:5 1700000000\n";
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: both IPv6 key forms of one address are one grant");
	if (test_assert(test_text_parse(text, &result, error,
					sizeof(error)) == 0)) {
		test_assert_int_eq(result.count, 2);
		test_assert(test_has_grant(&result, "2001:db8::5", 1700000000));
		test_assert(test_has_grant(&result, "192.0.2.7", 1600000000));
		relaydb_text_free(&result);
	} else {
		printf("# error: %s\n", error);
	}
	test_end();
}

static void test_text_ipv6_forms_conflict(void)
{
	static const char text[] =
		"# dump\n"
		"2001:db8:0:0:0:0:0:5 1700000000\n"
		"192.0.2.7 1600000000\n"
		"2001:db8::5 1700000099\n";
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: both IPv6 key forms with different times are an error");
	test_assert(test_text_parse(text, &result, error, sizeof(error)) == -1);
	test_assert_contains(error, "dump.txt:4:");
	test_assert_contains(error, "line 2");	/* names the other line */
	test_assert(result.grants == NULL && result.count == 0);
	test_end();
}

struct text_error_case {
	const char *text;
	const char *where;	/* "dump.txt:LINE:" */
};

static void test_text_errors(void)
{
	static const struct text_error_case cases[] = {
		/* bad address */
		{ "10.1.1 100\n", "dump.txt:1:" },
		{ "# c\n10.1.1.1 1\n256.1.1.1 100\n", "dump.txt:3:" },
		{ "fe80::1%eth0 100\n", "dump.txt:1:" },
		{ "[2001:db8::1] 100\n", "dump.txt:1:" },
		{ "10.0.0.0/8 100\n", "dump.txt:1:" },
		{ "example.com 100\n", "dump.txt:1:" },
		{ "010.1.1.1 100\n", "dump.txt:1:" },
		/* bad timestamp */
		{ "10.1.1.1 abc\n", "dump.txt:1:" },
		{ "10.1.1.1 -5\n", "dump.txt:1:" },
		{ "10.1.1.1 +5\n", "dump.txt:1:" },
		{ "10.1.1.1 12x\n", "dump.txt:1:" },
		{ "10.1.1.1 0123\n", "dump.txt:1:" },
		{ "10.1.1.1 1.5\n", "dump.txt:1:" },
		{ "\n\n10.1.1.1 253402300800\n", "dump.txt:3:" },
		{ "10.1.1.1 99999999999999999999\n", "dump.txt:1:" },
		{ "10.1.1.1 30m\n", "dump.txt:1:" },
		/* missing timestamp */
		{ "10.1.1.1\n", "dump.txt:1:" },
		{ "10.1.1.1 \n", "dump.txt:1:" },
		{ "# c\n\n192.0.2.7", "dump.txt:3:" },
		/* extra field */
		{ "10.1.1.1 100 extra\n", "dump.txt:1:" },
		{ "10.1.1.1 100 # comment\n", "dump.txt:1:" },
		{ "10.1.1.1 100 200\n", "dump.txt:1:" },
		/* other forms */
		{ "10.1.1.1,100\n", "dump.txt:1:" },
		{ "10.1.1.1:100\n", "dump.txt:1:" },
		{ "100 10.1.1.1\n", "dump.txt:1:" },
		/* one IPv4 address twice with different times */
		{ "10.1.1.1 100\n10.1.1.1 200\n", "dump.txt:2:" },
		{ "10.1.1.1 100\n::ffff:10.1.1.1 200\n", "dump.txt:2:" },
	};
	size_t i;

	test_begin("relaydb_text: bad address, timestamp, field count are errors with NAME:LINE");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct relaydb_text result = { NULL, 0 };
		char error[256];
		char label[96];

		snprintf(label, sizeof(label), "\"%.80s\"", cases[i].text);
		test_assert_case(test_text_parse(cases[i].text, &result, error,
						 sizeof(error)) == -1, label);
		test_assert_case(strncmp(error, cases[i].where,
					 strlen(cases[i].where)) == 0, label);
		test_assert_contains(error, cases[i].where);
		test_assert_case(result.grants == NULL && result.count == 0,
				 label);
	}
	test_end();
}

static void test_text_error_messages(void)
{
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: error messages say what is wrong");
	test_assert(test_text_parse("10.1.1 100\n", &result, error,
				    sizeof(error)) == -1);
	test_assert_contains(error, "address");
	test_assert(test_text_parse("10.1.1.1 abc\n", &result, error,
				    sizeof(error)) == -1);
	test_assert_contains(error, "timestamp");
	test_assert(test_text_parse("10.1.1.1\n", &result, error,
				    sizeof(error)) == -1);
	test_assert_contains(error, "one field");
	test_assert(test_text_parse("10.1.1.1 1 2\n", &result, error,
				    sizeof(error)) == -1);
	test_assert_contains(error, "more than two");
	test_end();
}

static void test_text_duplicate_same_time(void)
{
	static const char text[] =
		"10.1.1.1 100\n"
		"::ffff:10.1.1.1 100\n"
		"10.1.1.1 100\n";
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: one address repeated with one time is one grant");
	if (test_assert(test_text_parse(text, &result, error,
					sizeof(error)) == 0)) {
		test_assert_int_eq(result.count, 1);
		test_assert(test_has_grant(&result, "10.1.1.1", 100));
		relaydb_text_free(&result);
	}
	test_end();
}

static void test_text_nul_and_long_lines(void)
{
	static const char nul_text[] = "10.1.1.1 100\n10.1.1.2 1\0000\n";
	struct relaydb_text result = { NULL, 0 };
	char error[256];
	char *text;
	size_t len;

	test_begin("relaydb_text: NUL bytes and over-long lines are errors");
	test_assert(relaydb_text_parse("dump.txt", nul_text,
				       sizeof(nul_text) - 1, &result, error,
				       sizeof(error)) == -1);
	test_assert_contains(error, "dump.txt:2:");

	/* a line of RELAYDB_TEXT_LINE_MAX bytes is fine, one more is not */
	len = RELAYDB_TEXT_LINE_MAX + 64;
	text = malloc(len);
	if (text == NULL)
		abort();
	memset(text, ' ', len);
	memcpy(text, "10.1.1.1", 8);
	memcpy(text + RELAYDB_TEXT_LINE_MAX - 3, "100\n", 4);
	test_assert(relaydb_text_parse("dump.txt", text,
				       RELAYDB_TEXT_LINE_MAX + 1, &result,
				       error, sizeof(error)) == 0);
	test_assert(result.count == 1);
	relaydb_text_free(&result);
	memcpy(text + RELAYDB_TEXT_LINE_MAX - 3, " 100\n", 5);
	test_assert(relaydb_text_parse("dump.txt", text,
				       RELAYDB_TEXT_LINE_MAX + 2, &result,
				       error, sizeof(error)) == -1);
	test_assert_contains(error, "dump.txt:1:");
	free(text);
	test_end();
}

static void test_text_many(void)
{
	struct relaydb_text result = { NULL, 0 };
	char error[256];
	char *text;
	size_t len = 0, i;
	const size_t count = 5000;

	test_begin("relaydb_text: thousands of grants parse and stay distinct");
	text = malloc(count * 40);
	if (text == NULL)
		abort();
	for (i = 0; i < count; i++) {
		len += (size_t)sprintf(text + len, "10.%zu.%zu.1 %zu\n",
				       i / 256, i % 256, 1000 + i);
	}
	if (test_assert(relaydb_text_parse("dump.txt", text, len, &result,
					   error, sizeof(error)) == 0)) {
		test_assert_int_eq(result.count, count);
		test_assert(test_has_grant(&result, "10.0.0.1", 1000));
		test_assert(test_has_grant(&result, "10.19.135.1", 1000 + 4999));
		relaydb_text_free(&result);
	}
	free(text);
	test_end();
}

static void test_text_comment(void)
{
	char buf[128], text[256];
	struct relaydb_text result = { NULL, 0 };
	char error[256];

	test_begin("relaydb_text: the timestamp comment is sendmail's and parses as a comment");
	test_assert_strcmp(relaydb_text_comment(906502527, buf, sizeof(buf)),
			   "# timestamp (UTC): Tue Sep 22 22:15:27 1998");
	test_assert_strcmp(relaydb_text_comment(0, buf, sizeof(buf)),
			   "# timestamp (UTC): Thu Jan  1 00:00:00 1970");
	test_assert_strcmp(relaydb_text_comment(253402300799LL, buf,
						sizeof(buf)),
			   "# timestamp (UTC): Fri Dec 31 23:59:59 9999");
	snprintf(text, sizeof(text), "%s\n10.11.12.13 906502527\n",
		 relaydb_text_comment(906502527, buf, sizeof(buf)));
	if (test_assert(test_text_parse(text, &result, error,
					sizeof(error)) == 0)) {
		test_assert_int_eq(result.count, 1);
		relaydb_text_free(&result);
	}
	/* truncated to the buffer, still terminated */
	memset(buf, 'X', sizeof(buf));
	relaydb_text_comment(906502527, buf, 8);
	test_assert_strcmp(buf, "# times");
	test_assert(buf[8] == 'X');
	test_end();
}

int main(void)
{
	test_text_good();
	test_text_empty();
	test_text_ipv6_forms_collapse();
	test_text_ipv6_forms_conflict();
	test_text_errors();
	test_text_error_messages();
	test_text_duplicate_same_time();
	test_text_nul_and_long_lines();
	test_text_many();
	test_text_comment();
	return test_exit();
}

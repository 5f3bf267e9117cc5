/* test-strnum: the strict unsigned parser accepts exactly the canonical
 * decimal form of numbers up to the caller's limit and nothing else. */
#include "strnum.h"

#include "test-common.h"

struct strnum_case {
	const char *text;
	uint64_t max;
	int ret;		/* 0 or -1 */
	uint64_t value;		/* when ret == 0 */
};

/* Run CASES; on success the value must match, on failure an error text
 * must be given. */
static void test_strnum_cases(const struct strnum_case *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		uint64_t value = 12345;
		const char *error = NULL;
		char label[80];
		int ret = strnum_parse_u64(cases[i].text, cases[i].max, &value,
					   &error);

		snprintf(label, sizeof(label), "\"%s\" with max %" PRIu64,
			 cases[i].text, cases[i].max);

		test_assert_case(ret == cases[i].ret, label);
		if (ret == 0 && cases[i].ret == 0) {
			test_assert_case(value == cases[i].value, label);
		} else if (ret < 0) {
			test_assert_case(error != NULL && *error != '\0',
					 label);
		}
	}
}

static void test_strnum_valid(void)
{
	static const struct strnum_case cases[] = {
		{ "0", UINT64_MAX, 0, 0 },
		{ "1", UINT64_MAX, 0, 1 },
		{ "42", UINT64_MAX, 0, 42 },
		{ "906502527", UINT64_MAX, 0, 906502527 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "1000", 1000, 0, 1000 },
		{ "999", 1000, 0, 999 },
		{ "0", 0, 0, 0 },
		{ "9", 9, 0, 9 },
		{ "4294967295", 4294967295u, 0, 4294967295u },
	};

	test_begin("strnum: canonical numbers up to the limit are accepted");
	test_strnum_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_strnum_overflow(void)
{
	static const struct strnum_case cases[] = {
		/* max + 1 */
		{ "18446744073709551616", UINT64_MAX, -1, 0 },
		/* 20 digits, far above 2^64 */
		{ "99999999999999999999", UINT64_MAX, -1, 0 },
		{ "20000000000000000000", UINT64_MAX, -1, 0 },
		/* 21 digits */
		{ "100000000000000000000", UINT64_MAX, -1, 0 },
		{ "1001", 1000, -1, 0 },
		{ "10000", 1000, -1, 0 },
		{ "4294967296", 4294967295u, -1, 0 },
		{ "10", 9, -1, 0 },
	};

	test_begin("strnum: values above the limit are rejected");
	test_strnum_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_strnum_small_limit(void)
{
	/* limits below 9: a single digit may already exceed the limit */
	static const struct strnum_case cases[] = {
		{ "5", 5, 0, 5 },
		{ "6", 5, -1, 0 },
		{ "7", 5, -1, 0 },
		{ "9", 5, -1, 0 },
		{ "57", 5, -1, 0 },
		{ "1", 0, -1, 0 },
		{ "9", 0, -1, 0 },
		{ "1", 1, 0, 1 },
		{ "2", 1, -1, 0 },
	};

	test_begin("strnum: a single digit above a limit below 9 is rejected");
	test_strnum_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_strnum_not_canonical(void)
{
	static const struct strnum_case cases[] = {
		{ "00", UINT64_MAX, -1, 0 },
		{ "01", UINT64_MAX, -1, 0 },
		{ "007", UINT64_MAX, -1, 0 },
		{ "0000000000000000000001", UINT64_MAX, -1, 0 },
		{ "-1", UINT64_MAX, -1, 0 },
		{ "-0", UINT64_MAX, -1, 0 },
		{ "+1", UINT64_MAX, -1, 0 },
		{ "-", UINT64_MAX, -1, 0 },
		{ " 1", UINT64_MAX, -1, 0 },
		{ "1 ", UINT64_MAX, -1, 0 },
		{ "1 2", UINT64_MAX, -1, 0 },
		{ "\t1", UINT64_MAX, -1, 0 },
		{ "1\n", UINT64_MAX, -1, 0 },
		{ " ", UINT64_MAX, -1, 0 },
		{ "", UINT64_MAX, -1, 0 },
	};

	test_begin("strnum: leading zeros, signs, blanks and empty text are rejected");
	test_strnum_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_strnum_non_digits(void)
{
	static const struct strnum_case cases[] = {
		{ "a", UINT64_MAX, -1, 0 },
		{ "12a", UINT64_MAX, -1, 0 },
		{ "a12", UINT64_MAX, -1, 0 },
		{ "0x10", UINT64_MAX, -1, 0 },
		{ "1.5", UINT64_MAX, -1, 0 },
		{ "1e3", UINT64_MAX, -1, 0 },
		{ "1,000", UINT64_MAX, -1, 0 },
		{ "\xd9\xa1", UINT64_MAX, -1, 0 },	/* ARABIC-INDIC ONE */
		{ "1/", UINT64_MAX, -1, 0 },		/* '/' is '0' - 1 */
		{ "1:", UINT64_MAX, -1, 0 },		/* ':' is '9' + 1 */
	};

	test_begin("strnum: non-digits anywhere are rejected");
	test_strnum_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_strnum_null(void)
{
	uint64_t value = 7;
	const char *error = NULL;

	test_begin("strnum: NULL text is rejected, not dereferenced");
	test_assert(strnum_parse_u64(NULL, UINT64_MAX, &value, &error) == -1);
	test_assert(error != NULL);
	test_end();
}

int main(void)
{
	test_strnum_valid();
	test_strnum_overflow();
	test_strnum_small_limit();
	test_strnum_not_canonical();
	test_strnum_non_digits();
	test_strnum_null();
	return test_exit();
}

/* test-timespan: time values with units parse to exact seconds, garbage
 * and overflow are rejected, and formatting round-trips. */
#include "timespan.h"

#include "test-common.h"

struct timespan_case {
	const char *text;
	int ret;		/* 0 or -1 */
	int64_t seconds;	/* when ret == 0 */
};

/* Run CASES through timespan_parse(). */
static void test_timespan_cases(const struct timespan_case *cases,
				size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		int64_t seconds = -1;
		const char *error = NULL;
		char label[80];
		int ret = timespan_parse(cases[i].text, &seconds, &error);

		snprintf(label, sizeof(label), "\"%s\"", cases[i].text);
		test_assert_case(ret == cases[i].ret, label);
		if (ret == 0 && cases[i].ret == 0)
			test_assert_case(seconds == cases[i].seconds, label);
		else if (ret < 0)
			test_assert_case(error != NULL && *error != '\0', label);
	}
}

static void test_timespan_valid(void)
{
	static const struct timespan_case cases[] = {
		{ "30m", 0, 1800 },
		{ "1h30m", 0, 5400 },
		{ "900", 0, 900 },
		{ "900s", 0, 900 },
		{ "2w", 0, 2 * 604800 },
		{ "0", 0, 0 },
		{ "0s", 0, 0 },
		{ "1s", 0, 1 },
		{ "1m", 0, 60 },
		{ "1h", 0, 3600 },
		{ "1d", 0, 86400 },
		{ "1w", 0, 604800 },
		{ "1w1d1h1m1s", 0, 604800 + 86400 + 3600 + 60 + 1 },
		{ "90m", 0, 5400 },
		{ "2147483647", 0, TIMESPAN_MAX_SECONDS },
		{ "2147483647s", 0, TIMESPAN_MAX_SECONDS },
		{ "35791394m", 0, 35791394LL * 60 },
		{ "3550w", 0, 3550LL * 604800 },
		{ "2147483646s1s", 0, TIMESPAN_MAX_SECONDS },
	};

	test_begin("timespan: numbers with units give exact seconds");
	test_timespan_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_timespan_garbage(void)
{
	static const struct timespan_case cases[] = {
		{ "", -1, 0 },
		{ "m", -1, 0 },
		{ "s", -1, 0 },
		{ "30x", -1, 0 },
		{ "30M", -1, 0 },
		{ "30 m", -1, 0 },
		{ " 30m", -1, 0 },
		{ "30m ", -1, 0 },
		{ "30m\n", -1, 0 },
		{ "-5m", -1, 0 },
		{ "5m-1s", -1, 0 },
		{ "+5m", -1, 0 },
		{ "1.5h", -1, 0 },
		{ "1hh", -1, 0 },
		{ "h1", -1, 0 },
		{ "1h m", -1, 0 },
		{ "0x10", -1, 0 },
		{ "30min", -1, 0 },
	};

	test_begin("timespan: garbage, signs and blanks are rejected");
	test_timespan_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_timespan_trailing_bare_number(void)
{
	/* "1h30" reads like 1h30m but would mean 1h + 30s: reject it, a
	 * bare number is only the whole value ("900"). */
	static const struct timespan_case cases[] = {
		{ "1h30", -1, 0 },
		{ "30m30", -1, 0 },
	};

	test_begin("timespan: a bare number after a unit (\"1h30\") is rejected");
	test_timespan_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_timespan_overflow(void)
{
	static const struct timespan_case cases[] = {
		{ "2147483648", -1, 0 },
		{ "2147483648s", -1, 0 },
		{ "35791395m", -1, 0 },		/* 2147483700 s */
		{ "596524h", -1, 0 },		/* 2147486400 s */
		{ "24856d", -1, 0 },		/* 2147558400 s */
		{ "3551w", -1, 0 },		/* 2147644800 s */
		{ "2147483647s1s", -1, 0 },	/* the sum overflows */
		{ "3550w3550w", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "99999999999999999999999999999999999999s", -1, 0 },
		{ "9223372036854775807s", -1, 0 },
		{ "18446744073709551617s", -1, 0 },
	};

	test_begin("timespan: values above TIMESPAN_MAX_SECONDS are rejected");
	test_timespan_cases(cases, sizeof(cases) / sizeof(cases[0]));
	test_end();
}

static void test_timespan_null(void)
{
	int64_t seconds = 0;
	const char *error = NULL;

	test_begin("timespan: NULL text is rejected");
	test_assert(timespan_parse(NULL, &seconds, &error) == -1);
	test_assert(error != NULL);
	test_end();
}

static void test_timespan_format(void)
{
	static const struct {
		int64_t seconds;
		const char *text;
	} cases[] = {
		{ 0, "0s" },
		{ 1, "1s" },
		{ 90, "90s" },
		{ 1800, "30m" },
		{ 5400, "90m" },
		{ 7200, "2h" },
		{ 86400, "1d" },
		{ 90000, "25h" },
		{ 1209600, "2w" },
		{ 2147483647, "2147483647s" },
	};
	size_t i;

	test_begin("timespan: format uses the largest exact unit and round-trips");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[32];
		int64_t back = -1;
		const char *error;

		memset(buf, 'X', sizeof(buf));
		timespan_format(cases[i].seconds, buf, sizeof(buf));
		test_assert_strcmp(buf, cases[i].text);
		test_assert_case(timespan_parse(buf, &back, &error) == 0, buf);
		test_assert_case(back == cases[i].seconds, buf);
	}
	test_end();
}

static void test_timespan_format_small_buffer(void)
{
	char buf[8];

	test_begin("timespan: format truncates to the buffer and terminates it");
	memset(buf, 'X', sizeof(buf));
	timespan_format(2147483647, buf, 4);
	test_assert_strcmp(buf, "214");
	test_assert(buf[4] == 'X');
	test_end();
}

int main(void)
{
	test_timespan_valid();
	test_timespan_garbage();
	test_timespan_trailing_bare_number();
	test_timespan_overflow();
	test_timespan_null();
	test_timespan_format();
	test_timespan_format_small_buffer();
	return test_exit();
}

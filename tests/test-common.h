#ifndef RELAYGATE_TEST_COMMON_H
#define RELAYGATE_TEST_COMMON_H
/* test-common: a tiny unit test harness in the spirit of Dovecot's
 * lib-test. Each test program is one translation unit:
 *
 *   test_begin("address: IPv4 dotted quad");
 *   test_assert(address_parse("192.0.2.7", &addr, &error) == 0);
 *   test_end();
 *   ...
 *   return test_exit();
 *
 * Output is TAP: "ok - NAME" / "not ok - NAME" per test, "# FILE:LINE: ..."
 * for each failed assertion, and the plan "1..N" at the end. A test that
 * asserts nothing is reported as failed: a test that cannot fail is a
 * defect. This header must never hide a failure: test_exit() returns
 * non-zero when any assertion failed or a test was left open. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_state {
	const char *name;	/* current test, NULL between tests */
	unsigned asserts;	/* assertions checked in the current test */
	unsigned failures;	/* failed assertions in the current test */
	unsigned tests;		/* tests ended so far */
	unsigned failed_tests;	/* tests that failed */
	unsigned stray_failures; /* failed assertions outside any test */
};

static struct test_state test_state;

/* Start the test NAME (a string literal or other long-lived string). */
static inline void test_begin(const char *name)
{
	if (test_state.name != NULL) {
		printf("# test \"%s\" was not ended before \"%s\" began\n",
		       test_state.name, name);
		test_state.stray_failures++;
	}
	test_state.name = name;
	test_state.asserts = 0;
	test_state.failures = 0;
	fflush(stdout);
}

/* Record one assertion; prints FILE:LINE and the expression on failure.
 * Returns OK so callers can skip checks that would crash after a failure. */
static inline bool test_assert_at(bool ok, const char *expr, const char *file,
				  int line)
{
	if (test_state.name != NULL)
		test_state.asserts++;
	if (!ok) {
		printf("# %s:%d: assertion failed: %s\n", file, line, expr);
		if (test_state.name != NULL)
			test_state.failures++;
		else
			test_state.stray_failures++;
		fflush(stdout);
	}
	return ok;
}

/* As test_assert_at(), naming the loop index IDX of a table-driven test. */
static inline bool test_assert_idx_at(bool ok, const char *expr, long long idx,
				      const char *file, int line)
{
	if (!ok)
		printf("# %s:%d: in case %lld:\n", file, line, idx);
	return test_assert_at(ok, expr, file, line);
}

/* As test_assert_at(), naming the case LABEL of a table-driven test
 * (quote inputs in LABEL yourself when blanks matter). */
static inline bool test_assert_case_at(bool ok, const char *expr,
				       const char *label, const char *file,
				       int line)
{
	if (!ok)
		printf("# %s:%d: in case %s:\n", file, line,
		       label != NULL ? label : "(null)");
	return test_assert_at(ok, expr, file, line);
}

/* String equality; prints both strings on failure. NULL equals only NULL. */
static inline bool test_assert_strcmp_at(const char *got, const char *want,
					 const char *expr, const char *file,
					 int line)
{
	bool ok = (got == NULL || want == NULL) ? got == want
						: strcmp(got, want) == 0;

	if (!ok)
		printf("# %s:%d: got \"%s\", want \"%s\"\n", file, line,
		       got != NULL ? got : "(null)",
		       want != NULL ? want : "(null)");
	return test_assert_at(ok, expr, file, line);
}

/* True when HAYSTACK contains NEEDLE; prints both on failure. */
static inline bool test_assert_contains_at(const char *haystack,
					   const char *needle,
					   const char *expr, const char *file,
					   int line)
{
	bool ok = haystack != NULL && needle != NULL
		  && strstr(haystack, needle) != NULL;

	if (!ok)
		printf("# %s:%d: \"%s\" does not contain \"%s\"\n", file, line,
		       haystack != NULL ? haystack : "(null)",
		       needle != NULL ? needle : "(null)");
	return test_assert_at(ok, expr, file, line);
}

/* Integer equality; prints both values on failure. */
static inline bool test_assert_int_eq_at(intmax_t got, intmax_t want,
					 const char *expr, const char *file,
					 int line)
{
	if (got != want)
		printf("# %s:%d: got %jd, want %jd\n", file, line, got, want);
	return test_assert_at(got == want, expr, file, line);
}

#define test_assert(expr) \
	test_assert_at((expr) ? true : false, #expr, __FILE__, __LINE__)
#define test_assert_idx(expr, idx) \
	test_assert_idx_at((expr) ? true : false, #expr, (long long)(idx), \
			   __FILE__, __LINE__)
#define test_assert_case(expr, label) \
	test_assert_case_at((expr) ? true : false, #expr, (label), \
			    __FILE__, __LINE__)
#define test_assert_strcmp(got, want) \
	test_assert_strcmp_at((got), (want), #got " == " #want, \
			      __FILE__, __LINE__)
#define test_assert_contains(haystack, needle) \
	test_assert_contains_at((haystack), (needle), \
				#haystack " contains " #needle, \
				__FILE__, __LINE__)
#define test_assert_int_eq(got, want) \
	test_assert_int_eq_at((intmax_t)(got), (intmax_t)(want), \
			      #got " == " #want, __FILE__, __LINE__)

/* End the current test and print its "ok" / "not ok" line. */
static inline void test_end(void)
{
	const char *name = test_state.name != NULL ? test_state.name
						   : "(test_end without test_begin)";
	bool ok = test_state.name != NULL && test_state.failures == 0
		  && test_state.asserts > 0;

	test_state.tests++;
	if (ok) {
		printf("ok - %s\n", name);
	} else {
		test_state.failed_tests++;
		printf("not ok - %s%s\n", name,
		       test_state.name != NULL && test_state.asserts == 0
		       ? " # no assertion checked" : "");
	}
	test_state.name = NULL;
	fflush(stdout);
}

/* Print the plan and a summary; the exit status for main(): 0 only when
 * every test passed and nothing failed outside a test. */
static inline int test_exit(void)
{
	if (test_state.name != NULL) {
		printf("# test \"%s\" was never ended\n", test_state.name);
		test_end();
		test_state.stray_failures++;
	}
	printf("1..%u\n", test_state.tests);
	printf("# %u of %u tests failed", test_state.failed_tests,
	       test_state.tests);
	if (test_state.stray_failures > 0)
		printf(", %u failures outside tests", test_state.stray_failures);
	printf("\n");
	fflush(stdout);
	return test_state.failed_tests > 0 || test_state.stray_failures > 0
	       || test_state.tests == 0 ? 1 : 0;
}

#endif

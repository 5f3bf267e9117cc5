/* test-harness: proves that test-common.h can fail. Run with one mode;
 * every mode but "pass" must exit non-zero (meson: should_fail). */
#include "test-common.h"

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "pass") == 0) {
		test_begin("harness: a true assertion passes");
		test_assert(1 + 1 == 2);
		test_end();
	} else if (strcmp(mode, "assert-fails") == 0) {
		test_begin("harness: a false assertion fails the program");
		test_assert(1 + 1 == 3);
		test_end();
	} else if (strcmp(mode, "strcmp-fails") == 0) {
		test_begin("harness: unequal strings fail the program");
		test_assert_strcmp("a", "b");
		test_end();
	} else if (strcmp(mode, "no-assertion") == 0) {
		test_begin("harness: a test that asserts nothing fails");
		test_end();
	} else if (strcmp(mode, "never-ended") == 0) {
		test_begin("harness: a test never ended fails");
		test_assert(true);
	} else if (strcmp(mode, "stray") == 0) {
		test_assert(false);	/* outside any test */
		test_begin("harness: a later passing test does not hide it");
		test_assert(true);
		test_end();
	}
	/* an unknown mode runs no test, which test_exit() counts as failure */
	return test_exit();
}

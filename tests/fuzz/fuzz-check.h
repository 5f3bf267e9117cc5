#ifndef RELAYGATE_FUZZ_CHECK_H
#define RELAYGATE_FUZZ_CHECK_H
/* fuzz-check: invariant checks for the libFuzzer targets. A broken
 * invariant prints where and aborts, which libFuzzer reports as a crash
 * and saves the input. */
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(expr) do { \
	if (!(expr)) { \
		fprintf(stderr, "%s:%d: invariant failed: %s\n", \
			__FILE__, __LINE__, #expr); \
		abort(); \
	} \
} while (0)

#endif

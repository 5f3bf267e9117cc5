/* test-login-throttle: with a fake clock, the delay starts at 1 s and
 * doubles to 15 s, an address is refused from 10 recent failures, failures
 * decay one per quiet minute, IPv6 counts per /64, and the table stays at
 * its fixed size under 100,000 distinct addresses without losing an
 * address that keeps guessing. */
#include "login_throttle.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "test-common.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *context)
{
	(void)context;
	return fake_now;
}

static struct address addr(const char *text)
{
	struct address a;
	const char *error;

	memset(&a, 0, sizeof(a));
	test_assert_case(address_parse(text, &a, &error) == 0, text);
	return a;
}

static struct login_throttle *new_default(void)
{
	struct login_throttle_settings settings;

	login_throttle_defaults(&settings);
	fake_now = 1000000;
	return login_throttle_new(&settings, fake_clock, NULL);
}

static void test_throttle_delays(void)
{
	static const unsigned want[] = {
		1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000, 15000,
		15000, 15000,
	};
	struct login_throttle *t = new_default();
	struct address a = addr("192.0.2.7"), b = addr("192.0.2.8");
	size_t i;

	test_begin("login_throttle: delay 1 s doubling to 15 s, refused from the 10th failure");
	if (!test_assert(t != NULL)) {
		test_end();
		return;
	}
	test_assert(!login_throttle_refused(t, &a));
	test_assert_int_eq(login_throttle_failures(t, &a), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		test_assert_idx(!login_throttle_refused(t, &a) == (i < 10), i);
		test_assert_int_eq(login_throttle_failure(t, &a), want[i]);
		fake_now += 100;
	}
	test_assert(login_throttle_refused(t, &a));
	test_assert_int_eq(login_throttle_failures(t, &a), 11);
	/* another address is not affected */
	test_assert(!login_throttle_refused(t, &b));
	test_assert_int_eq(login_throttle_failure(t, &b), 1000);
	test_assert_int_eq(login_throttle_count(t), 2);
	login_throttle_free(&t);
	test_assert(t == NULL);
	test_end();
}

static void test_throttle_decay(void)
{
	struct login_throttle *t = new_default();
	struct address a = addr("198.51.100.1");
	unsigned i;

	test_begin("login_throttle: one failure is forgotten per quiet minute");
	if (!test_assert(t != NULL)) {
		test_end();
		return;
	}
	for (i = 0; i < 10; i++)
		login_throttle_failure(t, &a);
	test_assert(login_throttle_refused(t, &a));
	fake_now += 59999;
	test_assert(login_throttle_refused(t, &a));
	test_assert_int_eq(login_throttle_failures(t, &a), 10);
	fake_now += 1;
	test_assert(!login_throttle_refused(t, &a));
	test_assert_int_eq(login_throttle_failures(t, &a), 9);
	/* a partial period is kept after a decay step */
	fake_now += 30000;
	test_assert_int_eq(login_throttle_failures(t, &a), 9);
	fake_now += 30000;
	test_assert_int_eq(login_throttle_failures(t, &a), 8);
	/* the next failure counts on top of what remains: 9 -> 256 s, capped */
	test_assert_int_eq(login_throttle_failure(t, &a), 15000);
	fake_now += 9 * 60000;
	test_assert_int_eq(login_throttle_failures(t, &a), 0);
	test_assert_int_eq(login_throttle_count(t), 0);
	test_assert_int_eq(login_throttle_failure(t, &a), 1000);
	/* the clock going backwards does no harm */
	fake_now -= 500000;
	test_assert_int_eq(login_throttle_failures(t, &a), 1);
	login_throttle_free(&t);
	test_end();
}

static void test_throttle_saturation(void)
{
	struct login_throttle *t = new_default();
	struct address a = addr("203.0.113.9");
	unsigned i;

	test_begin("login_throttle: trying on while refused keeps an address refused longer");
	if (!test_assert(t != NULL)) {
		test_end();
		return;
	}
	for (i = 0; i < 1000; i++)
		login_throttle_failure(t, &a);
	test_assert_int_eq(login_throttle_failures(t, &a), 20);
	fake_now += 10 * 60000;
	test_assert(login_throttle_refused(t, &a));
	fake_now += 60000;
	test_assert(!login_throttle_refused(t, &a));
	login_throttle_free(&t);
	test_end();
}

static void test_throttle_ipv6_prefix(void)
{
	struct login_throttle *t = new_default();
	struct address a = addr("2001:db8:1:2::1"), b = addr("2001:db8:1:2:ffff::7");
	struct address c = addr("2001:db8:1:3::1"), v4 = addr("::ffff:192.0.2.1");
	unsigned i;

	test_begin("login_throttle: IPv6 addresses count per /64");
	if (!test_assert(t != NULL)) {
		test_end();
		return;
	}
	for (i = 0; i < 5; i++) {
		login_throttle_failure(t, &a);
		login_throttle_failure(t, &b);
	}
	test_assert(login_throttle_refused(t, &a));
	test_assert(login_throttle_refused(t, &b));
	test_assert(!login_throttle_refused(t, &c));
	test_assert_int_eq(login_throttle_failures(t, &c), 0);
	/* a mapped IPv4 address is IPv4 and counts alone */
	test_assert(v4.family == AF_INET);
	test_assert_int_eq(login_throttle_failure(t, &v4), 1000);
	test_assert_int_eq(login_throttle_count(t), 2);
	login_throttle_free(&t);
	test_end();
}

static void test_throttle_bounded(void)
{
	struct login_throttle *t = new_default();
	struct address hard = addr("192.0.2.66"), a;
	uint32_t i;

	test_begin("login_throttle: 100,000 addresses fit in 4096 slots and keep the hard guesser");
	if (!test_assert(t != NULL)) {
		test_end();
		return;
	}
	for (i = 0; i < 15; i++)
		login_throttle_failure(t, &hard);
	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	for (i = 0; i < 100000; i++) {
		uint32_t n = htonl(0x0a000000u + i);	/* 10.0.0.0/8 */

		memcpy(a.bytes, &n, 4);
		test_assert_int_eq(login_throttle_failure(t, &a), 1000) ;
		/* every 1000 addresses the guesser tries again */
		if (i % 1000 == 999)
			login_throttle_failure(t, &hard);
		fake_now += 1;
	}
	test_assert(login_throttle_count(t) <= 4096);
	test_assert(login_throttle_count(t) >= 4000);
	test_assert(login_throttle_refused(t, &hard));
	test_assert_int_eq(login_throttle_failures(t, &hard), 20);
	/* IPv6 from all over the space: still bounded */
	a.family = AF_INET6;
	for (i = 0; i < 100000; i++) {
		uint32_t n = htonl(i * 2654435761u);

		memset(a.bytes, 0, sizeof(a.bytes));
		a.bytes[0] = 0x20;
		a.bytes[1] = 0x01;
		memcpy(a.bytes + 4, &n, 4);
		login_throttle_failure(t, &a);
	}
	test_assert(login_throttle_count(t) <= 4096);
	test_assert(login_throttle_refused(t, &hard));
	login_throttle_free(&t);
	test_end();
}

static void test_throttle_settings(void)
{
	struct login_throttle_settings s;
	struct login_throttle *t;

	test_begin("login_throttle: unusable settings are refused, small tables work");
	login_throttle_defaults(&s);
	test_assert_int_eq(s.slots, 4096);
	test_assert_int_eq(s.base_delay_ms, 1000);
	test_assert_int_eq(s.max_delay_ms, 15000);
	test_assert_int_eq(s.refuse_after, 10);
	test_assert_int_eq(s.decay_ms, 60000);
	s.slots = 0;
	test_assert(login_throttle_new(&s, NULL, NULL) == NULL);
	login_throttle_defaults(&s);
	s.base_delay_ms = 20000;
	test_assert(login_throttle_new(&s, NULL, NULL) == NULL);
	login_throttle_defaults(&s);
	s.refuse_after = 0;
	test_assert(login_throttle_new(&s, NULL, NULL) == NULL);
	login_throttle_defaults(&s);
	s.decay_ms = 0;
	test_assert(login_throttle_new(&s, NULL, NULL) == NULL);
	login_throttle_defaults(&s);
	s.max_delay_ms = 4000000;
	test_assert(login_throttle_new(&s, NULL, NULL) == NULL);
	/* one set of 8; the real clock */
	login_throttle_defaults(&s);
	s.slots = 3;
	t = login_throttle_new(&s, NULL, NULL);
	if (test_assert(t != NULL)) {
		struct address a = addr("192.0.2.1");

		test_assert_int_eq(login_throttle_failure(t, &a), 1000);
		test_assert_int_eq(login_throttle_failure(t, &a), 2000);
		test_assert_int_eq(login_throttle_failures(t, &a), 2);
		login_throttle_free(&t);
	}
	test_end();
}

int main(void)
{
	test_throttle_delays();
	test_throttle_decay();
	test_throttle_saturation();
	test_throttle_ipv6_prefix();
	test_throttle_bounded();
	test_throttle_settings();
	return test_exit();
}

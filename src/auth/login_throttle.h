#ifndef RELAYGATE_LOGIN_THROTTLE_H
#define RELAYGATE_LOGIN_THROTTLE_H
/* login_throttle: remember recent failed logins per client address in a
 * table of fixed size, and say how long to wait before answering a failure
 * and when to refuse an address outright. Pure logic: the clock is
 * injectable, nothing sleeps here. IPv6 clients count per /64 (one
 * subscriber usually holds a whole /64). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"

/* Tunables; login_throttle_defaults() fills them. */
struct login_throttle_settings {
	unsigned slots;		/* table size, rounded up to a multiple of 8 */
	unsigned base_delay_ms;	/* delay after the first recent failure */
	unsigned max_delay_ms;	/* the delay doubles per failure up to this */
	unsigned refuse_after;	/* this many recent failures: refuse */
	unsigned decay_ms;	/* each quiet period forgets one failure */
};

/* Milliseconds from a monotonic clock. */
typedef uint64_t login_throttle_clock_fn(void *context);

struct login_throttle;

/* Defaults: 4096 slots, 1 s doubling to 15 s, refuse from 10 recent
 * failures, one failure forgotten per 60 s without a new one. */
void login_throttle_defaults(struct login_throttle_settings *settings_r);

/* A new table; CLOCK NULL means CLOCK_MONOTONIC. NULL when out of memory
 * or SETTINGS are unusable (zero slots, base 0 or above max, max over an
 * hour, refuse_after 0 or over 1000, decay 0). */
struct login_throttle *
login_throttle_new(const struct login_throttle_settings *settings,
		   login_throttle_clock_fn *clock, void *clock_context);

/* True when ADDRESS has too many recent failures: answer its login
 * attempts with a failure (after login_throttle_failure()'s delay) without
 * checking the password. */
bool login_throttle_refused(struct login_throttle *throttle,
			    const struct address *address);

/* Record a failed (or refused) login from ADDRESS; returns the delay in
 * milliseconds to wait before answering it. There is deliberately no
 * "success" call: a valid account must not let an address wipe its record
 * between guesses at other accounts. */
unsigned login_throttle_failure(struct login_throttle *throttle,
				const struct address *address);

/* Recent failures counted for ADDRESS now (0 when unknown). */
unsigned login_throttle_failures(struct login_throttle *throttle,
				 const struct address *address);

/* Addresses currently held (for tests and statistics). */
size_t login_throttle_count(struct login_throttle *throttle);

/* Release *THROTTLE and set it to NULL. */
void login_throttle_free(struct login_throttle **throttle);

#endif

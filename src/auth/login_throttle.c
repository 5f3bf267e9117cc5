/* login_throttle: a fixed-size, set-associative table of recent login
 * failures per client address (IPv4 /32, IPv6 /64). It never grows: when a
 * set is full the entry with the fewest failures (then the oldest) is
 * replaced, so a flood of one-off addresses cannot push out an address
 * that is guessing hard. The hash is keyed with a random seed so that
 * addresses cannot be chosen to collide. It must never sleep or log. */
#include "login_throttle.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

/* Entries per set. */
#define THROTTLE_WAYS 8
/* Failures are counted up to this many times refuse_after, so a client
 * that keeps trying while refused stays refused for longer. */
#define THROTTLE_SATURATION 2

struct throttle_entry {
	unsigned char key[9];	/* family tag + 4 or 8 address bytes */
	unsigned failures;	/* 0: slot free */
	uint64_t last_ms;	/* time of the last failure */
};

struct login_throttle {
	struct login_throttle_settings settings;
	login_throttle_clock_fn *clock;
	void *clock_context;
	uint64_t seed;
	size_t sets;
	struct throttle_entry *entries;	/* sets * THROTTLE_WAYS */
};

void login_throttle_defaults(struct login_throttle_settings *settings_r)
{
	settings_r->slots = 4096;
	settings_r->base_delay_ms = 1000;
	settings_r->max_delay_ms = 15000;
	settings_r->refuse_after = 10;
	settings_r->decay_ms = 60000;
}

static uint64_t throttle_monotonic_ms(void *context)
{
	struct timespec ts;

	(void)context;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct login_throttle *
login_throttle_new(const struct login_throttle_settings *settings,
		   login_throttle_clock_fn *clock, void *clock_context)
{
	struct login_throttle *throttle;

	if (settings->slots == 0 || settings->slots > (1u << 24)
	    || settings->base_delay_ms == 0
	    || settings->base_delay_ms > settings->max_delay_ms
	    || settings->max_delay_ms > 3600 * 1000
	    || settings->refuse_after == 0 || settings->refuse_after > 1000
	    || settings->decay_ms == 0)
		return NULL;
	throttle = calloc(1, sizeof(*throttle));
	if (throttle == NULL)
		return NULL;
	throttle->settings = *settings;
	throttle->clock = clock != NULL ? clock : throttle_monotonic_ms;
	throttle->clock_context = clock_context;
	throttle->sets = (settings->slots + THROTTLE_WAYS - 1) / THROTTLE_WAYS;
	throttle->entries = calloc(throttle->sets * THROTTLE_WAYS,
				   sizeof(*throttle->entries));
	if (throttle->entries == NULL) {
		free(throttle);
		return NULL;
	}
	if (getrandom(&throttle->seed, sizeof(throttle->seed), GRND_NONBLOCK)
	    != (ssize_t)sizeof(throttle->seed)) {
		/* no entropy yet (early boot): any seed still works, only
		 * less well against chosen collisions */
		throttle->seed = throttle_monotonic_ms(NULL)
				 ^ (uint64_t)(uintptr_t)throttle;
	}
	return throttle;
}

/* The table key of ADDRESS: IPv4 whole, IPv6 its /64. */
static void throttle_key(const struct address *address, unsigned char *key)
{
	memset(key, 0, 9);
	if (address->family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, address->bytes, 8);
	} else {
		key[0] = 4;
		memcpy(key + 1, address->bytes, 4);
	}
}

/* Keyed 64-bit mix of KEY (not cryptographic; the seed is secret). */
static uint64_t throttle_hash(const struct login_throttle *throttle,
			      const unsigned char *key)
{
	uint64_t h = throttle->seed ^ 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < 9; i++) {
		h ^= key[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return h;
}

/* Forget the failures of ENTRY that have decayed by NOW. */
static void throttle_decay(const struct login_throttle *throttle,
			   struct throttle_entry *entry, uint64_t now)
{
	uint64_t periods;

	if (entry->failures == 0 || now <= entry->last_ms)
		return;
	periods = (now - entry->last_ms) / throttle->settings.decay_ms;
	if (periods >= entry->failures) {
		entry->failures = 0;
		return;
	}
	entry->failures -= (unsigned)periods;
	/* the remaining part of the current period still counts */
	entry->last_ms += periods * throttle->settings.decay_ms;
}

/* The entry of ADDRESS after decay, or NULL; with CREATE a free or
 * evicted slot is taken for it. */
static struct throttle_entry *throttle_find(struct login_throttle *throttle,
					    const struct address *address,
					    bool create)
{
	unsigned char key[9];
	struct throttle_entry *set, *victim = NULL;
	uint64_t now = throttle->clock(throttle->clock_context);
	size_t i;

	throttle_key(address, key);
	set = throttle->entries
	      + (throttle_hash(throttle, key) % throttle->sets) * THROTTLE_WAYS;
	for (i = 0; i < THROTTLE_WAYS; i++) {
		struct throttle_entry *entry = &set[i];

		throttle_decay(throttle, entry, now);
		if (entry->failures > 0 && memcmp(entry->key, key, 9) == 0)
			return entry;
		if (victim == NULL || entry->failures < victim->failures
		    || (entry->failures == victim->failures
			&& entry->last_ms < victim->last_ms))
			victim = entry;
	}
	if (!create)
		return NULL;
	memcpy(victim->key, key, 9);
	victim->failures = 0;
	victim->last_ms = now;
	return victim;
}

bool login_throttle_refused(struct login_throttle *throttle,
			    const struct address *address)
{
	struct throttle_entry *entry = throttle_find(throttle, address, false);

	return entry != NULL
	       && entry->failures >= throttle->settings.refuse_after;
}

unsigned login_throttle_failure(struct login_throttle *throttle,
				const struct address *address)
{
	const struct login_throttle_settings *s = &throttle->settings;
	struct throttle_entry *entry = throttle_find(throttle, address, true);
	unsigned delay = s->base_delay_ms, i;

	if (entry->failures < s->refuse_after * THROTTLE_SATURATION)
		entry->failures++;
	entry->last_ms = throttle->clock(throttle->clock_context);
	for (i = 1; i < entry->failures && delay < s->max_delay_ms; i++)
		delay *= 2;
	return delay < s->max_delay_ms ? delay : s->max_delay_ms;
}

unsigned login_throttle_failures(struct login_throttle *throttle,
				 const struct address *address)
{
	struct throttle_entry *entry = throttle_find(throttle, address, false);

	return entry != NULL ? entry->failures : 0;
}

size_t login_throttle_count(struct login_throttle *throttle)
{
	uint64_t now = throttle->clock(throttle->clock_context);
	size_t i, count = 0;

	for (i = 0; i < throttle->sets * THROTTLE_WAYS; i++) {
		throttle_decay(throttle, &throttle->entries[i], now);
		if (throttle->entries[i].failures > 0)
			count++;
	}
	return count;
}

void login_throttle_free(struct login_throttle **throttle)
{
	if (*throttle == NULL)
		return;
	free((*throttle)->entries);
	free(*throttle);
	*throttle = NULL;
}

#ifndef RELAYGATE_LOOKUPD_DECIDE_H
#define RELAYGATE_LOOKUPD_DECIDE_H
/* lookupd_decide: whether a client address may relay now. The one place
 * that applies relay_window and never_relay to a lookup. */
#include <stdint.h>

#include "address.h"
#include "relaydb.h"
#include "relaygate_conf.h"

enum lookupd_verdict {
	LOOKUPD_GRANT,		/* fresh grant: relay */
	LOOKUPD_NONE,		/* no grant */
	LOOKUPD_STALE,		/* a grant older than relay_window */
	LOOKUPD_NEVER,		/* address in never_relay */
	LOOKUPD_NOT_ADDRESS,	/* key is not an IP address (a host name) */
	LOOKUPD_TEMPFAIL,	/* the store could not be read */
};

struct lookupd_decision {
	enum lookupd_verdict verdict;
	int64_t age;			/* now - grant time, if one was found */
	char address[ADDRESS_TEXT_MAX];	/* canonical form, if an address */
	const char *error;		/* for LOOKUPD_TEMPFAIL */
};

/* Decide for KEY (an address as the MTA wrote it, sendmail's "IPv6:"
 * prefix in any case allowed) at time NOW. */
void lookupd_decide(struct relaydb *db, const struct relaygate_conf *conf,
		    const char *key, int64_t now,
		    struct lookupd_decision *decision_r);

/* The verdict's name in log lines. */
const char *lookupd_verdict_name(enum lookupd_verdict verdict);

#endif

/* lookupd_decide: grant freshness and never_relay. Must never answer
 * LOOKUPD_GRANT for anything but a parsed address outside never_relay
 * whose stored time is inside the window. */
#include "lookupd_decide.h"

#include <string.h>

void lookupd_decide(struct relaydb *db, const struct relaygate_conf *conf,
		    const char *key, int64_t now,
		    struct lookupd_decision *decision_r)
{
	struct lookupd_decision *d = decision_r;
	struct address address;
	const char *error;
	int64_t when;

	memset(d, 0, sizeof(*d));
	if (address_parse(key, &address, &error) < 0) {
		d->verdict = LOOKUPD_NOT_ADDRESS;
		return;
	}
	address_format(&address, d->address);
	if (cidr_list_match(&conf->never_relay, &address) != NULL) {
		d->verdict = LOOKUPD_NEVER;
		return;
	}
	switch (relaydb_lookup(db, &address, &when, &error)) {
	case RELAYDB_FOUND:
		d->age = now - when;
		/* A future-stamped grant (an administrator's) counts as fresh
		 * until its time plus the window, as in the sendmail rules. */
		d->verdict = d->age < conf->relay_window ? LOOKUPD_GRANT
		    : LOOKUPD_STALE;
		return;
	case RELAYDB_NOTFOUND:
		d->verdict = LOOKUPD_NONE;
		return;
	case RELAYDB_TEMPFAIL:
		break;
	}
	d->verdict = LOOKUPD_TEMPFAIL;
	d->error = error;
}

const char *lookupd_verdict_name(enum lookupd_verdict verdict)
{
	switch (verdict) {
	case LOOKUPD_GRANT:
		return "grant";
	case LOOKUPD_NONE:
		return "none";
	case LOOKUPD_STALE:
		return "stale";
	case LOOKUPD_NEVER:
		return "never";
	case LOOKUPD_NOT_ADDRESS:
		return "not-address";
	case LOOKUPD_TEMPFAIL:
		return "tempfail";
	}
	return "unknown";
}

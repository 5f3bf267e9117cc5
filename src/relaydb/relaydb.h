#ifndef RELAYGATE_RELAYDB_H
#define RELAYGATE_RELAYDB_H
/* relaydb: the relay store behind one interface. Every program records
 * and looks up grants only through these functions; the backend (the
 * Berkeley DB hash file relayers.db today, Redis later) is chosen by the
 * location string. Not thread-safe: one handle per process or thread. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"

/* Largest timestamp accepted: 9999-12-31 23:59:59 UTC. */
#define RELAYDB_TIME_MAX ((int64_t)253402300799LL)

enum relaydb_lookup_result {
	RELAYDB_FOUND,
	RELAYDB_NOTFOUND,
	RELAYDB_TEMPFAIL,	/* the store could not be read: never relay */
};

/* What kind of failure the last error of a handle was (for exit codes). */
enum relaydb_error_kind {
	RELAYDB_ERROR_NONE,
	RELAYDB_ERROR_TEMPORARY,	/* lock not obtained in time */
	RELAYDB_ERROR_PERMISSION,	/* the OS refused access */
	RELAYDB_ERROR_MISSING,		/* no store and not asked to create */
	RELAYDB_ERROR_CREATE,		/* the store could not be created */
	RELAYDB_ERROR_IO,		/* read/write error, not a valid store */
	RELAYDB_ERROR_INCOMPATIBLE,	/* store uses NUL-terminated keys */
	RELAYDB_ERROR_USAGE,		/* bad argument from the caller */
};

struct relaydb_settings {
	const char *location;		/* file path of relayers.db */
	unsigned lock_timeout_ms;	/* bounded wait for the file lock */
	bool fsync;			/* fsync after every update */
	bool create;			/* create an empty store if missing */
	bool keep_open;			/* daemons: keep the store open between
					 * lookups, reopen when it changes */
	bool commit_helper;		/* a long-lived writer: keep one commit
					 * process for updates of several pages
					 * instead of forking one for each
					 * (start it before opening sockets) */
	bool keep_writer;		/* a long-lived writer: keep the store
					 * and libdb's cache open between
					 * updates while no other program
					 * changes the file */
	const char *recorder;		/* relay_db_recorder ("unix:/path"), or
					 * NULL/"": relaydb_record() writes
					 * the store itself */
};

/* One grant: an address and the time (seconds since the epoch). */
struct relaydb_grant {
	struct address address;
	int64_t when;
};

/* Called for each raw entry of the store. KEY and VALUE are NUL-terminated
 * copies of the stored bytes (a trailing NUL inside the store is removed);
 * KEY_LEN and VALUE_LEN are their lengths. Return 0 to go on, -1 to stop. */
typedef int relaydb_iterate_fn(void *context, const char *key, size_t key_len,
			       const char *value, size_t value_len);

struct relaydb;

/* Open the store described by SETTINGS (the strings are copied). With
 * settings->create, an empty store is made if none exists. Returns NULL
 * with a description in *error_r on failure, and errno EACCES (the OS
 * refused access), EAGAIN (lock not obtained in time), ENOENT (no store)
 * or EIO (anything else). */
struct relaydb *relaydb_open(const struct relaydb_settings *settings,
			     const char **error_r);

/* Close *DB and set it to NULL. */
void relaydb_close(struct relaydb **db);

/* Record a login: ADDRESS granted at WHEN by USER through SOURCE ("pop3",
 * "imap", "vsmtprelay", ...). A stored later timestamp is kept (a login
 * never shortens an admin's future-stamped grant). The grant is in the
 * file when this returns 0. With settings->recorder, the grant is handed
 * to relaygate-recorder(8) over a connection kept in DB, which answers
 * once its update holding the grant is done; when the recorder cannot be
 * reached or does not answer, the store is written directly. */
int relaydb_record(struct relaydb *db, const struct address *address,
		   int64_t when, const char *user, const char *source,
		   const char **error_r);

/* Record the COUNT grants in one update of the store, each with the
 * semantics of relaydb_record() (a stored later time is kept; of two
 * grants for one address the later wins). Always writes the store itself,
 * never through the recorder (relaygate-recorder(8) calls it). */
int relaydb_record_many(struct relaydb *db, const struct relaydb_grant *grants,
			size_t count, const char **error_r);

/* Store exactly WHEN for ADDRESS, replacing any stored value. */
int relaydb_set(struct relaydb *db, const struct address *address,
		int64_t when, const char **error_r);

/* Look ADDRESS up; on RELAYDB_FOUND *when_r is the stored time. A stored
 * value that is not a valid timestamp counts as not found. */
enum relaydb_lookup_result relaydb_lookup(struct relaydb *db,
					  const struct address *address,
					  int64_t *when_r,
					  const char **error_r);

/* For keep_open readers in an event loop: between relaydb_batch_begin()
 * and relaydb_batch_end(), lookups share one shared lock and one check
 * that the store is unchanged, taken at the first of them. Keep batches
 * short (one round of requests): writers wait for the end. */
void relaydb_batch_begin(struct relaydb *db);
void relaydb_batch_end(struct relaydb *db);

/* Remove the COUNT addresses in one update; found_r[i] (if FOUND_R is
 * not NULL) tells whether ADDRESSES[i] was stored. */
int relaydb_remove(struct relaydb *db, const struct address *addresses,
		   size_t count, bool *found_r, const char **error_r);

/* Remove every entry whose time is at or before CUTOFF, in one update.
 * *removed_r counts removed addresses; *skipped_r counts entries left alone
 * because their value is not a timestamp. */
int relaydb_expire(struct relaydb *db, int64_t cutoff, uint64_t *removed_r,
		   uint64_t *skipped_r, const char **error_r);

/* Call FN for every stored entry, under a shared lock. */
int relaydb_iterate(struct relaydb *db, relaydb_iterate_fn *fn, void *context,
		    const char **error_r);

/* Replace the whole store with the COUNT grants, atomically: readers see
 * either the old or the new store, never a mix. */
int relaydb_replace_all(struct relaydb *db, const struct relaydb_grant *grants,
			size_t count, const char **error_r);

/* How many times DB's kept sessions (keep_open, keep_writer) were opened:
 * once, plus once for each change of the store by another program (or a
 * replacement of the file by a growing update). */
unsigned long relaydb_opens(const struct relaydb *db);

/* The kind of the last error reported by a function of DB. */
enum relaydb_error_kind relaydb_error_kind(const struct relaydb *db);

/* Parse a stored value: ASCII decimal seconds, 0..RELAYDB_TIME_MAX. */
int relaydb_parse_time(const char *text, int64_t *when_r, const char **error_r);

#endif

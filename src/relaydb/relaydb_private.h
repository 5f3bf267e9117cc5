#ifndef RELAYGATE_RELAYDB_PRIVATE_H
#define RELAYGATE_RELAYDB_PRIVATE_H
/* relaydb_private: what a relay store backend implements. Only relaydb.c
 * and the backends include this file. */
#include "relaydb.h"

#define RELAYDB_ERROR_MAX 512

struct relaydb;

/* A backend: a table of operations in the style of OpenSMTPD's tables.
 * Every operation returns 0 / -1 (or a lookup result) and on failure fills
 * db->error and db->error_kind. */
struct relaydb_backend {
	const char *name;
	int (*open)(struct relaydb *db);
	void (*close)(struct relaydb *db);
	/* Store GRANTS; with KEEP_NEWER a stored later time is kept. */
	int (*write)(struct relaydb *db, const struct relaydb_grant *grants,
		     size_t count, bool keep_newer);
	enum relaydb_lookup_result (*lookup)(struct relaydb *db,
					     const struct address *address,
					     int64_t *when_r);
	int (*remove)(struct relaydb *db, const struct address *addresses,
		      size_t count, bool *found_r);
	int (*expire)(struct relaydb *db, int64_t cutoff, uint64_t *removed_r,
		      uint64_t *skipped_r);
	int (*iterate)(struct relaydb *db, relaydb_iterate_fn *fn,
		       void *context);
	int (*replace_all)(struct relaydb *db,
			   const struct relaydb_grant *grants, size_t count);
	/* Start or end a batch of lookups (keep_open readers). */
	void (*batch)(struct relaydb *db, bool begin);
	/* Times a kept session was opened (keep_open, keep_writer). */
	unsigned long (*opens)(const struct relaydb *db);
};

struct relaydb {
	struct relaydb_settings settings;
	char *location;
	char *recorder;			/* copy of settings.recorder, or NULL */
	int recorder_fd;		/* connection to the recorder, or -1 */
	long recorder_pid;		/* the process that made it */
	const struct relaydb_backend *backend;
	void *backend_context;
	enum relaydb_error_kind error_kind;
	char error[RELAYDB_ERROR_MAX];
};

/* Set DB's error to KIND and the printf-style message. */
void relaydb_set_error(struct relaydb *db, enum relaydb_error_kind kind,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* This process's ID, without a system call after the first: kept up to
 * date in the child of every fork() (pthread_atfork). Connections and
 * kept sessions belong to the process that made them. */
long relaydb_process_id(void);

extern const struct relaydb_backend relaydb_backend_hash;

/* relaydb_recorder.c: hand one grant to relaygate-recorder(8). Returns 0
 * when it answered ok; -1 with db's error set when it answered an error
 * (the grant was refused or the store failed); 1 when the recorder could
 * not be reached or did not answer (the caller writes the store itself). */
int relaydb_recorder_record(struct relaydb *db, const struct relaydb_grant *grant,
			    const char *user, const char *source);

/* Close the connection to the recorder, if any. */
void relaydb_recorder_close(struct relaydb *db);

#endif

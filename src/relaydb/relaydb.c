/* relaydb: the store interface. Validates arguments once, picks the
 * backend from the location, and keeps error reporting uniform. Knows
 * nothing of file formats. */
#include "relaydb_private.h"

#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strnum.h"

void relaydb_set_error(struct relaydb *db, enum relaydb_error_kind kind,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->error, sizeof(db->error), fmt, ap);
	va_end(ap);
	db->error_kind = kind;
}

static void relaydb_clear_error(struct relaydb *db)
{
	db->error[0] = '\0';
	db->error_kind = RELAYDB_ERROR_NONE;
}

static long process_id;
static bool process_id_tracked;

static void process_id_after_fork(void)
{
	process_id = (long)getpid();
}

long relaydb_process_id(void)
{
	if (process_id_tracked)
		return process_id;
	process_id = (long)getpid();
	if (pthread_atfork(NULL, NULL, process_id_after_fork) == 0)
		process_id_tracked = true;
	return process_id;
}

struct relaydb *relaydb_open(const struct relaydb_settings *settings,
			     const char **error_r)
{
	static char open_error[RELAYDB_ERROR_MAX];
	struct relaydb *db;

	if (settings->location == NULL || *settings->location == '\0') {
		*error_r = "no relay store location given";
		return NULL;
	}
	if (strncmp(settings->location, "redis://", 8) == 0) {
		*error_r = "the redis backend is not available in this version";
		return NULL;
	}
	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->location = strdup(settings->location)) == NULL) {
		free(db);
		*error_r = "out of memory";
		return NULL;
	}
	db->recorder_fd = -1;
	if (settings->recorder != NULL && *settings->recorder != '\0'
	    && (db->recorder = strdup(settings->recorder)) == NULL) {
		free(db->location);
		free(db);
		*error_r = "out of memory";
		return NULL;
	}
	db->settings = *settings;
	db->settings.location = db->location;
	db->settings.recorder = db->recorder;
	db->backend = &relaydb_backend_hash;
	if (db->backend->open(db) < 0) {
		/* errno says what kind of failure it was, whatever the
		 * clean-up calls left in it */
		int kind_errno = db->error_kind == RELAYDB_ERROR_PERMISSION ? EACCES
			: db->error_kind == RELAYDB_ERROR_TEMPORARY ? EAGAIN
			: db->error_kind == RELAYDB_ERROR_MISSING ? ENOENT : EIO;

		snprintf(open_error, sizeof(open_error), "%s", db->error);
		*error_r = open_error;
		free(db->recorder);
		free(db->location);
		free(db);
		errno = kind_errno;
		return NULL;
	}
	return db;
}

void relaydb_close(struct relaydb **dbp)
{
	struct relaydb *db = *dbp;

	if (db == NULL)
		return;
	db->backend->close(db);
	relaydb_recorder_close(db);
	free(db->recorder);
	free(db->location);
	free(db);
	*dbp = NULL;
}

enum relaydb_error_kind relaydb_error_kind(const struct relaydb *db)
{
	return db->error_kind;
}

int relaydb_parse_time(const char *text, int64_t *when_r, const char **error_r)
{
	uint64_t value;

	if (strnum_parse_u64(text, (uint64_t)RELAYDB_TIME_MAX, &value,
			     error_r) < 0)
		return -1;
	*when_r = (int64_t)value;
	return 0;
}

static int relaydb_check_time(struct relaydb *db, int64_t when)
{
	if (when < 0 || when > RELAYDB_TIME_MAX) {
		relaydb_set_error(db, RELAYDB_ERROR_USAGE,
				  "timestamp %lld outside 0..%lld",
				  (long long)when, (long long)RELAYDB_TIME_MAX);
		return -1;
	}
	return 0;
}

/* Store one grant through the backend; KEEP_NEWER keeps a later time. */
static int relaydb_write_one(struct relaydb *db, const struct address *address,
			     int64_t when, bool keep_newer, const char **error_r)
{
	struct relaydb_grant grant;

	relaydb_clear_error(db);
	grant.address = *address;
	grant.when = when;
	if (relaydb_check_time(db, when) < 0
	    || db->backend->write(db, &grant, 1, keep_newer) < 0) {
		*error_r = db->error;
		return -1;
	}
	return 0;
}

int relaydb_record(struct relaydb *db, const struct address *address,
		   int64_t when, const char *user, const char *source,
		   const char **error_r)
{
	if (db->recorder != NULL) {
		struct relaydb_grant grant;
		int ret;

		relaydb_clear_error(db);
		if (relaydb_check_time(db, when) < 0) {
			*error_r = db->error;
			return -1;
		}
		grant.address = *address;
		grant.when = when;
		ret = relaydb_recorder_record(db, &grant, user, source);
		if (ret <= 0) {
			if (ret < 0)
				*error_r = db->error;
			return ret;
		}
		/* Not reachable: the same flock protocol, done here. */
	}
	/* user and source are kept by backends that store more than the
	 * time (and sent to the recorder, which logs them with errors). */
	return relaydb_write_one(db, address, when, true, error_r);
}

int relaydb_record_many(struct relaydb *db, const struct relaydb_grant *grants,
			size_t count, const char **error_r)
{
	size_t i;

	relaydb_clear_error(db);
	if (count == 0)
		return 0;
	for (i = 0; i < count; i++) {
		if (relaydb_check_time(db, grants[i].when) < 0) {
			*error_r = db->error;
			return -1;
		}
	}
	if (db->backend->write(db, grants, count, true) < 0) {
		*error_r = db->error;
		return -1;
	}
	return 0;
}

int relaydb_set(struct relaydb *db, const struct address *address,
		int64_t when, const char **error_r)
{
	return relaydb_write_one(db, address, when, false, error_r);
}

enum relaydb_lookup_result relaydb_lookup(struct relaydb *db,
					  const struct address *address,
					  int64_t *when_r,
					  const char **error_r)
{
	enum relaydb_lookup_result result;

	relaydb_clear_error(db);
	result = db->backend->lookup(db, address, when_r);
	if (result == RELAYDB_TEMPFAIL)
		*error_r = db->error;
	return result;
}

void relaydb_batch_begin(struct relaydb *db)
{
	if (db->backend->batch != NULL)
		db->backend->batch(db, true);
}

void relaydb_batch_end(struct relaydb *db)
{
	if (db->backend->batch != NULL)
		db->backend->batch(db, false);
}

unsigned long relaydb_opens(const struct relaydb *db)
{
	return db->backend->opens != NULL ? db->backend->opens(db) : 0;
}

int relaydb_remove(struct relaydb *db, const struct address *addresses,
		   size_t count, bool *found_r, const char **error_r)
{
	size_t i, j;

	relaydb_clear_error(db);
	if (db->backend->remove(db, addresses, count, found_r) < 0) {
		*error_r = db->error;
		return -1;
	}
	/* An address named twice was found by whichever removal came first. */
	for (i = 0; found_r != NULL && i < count; i++) {
		for (j = 0; j < i; j++) {
			if (addresses[i].family == addresses[j].family
			    && memcmp(addresses[i].bytes, addresses[j].bytes,
				      sizeof(addresses[i].bytes)) == 0
			    && (found_r[i] || found_r[j]))
				found_r[i] = found_r[j] = true;
		}
	}
	return 0;
}

int relaydb_expire(struct relaydb *db, int64_t cutoff, uint64_t *removed_r,
		   uint64_t *skipped_r, const char **error_r)
{
	relaydb_clear_error(db);
	*removed_r = 0;
	*skipped_r = 0;
	if (db->backend->expire(db, cutoff, removed_r, skipped_r) < 0) {
		*error_r = db->error;
		return -1;
	}
	return 0;
}

int relaydb_iterate(struct relaydb *db, relaydb_iterate_fn *fn, void *context,
		    const char **error_r)
{
	relaydb_clear_error(db);
	if (db->backend->iterate(db, fn, context) < 0) {
		*error_r = db->error;
		return -1;
	}
	return 0;
}

int relaydb_replace_all(struct relaydb *db, const struct relaydb_grant *grants,
			size_t count, const char **error_r)
{
	size_t i;

	relaydb_clear_error(db);
	for (i = 0; i < count; i++) {
		if (relaydb_check_time(db, grants[i].when) < 0) {
			*error_r = db->error;
			return -1;
		}
	}
	if (db->backend->replace_all(db, grants, count) < 0) {
		*error_r = db->error;
		return -1;
	}
	return 0;
}

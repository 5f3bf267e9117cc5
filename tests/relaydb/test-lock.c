/* test-lock: the bounded lock wait of DESIGN.md ("Bounded wait, then a
 * clear error"). While another process holds LOCK_SH (an MTA reading),
 * every write through the API fails with RELAYDB_ERROR_TEMPORARY after
 * lock_timeout_ms and `vsmtprelay add/delete/expire/load` exit 75
 * (EX_TEMPFAIL), the file stays byte-identical, and lookups still work
 * (shared locks coexist). While another process holds LOCK_EX (a writer or
 * makemap rebuilding), a lookup answers "temporary failure", never "not
 * found", and `vsmtprelay check` exits 75, not 1. The holder keeps the
 * lock until told to let go, so nothing here depends on timing. */
#include "store-test.h"
#include "test-common.h"

#define T_GRANT ((int64_t)1700000000)

struct holder {
	pid_t pid;
	int release_fd;		/* close to make the holder let go */
};

/* Start a process that holds flock(MODE) on PATH until released. Returns
 * once the lock is held. */
static struct holder holder_start(const char *path, int mode)
{
	int ready[2], release[2];
	struct holder holder;
	char c;

	store_test_pipe(ready);
	store_test_pipe(release);
	holder.pid = store_test_fork();
	if (holder.pid == 0) {
		int fd = open(path, O_RDONLY);

		close(ready[0]);
		close(release[1]);
		if (fd < 0 || flock(fd, mode) < 0)
			_exit(2);
		if (write(ready[1], "L", 1) != 1)
			_exit(3);
		while (read(release[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	if (read(ready[0], &c, 1) != 1)
		store_test_fatal("lock holder failed to lock %s", path);
	close(ready[0]);
	holder.release_fd = release[1];
	return holder;
}

static bool holder_stop(struct holder *holder)
{
	int status;

	close(holder->release_fd);
	status = store_test_wait(holder->pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Start a process that replaces PATH (a copy renamed over it, as a
 * growing update does) TIMES times, each time holding LOCK_EX on the file
 * it replaces for about a millisecond first. Returns once it holds the
 * first lock. */
static pid_t replacer_start(const char *path, unsigned times)
{
	int ready[2];
	pid_t pid;
	char c;

	store_test_pipe(ready);
	pid = store_test_fork();
	if (pid == 0) {
		char tmp[4300];
		struct timespec hold = { 0, 1000000 };
		unsigned i;

		close(ready[0]);
		snprintf(tmp, sizeof(tmp), "%s.replacer", path);
		for (i = 0; i < times; i++) {
			int fd = open(path, O_RDONLY);

			if (fd < 0 || flock(fd, LOCK_EX) < 0)
				_exit(2);
			if (i == 0 && write(ready[1], "L", 1) != 1)
				_exit(3);
			nanosleep(&hold, NULL);
			store_test_copy_file(path, tmp);
			if (rename(tmp, path) < 0)
				_exit(4);
			close(fd);
		}
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		store_test_fatal("the replacing process failed to lock %s",
				 path);
	close(ready[0]);
	return pid;
}

static struct relaydb *open_with_timeout(const char *path, unsigned ms)
{
	return store_test_open(path, ms, false);
}

static void address_of(const char *text, struct address *addr)
{
	const char *error;

	if (address_parse(text, addr, &error) < 0)
		store_test_fatal("address_parse %s: %s", text, error);
}

/* Run vsmtprelay with ARGS...; returns its exit code (or -1) and its
 * stderr in ERR. */
static int run_vsmtprelay(const char *conf, const char *store, char *err,
			  size_t err_size, const char *command,
			  const char *arg1, const char *arg2)
{
	const char *vsmtprelay = getenv("VSMTPRELAY");
	const char *argv[] = { vsmtprelay, "-c", conf, "-f", store, command,
			       arg1, arg2, NULL };
	char out[4096];
	int status;

	if (vsmtprelay == NULL || *vsmtprelay == '\0')
		store_test_fatal("VSMTPRELAY is not set (run through meson test)");
	status = store_test_run_split(argv, out, sizeof(out), err, err_size);
	if (status == -1)
		store_test_fatal("cannot run %s: %s", vsmtprelay, out);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(void)
{
	char dir[4096], path[4200], snapshot[4200], conf[4200], list[4200];
	char err[4096];
	struct relaydb *db, *fast;
	struct address a1, a2, a6, fresh;
	struct relaydb_grant grant;
	struct holder holder;
	const char *error;
	uint64_t removed, skipped;
	int64_t when;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	store_test_dir_create("lock", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/relayers.db", dir);
	snprintf(snapshot, sizeof(snapshot), "%s/snapshot.db", dir);
	snprintf(conf, sizeof(conf), "%s/relaygate.conf", dir);
	snprintf(list, sizeof(list), "%s/load.txt", dir);
	if ((f = fopen(conf, "w")) == NULL)
		store_test_fatal("%s: %s", conf, strerror(errno));
	fprintf(f, "relay_db_lock_timeout = 1s\nrelay_window = 30m\n");
	fclose(f);
	if ((f = fopen(list, "w")) == NULL)
		store_test_fatal("%s: %s", list, strerror(errno));
	fprintf(f, "192.0.2.99 1700000099\n");
	fclose(f);

	address_of("192.0.2.1", &a1);
	address_of("192.0.2.2", &a2);
	address_of("2001:db8::6", &a6);
	address_of("198.51.100.77", &fresh);
	db = store_test_open(path, 600000, true);
	if (relaydb_record(db, &a1, T_GRANT, "u", "test", &error) < 0
	    || relaydb_record(db, &a2, T_GRANT + 1, "u", "test", &error) < 0
	    || relaydb_record(db, &a6, T_GRANT + 2, "u", "test", &error) < 0)
		store_test_fatal("setup record: %s", error);
	store_test_copy_file(path, snapshot);
	fast = open_with_timeout(path, 300);

	holder = holder_start(path, LOCK_SH);
	test_begin("lock: with LOCK_SH held elsewhere, API writes fail as "
		   "temporary after lock_timeout_ms = 300");
	test_assert(relaydb_record(fast, &fresh, T_GRANT + 10, "u", "test",
				   &error) < 0);
	test_assert_int_eq(relaydb_error_kind(fast), RELAYDB_ERROR_TEMPORARY);
	test_assert_contains(error, "lock");
	test_assert(relaydb_set(fast, &a1, T_GRANT + 11, &error) < 0);
	test_assert_int_eq(relaydb_error_kind(fast), RELAYDB_ERROR_TEMPORARY);
	test_assert(relaydb_remove(fast, &a2, 1, NULL, &error) < 0);
	test_assert_int_eq(relaydb_error_kind(fast), RELAYDB_ERROR_TEMPORARY);
	test_assert(relaydb_expire(fast, T_GRANT + 100, &removed, &skipped,
				   &error) < 0);
	test_assert_int_eq(relaydb_error_kind(fast), RELAYDB_ERROR_TEMPORARY);
	grant.address = fresh;
	grant.when = T_GRANT + 12;
	test_assert(relaydb_replace_all(fast, &grant, 1, &error) < 0);
	test_assert_int_eq(relaydb_error_kind(fast), RELAYDB_ERROR_TEMPORARY);
	test_end();

	test_begin("lock: with LOCK_SH held elsewhere, lookups and dumps work");
	test_assert_int_eq(relaydb_lookup(fast, &a6, &when, &error),
			   RELAYDB_FOUND);
	test_assert_int_eq(when, T_GRANT + 2);
	test_assert_int_eq(relaydb_lookup(fast, &fresh, &when, &error),
			   RELAYDB_NOTFOUND);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err), "dump",
					  NULL, NULL), 0);
	test_end();

	test_begin("lock: with LOCK_SH held elsewhere, vsmtprelay add, delete, "
		   "expire, load exit 75 (relay_db_lock_timeout = 1s)");
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err), "add",
					  "198.51.100.77", NULL), 75);
	test_assert_contains(err, "lock");
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err),
					  "delete", "192.0.2.1", NULL), 75);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err),
					  "expire", NULL, NULL), 75);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err), "load",
					  list, NULL), 75);
	test_end();

	test_begin("lock: the store is byte-identical after the refused writes");
	test_assert(store_test_same_bytes(snapshot, path));
	test_assert(store_test_verify(path, "refused writes"));
	test_end();
	test_assert(holder_stop(&holder));

	holder = holder_start(path, LOCK_EX);
	test_begin("lock: with LOCK_EX held elsewhere, a lookup is a temporary "
		   "failure, never \"not found\"");
	test_assert_int_eq(relaydb_lookup(fast, &a1, &when, &error),
			   RELAYDB_TEMPFAIL);
	test_assert_int_eq(relaydb_lookup(fast, &fresh, &when, &error),
			   RELAYDB_TEMPFAIL);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err), "check",
					  "192.0.2.1", NULL), 75);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err), "dump",
					  NULL, NULL), 75);
	test_end();
	test_assert(holder_stop(&holder));

	test_begin("lock: once the lock is free, the same writes succeed");
	test_assert(relaydb_record(fast, &fresh, T_GRANT + 10, "u", "test",
				   &error) == 0);
	test_assert_int_eq(relaydb_lookup(fast, &fresh, &when, &error),
			   RELAYDB_FOUND);
	test_assert_int_eq(when, T_GRANT + 10);
	test_assert_int_eq(run_vsmtprelay(conf, path, err, sizeof(err),
					  "delete", "192.0.2.1", NULL), 0);
	test_assert(store_test_verify(path, "writes after the lock"));
	test_end();

	/* Every replacement sends the waiting writer back to the new file's
	 * queue; it keeps trying for as long as its timeout lasts (it once
	 * gave up after 20 replacements, and a growing store under load
	 * lost grants that way). */
	test_begin("lock: a writer waiting while the store is replaced 200 "
		   "times records its grant within its timeout");
	{
		struct relaydb *patient = open_with_timeout(path, 30000);
		pid_t replacer = replacer_start(path, 200);
		int status;

		address_of("198.51.100.78", &fresh);
		test_assert(relaydb_record(patient, &fresh, T_GRANT + 20, "u",
					   "test", &error) == 0);
		test_assert(waitpid(replacer, &status, 0) == replacer
			    && WIFEXITED(status) && WEXITSTATUS(status) == 0);
		test_assert_int_eq(relaydb_lookup(patient, &fresh, &when,
						  &error), RELAYDB_FOUND);
		test_assert_int_eq(when, T_GRANT + 20);
		test_assert(store_test_verify(path, "after the replacements"));
		relaydb_close(&patient);
	}
	test_end();

	relaydb_close(&fast);
	relaydb_close(&db);
	store_test_dir_remove(dir);
	return test_exit();
}

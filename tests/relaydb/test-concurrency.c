/* test-concurrency: many writer processes record grants into one
 * relayers.db while relaydb readers and the real MTA tools (Postfix's
 * postmap -q, sendmail's makemap -u) read it. Proves the flock protocol of
 * DESIGN.md: no lost update, no reader ever sees a torn or half-written
 * store (every value read is the right one, no temporary failure, no grant
 * that disappears once seen), and the final file verifies and holds
 * exactly the recorded entries. Half the writers keep the store open
 * between their updates (settings.keep_writer).
 * Environment: STORE_CONCURRENCY_SEED (replay), POSTFIX_ROOT. */
#include "store-test.h"
#include "test-common.h"

#include <db.h>
#include <sys/mman.h>

#define WRITERS 8
#define PER_WRITER 500
#define READERS 4
#define MTA_READERS 2
#define TOTAL (WRITERS * PER_WRITER)
#define T_BASE ((int64_t)1650000000)

struct worker_report {
	bool finished;
	unsigned long long operations, found, notfound, errors;
	unsigned long long tool_runs, tool_lines;
	unsigned long long open_refusals;	/* sendmail's "changed after open" */
	char first_error[256];
};

struct shared {
	volatile int done;	/* set by the parent when the writers ended */
	struct worker_report writer[WRITERS];
	struct worker_report reader[READERS];
	struct worker_report mta[MTA_READERS];
};

static struct shared *shared;
static char store_path[4200], map_name[4200], postfix_conf[4200];
static char postmap_path[4200], postfix_libdir[4200];

static void report_error(struct worker_report *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report_error(struct worker_report *report, const char *fmt, ...)
{
	va_list ap;

	report->errors++;
	if (report->first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(report->first_error, sizeof(report->first_error), fmt, ap);
	va_end(ap);
}

static int64_t expected_value(uint32_t seq)
{
	return T_BASE + seq;
}

/* Read KEY straight from the store with libdb, under LOCK_SH, as an MTA
 * does: relaydb_lookup() answers found when either IPv6 key is there, so
 * it cannot tell that one of the two was lost. Returns 1 found (value in
 * WHEN_R), 0 not found, -1 error. */
static int raw_get(const char *key, int64_t *when_r)
{
	char text[32];
	const char *error;
	DBT k, v;
	DB *hdb;
	int fd, ret, result = -1;

	if ((fd = open(store_path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if (flock(fd, LOCK_SH) < 0 || db_create(&hdb, NULL, 0) != 0) {
		close(fd);
		return -1;
	}
	ret = hdb->open(hdb, NULL, store_path, NULL, DB_HASH, DB_RDONLY, 0);
	if (ret == 0) {
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = (void *)(uintptr_t)key;
		k.size = (u_int32_t)strlen(key);
		ret = hdb->get(hdb, NULL, &k, &v, 0);
		if (ret == DB_NOTFOUND)
			result = 0;
		else if (ret == 0 && v.size < sizeof(text)) {
			memcpy(text, v.data, v.size);
			text[v.size] = '\0';
			if (relaydb_parse_time(text, when_r, &error) == 0)
				result = 1;
		}
	}
	(void)hdb->close(hdb, 0);
	close(fd);
	return result;
}

/* Writer W: record its PER_WRITER addresses, reading each back at once. */
static void run_writer(unsigned w)
{
	struct worker_report *report = &shared->writer[w];
	/* half of them keep the store open between updates, as the auth
	 * processes of relaygate-pop3d and relaygate-recorder do */
	struct relaydb *db = store_test_open_writer(store_path, 600000, false,
						    w % 2 == 0);
	const char *error;
	unsigned i;

	for (i = 0; i < PER_WRITER; i++) {
		uint32_t seq = w * PER_WRITER + i;
		struct address addr;
		int64_t when;

		store_test_address(seq, &addr);
		if (relaydb_record(db, &addr, expected_value(seq), "writer",
				   "test", &error) < 0) {
			report_error(report, "record seq %u: %s", seq, error);
			continue;
		}
		report->operations++;
		if (i % 25 == 0) {
			/* an older login never replaces the stored time */
			if (relaydb_record(db, &addr, expected_value(seq) - 100,
					   "writer", "test", &error) < 0)
				report_error(report, "re-record seq %u: %s", seq,
					     error);
			report->operations++;
		}
		switch (relaydb_lookup(db, &addr, &when, &error)) {
		case RELAYDB_FOUND:
			if (when != expected_value(seq))
				report_error(report, "seq %u read back %lld",
					     seq, (long long)when);
			break;
		case RELAYDB_NOTFOUND:
			report_error(report, "seq %u not found after record",
				     seq);
			break;
		case RELAYDB_TEMPFAIL:
			report_error(report, "seq %u read back: %s", seq, error);
			break;
		}
		if (store_test_key_count(seq) == 2) {
			char keys[2][ADDRESS_TEXT_MAX];
			unsigned k;

			address_format(&addr, keys[0]);
			address_format_full(&addr, keys[1]);
			for (k = 0; k < 2; k++) {
				int got = raw_get(keys[k], &when);

				if (got != 1 || when != expected_value(seq))
					report_error(report, "seq %u: key %s "
						     "%s after record", seq,
						     keys[k], got == 0 ? "missing"
						     : got < 0 ? "unreadable"
						     : "has a wrong value");
			}
		}
	}
	relaydb_close(&db);
	report->finished = true;
	_exit(0);
}

/* Pause 0.2-1.5 ms between reads. flock(2) has no writer preference:
 * readers that keep LOCK_SH held back to back starve LOCK_EX waiters
 * forever (seen with 4 tight loops), so readers leave gaps, as real MTA
 * lookups do. */
static void reader_pause(void)
{
	struct timespec ts = { 0, 200000 + (long)store_test_random_below(1300000) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reader R: random lookups and now and then a full scan, until done. */
static void run_reader(unsigned r)
{
	struct worker_report *report = &shared->reader[r];
	struct relaydb *db = store_test_open(store_path, 600000, false);
	struct store_test_view view;
	uint8_t *seen = calloc(TOTAL, 1);
	unsigned long long round = 0;

	if (seen == NULL)
		_exit(2);
	store_test_view_init(&view, TOTAL);
	store_test_rng_state += r + 1;
	while (!shared->done) {
		uint32_t seq = (uint32_t)store_test_random_below(TOTAL);
		struct address addr;
		const char *error;
		int64_t when;

		round++;
		reader_pause();
		if (round % 64 == 0) {
			uint32_t s;

			if (!store_test_view_load(&view, db)) {
				report_error(report, "iterate failed");
				continue;
			}
			report->operations++;
			if (view.bad_keys + view.bad_values + view.disagreeing > 0)
				report_error(report, "scan: %s",
					     view.first_problem);
			for (s = 0; s < TOTAL; s++) {
				if (view.keys[s] == 0) {
					if (seen[s])
						report_error(report, "scan: seq %u "
							     "disappeared", s);
					continue;
				}
				if (view.value[s] != expected_value(s))
					report_error(report, "scan: seq %u has "
						     "%lld", s,
						     (long long)view.value[s]);
				seen[s] = 1;
			}
			continue;
		}
		store_test_address(seq, &addr);
		report->operations++;
		switch (relaydb_lookup(db, &addr, &when, &error)) {
		case RELAYDB_FOUND:
			report->found++;
			if (when != expected_value(seq))
				report_error(report, "seq %u: value %lld", seq,
					     (long long)when);
			seen[seq] = 1;
			break;
		case RELAYDB_NOTFOUND:
			report->notfound++;
			if (seen[seq])
				report_error(report, "seq %u: found before, "
					     "now not found", seq);
			break;
		case RELAYDB_TEMPFAIL:
			report_error(report, "seq %u: temporary failure: %s",
				     seq, error);
			break;
		}
	}
	store_test_view_free(&view);
	free(seen);
	relaydb_close(&db);
	report->finished = true;
	_exit(0);
}

/* What tells one store file from its replacement: a new inode. Its
 * number is no proof (ext4 gives a freed number to the next new file at
 * once); its birth time is, where the file system keeps one, and else
 * the size (which never changes in place, see page_commit.c). */
struct store_identity {
	uint64_t ino;
	uint64_t size;
	int64_t birth_sec;
	uint32_t birth_nsec;
	bool has_birth;
};

static void store_identity_get(struct store_identity *id)
{
	struct statx stx;

	memset(id, 0, sizeof(*id));
	if (statx(AT_FDCWD, store_path, 0, STATX_INO | STATX_SIZE
		  | STATX_BTIME, &stx) < 0)
		return;
	id->ino = stx.stx_ino;
	id->size = stx.stx_size;
	id->has_birth = (stx.stx_mask & STATX_BTIME) != 0;
	id->birth_sec = stx.stx_btime.tv_sec;
	id->birth_nsec = stx.stx_btime.tv_nsec;
}

static bool store_identity_differs(const struct store_identity *a,
				   const struct store_identity *b)
{
	if (a->ino != b->ino || a->size != b->size)
		return true;
	return a->has_birth && b->has_birth
	    && (a->birth_sec != b->birth_sec || a->birth_nsec != b->birth_nsec);
}

/* Run postmap -q KEY against the store. Returns the wait status. */
static int run_postmap(const char *key, char *out, size_t size)
{
	const char *argv[] = { postmap_path, "-c", postfix_conf, "-q", key,
			       map_name, NULL };

	return store_test_run(argv, out, size);
}

/* MTA reader M: postmap -q random keys, and every 8th run makemap -u. */
static void run_mta_reader(unsigned m)
{
	struct worker_report *report = &shared->mta[m];
	size_t out_size = 4 * 1024 * 1024;
	char *out = malloc(out_size);
	unsigned long long run = 0;

	if (out == NULL)
		_exit(2);
	store_test_rng_state += 100 + m;
	while (!shared->done) {
		run++;
		report->tool_runs++;
		if (run % 8 == 0) {
			const char *argv[] = { "makemap", "-u", "hash",
					       store_path, NULL };
			char err[4096];
			struct store_identity before, after;
			int status;
			char *line, *save = NULL;

			store_identity_get(&before);
			status = store_test_run_split(argv, out, out_size,
						      err, sizeof(err));
			store_identity_get(&after);
			/* A writer that changes the map's size renames a new
			 * file into place (see page_commit.c). sendmail's
			 * safety checks then refuse the map (EX_CANTCREAT):
			 * "file changed after open" when it waited for the
			 * lock on the old file; "Operation not permitted"
			 * when the file libdb opened by name is not the one
			 * it stat()ed first (smdb_filechanged() returns
			 * filechanged()'s true, printed as errno 1). A
			 * temporary failure, which sendmail answers with 4xx,
			 * never a wrong answer: counted, not an error, when
			 * the map really was replaced while makemap ran. */
			if (status != -1 && WIFEXITED(status)
			    && WEXITSTATUS(status) == 73
			    && (strstr(err, "changed after open") != NULL
				|| strstr(err, "Operation not permitted") != NULL)
			    && store_identity_differs(&before, &after)) {
				report->open_refusals++;
				continue;
			}
			/* (stderr may hold sendmail's warning about the
			 * world-writable /tmp above a build directory) */
			if (status == -1 || !WIFEXITED(status)
			    || WEXITSTATUS(status) != 0) {
				report_error(report, "makemap -u: status 0x%x: "
					     "%.200s %.40s", (unsigned)status,
					     err, out);
				continue;
			}
			for (line = strtok_r(out, "\n", &save); line != NULL;
			     line = strtok_r(NULL, "\n", &save)) {
				char *tab = strchr(line, '\t');
				const char *error;
				uint32_t seq;
				int64_t when;

				report->tool_lines++;
				if (tab == NULL) {
					report_error(report, "makemap -u line "
						     "\"%.60s\"", line);
					continue;
				}
				*tab = '\0';
				if (!store_test_seq_of_key(line, &seq)
				    || seq >= TOTAL
				    || relaydb_parse_time(tab + 1, &when,
							  &error) < 0
				    || when != expected_value(seq))
					report_error(report, "makemap -u: %.60s "
						     "-> %.30s", line, tab + 1);
			}
			report->operations++;
			continue;
		} else {
			uint32_t seq = (uint32_t)store_test_random_below(TOTAL);
			char key[ADDRESS_TEXT_MAX], want[32];
			struct address addr;
			int status;

			store_test_address(seq, &addr);
			if (store_test_random_below(2) == 0)
				address_format(&addr, key);
			else
				address_format_full(&addr, key);
			status = run_postmap(key, out, 4096);
			snprintf(want, sizeof(want), "%lld\n",
				 (long long)expected_value(seq));
			report->operations++;
			if (status != -1 && WIFEXITED(status)
			    && WEXITSTATUS(status) == 0) {
				report->found++;
				if (strcmp(out, want) != 0)
					report_error(report, "postmap -q %s: "
						     "\"%.60s\"", key, out);
			} else if (status != -1 && WIFEXITED(status)
				   && WEXITSTATUS(status) == 1
				   && out[0] == '\0') {
				report->notfound++;
			} else
				report_error(report, "postmap -q %s: status "
					     "0x%x: %.150s", key,
					     (unsigned)status, out);
		}
	}
	free(out);
	report->finished = true;
	_exit(0);
}

/* Watchdog: a clear message instead of a silent meson timeout if the
 * writers never get the lock (a safety net, not a timing assertion). */
#define WATCHDOG_SECONDS 240

static void watchdog(int signo)
{
	static const char message[] = "FATAL: writers still running after "
		"240 s: blocked on the lock (reader starvation?) or hung\n";

	(void)signo;
	(void)!write(STDERR_FILENO, message, sizeof(message) - 1);
	kill(0, SIGKILL);
}

static pid_t start_worker(void (*fn)(unsigned), unsigned index)
{
	pid_t pid;

	pid = store_test_fork();
	if (pid == 0)
		fn(index);
	return pid;
}

static bool wait_worker(pid_t pid, const char *what, unsigned index)
{
	int status;

	status = store_test_wait(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	printf("# %s %u ended with status 0x%x\n", what, index,
	       (unsigned)status);
	return false;
}

static bool check_report(const struct worker_report *report, const char *what,
			 unsigned index)
{
	if (!report->finished) {
		printf("# %s %u did not finish\n", what, index);
		return false;
	}
	if (report->errors == 0)
		return true;
	printf("# %s %u: %llu errors, first: %s\n", what, index,
	       report->errors, report->first_error);
	return false;
}

static void setup_postfix(const char *dir)
{
	const char *root = getenv("POSTFIX_ROOT");
	char path[4300];
	FILE *f;

	if (root == NULL || *root == '\0')
		store_test_fatal("POSTFIX_ROOT is not set (run through meson "
				 "test; scripts/install-deps.sh unpacks Postfix)");
	snprintf(postmap_path, sizeof(postmap_path), "%s/usr/sbin/postmap",
		 root);
	snprintf(postfix_libdir, sizeof(postfix_libdir), "%s/usr/lib/postfix",
		 root);
	if (access(postmap_path, X_OK) < 0)
		store_test_fatal("%s: %s (run scripts/install-deps.sh)",
				 postmap_path, strerror(errno));
	if (setenv("LD_LIBRARY_PATH", postfix_libdir, 1) < 0)
		store_test_fatal("setenv: %s", strerror(errno));
	snprintf(postfix_conf, sizeof(postfix_conf), "%s/postfix", dir);
	if (mkdir(postfix_conf, 0755) < 0)
		store_test_fatal("mkdir %s: %s", postfix_conf, strerror(errno));
	snprintf(path, sizeof(path), "%s/main.cf", postfix_conf);
	if ((f = fopen(path, "w")) == NULL)
		store_test_fatal("%s: %s", path, strerror(errno));
	fprintf(f, "compatibility_level = 3.6\nmail_owner = daemon\n"
		"setgid_group = mail\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	pid_t writers[WRITERS], readers[READERS], mtas[MTA_READERS];
	unsigned long long expected_keys = 0, lookups = 0, found = 0;
	unsigned long long tool_runs = 0, tool_found = 0, tool_lines = 0;
	unsigned long long open_refusals = 0;
	unsigned long long writer_ops = 0;
	struct store_test_view view;
	struct relaydb *db;
	char dir[4096], out[4096];
	double start = store_test_now_ms(), writers_ms;
	bool ok = true;
	uint32_t seq;
	unsigned i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (store_test_parse_args(argc, argv) != 1)
		store_test_fatal("usage: %s [--makemap-shape]", argv[0]);
	store_test_seed("STORE_CONCURRENCY_SEED");
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		store_test_fatal("mmap: %s", strerror(errno));
	memset(shared, 0, sizeof(*shared));
	store_test_dir_create("concurrency", dir, sizeof(dir));
	snprintf(store_path, sizeof(store_path), "%s/relayers.db", dir);
	snprintf(map_name, sizeof(map_name), "hash:%s/relayers", dir);
	setup_postfix(dir);
	/* the empty map exists before anyone reads it */
	db = store_test_open(store_path, 600000, true);

	test_begin("concurrency: postmap -q and makemap -u work on the store");
	{
		int status = run_postmap("192.0.2.1", out, sizeof(out));

		test_assert(status != -1 && WIFEXITED(status)
			    && WEXITSTATUS(status) == 1);
		if (status == -1 || !WIFEXITED(status)
		    || WEXITSTATUS(status) != 1)
			printf("# postmap -q on the empty store: status 0x%x: "
			       "%s\n", (unsigned)status, out);
	}
	test_end();

	setpgid(0, 0);
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_SECONDS);
	for (i = 0; i < READERS; i++)
		readers[i] = start_worker(run_reader, i);
	for (i = 0; i < MTA_READERS; i++)
		mtas[i] = start_worker(run_mta_reader, i);
	for (i = 0; i < WRITERS; i++)
		writers[i] = start_worker(run_writer, i);

	test_begin("concurrency: 8 writers record 4000 addresses without an "
		   "error while 6 readers read");
	for (i = 0; i < WRITERS; i++)
		ok &= wait_worker(writers[i], "writer", i);
	writers_ms = store_test_now_ms() - start;
	shared->done = 1;
	for (i = 0; i < READERS; i++)
		ok &= wait_worker(readers[i], "reader", i);
	for (i = 0; i < MTA_READERS; i++)
		ok &= wait_worker(mtas[i], "MTA reader", i);
	test_assert(ok);
	for (i = 0; i < WRITERS; i++) {
		test_assert_idx(check_report(&shared->writer[i], "writer", i), i);
		writer_ops += shared->writer[i].operations;
	}
	test_end();

	test_begin("concurrency: readers never saw a temporary failure, a "
		   "wrong value or a vanished grant");
	for (i = 0; i < READERS; i++) {
		test_assert_idx(check_report(&shared->reader[i], "reader", i), i);
		lookups += shared->reader[i].operations;
		found += shared->reader[i].found;
	}
	for (i = 0; i < MTA_READERS; i++) {
		test_assert_idx(check_report(&shared->mta[i], "MTA reader", i),
				i);
		tool_runs += shared->mta[i].tool_runs;
		tool_found += shared->mta[i].found;
		tool_lines += shared->mta[i].tool_lines;
		open_refusals += shared->mta[i].open_refusals;
	}
	/* the readers really overlapped the writers */
	test_assert(lookups > 0 && found > 0);
	test_assert(tool_runs > 0);
	test_end();
	alarm(0);

	test_begin("concurrency: the final store verifies and holds exactly "
		   "every recorded grant");
	test_assert(store_test_verify(store_path, "after the concurrent run"));
	store_test_view_init(&view, STORE_TEST_SEQ_LIMIT);
	test_assert(store_test_view_load(&view, db));
	test_assert_int_eq(view.bad_keys + view.bad_values + view.disagreeing, 0);
	if (view.first_problem[0] != '\0')
		printf("# %s\n", view.first_problem);
	for (seq = 0; seq < TOTAL; seq++) {
		unsigned want_keys = store_test_key_count(seq);

		expected_keys += want_keys;
		if (!test_assert_idx(view.keys[seq] == want_keys
				     && view.value[seq] == expected_value(seq),
				     seq))
			break;
	}
	test_assert_int_eq(view.entries, expected_keys);
	store_test_view_free(&view);
	test_end();

	test_begin("concurrency: Postfix finds both IPv6 key forms afterwards");
	for (seq = 6; seq < TOTAL; seq += 8 * 37) {
		char key[ADDRESS_TEXT_MAX], want[32];
		struct address addr;
		int status, form;

		store_test_address(seq, &addr);
		snprintf(want, sizeof(want), "%lld\n",
			 (long long)expected_value(seq));
		for (form = 0; form < 2; form++) {
			if (form == 0)
				address_format(&addr, key);
			else
				address_format_full(&addr, key);
			status = run_postmap(key, out, sizeof(out));
			test_assert_idx(status != -1 && WIFEXITED(status)
					&& WEXITSTATUS(status) == 0, seq);
			test_assert_strcmp(out, want);
		}
	}
	test_end();

	printf("# writers: %u x %u addresses (%llu record calls), %llu keys, "
	       "%.1f s\n", WRITERS, PER_WRITER, writer_ops, expected_keys,
	       writers_ms / 1000.0);
	printf("# relaydb readers: %llu lookups/scans (%llu found), 0 "
	       "temporary failures allowed\n", lookups, found);
	printf("# MTA readers: %llu postmap/makemap runs (%llu postmap hits, "
	       "%llu makemap -u lines checked, %llu makemap -u refused a map "
	       "replaced while it opened it)\n", tool_runs,
	       tool_found, tool_lines, open_refusals);
	printf("# total %.1f s\n", (store_test_now_ms() - start) / 1000.0);
	relaydb_close(&db);
	if (getenv("STORE_TEST_KEEP") == NULL)
		store_test_dir_remove(dir);
	else
		printf("# kept %s\n", dir);
	return test_exit();
}

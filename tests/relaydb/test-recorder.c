/* test-recorder: relaygate-recorder, the real daemon in a private
 * directory, driven by relaydb_record() clients and by raw sockets.
 * Proves: grants of 8 client processes all reach the store through it
 * (the clients' own store path is unusable, so none was written by a
 * fallback), in groups, and the file verifies; a recorder killed with
 * SIGKILL while clients record loses no acknowledged grant (the clients
 * write the store themselves), nor does a killed commit helper; a client whose recorder is absent or was
 * restarted still records; bad and over-long lines are answered and
 * closed; never_relay addresses are refused; SIGTERM exits 0.
 * Environment: RELAYGATE_BUILD_ROOT (the daemon and the test directory). */
#include "store-test.h"
#include "test-common.h"
#include "recorder_protocol.h"

#include <db.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/un.h>

#define CLIENTS 8
#define PER_CLIENT 400
#define TOTAL (CLIENTS * PER_CLIENT)
#define T_BASE ((int64_t)1700000000)

static char dir[4096], store_path[4200], socket_path[4200], endpoint[4300];
static char conf_path[4200], log_path[4200], recorder_path[4200];

static int64_t expected_value(uint32_t seq)
{
	return T_BASE + seq;
}

/* The recorder's socket address. */
static void socket_address(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun->sun_path))
		store_test_fatal("socket path too long: %s", socket_path);
	memcpy(sun->sun_path, socket_path, strlen(socket_path) + 1);
}

/* Write the configuration and start the recorder in the foreground; wait
 * until its socket answers. Returns its PID. */
static pid_t recorder_start(void)
{
	FILE *f = fopen(conf_path, "w");
	pid_t pid;
	int i;

	if (f == NULL)
		store_test_fatal("create %s: %s", conf_path, strerror(errno));
	fprintf(f, "relay_db = %s\nrelay_db_recorder = %s\n"
		"relay_db_lock_timeout = 10s\n", store_path, endpoint);
	fclose(f);
	pid = store_test_fork();
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execl(recorder_path, recorder_path, "-F", "-c", conf_path,
		      (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", recorder_path,
			strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		struct sockaddr_un sun;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		socket_address(&sun);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun,
				       sizeof(sun)) == 0) {
			close(fd);
			return pid;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			store_test_fatal("%s exited at start (see %s)",
					 recorder_path, log_path);
		usleep(10000);
	}
	store_test_fatal("%s did not listen within 5 s (see %s)",
			 recorder_path, log_path);
}

/* Send SIG to the recorder and return its wait status. */
static int recorder_stop(pid_t pid, int sig)
{
	kill(pid, sig);
	return store_test_wait(pid);
}

/* A client handle: store LOCATION, recorder at ENDPOINT_TEXT. */
static struct relaydb *client_open(const char *location,
				   const char *endpoint_text)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = location;
	settings.lock_timeout_ms = 10000;
	settings.recorder = endpoint_text;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		store_test_fatal("relaydb_open %s: %s", location, error);
	return db;
}

/* Record PER_CLIENT grants as client C; ACKED[seq] is set once
 * relaydb_record() returned 0. Exits 0 when all were recorded. */
static void client_run(unsigned c, const char *location, uint8_t *acked)
{
	struct relaydb *db = client_open(location, endpoint);
	const char *error;
	unsigned i;

	for (i = 0; i < PER_CLIENT; i++) {
		uint32_t seq = c * PER_CLIENT + i;
		struct address addr;

		store_test_address(seq, &addr);
		if (relaydb_record(db, &addr, expected_value(seq), "client",
				   "test", &error) < 0) {
			fprintf(stderr, "client %u seq %u: %s\n", c, seq, error);
			_exit(1);
		}
		acked[seq] = 1;
		/* An older login never replaces the stored time. */
		if (i % 50 == 0 && relaydb_record(db, &addr,
						  expected_value(seq) - 100,
						  "client", "test", &error) < 0) {
			fprintf(stderr, "client %u seq %u again: %s\n", c, seq,
				error);
			_exit(1);
		}
	}
	relaydb_close(&db);
	_exit(0);
}

/* Start CLIENTS client processes; returns after starting them. */
static void clients_start(pid_t *pids, const char *location, uint8_t *acked)
{
	unsigned c;

	for (c = 0; c < CLIENTS; c++) {
		pids[c] = store_test_fork();
		if (pids[c] == 0)
			client_run(c, location, acked);
	}
}

/* Wait for the clients; returns how many exited 0. */
static unsigned clients_wait(const pid_t *pids)
{
	unsigned c, good = 0;

	for (c = 0; c < CLIENTS; c++) {
		int status;

		status = store_test_wait(pids[c]);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			good++;
	}
	return good;
}

/* Check that every acknowledged grant is in the store with its value and
 * that nothing else is; returns the number of problems. */
static unsigned long check_store(const uint8_t *acked)
{
	struct relaydb *db = store_test_open(store_path, 10000, false);
	struct store_test_view view;
	unsigned long problems = 0;
	uint32_t seq;

	store_test_view_init(&view, TOTAL);
	if (!store_test_view_load(&view, db))
		problems++;
	for (seq = 0; seq < TOTAL; seq++) {
		if (!acked[seq])
			continue;
		if (view.keys[seq] != store_test_key_count(seq)
		    || view.value[seq] != expected_value(seq)) {
			if (problems < 5)
				printf("# seq %u: %u keys, value %lld\n", seq,
				       view.keys[seq], (long long)view.value[seq]);
			problems++;
		}
	}
	if (view.bad_keys + view.bad_values + view.disagreeing > 0) {
		printf("# %s\n", view.first_problem);
		problems++;
	}
	store_test_view_free(&view);
	relaydb_close(&db);
	if (!store_test_verify(store_path, "after the clients"))
		problems++;
	return problems;
}

/* The number after " NAME=" in the recorder's last summary line, or 0. */
static unsigned long summary_field(const char *name)
{
	char line[1024], key[64];
	unsigned long value = 0;
	FILE *f = fopen(log_path, "r");

	snprintf(key, sizeof(key), " %s=", name);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, key);

		if (strstr(line, "summary ") != NULL && p != NULL)
			value = strtoul(p + strlen(key), NULL, 10);
	}
	if (f != NULL)
		fclose(f);
	return value;
}
static uint8_t *shared_acks(void)
{
	void *mem = mmap(NULL, TOTAL, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED)
		store_test_fatal("mmap: %s", strerror(errno));
	return mem;
}

static void fresh_store(void)
{
	struct relaydb *db;

	(void)unlink(store_path);
	db = store_test_open(store_path, 10000, true);
	relaydb_close(&db);
}

static void test_group_commit(void)
{
	uint8_t *acked = shared_acks();
	pid_t pids[CLIENTS], recorder;
	char bogus[4300];
	unsigned good;
	int status;

	test_begin("8 clients through the recorder: every grant stored, in "
		   "groups, file verifies, SIGTERM exits 0");
	fresh_store();
	(void)unlink(log_path);
	recorder = recorder_start();
	/* A store path no client can write: only the recorder can have
	 * written what the store holds. */
	snprintf(bogus, sizeof(bogus), "%s/no-such-dir/relayers.db", dir);
	clients_start(pids, bogus, acked);
	good = clients_wait(pids);
	test_assert_int_eq(good, CLIENTS);
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_assert_int_eq(check_store(acked), 0);
	test_assert(access(socket_path, F_OK) < 0);	/* removed at exit */
	printf("# largest group of grants in one update: %lu\n",
	       summary_field("largest"));
	test_assert(summary_field("largest") >= 2);
	test_end();
	munmap(acked, TOTAL);
}

static void test_sigkill(void)
{
	uint8_t *acked = shared_acks();
	pid_t pids[CLIENTS], recorder;
	unsigned good, n = 0, i;
	double start = store_test_now_ms();

	test_begin("recorder killed with SIGKILL while clients record: they "
		   "write the store themselves, no acknowledged grant lost");
	fresh_store();
	recorder = recorder_start();
	clients_start(pids, store_path, acked);
	/* Kill it once a part of the grants went through it. */
	while (n < TOTAL / 4 && store_test_now_ms() - start < 20000) {
		usleep(1000);
		for (n = 0, i = 0; i < TOTAL; i++)
			n += acked[i];
	}
	recorder_stop(recorder, SIGKILL);
	printf("# killed the recorder after %u acknowledged grants\n", n);
	test_assert(n < TOTAL);
	good = clients_wait(pids);
	test_assert_int_eq(good, CLIENTS);
	for (n = 0, i = 0; i < TOTAL; i++)
		n += acked[i];
	test_assert_int_eq(n, TOTAL);
	test_assert_int_eq(check_store(acked), 0);
	(void)unlink(socket_path);	/* the dead recorder's */
	test_end();
	munmap(acked, TOTAL);
}

/* The PID of the recorder's commit helper (its only child). */
static pid_t helper_pid(pid_t recorder)
{
	char path[64], text[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children",
		 (long)recorder, (long)recorder);
	f = fopen(path, "r");
	if (f == NULL)
		store_test_fatal("%s: %s", path, strerror(errno));
	if (fgets(text, sizeof(text), f) == NULL)
		text[0] = '\0';
	fclose(f);
	return (pid_t)strtol(text, NULL, 10);
}

static void test_helper_killed(void)
{
	uint8_t *acked = shared_acks();
	pid_t pids[CLIENTS], recorder, helper;
	unsigned good, n = 0, i;
	double start = store_test_now_ms();
	int status;

	test_begin("commit helper killed while clients record: the recorder "
		   "writes its plans itself, nothing lost, file verifies");
	fresh_store();
	recorder = recorder_start();
	helper = helper_pid(recorder);
	test_assert(helper > 0);
	clients_start(pids, store_path, acked);
	while (n < TOTAL / 4 && store_test_now_ms() - start < 20000) {
		usleep(1000);
		for (n = 0, i = 0; i < TOTAL; i++)
			n += acked[i];
	}
	if (helper > 0)
		kill(helper, SIGKILL);
	good = clients_wait(pids);
	test_assert_int_eq(good, CLIENTS);
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_assert_int_eq(check_store(acked), 0);
	test_end();
	munmap(acked, TOTAL);
}

/* Connect to the recorder, send LEN bytes of DATA, read until EOF or
 * MS milliseconds without data; the answer goes into OUT. Returns true
 * when the recorder closed the connection. */
static bool raw_exchange(const void *data, size_t len, int ms, char *out,
			 size_t size)
{
	struct sockaddr_un sun;
	size_t got = 0;
	bool closed = false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	socket_address(&sun);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		store_test_fatal("connect %s: %s", socket_path, strerror(errno));
	store_test_write_all(fd, data, len);
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, ms) <= 0)
			break;
		n = read(fd, out + got, size - 1 - got);
		if (n <= 0) {
			closed = n == 0 || errno == ECONNRESET;
			break;
		}
		got += (size_t)n;
		if (got == size - 1)
			break;
	}
	out[got] = '\0';
	close(fd);
	return closed;
}

static void test_protocol(void)
{
	static const char pipelined[] =
	    "record 192.0.2.10 1700000000 alice pop3\n"
	    "record 224.0.0.1 1700000000 bob imap\n"
	    "record 2001:db8::10 1700000001 carol imap\n";
	static const char nul_line[] = "record 192.0.2.11\0 1 a b\n";
	char out[2048], big[700];
	struct relaydb *db;
	struct address addr;
	const char *error;
	int64_t when;
	pid_t recorder;
	int status;

	test_begin("protocol: answers in order, never_relay refused, bad and "
		   "over-long lines answered and closed");
	fresh_store();
	recorder = recorder_start();
	test_assert(!raw_exchange(pipelined, strlen(pipelined), 300, out,
				  sizeof(out)));
	test_assert_strcmp(out, "ok\nerror never_relay in never_relay, not "
			   "recorded\nok\n");
	test_assert(raw_exchange("hello\n", 6, 2000, out, sizeof(out)));
	test_assert_strcmp(out, "error usage bad request\n");
	test_assert(raw_exchange("record 192.0.2.12 1 a b c\n", 26, 2000, out,
				 sizeof(out)));
	test_assert_strcmp(out, "error usage bad request\n");
	test_assert(raw_exchange(nul_line, sizeof(nul_line) - 1, 2000, out,
				 sizeof(out)));
	test_assert_strcmp(out, "error usage bad request\n");
	test_assert(raw_exchange("record 192.0.2.13 99999999999999999999 a b\n",
				 43, 2000, out, sizeof(out)));
	test_assert_strcmp(out, "error usage bad request\n");
	/* 600 bytes without a newline; then a line of 513 with it. */
	memset(big, 'a', sizeof(big));
	test_assert(raw_exchange(big, 600, 2000, out, sizeof(out)));
	test_assert_strcmp(out, "error usage line too long\n");
	memcpy(big, "record 192.0.2.14 1700000000 u ", 31);
	big[RECORDER_LINE_MAX] = '\n';
	test_assert(raw_exchange(big, RECORDER_LINE_MAX + 1, 2000, out,
				 sizeof(out)));
	test_assert_strcmp(out, "error usage line too long\n");

	/* relaydb_record() reports the refusal; nothing is written. */
	db = client_open(store_path, endpoint);
	address_parse("0.0.0.1", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE, "x", "test", &error) < 0);
	test_assert_contains(error, "never_relay");
	test_assert_int_eq(relaydb_error_kind(db), RELAYDB_ERROR_USAGE);
	test_assert(relaydb_lookup(db, &addr, &when, &error)
		    == RELAYDB_NOTFOUND);
	/* User and source with blanks and control bytes become tokens. */
	address_parse("192.0.2.15", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE, "a user\twith blanks",
				   "", &error) == 0);
	test_assert(relaydb_lookup(db, &addr, &when, &error) == RELAYDB_FOUND
		    && when == T_BASE);
	relaydb_close(&db);
	address_parse("192.0.2.10", &addr, &error);
	db = store_test_open(store_path, 10000, false);
	test_assert(relaydb_lookup(db, &addr, &when, &error) == RELAYDB_FOUND
		    && when == 1700000000);
	address_parse("224.0.0.1", &addr, &error);
	test_assert(relaydb_lookup(db, &addr, &when, &error)
		    == RELAYDB_NOTFOUND);
	relaydb_close(&db);
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_assert(store_test_verify(store_path, "after the protocol test"));
	test_end();
}

static void test_absent_and_restarted(void)
{
	char bogus[4300], missing[4400];
	struct relaydb *db;
	struct address addr;
	const char *error;
	int64_t when;
	pid_t recorder;

	test_begin("no recorder: the client writes the store itself; a "
		   "restarted recorder: the client reconnects");
	fresh_store();
	snprintf(missing, sizeof(missing), "unix:%s/no-such.sock", dir);
	db = client_open(store_path, missing);
	address_parse("192.0.2.20", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE + 20, "u", "test",
				   &error) == 0);
	test_assert(relaydb_lookup(db, &addr, &when, &error) == RELAYDB_FOUND
		    && when == T_BASE + 20);
	relaydb_close(&db);

	/* Through a recorder only (unusable store path), across a restart
	 * of the recorder: the kept connection is dead, a new one is made. */
	snprintf(bogus, sizeof(bogus), "%s/no-such-dir/relayers.db", dir);
	db = client_open(bogus, endpoint);
	recorder = recorder_start();
	address_parse("192.0.2.21", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE + 21, "u", "test",
				   &error) == 0);
	recorder_stop(recorder, SIGTERM);
	recorder = recorder_start();
	address_parse("192.0.2.22", &addr, &error);
	if (!test_assert(relaydb_record(db, &addr, T_BASE + 22, "u", "test",
					&error) == 0))
		printf("# %s\n", error);
	recorder_stop(recorder, SIGTERM);
	/* And with no recorder at all, the unusable path is an error, not
	 * a silent success. */
	address_parse("192.0.2.23", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE + 23, "u", "test",
				   &error) < 0);
	relaydb_close(&db);
	db = store_test_open(store_path, 10000, false);
	address_parse("192.0.2.21", &addr, &error);
	test_assert(relaydb_lookup(db, &addr, &when, &error) == RELAYDB_FOUND
		    && when == T_BASE + 21);
	address_parse("192.0.2.22", &addr, &error);
	test_assert(relaydb_lookup(db, &addr, &when, &error) == RELAYDB_FOUND
		    && when == T_BASE + 22);
	relaydb_close(&db);
	test_end();
}

static void test_fork(void)
{
	char bogus[4300];
	struct relaydb *db;
	struct address addr;
	const char *error;
	unsigned i, failed = 0;
	pid_t recorder, child;
	int status;

	test_begin("a handle used on both sides of a fork: each process gets "
		   "its own connection and its own answers");
	fresh_store();
	recorder = recorder_start();
	snprintf(bogus, sizeof(bogus), "%s/no-such-dir/relayers.db", dir);
	db = client_open(bogus, endpoint);
	address_parse("192.0.2.30", &addr, &error);
	test_assert(relaydb_record(db, &addr, T_BASE, "u", "test", &error) == 0);
	child = store_test_fork();
	for (i = 0; i < 300; i++) {
		store_test_address((child == 0 ? 0 : 1000) + i, &addr);
		if (relaydb_record(db, &addr, T_BASE + i, "u", "test",
				   &error) < 0)
			failed++;
	}
	if (child == 0)
		_exit(failed == 0 ? 0 : 1);
	test_assert_int_eq(failed, 0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	relaydb_close(&db);
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_end();
}

/* Write (VALUE not NULL) or delete KEY the way a program that is not
 * relaygate would: libdb on the file in place under flock(LOCK_EX), the
 * file's times stamped by the kernel. */
static void foreign_update(char *key, char *value)
{
	int fd = open(store_path, O_RDWR | O_CLOEXEC);
	DB *hdb;
	DBT k, v;
	int ret;

	if (fd < 0 || flock(fd, LOCK_EX) < 0)
		store_test_fatal("%s: open/flock: %s", store_path,
				 strerror(errno));
	if ((ret = db_create(&hdb, NULL, 0)) != 0
	    || (ret = hdb->open(hdb, NULL, store_path, NULL, DB_HASH, 0, 0)) != 0)
		store_test_fatal("%s: %s", store_path, db_strerror(ret));
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = key;
	k.size = (u_int32_t)strlen(key);
	if (value != NULL) {
		v.data = value;
		v.size = (u_int32_t)strlen(value);
		ret = hdb->put(hdb, NULL, &k, &v, 0);
	} else {
		ret = hdb->del(hdb, NULL, &k, 0);
	}
	if (ret != 0 && ret != DB_NOTFOUND)
		store_test_fatal("%s: %s: %s", store_path, key,
				 db_strerror(ret));
	if ((ret = hdb->close(hdb, DB_NOSYNC)) != 0)
		store_test_fatal("%s: close: %s", store_path, db_strerror(ret));
	close(fd);
}

#define MIXED_ROUNDS 300

/* Is TEXT stored with WHEN (WHEN < 0: not stored at all)? */
static bool stored_as(struct relaydb *db, const char *text, int64_t when)
{
	struct address addr;
	const char *error;
	int64_t got;
	enum relaydb_lookup_result result;

	if (address_parse(text, &addr, &error) < 0)
		store_test_fatal("%s: %s", text, error);
	result = relaydb_lookup(db, &addr, &got, &error);
	if (result == RELAYDB_TEMPFAIL)
		store_test_fatal("lookup %s: %s", text, error);
	if (when < 0 ? result == RELAYDB_FOUND
	    : result != RELAYDB_FOUND || got != when) {
		printf("# %s: %s %lld, expected %s %lld\n", text,
		       result == RELAYDB_FOUND ? "stored" : "absent",
		       (long long)got, when < 0 ? "absent" : "stored",
		       (long long)when);
		return false;
	}
	return true;
}

/* The recorder keeps the store and libdb's cache open between updates.
 * Between its updates, other relaygate writers and a foreign libdb
 * writer change the same small table, often within the same clock tick:
 * the recorder must see every change (else it would write back a stale
 * bucket: lost grants, or deleted ones back). */
static void test_other_writers(void)
{
	char bogus[4300], text[64], value[32];
	struct relaydb *rec, *direct;
	struct address addr;
	const char *error;
	unsigned i, failed = 0, wrong = 0, opens_alone;
	pid_t recorder;
	int status;

	test_begin("recorder's kept store sees every change by other writers "
		   "(relaygate and foreign, same clock tick): nothing lost, "
		   "nothing deleted comes back");
	fresh_store();
	(void)unlink(log_path);
	recorder = recorder_start();
	snprintf(bogus, sizeof(bogus), "%s/no-such-dir/relayers.db", dir);
	rec = client_open(bogus, endpoint);
	direct = store_test_open(store_path, 10000, false);
	/* Alone, the recorder opens the store once (plus once per growth). */
	for (i = 0; i < MIXED_ROUNDS; i++) {
		snprintf(text, sizeof(text), "10.0.%u.%u", i / 256, i % 256);
		address_parse(text, &addr, &error);
		if (relaydb_record(rec, &addr, T_BASE + i, "u", "test",
				   &error) < 0)
			failed++;
	}
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	opens_alone = (unsigned)summary_field("store_opens");
	printf("# recorder alone: %u grants, store opened %u times\n",
	       MIXED_ROUNDS, opens_alone);
	test_assert(opens_alone >= 1 && opens_alone <= 3);

	(void)unlink(log_path);
	recorder = recorder_start();
	for (i = 0; i < MIXED_ROUNDS; i++) {
		/* through the recorder */
		snprintf(text, sizeof(text), "10.1.%u.%u", i / 256, i % 256);
		address_parse(text, &addr, &error);
		if (relaydb_record(rec, &addr, T_BASE + i, "u", "test",
				   &error) < 0)
			failed++;
		/* another relaygate writer: a grant, and a delete of the
		 * recorder's previous grant every other round */
		snprintf(text, sizeof(text), "10.2.%u.%u", i / 256, i % 256);
		address_parse(text, &addr, &error);
		if (relaydb_record(direct, &addr, T_BASE + i, "u", "test",
				   &error) < 0)
			failed++;
		if (i % 2 == 1) {
			snprintf(text, sizeof(text), "10.1.%u.%u",
				 (i - 1) / 256, (i - 1) % 256);
			address_parse(text, &addr, &error);
			if (relaydb_remove(direct, &addr, 1, NULL, &error) < 0)
				failed++;
		}
		/* the recorder again, then a foreign writer: a grant, and a
		 * delete of the other writer's grant every third round */
		snprintf(text, sizeof(text), "10.3.%u.%u", i / 256, i % 256);
		address_parse(text, &addr, &error);
		if (relaydb_record(rec, &addr, T_BASE + i, "u", "test",
				   &error) < 0)
			failed++;
		snprintf(text, sizeof(text), "10.4.%u.%u", i / 256, i % 256);
		snprintf(value, sizeof(value), "%lld", (long long)(T_BASE + i));
		foreign_update(text, value);
		if (i % 3 == 2) {
			snprintf(text, sizeof(text), "10.2.%u.%u",
				 (i - 1) / 256, (i - 1) % 256);
			foreign_update(text, NULL);
		}
	}
	test_assert_int_eq(failed, 0);
	status = recorder_stop(recorder, SIGTERM);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	printf("# mixed writers: recorder opened the store %lu times for "
	       "%u updates\n", summary_field("store_opens"), 2 * MIXED_ROUNDS);
	/* every round but the first changed the store before the recorder's
	 * first update of the round */
	test_assert(summary_field("store_opens") >= MIXED_ROUNDS);
	for (i = 0; i < MIXED_ROUNDS; i++) {
		int64_t when = T_BASE + i;

		snprintf(text, sizeof(text), "10.0.%u.%u", i / 256, i % 256);
		wrong += !stored_as(direct, text, when);
		snprintf(text, sizeof(text), "10.1.%u.%u", i / 256, i % 256);
		wrong += !stored_as(direct, text, i % 2 == 0
				    && i + 1 < MIXED_ROUNDS ? -1 : when);
		snprintf(text, sizeof(text), "10.2.%u.%u", i / 256, i % 256);
		wrong += !stored_as(direct, text, i % 3 == 1
				    && i + 1 < MIXED_ROUNDS ? -1 : when);
		snprintf(text, sizeof(text), "10.3.%u.%u", i / 256, i % 256);
		wrong += !stored_as(direct, text, when);
		snprintf(text, sizeof(text), "10.4.%u.%u", i / 256, i % 256);
		wrong += !stored_as(direct, text, when);
	}
	test_assert_int_eq(wrong, 0);
	relaydb_close(&rec);
	relaydb_close(&direct);
	test_assert(store_test_verify(store_path, "after mixed writers"));
	test_end();
}

/* A direct writer that keeps the store open, forked after its first
 * update: parent and child share the open file, and with it the lock.
 * Each must drop what it inherited and open its own, or both would
 * write at once from stale caches. */
static void test_kept_writer_fork(void)
{
	struct relaydb *db;
	struct address addr;
	const char *error;
	unsigned i, failed = 0, wrong = 0;
	pid_t child;
	int status;

	test_begin("a direct writer keeping the store open, forked: parent "
		   "and child record at once, nothing lost, file verifies");
	fresh_store();
	db = store_test_open_writer(store_path, 10000, false, true);
	store_test_address(0, &addr);
	test_assert(relaydb_record(db, &addr, T_BASE, "u", "test", &error) == 0);
	child = store_test_fork();
	for (i = 1; i <= 400; i++) {
		uint32_t seq = (child == 0 ? 0 : 1000) + i;

		store_test_address(seq, &addr);
		if (relaydb_record(db, &addr, T_BASE + seq, "u", "test",
				   &error) < 0)
			failed++;
	}
	if (child == 0)
		_exit(failed == 0 ? 0 : 1);
	test_assert_int_eq(failed, 0);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	relaydb_close(&db);
	db = store_test_open(store_path, 10000, false);
	for (i = 0; i <= 1400; i++) {
		int64_t when;
		enum relaydb_lookup_result r;

		if (i > 400 && i <= 1000)
			continue;
		store_test_address(i, &addr);
		r = relaydb_lookup(db, &addr, &when, &error);
		if (r != RELAYDB_FOUND || when != T_BASE + i) {
			if (wrong++ < 5)
				printf("# seq %u: %s\n", i, r == RELAYDB_FOUND
				       ? "wrong value" : "missing");
		}
	}
	test_assert_int_eq(wrong, 0);
	relaydb_close(&db);
	test_assert(store_test_verify(store_path, "after the fork"));
	test_end();
}

int main(void)
{
	const char *root = getenv("RELAYGATE_BUILD_ROOT");

	if (root == NULL || *root == '\0')
		store_test_fatal("RELAYGATE_BUILD_ROOT is not set (run the test "
				 "through meson test)");
	snprintf(recorder_path, sizeof(recorder_path), "%s/relaygate-recorder",
		 root);
	if (access(recorder_path, X_OK) < 0)
		store_test_fatal("%s: %s (build it first)", recorder_path,
				 strerror(errno));
	store_test_dir_create("recorder", dir, sizeof(dir));
	snprintf(store_path, sizeof(store_path), "%s/relayers.db", dir);
	snprintf(socket_path, sizeof(socket_path), "%s/recorder.sock", dir);
	snprintf(endpoint, sizeof(endpoint), "unix:%s", socket_path);
	snprintf(conf_path, sizeof(conf_path), "%s/relaygate.conf", dir);
	snprintf(log_path, sizeof(log_path), "%s/recorder.log", dir);
	signal(SIGPIPE, SIG_IGN);

	test_group_commit();
	test_sigkill();
	test_helper_killed();
	test_protocol();
	test_absent_and_restarted();
	test_fork();
	test_other_writers();
	test_kept_writer_fork();
	if (test_state.failed_tests > 0) {
		setenv("STORE_TEST_KEEP", "1", 1);
		printf("# recorder log: %s\n", log_path);
	}
	store_test_dir_remove(dir);
	return test_exit();
}

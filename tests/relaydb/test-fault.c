/* test-fault: failure injection for the relay store, in the spirit of
 * SQLite's I/O error tests. This program is linked with
 * -Wl,--wrap=pwrite64, so every real page write page_commit makes to
 * relayers.db, in the writer or in its commit process, passes through
 * the hooks below. Proves:
 *  - deterministic crash points: a writer killed right after its first
 *    in-place page write, or by its commit process before that writes, leaves
 *    a store that verifies and holds every earlier grant, and the grant in
 *    flight completely or not at all (hundreds of inserts, through bucket
 *    splits);
 *  - a disk that fills up (ENOSPC on every write that extends the file)
 *    makes the operation report an error, and the store still verifies,
 *    keeps every earlier grant, and is unchanged by the failed operation;
 *  - an I/O error (EIO) on the N-th page write of a commit is reported,
 *    and the store still verifies and keeps every earlier grant. */
#include "store-test.h"
#include "test-common.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define T_BASE ((int64_t)1600000000)

enum fault_mode {
	FAULT_NONE,
	FAULT_KILL_AFTER_WRITE,	/* SIGKILL right after the N-th write */
	FAULT_KILL_AFTER_FORK,	/* the commit process SIGKILLs its writer
				 * before its first write */
	FAULT_ENOSPC_BEYOND,	/* ENOSPC for writes past SIZE_LIMIT */
	FAULT_EIO_NTH,		/* EIO on the N-th write */
};

/* In shared memory: the commit process's writes count too. */
static struct fault_state {
	enum fault_mode mode;
	pid_t pid;		/* only this process is hit (0: any) */
	dev_t dev;
	ino_t ino;
	off_t size_limit;
	unsigned nth, writes, injected;
	char grow_prefix[4200];	/* PATH.grow.: the file that replaces it */
} *fault;

ssize_t __real_pwrite64(int fd, const void *buf, size_t size, off_t offset);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t size, off_t offset);

static bool fault_is_target(int fd)
{
	struct stat st;

	if (fault->mode == FAULT_NONE || fstat(fd, &st) < 0)
		return false;
	if (fault->pid != 0 && getpid() != fault->pid)
		return false;
	if (st.st_dev == fault->dev && st.st_ino == fault->ino)
		return true;
	/* A commit that grows the store writes PATH.grow.PID and renames it
	 * over PATH (page_commit.c): its writes are the store's too. */
	{
		char link[64], name[4200];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, name, sizeof(name) - 1);
		if (n < 0)
			return false;
		name[n] = '\0';
		return strncmp(name, fault->grow_prefix,
			       strlen(fault->grow_prefix)) == 0;
	}
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t size, off_t offset)
{
	ssize_t ret;

	if (fault->mode == FAULT_KILL_AFTER_FORK && fault->pid != 0
	    && getpid() != fault->pid && getppid() == fault->pid) {
		/* We are the writer's commit process (vfork'ed): kill the
		 * writer now; the commit must still complete. */
		pid_t writer = fault->pid;

		fault->pid = 0;
		fault->mode = FAULT_NONE;
		kill(writer, SIGKILL);
		return __real_pwrite64(fd, buf, size, offset);
	}
	if (!fault_is_target(fd))
		return __real_pwrite64(fd, buf, size, offset);
	fault->writes++;
	switch (fault->mode) {
	case FAULT_ENOSPC_BEYOND:
		if (offset + (off_t)size > fault->size_limit) {
			fault->injected++;
			errno = ENOSPC;
			return -1;
		}
		break;
	case FAULT_EIO_NTH:
		if (fault->writes == fault->nth) {
			fault->injected++;
			errno = EIO;
			return -1;
		}
		break;
	case FAULT_KILL_AFTER_WRITE:
		ret = __real_pwrite64(fd, buf, size, offset);
		if (fault->writes == fault->nth)
			raise(SIGKILL);
		return ret;
	default:
		break;
	}
	return __real_pwrite64(fd, buf, size, offset);
}


static void fault_arm(const char *path, enum fault_mode mode, unsigned nth,
		      bool this_process_only)
{
	struct stat st;

	if (stat(path, &st) < 0)
		store_test_fatal("stat %s: %s", path, strerror(errno));
	fault->mode = mode;
	fault->dev = st.st_dev;
	fault->ino = st.st_ino;
	fault->size_limit = st.st_size;
	if (realpath(path, fault->grow_prefix) == NULL)
		store_test_fatal("realpath %s: %s", path, strerror(errno));
	strncat(fault->grow_prefix, ".grow.",
		sizeof(fault->grow_prefix) - strlen(fault->grow_prefix) - 1);
	fault->nth = nth;
	fault->writes = 0;
	fault->injected = 0;
	fault->pid = this_process_only ? getpid() : 0;
}

static void fault_disarm(void)
{
	fault->mode = FAULT_NONE;
}

/* The model: seq -> value for seqs below LIMIT; present flags. */
struct model {
	uint32_t limit;
	uint8_t *present;
	int64_t *value;
};

static void model_init(struct model *model, uint32_t limit)
{
	model->limit = limit;
	model->present = calloc(limit, 1);
	model->value = calloc(limit, sizeof(int64_t));
	if (model->present == NULL || model->value == NULL)
		store_test_fatal("out of memory");
}

static void model_free(struct model *model)
{
	free(model->present);
	free(model->value);
}

/* The store holds exactly MODEL, except that IN_FLIGHT (if not
 * UINT32_MAX) may be absent or present with IN_FLIGHT_VALUE (all of its
 * keys alike). *IN_FLIGHT_PRESENT_R tells which. Prints what differs. */
static bool model_check(const struct model *model, struct relaydb *db,
			struct store_test_view *view, uint32_t in_flight,
			int64_t in_flight_value, bool *in_flight_present_r)
{
	unsigned shown = 0;
	bool ok = true;
	uint32_t seq;

	if (!store_test_view_load(view, db))
		return false;
	if (view->bad_keys + view->bad_values + view->disagreeing > 0) {
		printf("# store: %s\n", view->first_problem);
		ok = false;
	}
	for (seq = 0; seq < model->limit; seq++) {
		unsigned keys = store_test_key_count(seq);
		bool match;

		if (seq == in_flight) {
			bool absent = view->keys[seq] == 0;
			bool present = view->keys[seq] == keys
			    && view->value[seq] == in_flight_value;

			if (in_flight_present_r != NULL)
				*in_flight_present_r = present;
			match = absent || present;
		} else if (model->present[seq])
			match = view->keys[seq] == keys
			    && view->value[seq] == model->value[seq];
		else
			match = view->keys[seq] == 0;
		if (!match) {
			ok = false;
			if (shown++ < 8)
				printf("# seq %u: store has %u keys value %lld; "
				       "model: %s %lld%s\n", seq, view->keys[seq],
				       (long long)view->value[seq],
				       model->present[seq] ? "present"
				       : "absent", (long long)model->value[seq],
				       seq == in_flight ? " (in flight)" : "");
		}
	}
	return ok;
}

/* Fork a writer that arms MODE/NTH for itself and records SEQ. Returns
 * its wait status. */
static int killed_writer(const char *path, enum fault_mode mode, unsigned nth,
			 uint32_t seq, int64_t value)
{
	int status;
	pid_t pid;

	pid = store_test_fork();
	if (pid == 0) {
		struct relaydb *db = store_test_open(path, 600000, false);
		struct address addr;
		const char *error;

		store_test_address(seq, &addr);
		fault_arm(path, mode, nth, true);
		if (relaydb_record(db, &addr, value, "u", "fault", &error) < 0) {
			dprintf(STDERR_FILENO, "record: %s\n", error);
			_exit(3);
		}
		_exit(0);
	}
	status = store_test_wait(pid);
	return status;
}

/* Crash points: every insert's writer is killed after its first in-place
 * page write (simple updates) or right after it forked its commit process
 * (updates of several pages). */
static void test_kill_points(const char *dir)
{
	char path[4200];
	struct store_test_view view;
	struct model model;
	struct relaydb *db;
	unsigned after_write = 0, after_fork = 0, finished = 0, applied = 0;
	unsigned kills_left_locked = 0, failures = 0;
	const uint32_t count = 1500;
	uint32_t seq;
	pid_t pid;
	int status;

	snprintf(path, sizeof(path), "%s/kill-points.db", dir);
	db = store_test_open(path, 600000, true);
	model_init(&model, count);
	store_test_view_init(&view, count);
	test_begin("fault: writers killed after their first page write or "
		   "after forking the commit process lose nothing acknowledged");
	for (seq = 0; seq < count && failures == 0; seq++) {
		/* odd: kill at the first in-place write; even: at the fork */
		enum fault_mode mode = seq % 2 ? FAULT_KILL_AFTER_WRITE
		    : FAULT_KILL_AFTER_FORK;
		int64_t value = T_BASE + seq;
		bool waited, present = false, content_ok;

		status = killed_writer(path, mode, 1, seq, value);
		fault_disarm();
		store_test_wait_unlocked(path, &waited);
		if (waited)
			kills_left_locked++;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
			if (mode == FAULT_KILL_AFTER_WRITE)
				after_write++;
			else
				after_fork++;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			finished++;
		else {
			printf("# seq %u: writer status 0x%x\n", seq,
			       (unsigned)status);
			failures++;
		}
		content_ok = model_check(&model, db, &view, seq, value,
					 &present);
		if (!store_test_verify(path, "kill point") || !content_ok) {
			printf("# seq %u: store wrong after a kill (%s)\n", seq,
			       mode == FAULT_KILL_AFTER_WRITE ? "after first "
			       "page write" : "after fork");
			failures++;
		}
		if (present) {
			applied++;
			model.present[seq] = 1;
			model.value[seq] = value;
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("# seq %u: acknowledged but absent\n", seq);
			failures++;
		}
	}
	test_assert_int_eq(failures, 0);
	/* both crash points were really reached */
	test_assert(after_write > 0);
	test_assert(after_fork > 0);
	test_end();
	printf("# kill points: %u inserts, killed after the first in-place "
	       "write %u, killed right after forking the commit process %u "
	       "(lock still held by it %u), finished (crash point not on their "
	       "path) %u; grant found afterwards %u\n", seq, after_write, after_fork,
	       kills_left_locked, finished, applied);
	store_test_view_free(&view);
	model_free(&model);
	relaydb_close(&db);
}

#define GROUP_SIZE 5

/* Fork a writer that arms MODE/NTH for itself and records the COUNT grants
 * SEQS in one update (relaydb_record_many, as the recorder does). Returns
 * its wait status once the store is unlocked (a commit process may finish
 * after it) and orphans are reaped. */
static int killed_group_writer(const char *path, enum fault_mode mode,
			       unsigned nth, const uint32_t *seqs, size_t count)
{
	pid_t pid = store_test_fork();
	bool waited;
	int status;

	if (pid == 0) {
		struct relaydb *db = store_test_open(path, 600000, false);
		struct relaydb_grant grants[GROUP_SIZE];
		const char *error;
		size_t i;

		for (i = 0; i < count; i++) {
			store_test_address(seqs[i], &grants[i].address);
			grants[i].when = T_BASE + seqs[i];
		}
		fault_arm(path, mode, nth, true);
		if (relaydb_record_many(db, grants, count, &error) < 0) {
			dprintf(STDERR_FILENO, "record: %s\n", error);
			_exit(3);
		}
		_exit(0);
	}
	status = store_test_wait(pid);
	fault_disarm();
	store_test_wait_unlocked(path, &waited);	/* a commit process */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return status;
}

/* After a kill: the store at PATH verifies and VIEW holds it without a
 * bad key or value. Prints what is wrong (ROUND) otherwise. */
static bool view_after_kill(const char *path, struct relaydb *db,
			    struct store_test_view *view, const char *what,
			    unsigned round)
{
	if (store_test_verify(path, what) && store_test_view_load(view, db)
	    && view->bad_keys + view->bad_values + view->disagreeing == 0)
		return true;
	printf("# round %u: %s\n", round, view->first_problem);
	return false;
}

/* How many seqs below LIMIT VIEW has otherwise than MODEL (each of their
 * keys, with the model's value, or none); prints the first five. */
static unsigned model_mismatches(const struct model *model,
				 const struct store_test_view *view,
				 uint32_t limit, unsigned round)
{
	unsigned wrong = 0;
	uint32_t i;

	for (i = 0; i < limit; i++) {
		bool ok = model->present[i]
		    ? view->keys[i] == store_test_key_count(i)
		      && view->value[i] == model->value[i]
		    : view->keys[i] == 0;

		if (!ok && wrong++ < 5)
			printf("# round %u: seq %u has %u keys, value %lld, "
			       "model %s %lld\n", round, i, view->keys[i],
			       (long long)view->value[i], model->present[i]
			       ? "present" : "absent",
			       (long long)model->value[i]);
	}
	return wrong;
}

/* Groups of grants in one update, the writer killed after its first or
 * second page write (IPv4 groups: several buckets may be written one by
 * one) or right after forking its commit process (groups with IPv6
 * addresses, whose two keys go together). Every earlier grant stays; of
 * an IPv4 group any subset may be there, each grant whole; a group with
 * IPv6 is there entirely or not at all. */
static void test_kill_groups(const char *dir)
{
	char path[4200];
	struct store_test_view view;
	struct model model;
	struct relaydb *db;
	const uint32_t rounds = 500, limit = rounds * 8 + 16;
	unsigned partial = 0, whole = 0, none = 0, failures = 0;
	uint32_t next = 0, round, seqs[GROUP_SIZE];
	int status;

	snprintf(path, sizeof(path), "%s/kill-groups.db", dir);
	db = store_test_open(path, 600000, true);
	model_init(&model, limit);
	store_test_view_init(&view, limit);
	test_begin("fault: a group of grants killed during its commit: IPv4 "
		   "grants each whole or absent, IPv6 groups all or nothing, "
		   "nothing earlier lost");
	for (round = 0; round < rounds && failures == 0; round++) {
		bool with_ipv6 = round % 4 == 3;
		enum fault_mode mode = with_ipv6 ? FAULT_KILL_AFTER_FORK
		    : FAULT_KILL_AFTER_WRITE;
		unsigned n = 0, present = 0, i;
		bool acknowledged;

		while (n < GROUP_SIZE) {
			uint32_t seq = next++;

			if (with_ipv6 || store_test_key_count(seq) == 1)
				seqs[n++] = seq;
		}
		status = killed_group_writer(path, mode, 1 + round % 2, seqs,
					     GROUP_SIZE);
		acknowledged = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!acknowledged && !(WIFSIGNALED(status)
				       && WTERMSIG(status) == SIGKILL)) {
			printf("# round %u: writer status 0x%x\n", round,
			       (unsigned)status);
			failures++;
		}
		if (!view_after_kill(path, db, &view, "group kill", round)) {
			failures++;
			break;
		}
		for (i = 0; i < GROUP_SIZE; i++) {
			uint32_t seq = seqs[i];

			if (view.keys[seq] == store_test_key_count(seq)
			    && view.value[seq] == T_BASE + seq) {
				present++;
				model.present[seq] = 1;
				model.value[seq] = T_BASE + seq;
			} else if (view.keys[seq] != 0) {
				printf("# round %u: seq %u torn: %u keys, "
				       "value %lld\n", round, seq,
				       view.keys[seq],
				       (long long)view.value[seq]);
				failures++;
			}
		}
		failures += model_mismatches(&model, &view, limit, round);
		if ((acknowledged || with_ipv6) && present != 0
		    && present != GROUP_SIZE) {
			printf("# round %u: %s group partly there (%u of %u)\n",
			       round, acknowledged ? "acknowledged" : "IPv6",
			       present, GROUP_SIZE);
			failures++;
		}
		if (acknowledged && present != GROUP_SIZE) {
			printf("# round %u: acknowledged, %u of %u there\n",
			       round, present, GROUP_SIZE);
			failures++;
		}
		if (present == GROUP_SIZE)
			whole++;
		else if (present == 0)
			none++;
		else
			partial++;
	}
	test_assert_int_eq(failures, 0);
	test_end();
	printf("# group kills: %u groups of %u, whole %u, absent %u, partly "
	       "there (IPv4, killed between bucket pages) %u\n", round,
	       GROUP_SIZE, whole, none, partial);
	test_begin("fault: some IPv4 groups were killed between their bucket "
		   "pages (the page-by-page path was exercised)");
	test_assert(partial > 0);
	test_end();
	store_test_view_free(&view);
	model_free(&model);
	relaydb_close(&db);
}

#define MOVES_KEYS 1200

/* A foreign map, made by db5.3_load, with a bucket whose first page is
 * full of pairs with one-byte values and continues on a second page:
 * when a grant replaces such a value by a timestamp, Berkeley DB moves
 * the pair to the next page of the chain, a change of two pages that
 * belong together. Keys: the first MOVES_KEYS IPv4 seqs, put in
 * SEQS_R (their addresses are 10.0.x.y). Returns how many. */
static unsigned create_full_chains(const char *path, uint32_t *seqs_r)
{
	char input[4300], out[4096];
	const char *argv[] = { "db5.3_load", "-T", "-t", "hash", "-c",
		"h_ffactor=1000", "-c", "h_nelem=100", "-f", input, path, NULL };
	unsigned n = 0;
	uint32_t seq;
	int status;
	FILE *f;

	snprintf(input, sizeof(input), "%s.input", path);
	if ((f = fopen(input, "w")) == NULL)
		store_test_fatal("%s: %s", input, strerror(errno));
	for (seq = 0; n < MOVES_KEYS; seq++) {
		char text[ADDRESS_TEXT_MAX];
		struct address addr;

		if (store_test_key_count(seq) != 1)
			continue;
		store_test_address(seq, &addr);
		address_format(&addr, text);
		fprintf(f, "%s\n1\n", text);
		seqs_r[n++] = seq;
	}
	if (fclose(f) != 0)
		store_test_fatal("%s: write error", input);
	(void)unlink(path);
	status = store_test_run(argv, out, sizeof(out));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		store_test_fatal("db5.3_load %s: %s", path, out);
	(void)unlink(input);
	return n;
}

/* Groups of IPv4 grants replacing one-byte values in full bucket chains,
 * the writer killed after its first or second page write: a pair that
 * Berkeley DB moved to another page must never be lost or doubled, so
 * every address stays stored exactly once, with its old value or its
 * new one, and an acknowledged group is whole. */
static void test_kill_moves(const char *dir)
{
	char path[4200];
	uint32_t keys[MOVES_KEYS], limit;
	struct store_test_view view;
	struct model model;
	struct relaydb *db;
	unsigned n, round, failures = 0, partial = 0, i;
	int status;

	snprintf(path, sizeof(path), "%s/kill-moves.db", dir);
	n = create_full_chains(path, keys);
	limit = keys[n - 1] + 1;
	model_init(&model, limit);
	for (i = 0; i < n; i++) {
		model.present[keys[i]] = 1;
		model.value[keys[i]] = 1;
	}
	db = store_test_open(path, 600000, false);
	store_test_view_init(&view, limit);
	test_begin("fault: grants that grow values in full bucket chains, "
		   "killed during their commit: no pair lost or doubled");
	for (round = 0; round < 300 && failures == 0; round++) {
		uint32_t group[GROUP_SIZE];
		unsigned g = 0, present = 0;
		bool acknowledged;

		while (g < GROUP_SIZE) {
			uint32_t seq = keys[store_test_random_below(n)];
			unsigned j;

			for (j = 0; j < g && group[j] != seq; j++)
				;
			if (j == g && model.value[seq] == 1)
				group[g++] = seq;
		}
		status = killed_group_writer(path, FAULT_KILL_AFTER_WRITE,
					     1 + round % 2, group, GROUP_SIZE);
		acknowledged = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		if (!view_after_kill(path, db, &view, "move kill", round)) {
			failures++;
			break;
		}
		for (i = 0; i < GROUP_SIZE; i++) {
			uint32_t seq = group[i];

			if (view.keys[seq] == 1 && view.value[seq] == T_BASE + seq) {
				present++;
				model.value[seq] = T_BASE + seq;
			}
		}
		failures += model_mismatches(&model, &view, limit, round);
		if (acknowledged && present != GROUP_SIZE) {
			printf("# round %u: acknowledged, %u of %u there\n",
			       round, present, GROUP_SIZE);
			failures++;
		}
		if (present > 0 && present < GROUP_SIZE)
			partial++;
	}
	test_assert_int_eq(failures, 0);
	test_end();
	printf("# value-growing groups: %u rounds, partly written %u\n", round,
	       partial);
	store_test_view_free(&view);
	model_free(&model);
	relaydb_close(&db);
}

/* Record SEQ (T_BASE + SEQ) in-process; returns the relaydb result. */
static int record_seq(struct relaydb *db, uint32_t seq, const char **error_r)
{
	struct address addr;

	store_test_address(seq, &addr);
	return relaydb_record(db, &addr, T_BASE + seq, "u", "fault", error_r);
}

/* Record SEQ in a child process whose file size limit is LIMIT bytes
 * (RLIMIT_FSIZE, SIGXFSZ ignored): the kernel refuses every write that
 * would extend the store, as a full disk or quota does. Returns 0 when the
 * record succeeded, -1 when it failed, and fills ERROR. */
static int record_seq_size_limited(const char *path, uint32_t seq,
				   off_t limit, char *error, size_t size)
{
	int report[2], status;
	ssize_t got;
	pid_t pid;

	store_test_pipe(report);
	pid = store_test_fork();
	if (pid == 0) {
		struct rlimit rl = { (rlim_t)limit, (rlim_t)limit };
		struct relaydb *db = store_test_open(path, 600000, false);
		const char *message;

		close(report[0]);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		if (record_seq(db, seq, &message) == 0)
			_exit(0);
		dprintf(report[1], "%s (error kind %d)", message,
			(int)relaydb_error_kind(db));
		_exit(1);
	}
	close(report[1]);
	got = read(report[0], error, size - 1);
	error[got > 0 ? got : 0] = '\0';
	close(report[0]);
	status = store_test_wait(pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return -1;
	store_test_fatal("size-limited writer: status 0x%x", (unsigned)status);
}

/* A full disk: every write that would extend the file fails, either by
 * the injected ENOSPC (REAL_LIMIT false) or by the kernel's RLIMIT_FSIZE
 * (EFBIG). Records that need no new page succeed; one that grows the file
 * must fail cleanly. */
static void test_disk_full(const char *dir, bool real_limit)
{
	char path[4200], before[4200], message[512];
	struct store_test_view view;
	struct model model;
	struct relaydb *db;
	const uint32_t count = 3000, base = 200;
	unsigned failed_ops = 0, unchanged = 0, changed = 0, succeeded = 0;
	unsigned broken = 0;
	const char *error;
	uint32_t seq;

	snprintf(path, sizeof(path), "%s/disk-full-%d.db", dir, real_limit);
	snprintf(before, sizeof(before), "%s/disk-full.before", dir);
	db = store_test_open(path, 600000, true);
	model_init(&model, count);
	store_test_view_init(&view, count);
	for (seq = 0; seq < base; seq++) {
		if (record_seq(db, seq, &error) < 0)
			store_test_fatal("setup record: %s", error);
		model.present[seq] = 1;
		model.value[seq] = T_BASE + seq;
	}
	test_begin(real_limit
		   ? "fault: with RLIMIT_FSIZE at the file size (EFBIG, as a "
		     "full disk), a failed record is reported and loses nothing"
		   : "fault: with the disk full (injected ENOSPC when the file "
		     "grows), a failed record is reported and loses nothing");
	for (seq = base; seq < count && failed_ops < 20 && broken == 0; seq++) {
		bool present = false, content_ok;
		int ret;

		store_test_copy_file(path, before);
		if (real_limit) {
			struct stat st;

			if (stat(path, &st) < 0)
				store_test_fatal("stat: %s", strerror(errno));
			ret = record_seq_size_limited(path, seq, st.st_size,
						      message, sizeof(message));
		} else {
			fault_arm(path, FAULT_ENOSPC_BEYOND, 0, false);
			ret = record_seq(db, seq, &error);
			fault_disarm();
			snprintf(message, sizeof(message), "%s (error kind %d)",
				 ret < 0 ? error : "", (int)relaydb_error_kind(db));
			if (ret < 0)
				test_assert_idx(relaydb_error_kind(db)
						== RELAYDB_ERROR_IO, seq);
		}
		if (ret == 0) {
			succeeded++;
			model.present[seq] = 1;
			model.value[seq] = T_BASE + seq;
			continue;
		}
		failed_ops++;
		if (failed_ops == 1)
			printf("# first failed record (seq %u): %s\n", seq,
			       message);
		content_ok = model_check(&model, db, &view, seq, T_BASE + seq,
					 &present);
		if (!store_test_verify(path, "disk full") || !content_ok) {
			printf("# seq %u: the store lost grants or does not "
			       "verify after a failed growth commit\n", seq);
			broken++;
		}
		/* relaydb_hash.c: "never leave the file changed after a
		 * failed operation" */
		if (store_test_same_bytes(before, path))
			unchanged++;
		else {
			changed++;
			printf("# seq %u: the failed record changed the file "
			       "(its grant is now %s)\n", seq,
			       present ? "present" : "absent");
		}
		if (present) {
			model.present[seq] = 1;
			model.value[seq] = T_BASE + seq;
		}
	}
	test_assert(failed_ops > 0);	/* the fault really hit */
	test_assert_int_eq(broken, 0);
	test_assert_int_eq(changed, 0);
	/* once there is space again, the store keeps working */
	if (broken == 0) {
		test_assert(record_seq(db, count - 1, &error) == 0);
		test_assert(store_test_verify(path, "after the disk was full"));
	}
	test_end();
	printf("# disk full (%s): %u records succeeded without growing the "
	       "file, %u failed: file unchanged %u, changed %u, store broken "
	       "%u\n", real_limit ? "RLIMIT_FSIZE" : "injected ENOSPC",
	       succeeded, failed_ops, unchanged, changed, broken);
	store_test_view_free(&view);
	model_free(&model);
	relaydb_close(&db);
}

/* EIO on the N-th real page write of one commit, for N = 1, 2, ...: the
 * commit of a record that splits a bucket (several pages). */
static void test_write_errors(const char *dir)
{
	char path[4200], base_copy[4200], before[4200];
	struct store_test_view view;
	struct model model;
	struct relaydb *db;
	const uint32_t limit = 4000;
	unsigned nth, reported = 0, broken = 0, changed = 0, writes_seen = 0;
	uint32_t seq, split_seq = UINT32_MAX;
	const char *error;

	snprintf(path, sizeof(path), "%s/write-error.db", dir);
	snprintf(base_copy, sizeof(base_copy), "%s/write-error.base", dir);
	snprintf(before, sizeof(before), "%s/write-error.before", dir);
	db = store_test_open(path, 600000, true);
	model_init(&model, limit);
	store_test_view_init(&view, limit);
	/* Find a record whose commit writes several pages (a split). */
	for (seq = 0; seq < limit - 1; seq++) {
		store_test_copy_file(path, before);
		fault_arm(path, FAULT_EIO_NTH, 0, false);	/* count only */
		if (record_seq(db, seq, &error) < 0)
			store_test_fatal("record: %s", error);
		writes_seen = fault->writes;
		fault_disarm();
		if (writes_seen > 2 && seq > 100) {
			split_seq = seq;
			break;
		}
		model.present[seq] = 1;
		model.value[seq] = T_BASE + seq;
	}
	if (split_seq == UINT32_MAX)
		store_test_fatal("no multi-page commit found in %u records", limit);
	/* Replay that commit from the state before it, failing write N. */
	store_test_copy_file(before, base_copy);
	test_begin("fault: an I/O error on any page write of a multi-page "
		   "commit is reported and the store still verifies");
	for (nth = 1; nth <= writes_seen; nth++) {
		bool present = false, content_ok;
		int ret;

		relaydb_close(&db);
		store_test_copy_file(base_copy, path);
		db = store_test_open(path, 600000, false);
		fault_arm(path, FAULT_EIO_NTH, nth, false);
		ret = record_seq(db, split_seq, &error);
		fault_disarm();
		if (!test_assert_idx(ret < 0, nth))
			continue;
		reported++;
		content_ok = model_check(&model, db, &view, split_seq,
					 T_BASE + split_seq, &present);
		if (!store_test_verify(path, "EIO") || !content_ok) {
			printf("# EIO on write %u of %u: the store lost data or "
			       "does not verify\n", nth, writes_seen);
			broken++;
		} else if (!store_test_same_bytes(base_copy, path)) {
			printf("# EIO on write %u of %u: the failed record "
			       "changed the file (grant %s)\n", nth, writes_seen,
			       present ? "present" : "absent");
			changed++;
		}
	}
	test_assert_int_eq(broken, 0);
	test_assert_int_eq(changed, 0);
	test_end();
	printf("# write errors: record of seq %u commits %u page writes; EIO "
	       "injected at each: reported %u, store broken %u, file changed "
	       "%u\n", split_seq, writes_seen, reported, broken, changed);
	store_test_view_free(&view);
	model_free(&model);
	relaydb_close(&db);
}

/* Parts: kill-points, disk-full, write-error (all without argument). */
int main(int argc, char **argv)
{
	const char *part;
	bool all;
	double start = store_test_now_ms();
	char dir[4096];

	argc = store_test_parse_args(argc, argv);
	part = argc > 1 ? argv[1] : "all";
	all = strcmp(part, "all") == 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!all && strcmp(part, "kill-points") != 0
	    && strcmp(part, "disk-full") != 0
	    && strcmp(part, "write-error") != 0)
		store_test_fatal("usage: test-fault [kill-points|disk-full|"
				 "write-error]");
	fault = mmap(NULL, sizeof(*fault), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fault == MAP_FAILED)
		store_test_fatal("mmap: %s", strerror(errno));
	memset(fault, 0, sizeof(*fault));
	/* orphaned commit processes of killed writers come back to us */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		store_test_fatal("prctl: %s", strerror(errno));
	store_test_dir_create("fault", dir, sizeof(dir));
	if (all || strcmp(part, "kill-points") == 0) {
		test_kill_points(dir);
		test_kill_groups(dir);
		test_kill_moves(dir);
	}
	if (all || strcmp(part, "disk-full") == 0) {
		test_disk_full(dir, false);
		test_disk_full(dir, true);
	}
	if (all || strcmp(part, "write-error") == 0)
		test_write_errors(dir);
	printf("# %.1f s\n", (store_test_now_ms() - start) / 1000.0);
	if (getenv("STORE_TEST_KEEP") == NULL)
		store_test_dir_remove(dir);
	else
		printf("# kept %s\n", dir);
	return test_exit();
}

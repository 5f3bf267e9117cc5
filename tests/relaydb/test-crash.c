/* test-crash: a writer killed with SIGKILL at a random moment never leaves
 * a torn relayers.db and never loses an acknowledged grant (DESIGN.md,
 * "a writer killed at any point leaves a file that opens, passes
 * db5.3_verify, and keeps every grant that was acknowledged").
 *
 * Each round forks a writer that runs a planned list of operations
 * (relaydb_record of new addresses, re-records with newer and older times,
 * relaydb_remove of batches, relaydb_expire) and acknowledges each one on a
 * pipe with write(2) right after it returned 0. The parent kills it after
 * 0-30 ms (every 6th round after 100-350 ms, so the map keeps growing
 * through bucket splits and overflow pages to tens of thousands of keys),
 * waits until no detached commit process holds the flock, and then checks
 * that
 *   - relaydb_iterate reads the file, db5.3_verify passes;
 *   - the file holds exactly the model after the acknowledged operations,
 *     except that the one operation in flight may have happened as a whole
 *     (never half: an IPv6 address has both keys or neither, a remove batch
 *     or an expire is all or nothing).
 * Environment: STORE_CRASH_SEED (replay), STORE_CRASH_ROUNDS. */
#include "store-test.h"
#include "test-common.h"

#include <sys/prctl.h>

#define CRASH_ROUNDS_DEFAULT 240
#define CRASH_MAX_OPS 20000
#define CRASH_MAX_REMOVE 64
#define CRASH_SEQ_LIMIT (1u << 20)
/* Values: a new address gets T_NEW + seq; a re-record T_RE + counter. */
#define T_NEW ((int64_t)1600000000)
#define T_RE ((int64_t)1700000000)

enum op_type { OP_RECORD, OP_REMOVE, OP_EXPIRE };

struct op {
	enum op_type type;
	bool new_seq;		/* RECORD of a never-used sequence number */
	uint32_t seq;		/* RECORD */
	int64_t value;		/* RECORD */
	uint32_t list_first, list_count; /* REMOVE: into remove_list */
	int64_t cutoff;		/* EXPIRE */
};

static struct op ops[CRASH_MAX_OPS];
static uint32_t remove_list[CRASH_MAX_OPS * 4];

/* The model: what the store must hold after the acknowledged operations. */
static uint8_t *model_present;
static int64_t *model_value;
static uint32_t next_seq;		/* sequence numbers below it were used */
static int64_t re_counter;

/* In-flight operation's alternative outcome, per sequence number. */
static uint8_t *affected;
static uint8_t *alt_present;
static int64_t *alt_value;
static uint32_t *affected_list;
static size_t affected_count;

static struct {
	unsigned rounds, killed, completed, lock_busy_after_kill;
	unsigned orphans_reaped, orphans_unreported, orphans_failed;
	unsigned inflight_applied, inflight_not_applied, no_inflight;
	unsigned long long acked_ops, acked_records, acked_removes, acked_expires;
	unsigned verify_passed;
	unsigned max_acks_in_round;
} stats;

static unsigned crash_keys_of(uint32_t seq)
{
	return seq % 8 == 6 ? 2 : 1;
}

/* Live sequence numbers (present in the model), for picking victims. */
static uint32_t *live;
static size_t live_count;

static void crash_collect_live(void)
{
	uint32_t seq;

	live_count = 0;
	for (seq = 0; seq < next_seq; seq++) {
		if (model_present[seq])
			live[live_count++] = seq;
	}
}

/* Plan the operations of ROUND. Returns their count. */
static size_t crash_plan_round(unsigned round, size_t want)
{
	size_t n = 0, list_used = 0;
	uint32_t seq = next_seq;

	crash_collect_live();
	if (round % 10 == 5 && live_count > 0) {
		uint32_t count = 1 + (uint32_t)store_test_random_below(CRASH_MAX_REMOVE);
		uint32_t i;

		ops[n].type = OP_REMOVE;
		ops[n].list_first = (uint32_t)list_used;
		ops[n].list_count = count;
		for (i = 0; i < count; i++)
			remove_list[list_used++] =
			    live[store_test_random_below(live_count)];
		n++;
	}
	if (round % 20 == 17 && live_count > 0) {
		/* Expire the oldest part of the never-re-recorded entries. */
		ops[n].type = OP_EXPIRE;
		ops[n].cutoff = T_NEW + live[0]
		    + (int64_t)store_test_random_below(1500);
		n++;
	}
	while (n < want && n < CRASH_MAX_OPS) {
		struct op *op = &ops[n++];
		uint64_t pick = store_test_random_below(100);

		op->type = OP_RECORD;
		op->new_seq = false;
		if (pick < 8 && live_count > 0) {
			/* a later login of a known address: newer time */
			op->seq = live[store_test_random_below(live_count)];
			op->value = T_RE + ++re_counter;
		} else if (pick < 12 && live_count > 0) {
			/* an older time never replaces a stored later one */
			op->seq = live[store_test_random_below(live_count)];
			op->value = T_NEW + op->seq - 1;
		} else if (pick < 14 && n >= 2 && ops[n - 2].type == OP_RECORD) {
			/* the same address twice in a row: second is a no-op */
			*op = ops[n - 2];
			op->new_seq = false;
		} else {
			if (seq >= CRASH_SEQ_LIMIT)
				store_test_fatal("sequence space exhausted");
			op->seq = seq++;
			op->value = T_NEW + op->seq;
			op->new_seq = true;
		}
	}
	return n;
}

/* Child: run OPS[0..COUNT), acknowledging each on ACK_FD. Never returns. */
static void crash_writer(const char *path, size_t count, int ack_fd)
{
	struct relaydb_settings settings;
	struct address addrs[CRASH_MAX_REMOVE];
	struct relaydb *db;
	const char *error;
	size_t i;

	memset(&settings, 0, sizeof(settings));
	settings.location = path;
	settings.lock_timeout_ms = 600000;
	settings.create = true;
	db = relaydb_open(&settings, &error);
	if (db == NULL) {
		dprintf(STDERR_FILENO, "writer: relaydb_open: %s\n", error);
		_exit(3);
	}
	for (i = 0; i < count; i++) {
		const struct op *op = &ops[i];
		uint64_t removed, skipped;
		uint32_t ack = (uint32_t)i, k;
		int ret = -1;

		switch (op->type) {
		case OP_RECORD:
			store_test_address(op->seq, &addrs[0]);
			ret = relaydb_record(db, &addrs[0], op->value, "crash",
					     "test", &error);
			break;
		case OP_REMOVE:
			for (k = 0; k < op->list_count; k++)
				store_test_address(remove_list[op->list_first + k],
						   &addrs[k]);
			ret = relaydb_remove(db, addrs, op->list_count, NULL,
					     &error);
			break;
		case OP_EXPIRE:
			ret = relaydb_expire(db, op->cutoff, &removed, &skipped,
					     &error);
			if (ret == 0 && skipped != 0) {
				dprintf(STDERR_FILENO, "writer: expire skipped "
					"%llu entries\n",
					(unsigned long long)skipped);
				_exit(4);
			}
			break;
		}
		if (ret < 0) {
			dprintf(STDERR_FILENO, "writer: op %zu failed: %s\n", i,
				error);
			_exit(3);
		}
		store_test_write_all(ack_fd, &ack, sizeof(ack));
	}
	relaydb_close(&db);
	_exit(0);
}

/* Apply OP to (PRESENT, VALUE), the way the store must. */
static void crash_apply(const struct op *op, uint8_t *present, int64_t *value)
{
	uint32_t k, seq;

	switch (op->type) {
	case OP_RECORD:
		if (!present[op->seq] || value[op->seq] < op->value) {
			present[op->seq] = 1;
			value[op->seq] = op->value;
		}
		break;
	case OP_REMOVE:
		for (k = 0; k < op->list_count; k++)
			present[remove_list[op->list_first + k]] = 0;
		break;
	case OP_EXPIRE:
		for (seq = 0; seq < CRASH_SEQ_LIMIT; seq++) {
			if (present[seq] && value[seq] <= op->cutoff)
				present[seq] = 0;
		}
		break;
	}
}

static void crash_mark_affected(uint32_t seq)
{
	if (affected[seq])
		return;
	affected[seq] = 1;
	alt_present[seq] = model_present[seq];
	alt_value[seq] = model_value[seq];
	affected_list[affected_count++] = seq;
}

/* Record which sequence numbers the in-flight OP would change, and to what. */
static void crash_prepare_inflight(const struct op *op)
{
	uint32_t k, seq;

	switch (op->type) {
	case OP_RECORD:
		crash_mark_affected(op->seq);
		break;
	case OP_REMOVE:
		for (k = 0; k < op->list_count; k++)
			crash_mark_affected(remove_list[op->list_first + k]);
		break;
	case OP_EXPIRE:
		for (seq = 0; seq < next_seq; seq++) {
			if (model_present[seq] && model_value[seq] <= op->cutoff)
				crash_mark_affected(seq);
		}
		break;
	}
	crash_apply(op, alt_present, alt_value);
}

static bool crash_seq_matches(const struct store_test_view *view, uint32_t seq,
			      bool present, int64_t value)
{
	if (!present)
		return view->keys[seq] == 0;
	return view->keys[seq] == crash_keys_of(seq) && view->value[seq] == value;
}

static void crash_describe_seq(const struct store_test_view *view, uint32_t seq,
			       const char *what, bool present, int64_t value)
{
	char text[ADDRESS_TEXT_MAX];
	struct address addr;

	store_test_address(seq, &addr);
	printf("#   %s (seq %u): file has %u key(s) value %lld; %s: %s %lld\n",
	       address_format(&addr, text), seq, view->keys[seq],
	       (long long)view->value[seq], what,
	       present ? "present with" : "absent", (long long)value);
}

/* Compare the file (VIEW) with the model; for the in-flight operation's
 * addresses accept the old or the new state, all alike. */
static bool crash_check_view(const struct store_test_view *view,
			     unsigned round, bool *inflight_applied_r)
{
	bool ok = true, match_old = true, match_new = true;
	unsigned shown = 0;
	uint32_t seq;
	size_t i;

	if (view->bad_keys + view->bad_values + view->disagreeing > 0) {
		printf("# round %u: %llu bad keys, %llu bad values, %llu IPv6 "
		       "key pairs that disagree; first: %s\n", round,
		       view->bad_keys, view->bad_values, view->disagreeing,
		       view->first_problem);
		ok = false;
	}
	for (seq = 0; seq < next_seq; seq++) {
		if (affected[seq])
			continue;
		if (!crash_seq_matches(view, seq, model_present[seq],
				       model_value[seq])) {
			if (shown++ < 10)
				crash_describe_seq(view, seq, model_present[seq]
						   ? "acknowledged, expected"
						   : "expected", model_present[seq],
						   model_value[seq]);
			ok = false;
		}
	}
	for (i = 0; i < affected_count; i++) {
		seq = affected_list[i];
		if (!crash_seq_matches(view, seq, model_present[seq],
				       model_value[seq]))
			match_old = false;
		if (!crash_seq_matches(view, seq, alt_present[seq],
				       alt_value[seq]))
			match_new = false;
	}
	if (!match_old && !match_new) {
		printf("# round %u: the operation in flight was applied in "
		       "part (%zu addresses involved)\n", round, affected_count);
		for (i = 0; i < affected_count && i < 10; i++) {
			seq = affected_list[i];
			crash_describe_seq(view, seq, "before", model_present[seq],
					   model_value[seq]);
			crash_describe_seq(view, seq, "after", alt_present[seq],
					   alt_value[seq]);
		}
		ok = false;
	}
	if (shown > 10)
		printf("#   ... %u mismatching addresses in all\n", shown);
	*inflight_applied_r = !match_old && match_new;
	return ok;
}

/* Reap orphaned commit processes (we are their subreaper). */
static void crash_reap_orphans(bool block)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
		stats.orphans_reaped++;
		/* A commit process exits 0 when its writer got the report, 2
		 * when the writer was gone (killed) before it could report;
		 * 1 (write error) or a signal is a failure. */
		if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
			stats.orphans_unreported++;
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			stats.orphans_failed++;
			printf("# orphaned process %ld ended with status 0x%x\n",
			       (long)pid, (unsigned)status);
		}
	}
}

/* One round: plan, run, kill, check. Returns false on a failed check. */
static bool crash_round(const char *path, struct relaydb *reader,
			struct store_test_view *view, unsigned round)
{
	unsigned delay_us, acked = 0;
	bool long_round = round % 6 == 5;
	bool lock_busy, applied, ok = true;
	int ack_pipe[2], status;
	size_t nops, i;
	uint32_t ack;
	pid_t pid;

	delay_us = long_round ? 100000 + (unsigned)store_test_random_below(250001)
	    : (unsigned)store_test_random_below(30001);
	nops = crash_plan_round(round, CRASH_MAX_OPS);
	store_test_pipe(ack_pipe);
	pid = store_test_fork();
	if (pid == 0) {
		close(ack_pipe[0]);
		crash_writer(path, nops, ack_pipe[1]);
	}
	close(ack_pipe[1]);
	if (delay_us > 0) {
		struct timespec ts = { (time_t)(delay_us / 1000000),
				       (long)(delay_us % 1000000) * 1000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	kill(pid, SIGKILL);
	status = store_test_wait(pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		stats.killed++;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		stats.completed++;
	else {
		printf("# round %u: writer failed by itself (status 0x%x)\n",
		       round, (unsigned)status);
		ok = false;
	}
	/* A detached commit process may still be writing: it holds the lock. */
	store_test_wait_unlocked(path, &lock_busy);
	if (lock_busy)
		stats.lock_busy_after_kill++;
	for (;;) {
		ssize_t got = read(ack_pipe[0], &ack, sizeof(ack));

		if (got < 0 && errno == EINTR)
			continue;
		if (got == 0)
			break;
		if (got != (ssize_t)sizeof(ack) || ack != acked) {
			printf("# round %u: garbled acknowledgement\n", round);
			ok = false;
			break;
		}
		acked++;
	}
	close(ack_pipe[0]);
	crash_reap_orphans(false);

	/* The acknowledged operations happened, in order. */
	for (i = 0; i < acked; i++) {
		crash_apply(&ops[i], model_present, model_value);
		stats.acked_ops++;
		if (ops[i].type == OP_RECORD)
			stats.acked_records++;
		else if (ops[i].type == OP_REMOVE)
			stats.acked_removes++;
		else
			stats.acked_expires++;
	}
	if (acked > stats.max_acks_in_round)
		stats.max_acks_in_round = acked;
	/* Sequence numbers up to the in-flight operation may be in the file. */
	for (i = 0; i < nops && i <= acked; i++) {
		if (ops[i].new_seq && ops[i].seq >= next_seq)
			next_seq = ops[i].seq + 1;
	}
	affected_count = 0;
	if (acked < nops)
		crash_prepare_inflight(&ops[acked]);

	if (!store_test_view_load(view, reader)) {
		printf("# round %u: the store cannot be read after the kill\n",
		       round);
		ok = false;
	} else if (!crash_check_view(view, round, &applied)) {
		printf("# round %u: %u operations acknowledged (of %zu "
		       "planned), delay %u us\n", round, acked, nops, delay_us);
		ok = false;
	} else if (acked < nops) {
		if (applied) {
			stats.inflight_applied++;
			for (i = 0; i < affected_count; i++) {
				uint32_t seq = affected_list[i];

				model_present[seq] = alt_present[seq];
				model_value[seq] = alt_value[seq];
			}
		} else
			stats.inflight_not_applied++;
	} else
		stats.no_inflight++;
	for (i = 0; i < affected_count; i++)
		affected[affected_list[i]] = 0;
	if (store_test_verify(path, "after a kill"))
		stats.verify_passed++;
	else {
		printf("# round %u: db5.3_verify failed; %u operations "
		       "acknowledged, delay %u us\n", round, acked, delay_us);
		ok = false;
	}
	stats.rounds++;
	return ok;
}

int main(int argc, char **argv)
{
	char dir[4096], path[4200];
	struct store_test_view view;
	struct relaydb *reader;
	unsigned rounds = CRASH_ROUNDS_DEFAULT, round;
	const char *text = getenv("STORE_CRASH_ROUNDS");
	unsigned long long entries = 0;
	double start = store_test_now_ms();
	bool ok = true;
	uint32_t seq;
	struct stat st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (text != NULL && *text != '\0')
		rounds = (unsigned)strtoul(text, NULL, 10);
	if (store_test_parse_args(argc, argv) != 1)
		store_test_fatal("usage: %s [--makemap-shape]", argv[0]);
	store_test_seed("STORE_CRASH_SEED");
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		store_test_fatal("prctl(PR_SET_CHILD_SUBREAPER): %s",
				 strerror(errno));
	for (seq = 0; seq < 64; seq++) {
		if (store_test_key_count(seq) != crash_keys_of(seq))
			store_test_fatal("address universe: seq %u has %u keys",
					 seq, store_test_key_count(seq));
	}
	model_present = calloc(CRASH_SEQ_LIMIT, 1);
	model_value = calloc(CRASH_SEQ_LIMIT, sizeof(int64_t));
	affected = calloc(CRASH_SEQ_LIMIT, 1);
	alt_present = calloc(CRASH_SEQ_LIMIT, 1);
	alt_value = calloc(CRASH_SEQ_LIMIT, sizeof(int64_t));
	affected_list = calloc(CRASH_SEQ_LIMIT, sizeof(uint32_t));
	live = calloc(CRASH_SEQ_LIMIT, sizeof(uint32_t));
	if (model_present == NULL || model_value == NULL || affected == NULL
	    || alt_present == NULL || alt_value == NULL || affected_list == NULL
	    || live == NULL)
		store_test_fatal("out of memory");
	store_test_view_init(&view, CRASH_SEQ_LIMIT);

	store_test_dir_create("crash", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/relayers.db", dir);
	reader = store_test_open(path, 600000, true);	/* creates it */

	test_begin("crash: SIGKILLed writers leave a verified store with every "
		   "acknowledged grant");
	for (round = 0; round < rounds && ok; round++)
		ok = test_assert_idx(crash_round(path, reader, &view, round),
				     round);
	crash_reap_orphans(true);
	test_assert(stats.orphans_failed == 0);
	test_assert(stats.killed > 0);
	test_end();

	for (seq = 0; seq < next_seq; seq++)
		entries += model_present[seq] ? crash_keys_of(seq) : 0;
	if (stat(path, &st) < 0)
		st.st_size = -1;
	printf("# rounds %u, writers killed %u, writers that finished their "
	       "plan %u\n", stats.rounds, stats.killed, stats.completed);
	printf("# operations acknowledged %llu (records %llu, removes %llu, "
	       "expires %llu), most in one round %u\n", stats.acked_ops,
	       stats.acked_records, stats.acked_removes, stats.acked_expires,
	       stats.max_acks_in_round);
	printf("# operation in flight at the kill: found applied %u, not "
	       "applied %u\n", stats.inflight_applied,
	       stats.inflight_not_applied);
	printf("# kills that left a detached commit process holding the lock "
	       "%u; orphaned commit processes reaped %u (writer gone before the "
	       "report %u, failed %u)\n", stats.lock_busy_after_kill,
	       stats.orphans_reaped, stats.orphans_unreported,
	       stats.orphans_failed);
	printf("# db5.3_verify passed %u of %u rounds; final store %llu keys "
	       "(%u addresses used), %lld bytes; %.1f s\n", stats.verify_passed,
	       stats.rounds, entries, next_seq, (long long)st.st_size,
	       (store_test_now_ms() - start) / 1000.0);

	relaydb_close(&reader);
	store_test_view_free(&view);
	if (getenv("STORE_TEST_KEEP") == NULL)
		store_test_dir_remove(dir);
	else
		printf("# kept %s\n", dir);
	return test_exit();
}

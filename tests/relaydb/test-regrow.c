/* test-regrow: an update in which Berkeley DB truncates the file and then
 * grows it again keeps every grant. libdb 5.3 gives the file's last page
 * back to the system (ftruncate) when it frees it, e.g. an overflow page
 * emptied by a bucket split, and may allocate a page at the same offset
 * later in the same update. page_commit once applied the truncation after
 * writing the new pages, cutting them off: an overflow chain pointed past
 * the end, its grants were lost at the next split of the bucket (or a
 * write failed with DB_PAGE_NOTFOUND). Seen as rare lost grants in
 * store/concurrency; here the same insert orders are replayed by one
 * process, so the result does not depend on timing.
 * Each replay records the 4000 addresses of store/concurrency in the order
 * a seed gives, one update each, and proves the store then holds all of
 * them and verifies. The seeds below made the old code lose grants (with
 * libdb 5.3 and 4096-byte pages); the test also checks that the replays
 * still make libdb truncate the file, so that it keeps testing something.
 * Environment: STORE_REGROW_SEED adds one replay of that seed. */
#include "store-test.h"
#include "test-common.h"

#define WRITERS 8
#define PER_WRITER 500
#define TOTAL (WRITERS * PER_WRITER)
#define T_BASE ((int64_t)1650000000)

/* Insert orders that lost grants before the fix. */
static const uint64_t regrow_seeds[] = {
	1796200103759323003ULL,		/* 59 grants lost */
	14504034806550793112ULL,	/* write failed: DB_PAGE_NOTFOUND */
	15074457263318328764ULL,	/* one key of an IPv6 grant lost */
};

/* libdb's truncations reach the file only through page_commit's
 * replacement, which cuts the new file to libdb's size with ftruncate
 * (and then reserves room for growth, so the size seen from outside need
 * not shrink): count those calls. */
static unsigned regrow_ftruncate_calls;
int __real_ftruncate64(int fd, off_t length);
int __wrap_ftruncate64(int fd, off_t length);
int __wrap_ftruncate64(int fd, off_t length)
{
	regrow_ftruncate_calls++;
	return __real_ftruncate64(fd, length);
}

/* With relay_db_fsync = no, no update may flush the disk: count fsync(2)
 * calls (libdb's, let through by page_commit). Once each growing update
 * fsynced the replacement file, which libdb reopens by name at close. */
static unsigned regrow_fsync_calls;
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
	regrow_fsync_calls++;
	return __real_fsync(fd);
}

/* Record the addresses in the order SEED gives into a new store in DIR;
 * count how often libdb truncated the store. Returns true when every record
 * succeeded, the store verifies and holds exactly every grant. */
static bool regrow_replay(const char *dir, uint64_t seed, unsigned *shrinks_r)
{
	unsigned next[WRITERS] = { 0 }, done = 0, missing = 0;
	bool recorded[TOTAL] = { false };
	struct store_test_view view;
	char path[4200];
	struct relaydb *db;
	const char *error;
	bool ok = true;
	uint32_t seq;

	snprintf(path, sizeof(path), "%s/relayers-%" PRIu64 ".db", dir, seed);
	db = store_test_open(path, 10000, true);
	regrow_fsync_calls = 0;		/* creating the empty store syncs it */
	store_test_rng_state = seed;
	while (done < TOTAL) {
		unsigned w = (unsigned)store_test_random_below(WRITERS);
		struct address addr;

		if (next[w] == PER_WRITER)
			continue;
		seq = w * PER_WRITER + next[w]++;
		done++;
		store_test_address(seq, &addr);
		if (relaydb_record(db, &addr, T_BASE + seq, "regrow", "test",
				   &error) < 0) {
			printf("# seed %" PRIu64 ": record seq %u: %s\n", seed,
			       seq, error);
			ok = false;
			break;
		}
		recorded[seq] = true;
	}
	*shrinks_r += regrow_ftruncate_calls;
	regrow_ftruncate_calls = 0;
	if (!store_test_verify(path, "after the replay"))
		ok = false;
	store_test_view_init(&view, STORE_TEST_SEQ_LIMIT);
	if (!store_test_view_load(&view, db))
		ok = false;
	for (seq = 0; seq < TOTAL; seq++) {
		if (recorded[seq] && (view.keys[seq] != store_test_key_count(seq)
				      || view.value[seq] != T_BASE + (int64_t)seq))
			missing++;
	}
	if (missing > 0 || view.bad_keys + view.bad_values > 0) {
		printf("# seed %" PRIu64 ": %u of %u grants missing or wrong, "
		       "%" PRIu64 " bad keys, %" PRIu64 " bad values\n", seed,
		       missing, done, (uint64_t)view.bad_keys,
		       (uint64_t)view.bad_values);
		ok = false;
	}
	store_test_view_free(&view);
	relaydb_close(&db);
	return ok;
}

int main(int argc, char **argv)
{
	const char *extra = getenv("STORE_REGROW_SEED");
	unsigned shrinks = 0, update_fsyncs = 0;
	char dir[4096];
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (store_test_parse_args(argc, argv) != 1)
		store_test_fatal("usage: %s [--makemap-shape]", argv[0]);
	store_test_dir_create("regrow", dir, sizeof(dir));

	test_begin("regrow: updates that truncate and grow the file again "
		   "keep every grant");
	for (i = 0; i < sizeof(regrow_seeds) / sizeof(regrow_seeds[0]); i++) {
		test_assert_idx(regrow_replay(dir, regrow_seeds[i], &shrinks), i);
		update_fsyncs += regrow_fsync_calls;
	}
	if (extra != NULL && *extra != '\0') {
		uint64_t seed = strtoull(extra, NULL, 0);

		test_assert(regrow_replay(dir, seed, &shrinks));
	}
	test_end();

	test_begin("regrow: the replays made libdb truncate the file");
	printf("# libdb truncated the store %u times\n", shrinks);
	test_assert(shrinks > 0);
	test_end();

	test_begin("regrow: with fsync off, growing updates (replacements) "
		   "never fsync");
	test_assert_int_eq(update_fsyncs, 0);
	test_end();

	store_test_dir_remove(dir);
	return test_exit();
}

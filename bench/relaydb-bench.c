/* relaydb-bench: benchmarks of the relay store, side by side in one run.
 *
 *  a  relaygate: relaydb_record() as a server calls it (one handle per
 *     process, a distinct address per grant, value = now), 1 writer, N
 *     writer processes at once, and 1 writer with settings.fsync = true;
 *  b  the naive cycle per grant: open, flock(LOCK_EX), db_create,
 *     DB->open(DB_HASH), put, DB->sync, DB->close, close;
 *  c  the log-watcher way: rewrite the whole map with `makemap hash` from a
 *     text list for every grant (pop-before-smtp style);
 *  d  the ceiling: DB->put in a loop on one open handle, no lock, no sync;
 *  e  relaydb_lookup() from 1 and N reader processes;
 *  f  vsmtprelay load / list / dump / expire over a large store;
 *  g  db5.3_verify on every store written, and a count of the entries;
 *  p  where the time of one relaydb_record() goes (1 and N writers);
 *  r  the rows of a, with relay_db_recorder set: relaydb_record() hands
 *     each grant to a relaygate-recorder started for the run, which
 *     writes the grants of each event-loop round in one update (group
 *     commit); 1 writer, N back to back, N paced;
 *  rf the floor of rp: the same paced writers and client code, the
 *     recorder replaced by a process that answers "ok" at once and never
 *     touches the store (what the machine's wake-ups and scheduling cost).
 *
 * Every measurement runs in freshly forked processes: the parent never
 * opens a store, so the page-commit I/O hooks that relaydb installs in
 * libdb never leak into the naive and raw runs. When the linker supports
 * --wrap, a few libc/libdb entry points used by src/ are wrapped (plain
 * pass-through unless section p is profiling) to count commit processes
 * and to time the phases of an update. Not installed; see
 * bench/run-relaydb-bench.sh and docs/BENCHMARKS.md. */
#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "page_commit.h"
#include "relaydb.h"

extern char **environ;

#ifndef RELAYGATE_VERSION
#define RELAYGATE_VERSION "unknown"
#endif

/* Targets (docs/BENCHMARKS.md). */
#define TARGET_GRANTS_PER_S 20000.0
#define TARGET_P99_US 1000.0
#define TARGET_BULK_S 2.0
#define TARGET_BULK_ENTRIES 1000000ULL

/* Addresses: 10.0.0.0 + block * 2^21 + i, i < 2^21 per block. */
#define ADDR_BLOCK_SIZE (1ULL << 21)

/* ------------------------------------------------------------------ */
/* Options */

struct options {
	const char *base_dir;
	bool keep;
	uint64_t grants;		/* per writer, relaygate runs */
	unsigned writers;		/* processes in the multi-process runs */
	uint64_t fsync_grants;
	uint64_t naive_grants;		/* per writer */
	uint64_t makemap_sizes[8];
	size_t makemap_size_count;
	uint64_t makemap_grants;	/* per map size */
	uint64_t raw_puts;
	uint64_t lookup_store;
	uint64_t lookups;		/* per reader */
	uint64_t bulk;
	double time_cap;		/* seconds, per run */
	uint64_t ballast_mb;		/* memory each relaygate writer touches */
	uint64_t prefill;		/* other entries in a/r stores first */
	double paced_rate;		/* grants/s, all writers together */
	double paced_seconds;
	double profile_rate;		/* section p: 0 back to back */
	const char *sections;
	const char *vsmtprelay;
	const char *makemap;
	const char *db_verify;
	const char *recorder;		/* relaygate-recorder program */
	bool strict;
	const char *mode;		/* "full", "quick", "smoke" */
};

static struct options opt;
static char work_dir[PATH_MAX];
static int failures;

/* ------------------------------------------------------------------ */
/* Small helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "relaydb-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void work_path(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "%s/%s", work_dir, name) >= size)
		die("path too long: %s/%s", work_dir, name);
}

static uint32_t bench_ipv4(unsigned block, uint64_t i)
{
	return 0x0A000000u + (uint32_t)(block * ADDR_BLOCK_SIZE) + (uint32_t)i;
}

static void bench_address(unsigned block, uint64_t i, struct address *addr)
{
	uint32_t v = bench_ipv4(block, i);

	memset(addr, 0, sizeof(*addr));
	addr->family = AF_INET;
	addr->bytes[0] = (unsigned char)(v >> 24);
	addr->bytes[1] = (unsigned char)(v >> 16);
	addr->bytes[2] = (unsigned char)(v >> 8);
	addr->bytes[3] = (unsigned char)v;
}

static int bench_address_text(unsigned block, uint64_t i, char *buf, size_t size)
{
	uint32_t v = bench_ipv4(block, i);

	return snprintf(buf, size, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
			(v >> 8) & 255, v & 255);
}

static uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted array V (N values), in us. */
static double percentile_us(const uint64_t *v, size_t n, double p)
{
	size_t rank;

	if (n == 0)
		return 0;
	rank = (size_t)((p * (double)n) + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

static const char *fmt_count(uint64_t n, char *buf, size_t size)
{
	char tmp[32];
	size_t len, i, j = 0;

	snprintf(tmp, sizeof(tmp), "%" PRIu64, n);
	len = strlen(tmp);
	for (i = 0; i < len && j + 2 < size; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Wrappers (linked with -Wl,--wrap=...): pass-through, plus counting of
 * commit processes, plus phase timing while profiling. */

enum prof_cat {
	P_OPEN, P_STAT, P_CLOSE, P_FLOCK, P_PCBEGIN, P_CREATE, P_DBOPEN,
	P_CURSOR, P_DBGET, P_DBPUT, P_DBSYNC, P_PCFINISH, P_DBCLOSE,
	P_PREAD, P_PWRITE, P_FORK, P_WAITPID, P_FDATASYNC,
	P_COUNT
};

static const char *const prof_names[P_COUNT] = {
	[P_OPEN] = "open(2) of the .db",
	[P_STAT] = "fstat/stat(2)",
	[P_CLOSE] = "close(2)",
	[P_FLOCK] = "flock(LOCK_EX) incl. wait",
	[P_PCBEGIN] = "page_commit_begin",
	[P_CREATE] = "db_create",
	[P_DBOPEN] = "DB->open",
	[P_CURSOR] = "key-style check (cursor,get,close)",
	[P_DBGET] = "DB->get (stored time)",
	[P_DBPUT] = "DB->put",
	[P_DBSYNC] = "DB->sync (pages captured)",
	[P_PCFINISH] = "page_commit_finish (write)",
	[P_DBCLOSE] = "DB->close",
	[P_PREAD] = "pread(2) via hook",
	[P_PWRITE] = "pwrite(2)",
	[P_FORK] = "fork (commit process)",
	[P_WAITPID] = "waitpid (commit process)",
	[P_FDATASYNC] = "fdatasync/fsync(2)",
};

struct prof_stat {
	uint64_t top_ns, top_n;		/* calls not nested in another */
	uint64_t all_ns, all_n;
};

struct profile {
	struct prof_stat cat[P_COUNT];
	uint64_t commits, pages, detached;
};

static bool bench_prof_on;
static int bench_prof_depth;
static struct profile bench_prof;
static uint64_t bench_forks;	/* fork() calls from src/ (commit processes) */

static void prof_add(enum prof_cat cat, bool top, uint64_t ns)
{
	struct prof_stat *s = &bench_prof.cat[cat];

	s->all_ns += ns;
	s->all_n++;
	if (top) {
		s->top_ns += ns;
		s->top_n++;
	}
}

#define PROF_CALL(cat, type, call) do {					\
		type r_;						\
		uint64_t t0_;						\
		bool top_;						\
		int errno_;						\
		if (!bench_prof_on)					\
			return call;					\
		top_ = bench_prof_depth++ == 0;				\
		t0_ = now_ns();						\
		r_ = call;						\
		errno_ = errno;						\
		prof_add(cat, top_, now_ns() - t0_);			\
		bench_prof_depth--;					\
		errno = errno_;						\
		return r_;						\
	} while (0)

#ifdef BENCH_WRAP
pid_t __real_fork(void);
pid_t __wrap_fork(void);
pid_t __real_waitpid(pid_t pid, int *status, int options);
pid_t __wrap_waitpid(pid_t pid, int *status, int options);
int __real_flock(int fd, int operation);
int __wrap_flock(int fd, int operation);
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
ssize_t __real_pread(int fd, void *buf, size_t size, off_t offset);
ssize_t __wrap_pread(int fd, void *buf, size_t size, off_t offset);
ssize_t __real_pwrite(int fd, const void *buf, size_t size, off_t offset);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t size, off_t offset);
int __real___open_2(const char *path, int flags);
int __wrap___open_2(const char *path, int flags);
int __real_open(const char *path, int flags, ...);
int __wrap_open(const char *path, int flags, ...);
int __real_open64(const char *path, int flags, ...);
int __wrap_open64(const char *path, int flags, ...);
int __real___open64_2(const char *path, int flags);
int __wrap___open64_2(const char *path, int flags);
ssize_t __real_pread64(int fd, void *buf, size_t size, off_t offset);
ssize_t __wrap_pread64(int fd, void *buf, size_t size, off_t offset);
ssize_t __real_pwrite64(int fd, const void *buf, size_t size, off_t offset);
ssize_t __wrap_pwrite64(int fd, const void *buf, size_t size, off_t offset);
int __real_fstat64(int fd, struct stat *st);
int __wrap_fstat64(int fd, struct stat *st);
int __real_stat64(const char *path, struct stat *st);
int __wrap_stat64(const char *path, struct stat *st);
int __real_close(int fd);
int __wrap_close(int fd);
int __real_fstat(int fd, struct stat *st);
int __wrap_fstat(int fd, struct stat *st);
int __real_stat(const char *path, struct stat *st);
int __wrap_stat(const char *path, struct stat *st);
int __real_db_create(DB **dbp, DB_ENV *env, u_int32_t flags);
int __wrap_db_create(DB **dbp, DB_ENV *env, u_int32_t flags);
int __real_page_commit_begin(int fd, const char *path);
int __wrap_page_commit_begin(int fd, const char *path);
int __real_page_commit_finish(int fd, bool fsync, char *error, size_t size);
int __wrap_page_commit_finish(int fd, bool fsync, char *error, size_t size);

/* The wrappers repeat these signatures: fail the build if src/ changes them. */
_Static_assert(__builtin_types_compatible_p(__typeof__(&page_commit_finish),
					    int (*)(int, bool, char *, size_t)),
	       "page_commit_finish() changed: update the bench wrapper");
_Static_assert(__builtin_types_compatible_p(__typeof__(&page_commit_begin),
					    int (*)(int, const char *)),
	       "page_commit_begin() changed: update the bench wrapper");

#define bench_fork __real_fork
#define bench_waitpid __real_waitpid

pid_t __wrap_fork(void)
{
	bench_forks++;
	PROF_CALL(P_FORK, pid_t, __real_fork());
}

pid_t __wrap_waitpid(pid_t pid, int *status, int options)
{
	PROF_CALL(P_WAITPID, pid_t, __real_waitpid(pid, status, options));
}

int __wrap_flock(int fd, int operation)
{
	PROF_CALL(P_FLOCK, int, __real_flock(fd, operation));
}

int __wrap_fdatasync(int fd)
{
	PROF_CALL(P_FDATASYNC, int, __real_fdatasync(fd));
}

int __wrap_fsync(int fd)
{
	PROF_CALL(P_FDATASYNC, int, __real_fsync(fd));
}

ssize_t __wrap_pread(int fd, void *buf, size_t size, off_t offset)
{
	PROF_CALL(P_PREAD, ssize_t, __real_pread(fd, buf, size, offset));
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t size, off_t offset)
{
	PROF_CALL(P_PWRITE, ssize_t, __real_pwrite(fd, buf, size, offset));
}

int __wrap___open_2(const char *path, int flags)
{
	PROF_CALL(P_OPEN, int, __real___open_2(path, flags));
}

int __wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) != 0) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	PROF_CALL(P_OPEN, int, __real_open(path, flags, mode));
}

/* With _FILE_OFFSET_BITS=64 (Meson's default) the 64 names are used. */
ssize_t __wrap_pread64(int fd, void *buf, size_t size, off_t offset)
{
	PROF_CALL(P_PREAD, ssize_t, __real_pread64(fd, buf, size, offset));
}

ssize_t __wrap_pwrite64(int fd, const void *buf, size_t size, off_t offset)
{
	PROF_CALL(P_PWRITE, ssize_t, __real_pwrite64(fd, buf, size, offset));
}

int __wrap___open64_2(const char *path, int flags)
{
	PROF_CALL(P_OPEN, int, __real___open64_2(path, flags));
}

int __wrap_open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) != 0) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	PROF_CALL(P_OPEN, int, __real_open64(path, flags, mode));
}

int __wrap_fstat64(int fd, struct stat *st)
{
	PROF_CALL(P_STAT, int, __real_fstat64(fd, st));
}

int __wrap_stat64(const char *path, struct stat *st)
{
	PROF_CALL(P_STAT, int, __real_stat64(path, st));
}

int __wrap_close(int fd)
{
	PROF_CALL(P_CLOSE, int, __real_close(fd));
}

int __wrap_fstat(int fd, struct stat *st)
{
	PROF_CALL(P_STAT, int, __real_fstat(fd, st));
}

int __wrap_stat(const char *path, struct stat *st)
{
	PROF_CALL(P_STAT, int, __real_stat(path, st));
}

int __wrap_page_commit_begin(int fd, const char *path)
{
	PROF_CALL(P_PCBEGIN, int, __real_page_commit_begin(fd, path));
}

int __wrap_page_commit_finish(int fd, bool fsync, char *error, size_t size)
{
	uint64_t forks_before = bench_forks;
	int ret;

	if (!bench_prof_on)
		return __real_page_commit_finish(fd, fsync, error, size);
	bench_prof.commits++;
	bench_prof.pages += page_commit_pending();
	{
		uint64_t t0 = now_ns();
		bool top = bench_prof_depth++ == 0;
		int saved;

		ret = __real_page_commit_finish(fd, fsync, error, size);
		saved = errno;
		prof_add(P_PCFINISH, top, now_ns() - t0);
		bench_prof_depth--;
		errno = saved;
	}
	if (bench_forks != forks_before)
		bench_prof.detached++;
	return ret;
}

/* libdb methods are function pointers in the handle: the profiling
 * db_create() replaces them with timed shims. */
static int (*orig_db_open)(DB *, DB_TXN *, const char *, const char *,
			   DBTYPE, u_int32_t, int);
static int (*orig_db_close)(DB *, u_int32_t);
static int (*orig_db_sync)(DB *, u_int32_t);
static int (*orig_db_get)(DB *, DB_TXN *, DBT *, DBT *, u_int32_t);
static int (*orig_db_put)(DB *, DB_TXN *, DBT *, DBT *, u_int32_t);
static int (*orig_db_cursor)(DB *, DB_TXN *, DBC **, u_int32_t);
static int (*orig_dbc_get)(DBC *, DBT *, DBT *, u_int32_t);
static int (*orig_dbc_close)(DBC *);

static int shim_db_open(DB *db, DB_TXN *txn, const char *file,
			const char *database, DBTYPE type, u_int32_t flags,
			int mode)
{
	PROF_CALL(P_DBOPEN, int, orig_db_open(db, txn, file, database, type,
					      flags, mode));
}

static int shim_db_close(DB *db, u_int32_t flags)
{
	PROF_CALL(P_DBCLOSE, int, orig_db_close(db, flags));
}

static int shim_db_sync(DB *db, u_int32_t flags)
{
	PROF_CALL(P_DBSYNC, int, orig_db_sync(db, flags));
}

static int shim_db_get(DB *db, DB_TXN *txn, DBT *key, DBT *data,
		       u_int32_t flags)
{
	PROF_CALL(P_DBGET, int, orig_db_get(db, txn, key, data, flags));
}

static int shim_db_put(DB *db, DB_TXN *txn, DBT *key, DBT *data,
		       u_int32_t flags)
{
	PROF_CALL(P_DBPUT, int, orig_db_put(db, txn, key, data, flags));
}

static int shim_dbc_get(DBC *dbc, DBT *key, DBT *data, u_int32_t flags)
{
	PROF_CALL(P_CURSOR, int, orig_dbc_get(dbc, key, data, flags));
}

static int shim_dbc_close(DBC *dbc)
{
	PROF_CALL(P_CURSOR, int, orig_dbc_close(dbc));
}

static int shim_db_cursor_inner(DB *db, DB_TXN *txn, DBC **dbcp,
				u_int32_t flags)
{
	int ret = orig_db_cursor(db, txn, dbcp, flags);

	if (ret == 0) {
		orig_dbc_get = (*dbcp)->get;
		orig_dbc_close = (*dbcp)->close;
		(*dbcp)->get = shim_dbc_get;
		(*dbcp)->close = shim_dbc_close;
	}
	return ret;
}

static int shim_db_cursor(DB *db, DB_TXN *txn, DBC **dbcp, u_int32_t flags)
{
	PROF_CALL(P_CURSOR, int, shim_db_cursor_inner(db, txn, dbcp, flags));
}

static int prof_db_create(DB **dbp, DB_ENV *env, u_int32_t flags)
{
	int ret = __real_db_create(dbp, env, flags);

	if (ret == 0) {
		DB *db = *dbp;

		orig_db_open = db->open;
		orig_db_close = db->close;
		orig_db_sync = db->sync;
		orig_db_get = db->get;
		orig_db_put = db->put;
		orig_db_cursor = db->cursor;
		db->open = shim_db_open;
		db->close = shim_db_close;
		db->sync = shim_db_sync;
		db->get = shim_db_get;
		db->put = shim_db_put;
		db->cursor = shim_db_cursor;
	}
	return ret;
}

int __wrap_db_create(DB **dbp, DB_ENV *env, u_int32_t flags)
{
	if (!bench_prof_on)
		return __real_db_create(dbp, env, flags);
	PROF_CALL(P_CREATE, int, prof_db_create(dbp, env, flags));
}
#define BENCH_HAVE_PROFILE 1
#else
#define bench_fork fork
#define bench_waitpid waitpid
#define BENCH_HAVE_PROFILE 0
#endif

/* ------------------------------------------------------------------ */
/* Results */

struct result {
	char id[16];
	char label[80];
	const char *unit;		/* what ops are: "grants", "puts"... */
	unsigned procs;
	uint64_t ops;
	double seconds;
	double rate;
	bool has_lat;
	double p50_us, p99_us, max_us;
	bool has_forks;
	uint64_t forks;
	double cpu_us_per_op;		/* 0: not measured */
	char note[200];
	bool failed;
};

#define RESULTS_MAX 64
static struct result results[RESULTS_MAX];
static size_t result_count;

static struct result *result_new(const char *id, const char *label,
				 const char *unit, unsigned procs)
{
	struct result *r;

	if (result_count == RESULTS_MAX)
		die("too many results");
	r = &results[result_count++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->label, sizeof(r->label), "%s", label);
	r->unit = unit;
	r->procs = procs;
	return r;
}

static const struct result *result_find(const char *id)
{
	size_t i;

	for (i = 0; i < result_count; i++) {
		if (strcmp(results[i].id, id) == 0 && !results[i].failed)
			return &results[i];
	}
	return NULL;
}

static void result_print_line(const struct result *r)
{
	char ops[32];

	printf("  %-5s %-44s %5u %11s %8.3f ", r->id, r->label, r->procs,
	       fmt_count(r->ops, ops, sizeof(ops)), r->seconds);
	if (r->rate > 0)
		printf("%11.0f", r->rate);
	else
		printf("%11s", "-");
	if (r->has_lat)
		printf(" %8.1f %8.1f %9.1f", r->p50_us, r->p99_us, r->max_us);
	else
		printf(" %8s %8s %9s", "-", "-", "-");
	if (r->cpu_us_per_op > 0)
		printf(" %9.1f", r->cpu_us_per_op);
	else
		printf(" %9s", "-");
	if (r->has_forks)
		printf(" %6" PRIu64, r->forks);
	else
		printf(" %6s", "-");
	if (r->failed)
		printf("  FAILED");
	if (r->note[0] != '\0')
		printf("  %s", r->note);
	printf("\n");
}

static void result_header(void)
{
	printf("  %-5s %-44s %5s %11s %8s %11s %8s %8s %9s %9s %6s\n", "id",
	       "run", "procs", "ops", "seconds", "ops/s", "p50 us", "p99 us",
	       "max us", "cpu us/op", "forks");
}

/* ------------------------------------------------------------------ */
/* Worker processes */

/* A latency with this bit set: the grant forked a commit process. */
#define LAT_FORKED (1ULL << 63)

struct slot {
	uint64_t start_ns, end_ns, done, forks, extra_ns;
	uint64_t cpu_start_ns, cpu_ns;	/* user+sys, self and children */
	int failed;
	char error[256];
	struct profile prof;
};

struct worker {
	unsigned index, procs;
	uint64_t count;
	uint64_t *lat;		/* count entries, or NULL */
	struct slot *slot;
	void *arg;
	int ready_fd, go_fd;
	bool signalled;
	uint64_t deadline_ns;
};

typedef int worker_fn(struct worker *w);

static uint64_t timeval_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000ULL
	    + (uint64_t)tv->tv_usec * 1000ULL;
}

/* CPU time (user + sys) of this process and of its reaped children. */
static uint64_t cpu_ns_now(void)
{
	struct rusage self, children;
	uint64_t ns = 0;

	if (getrusage(RUSAGE_SELF, &self) == 0)
		ns += timeval_ns(&self.ru_utime) + timeval_ns(&self.ru_stime);
	if (getrusage(RUSAGE_CHILDREN, &children) == 0)
		ns += timeval_ns(&children.ru_utime)
		    + timeval_ns(&children.ru_stime);
	return ns;
}

static void worker_signal(struct worker *w)
{
	char c = 'R';

	if (w->signalled)
		return;
	w->signalled = true;
	while (write(w->ready_fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* Setup done: tell the parent, wait for everyone's start. */
static void worker_go(struct worker *w)
{
	char c;

	worker_signal(w);
	while (read(w->go_fd, &c, 1) < 0 && errno == EINTR)
		;
	w->slot->cpu_start_ns = cpu_ns_now();
	w->slot->start_ns = now_ns();
	w->deadline_ns = w->slot->start_ns + (uint64_t)(opt.time_cap * 1e9);
}

static bool worker_time_up(const struct worker *w, uint64_t t)
{
	return t > w->deadline_ns;
}

static int worker_fail(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int worker_fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->slot->error, sizeof(w->slot->error), fmt, ap);
	va_end(ap);
	w->slot->failed = 1;
	return -1;
}

struct run_outcome {
	uint64_t done, forks, extra_ns;
	double seconds;
	double cpu_s;			/* user+sys of the workers (and theirs) */
	bool failed;
	bool has_lat;
	double p50_us, p99_us, max_us;
	/* split by commit kind, when some grants forked */
	uint64_t n_inplace, n_forked;
	double inplace_p99_us, forked_p50_us;
	struct profile prof;
};

/* Run FN in PROCS processes started together; gather counts, the
 * aggregate rate window and the latency percentiles over all operations. */
static int run_workers(unsigned procs, uint64_t count, bool latencies,
		       bool profile, worker_fn *fn, void *arg,
		       struct run_outcome *out)
{
	size_t slots_size = procs * sizeof(struct slot);
	size_t lat_size = latencies ? procs * count * sizeof(uint64_t) : 0;
	size_t size = slots_size + lat_size;
	unsigned char *mem;
	struct slot *slots;
	uint64_t *lat;
	int ready[2], go[2];
	pid_t *pids;
	unsigned p, got = 0;
	uint64_t start = UINT64_MAX, end = 0;

	memset(out, 0, sizeof(*out));
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		   -1, 0);
	if (mem == MAP_FAILED)
		die("mmap %zu bytes: %s", size, strerror(errno));
	slots = (struct slot *)(void *)mem;
	lat = latencies ? (uint64_t *)(void *)(mem + slots_size) : NULL;
	if (pipe(ready) < 0 || pipe(go) < 0)
		die("pipe: %s", strerror(errno));
	pids = calloc(procs, sizeof(*pids));
	if (pids == NULL)
		die("out of memory");
	fflush(NULL);
	for (p = 0; p < procs; p++) {
		pids[p] = bench_fork();
		if (pids[p] < 0)
			die("fork: %s", strerror(errno));
		if (pids[p] == 0) {
			struct worker w;
			int rc;

			close(ready[0]);
			close(go[1]);
			memset(&w, 0, sizeof(w));
			w.index = p;
			w.procs = procs;
			w.count = count;
			w.lat = lat != NULL ? lat + (size_t)p * count : NULL;
			w.slot = &slots[p];
			w.arg = arg;
			w.ready_fd = ready[1];
			w.go_fd = go[0];
			bench_forks = 0;
			memset(&bench_prof, 0, sizeof(bench_prof));
			bench_prof_on = profile;
			rc = fn(&w);
			bench_prof_on = false;
			worker_signal(&w);
			if (w.slot->end_ns == 0)
				w.slot->end_ns = now_ns();
			if (w.slot->cpu_start_ns != 0)
				w.slot->cpu_ns = cpu_ns_now() -
				    w.slot->cpu_start_ns;
			w.slot->forks = bench_forks;
			w.slot->prof = bench_prof;
			fflush(NULL);
			_exit(rc == 0 ? 0 : 1);
		}
	}
	close(ready[1]);
	close(go[0]);
	while (got < procs) {
		char buf[64];
		ssize_t n = read(ready[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (unsigned)n;
	}
	close(go[1]);		/* start */
	close(ready[0]);
	for (p = 0; p < procs; p++) {
		int status;

		while (bench_waitpid(pids[p], &status, 0) < 0) {
			if (errno != EINTR)
				die("waitpid: %s", strerror(errno));
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			out->failed = true;
			if (WIFSIGNALED(status))
				fprintf(stderr, "relaydb-bench: worker %u killed "
					"by signal %d\n", p, WTERMSIG(status));
		}
	}
	free(pids);
	for (p = 0; p < procs; p++) {
		struct slot *s = &slots[p];
		int c;

		if (s->failed) {
			out->failed = true;
			fprintf(stderr, "relaydb-bench: worker %u: %s\n", p,
				s->error);
		}
		out->done += s->done;
		out->forks += s->forks;
		out->extra_ns += s->extra_ns;
		out->cpu_s += (double)s->cpu_ns / 1e9;
		if (s->start_ns != 0 && s->start_ns < start)
			start = s->start_ns;
		if (s->end_ns > end)
			end = s->end_ns;
		for (c = 0; c < P_COUNT; c++) {
			out->prof.cat[c].top_ns += s->prof.cat[c].top_ns;
			out->prof.cat[c].top_n += s->prof.cat[c].top_n;
			out->prof.cat[c].all_ns += s->prof.cat[c].all_ns;
			out->prof.cat[c].all_n += s->prof.cat[c].all_n;
		}
		out->prof.commits += s->prof.commits;
		out->prof.pages += s->prof.pages;
		out->prof.detached += s->prof.detached;
	}
	out->seconds = end > start ? (double)(end - start) / 1e9 : 0;
	if (latencies && out->done > 0) {
		uint64_t *all = malloc(out->done * sizeof(*all));
		uint64_t *inplace = malloc(out->done * sizeof(*all));
		uint64_t *forked = malloc(out->done * sizeof(*all));
		size_t n = 0, ni = 0, nf = 0, i;

		if (all == NULL || inplace == NULL || forked == NULL)
			die("out of memory");
		for (p = 0; p < procs; p++) {
			const uint64_t *l = lat + (size_t)p * count;

			for (i = 0; i < slots[p].done; i++) {
				uint64_t v = l[i] & ~LAT_FORKED;

				all[n++] = v;
				if ((l[i] & LAT_FORKED) != 0)
					forked[nf++] = v;
				else
					inplace[ni++] = v;
			}
		}
		qsort(all, n, sizeof(*all), cmp_u64);
		out->has_lat = true;
		out->p50_us = percentile_us(all, n, 0.50);
		out->p99_us = percentile_us(all, n, 0.99);
		out->max_us = (double)all[n - 1] / 1000.0;
		if (nf > 0) {
			qsort(inplace, ni, sizeof(*all), cmp_u64);
			qsort(forked, nf, sizeof(*all), cmp_u64);
			out->n_inplace = ni;
			out->n_forked = nf;
			out->inplace_p99_us = percentile_us(inplace, ni, 0.99);
			out->forked_p50_us = percentile_us(forked, nf, 0.50);
		}
		free(all);
		free(inplace);
		free(forked);
	}
	munmap(mem, size);
	return out->failed ? -1 : 0;
}

static void outcome_to_result(const struct run_outcome *o, struct result *r)
{
	r->ops = o->done;
	r->seconds = o->seconds;
	r->rate = o->seconds > 0 ? (double)o->done / o->seconds : 0;
	r->has_lat = o->has_lat;
	r->p50_us = o->p50_us;
	r->p99_us = o->p99_us;
	r->max_us = o->max_us;
	r->cpu_us_per_op = o->done > 0 ? o->cpu_s * 1e6 / (double)o->done : 0;
	r->failed = o->failed;
	if (o->failed)
		failures++;
}

/* ------------------------------------------------------------------ */
/* Stores touched, for section g */

struct store_check {
	char path[PATH_MAX];
	char label[64];
	int64_t expected;	/* entries, or -1 when not checked */
};

static struct store_check stores[32];
static size_t store_count;

static void store_register(const char *path, const char *label, int64_t expected)
{
	size_t i;

	for (i = 0; i < store_count; i++) {
		if (strcmp(stores[i].path, path) == 0) {
			stores[i].expected = expected;
			return;
		}
	}
	if (store_count == sizeof(stores) / sizeof(stores[0]))
		return;
	snprintf(stores[store_count].path, sizeof(stores[0].path), "%s", path);
	snprintf(stores[store_count].label, sizeof(stores[0].label), "%s", label);
	stores[store_count].expected = expected;
	store_count++;
}

/* ------------------------------------------------------------------ */
/* a: relaygate writers */

struct relaygate_arg {
	const char *path;
	bool fsync;
	bool create;
	double rate_per_proc;	/* 0: back to back; else Poisson arrivals */
	const char *recorder;	/* settings.recorder, or NULL */
};

static int work_relaygate(struct worker *w)
{
	const struct relaygate_arg *a = w->arg;
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;
	uint64_t i, sched = 0, state = 0x2545f4914f6cdd1dULL * (w->index + 1);
	uint64_t prev_end = 0;

	memset(&settings, 0, sizeof(settings));
	settings.location = a->path;
	settings.lock_timeout_ms = 10000;
	settings.fsync = a->fsync;
	settings.create = true;
	settings.recorder = a->recorder;
	settings.keep_writer = true;	/* as relaygate-pop3d's auth processes */
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		return worker_fail(w, "relaydb_open %s: %s", a->path, error);
	if (opt.ballast_mb > 0) {
		/* A server's resident memory (TLS library, buffers): what a
		 * fork() for a commit process has to copy page tables of. */
		size_t size = (size_t)opt.ballast_mb << 20;
		char *ballast = malloc(size);

		if (ballast == NULL)
			return worker_fail(w, "no memory for --rss");
		memset(ballast, 0x5a, size);
	}
	if (a->rate_per_proc > 0)
		(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	worker_go(w);
	sched = w->slot->start_ns;
	for (i = 0; i < w->count; i++) {
		struct address addr;
		uint64_t t0, t1;
		uint64_t forks_before = bench_forks;

		bench_address(w->index, i, &addr);
		if (a->rate_per_proc > 0) {
			/* Open loop: the next login arrives after an exponential
			 * gap whatever happened to the previous one. A login
			 * that arrived while our previous grant was still
			 * running counts from its arrival, so falling behind
			 * shows; one that arrived while we were idle counts
			 * from when we woke up (the timer's wake-up lateness is
			 * the load generator's, not the store's). */
			double u = (double)((xorshift64(&state) >> 11) + 1)
			    / 9007199254740993.0;
			struct timespec ts;

			sched += (uint64_t)(-log(u) / a->rate_per_proc * 1e9);
			ts.tv_sec = (time_t)(sched / 1000000000ULL);
			ts.tv_nsec = (long)(sched % 1000000000ULL);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
					       &ts, NULL) == EINTR)
				;
			t0 = sched < prev_end ? sched : now_ns();
		} else
			t0 = now_ns();
		if (relaydb_record(db, &addr, (int64_t)time(NULL), "bench",
				   "bench", &error) < 0) {
			relaydb_close(&db);
			w->slot->done = i;
			return worker_fail(w, "relaydb_record: %s", error);
		}
		t1 = now_ns();
		w->lat[i] = (t1 - t0) | (bench_forks != forks_before
					 ? LAT_FORKED : 0);
		prev_end = t1;
		if (worker_time_up(w, t1)) {
			i++;
			break;
		}
	}
	w->slot->end_ns = now_ns();
	w->slot->done = i;
	relaydb_close(&db);
	return 0;
}

/* Make an empty store (in a child, so the parent never opens one). */
static int work_create_store(struct worker *w)
{
	const struct relaygate_arg *a = w->arg;
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = a->path;
	settings.lock_timeout_ms = 10000;
	settings.create = true;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		return worker_fail(w, "relaydb_open %s: %s", a->path, error);
	relaydb_close(&db);
	return 0;
}

static void fresh_store(const char *path)
{
	struct relaygate_arg a = { path, false, true, 0, NULL };
	struct run_outcome o;

	(void)unlink(path);
	if (run_workers(1, 0, false, false, work_create_store, &a, &o) < 0)
		die("cannot create %s", path);
}

/* A relaygate-recorder for one run. */
struct recorder_run {
	pid_t pid;
	char endpoint[PATH_MAX + 8];
	char log[PATH_MAX];
};

/* The unix socket NAME in the work directory: its address in *SUN and
 * "unix:PATH" in RR's endpoint. */
static void run_socket(struct recorder_run *rr, const char *name,
		       struct sockaddr_un *sun)
{
	char sock[PATH_MAX];

	work_path(sock, sizeof(sock), name);
	memset(sun, 0, sizeof(*sun));
	if (strlen(sock) >= sizeof(sun->sun_path))
		die("socket path too long (use a shorter -d): %s", sock);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, sock, strlen(sock) + 1);
	snprintf(rr->endpoint, sizeof(rr->endpoint), "unix:%s", sock);
}

/* SIGTERM to RR's process, wait for it; its CPU seconds go to *CPU_S.
 * Returns its wait status. */
static int run_stop(struct recorder_run *rr, double *cpu_s)
{
	struct rusage ru;
	int status;

	kill(rr->pid, SIGTERM);
	while (wait4(rr->pid, &status, 0, &ru) < 0) {
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	}
	*cpu_s = (double)(timeval_ns(&ru.ru_utime) + timeval_ns(&ru.ru_stime))
	    / 1e9;
	return status;
}

/* Start a relaygate-recorder (-F) for the store at PATH and wait until
 * its socket answers. */
static void recorder_start(struct recorder_run *rr, const char *id,
			   const char *path, bool fsync)
{
	char conf[PATH_MAX], name[64];
	struct sockaddr_un sun;
	FILE *f;
	int i;

	snprintf(name, sizeof(name), "recorder-%s.conf", id);
	work_path(conf, sizeof(conf), name);
	snprintf(name, sizeof(name), "recorder-%s.log", id);
	work_path(rr->log, sizeof(rr->log), name);
	snprintf(name, sizeof(name), "recorder-%s.sock", id);
	run_socket(rr, name, &sun);
	f = fopen(conf, "w");
	if (f == NULL)
		die("create %s: %s", conf, strerror(errno));
	fprintf(f, "relay_db = %s\nrelay_db_recorder = %s\n"
		"relay_db_lock_timeout = 10s\nrelay_db_fsync = %s\n", path,
		rr->endpoint, fsync ? "yes" : "no");
	fclose(f);
	fflush(NULL);
	rr->pid = fork();
	if (rr->pid < 0)
		die("fork: %s", strerror(errno));
	if (rr->pid == 0) {
		int fd = open(rr->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execl(opt.recorder, opt.recorder, "-F", "-c", conf,
		      (char *)NULL);
		dprintf(STDERR_FILENO, "exec %s: %s\n", opt.recorder,
			strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 1000; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun,
				       sizeof(sun)) == 0) {
			close(fd);
			return;
		}
		if (fd >= 0)
			close(fd);
		if (waitpid(rr->pid, NULL, WNOHANG) == rr->pid)
			die("%s exited at start (see %s)", opt.recorder, rr->log);
		usleep(5000);
	}
	die("%s did not listen within 5 s (see %s)", opt.recorder, rr->log);
}

/* The floor server of row rf: accept on LISTENER (a unix socket), answer
 * every whole line with "ok", until SIGTERM. One process, one epoll loop,
 * as the recorder, but no store. */
static void floor_serve(int listener) __attribute__((noreturn));
static void floor_serve(int listener)
{
	struct epoll_event ev, events[64];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		_exit(70);
	ev.events = EPOLLIN;
	ev.data.fd = listener;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0)
		_exit(70);
	for (;;) {
		int n = epoll_wait(ep, events, 64, -1), i;

		for (i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			char in[4096], out[4096];
			size_t lines = 0, k;
			ssize_t got;

			if (fd == listener) {
				int c = accept(listener, NULL, NULL);

				ev.events = EPOLLIN;
				ev.data.fd = c;
				if (c >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c,
							&ev) < 0)
					close(c);
				continue;
			}
			got = recv(fd, in, sizeof(in), 0);
			if (got <= 0) {
				close(fd);
				continue;
			}
			for (k = 0; k < (size_t)got; k++)
				lines += in[k] == '\n';
			for (k = 0; k < lines && 3 * k + 3 <= sizeof(out); k++)
				memcpy(out + 3 * k, "ok\n", 3);
			if (lines > 0 && send(fd, out, 3 * k, MSG_NOSIGNAL) < 0)
				close(fd);
		}
	}
}

/* Start the floor server of row ID in a child; RR as recorder_start. */
static void floor_start(struct recorder_run *rr, const char *id)
{
	char name[64];
	struct sockaddr_un sun;
	int listener;

	snprintf(name, sizeof(name), "floor-%s.sock", id);
	rr->log[0] = '\0';
	run_socket(rr, name, &sun);
	(void)unlink(sun.sun_path);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sun,
				 sizeof(sun)) < 0 || listen(listener, 512) < 0)
		die("floor socket %s: %s", sun.sun_path, strerror(errno));
	fflush(NULL);
	rr->pid = fork();
	if (rr->pid < 0)
		die("fork: %s", strerror(errno));
	if (rr->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM, 0UL, 0UL, 0UL);
		floor_serve(listener);
	}
	close(listener);
}

/* Stop the recorder with SIGTERM; its CPU seconds go to *CPU_S, and its
 * summary (updates, largest group) into NOTE. Returns -1 if it did not
 * exit 0. */
static int recorder_stop(struct recorder_run *rr, double *cpu_s, char *note,
			 size_t size)
{
	char line[512];
	unsigned long updates = 0, grants = 0, largest = 0;
	int status = run_stop(rr, cpu_s);
	FILE *f;

	f = fopen(rr->log, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		const char *u = strstr(line, " updates="),
		    *g = strstr(line, " grants="), *l = strstr(line, " largest=");

		if (strstr(line, "summary ") == NULL || u == NULL || g == NULL
		    || l == NULL)
			continue;
		updates += strtoul(u + 9, NULL, 10);
		grants += strtoul(g + 8, NULL, 10);
		if (strtoul(l + 9, NULL, 10) > largest)
			largest = strtoul(l + 9, NULL, 10);
	}
	if (f != NULL)
		fclose(f);
	snprintf(note, size, "recorder: %lu updates, %.1f grants each, "
		 "largest %lu, its CPU included", updates,
		 updates > 0 ? (double)grants / (double)updates : 0.0, largest);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "relaydb-bench: %s: exit status 0x%x (see %s)\n",
			opt.recorder, (unsigned)status, rr->log);
		return -1;
	}
	return 0;
}

/* Run ARGV with its standard descriptors on the given files (NULL: ours)
 * and wait for it. */
static int spawn_wait_err(const char *const argv[], const char *in_path,
			  const char *out_path, const char *err_path,
			  int *status_r, struct rusage *ru)
{
	posix_spawn_file_actions_t actions;
	pid_t pid;
	int ret;

	posix_spawn_file_actions_init(&actions);
	if (in_path != NULL)
		posix_spawn_file_actions_addopen(&actions, 0, in_path,
						 O_RDONLY, 0);
	if (out_path != NULL)
		posix_spawn_file_actions_addopen(&actions, 1, out_path,
						 O_WRONLY | O_CREAT | O_TRUNC,
						 0644);
	if (err_path != NULL)
		posix_spawn_file_actions_addopen(&actions, 2, err_path,
						 O_WRONLY | O_CREAT | O_APPEND,
						 0644);
	ret = posix_spawn(&pid, argv[0], &actions, NULL,
			  (char *const *)(uintptr_t)argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	if (ret != 0) {
		errno = ret;
		return -1;
	}
	while (wait4(pid, status_r, 0, ru) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Put opt.prefill entries for addresses no writer uses (100.64.0.0/10)
 * into the store at PATH with vsmtprelay load, which sizes its table for
 * them: the run then measures a store at its size, as in production after
 * the first day, instead of one that grows from empty (and doubles its
 * table, a whole-file copy each time, on the way). */
static void prefill_store(const char *path)
{
	char list[PATH_MAX], conf[PATH_MAX];
	const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", path, "load",
		list, NULL };
	int64_t now = (int64_t)time(NULL);
	uint64_t i;
	int status;
	FILE *f;

	work_path(list, sizeof(list), "prefill.txt");
	work_path(conf, sizeof(conf), "prefill.conf");
	if ((f = fopen(conf, "w")) == NULL || fclose(f) != 0)
		die("cannot write %s", conf);
	if ((f = fopen(list, "w")) == NULL)
		die("cannot write %s: %s", list, strerror(errno));
	for (i = 0; i < opt.prefill; i++) {
		uint32_t v = 0x64400000u + (uint32_t)i;

		fprintf(f, "%u.%u.%u.%u %lld\n", v >> 24, (v >> 16) & 255,
			(v >> 8) & 255, v & 255, (long long)(now - 60));
	}
	if (fclose(f) != 0)
		die("write error on %s", list);
	if (spawn_wait_err(argv, NULL, "/dev/null", NULL, &status, NULL) < 0
	    || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s load %s failed", opt.vsmtprelay, list);
	(void)unlink(list);
}

/* Who takes the grants of a run_relaygate() row. */
enum grant_path {
	GRANT_DIRECT,		/* each writer updates the store itself */
	GRANT_RECORDER,		/* through a relaygate-recorder */
	GRANT_FLOOR,		/* to a server that answers "ok" at once */
};

static void run_relaygate(const char *id, const char *label, const char *file,
			  unsigned procs, uint64_t grants, bool fsync,
			  double rate, enum grant_path grant_path)
{
	char path[PATH_MAX], recorder_note[160] = "";
	struct recorder_run rr;
	struct relaygate_arg a;
	struct run_outcome o;
	struct result *r;

	work_path(path, sizeof(path), file);
	fresh_store(path);
	if (opt.prefill > 0)
		prefill_store(path);
	a.path = path;
	a.fsync = fsync;
	a.create = true;
	a.rate_per_proc = rate / procs;
	a.recorder = NULL;
	if (grant_path == GRANT_RECORDER)
		recorder_start(&rr, id, path, fsync);
	else if (grant_path == GRANT_FLOOR)
		floor_start(&rr, id);
	if (grant_path != GRANT_DIRECT)
		a.recorder = rr.endpoint;
	r = result_new(id, label, "grants", procs);
	run_workers(procs, grants, true, false, work_relaygate, &a, &o);
	if (grant_path == GRANT_RECORDER) {
		double cpu_s = 0;

		if (recorder_stop(&rr, &cpu_s, recorder_note,
				  sizeof(recorder_note)) < 0)
			o.failed = true;
		o.cpu_s += cpu_s;
	} else if (grant_path == GRANT_FLOOR) {
		double cpu_s = 0;

		(void)run_stop(&rr, &cpu_s);
		o.cpu_s += cpu_s;
		snprintf(recorder_note, sizeof(recorder_note), "no store: "
			 "answered at once, its CPU included");
	}
	outcome_to_result(&o, r);
	r->has_forks = BENCH_HAVE_PROFILE;
	r->forks = o.forks;
	if (BENCH_HAVE_PROFILE && o.n_forked > 0)
		snprintf(r->note, sizeof(r->note), "%.2f%% forked a commit "
			 "process (p50 %.0f us); in-place p99 %.0f us",
			 100.0 * (double)o.n_forked / (double)o.done,
			 o.forked_p50_us, o.inplace_p99_us);
	if (recorder_note[0] != '\0')
		snprintf(r->note, sizeof(r->note), "%s", recorder_note);
	if (rate > 0 && r->rate < 0.95 * rate) {
		size_t len = strlen(r->note);

		snprintf(r->note + len, sizeof(r->note) - len, "%sOVERLOADED: "
			 "kept up with only %.0f of %.0f/s offered",
			 len > 0 ? "; " : "", r->rate, rate);
	}
	if (grant_path != GRANT_FLOOR)
		store_register(path, label, (int64_t)(o.done + opt.prefill));
	result_print_line(r);
}

/* ------------------------------------------------------------------ */
/* b: the naive cycle */

static int naive_create(const char *path, char *error, size_t size)
{
	DB *db;
	int ret;

	(void)unlink(path);
	if ((ret = db_create(&db, NULL, 0)) != 0) {
		snprintf(error, size, "db_create: %s", db_strerror(ret));
		return -1;
	}
	ret = db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE | DB_EXCL, 0644);
	if (ret == 0)
		ret = db->close(db, 0);
	else
		(void)db->close(db, 0);
	if (ret != 0) {
		snprintf(error, size, "create %s: %s", path, db_strerror(ret));
		return -1;
	}
	return 0;
}

static int work_naive_create(struct worker *w)
{
	char error[256];

	if (naive_create(w->arg, error, sizeof(error)) < 0)
		return worker_fail(w, "%s", error);
	return 0;
}

static int work_naive(struct worker *w)
{
	const char *path = w->arg;
	uint64_t i;

	worker_go(w);
	for (i = 0; i < w->count; i++) {
		char key[ADDRESS_TEXT_MAX], value[32];
		uint64_t t0, t1;
		DBT k, v;
		DB *db;
		int fd, ret;

		t0 = now_ns();
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return worker_fail(w, "open %s: %s", path,
					   strerror(errno));
		if (flock(fd, LOCK_EX) < 0)
			return worker_fail(w, "flock: %s", strerror(errno));
		if ((ret = db_create(&db, NULL, 0)) != 0)
			return worker_fail(w, "db_create: %s", db_strerror(ret));
		ret = db->open(db, NULL, path, NULL, DB_HASH, 0, 0);
		if (ret != 0)
			return worker_fail(w, "DB->open: %s", db_strerror(ret));
		bench_address_text(w->index, i, key, sizeof(key));
		snprintf(value, sizeof(value), "%lld", (long long)time(NULL));
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = key;
		k.size = (u_int32_t)strlen(key);
		v.data = value;
		v.size = (u_int32_t)strlen(value);
		if ((ret = db->put(db, NULL, &k, &v, 0)) != 0)
			return worker_fail(w, "DB->put: %s", db_strerror(ret));
		if ((ret = db->sync(db, 0)) != 0)
			return worker_fail(w, "DB->sync: %s", db_strerror(ret));
		if ((ret = db->close(db, 0)) != 0)
			return worker_fail(w, "DB->close: %s", db_strerror(ret));
		close(fd);
		t1 = now_ns();
		w->lat[i] = t1 - t0;
		w->slot->done = i + 1;
		if (worker_time_up(w, t1))
			break;
	}
	w->slot->end_ns = now_ns();
	return 0;
}

static void run_naive(const char *id, const char *label, const char *file,
		      unsigned procs, uint64_t grants)
{
	char path[PATH_MAX];
	struct run_outcome o;
	struct result *r;

	work_path(path, sizeof(path), file);
	if (run_workers(1, 0, false, false, work_naive_create, path, &o) < 0)
		die("cannot create %s", path);
	r = result_new(id, label, "grants", procs);
	run_workers(procs, grants, true, false, work_naive, path, &o);
	outcome_to_result(&o, r);
	store_register(path, label, (int64_t)o.done);
	result_print_line(r);
}

/* ------------------------------------------------------------------ */
/* c: makemap rewrite per grant */

struct makemap_arg {
	uint64_t size;
	char map[PATH_MAX];	/* without .db */
	char list[PATH_MAX];
};

/* Where makemap's warnings go (sendmail's safe-file checks complain about
 * world-writable parents such as /var/tmp; they cost the same either way). */
static char makemap_log[PATH_MAX];

static int spawn_wait(const char *const argv[], const char *in_path,
		      const char *out_path, int *status_r, struct rusage *ru)
{
	return spawn_wait_err(argv, in_path, out_path, NULL, status_r, ru);
}

static int makemap_write_list(const char *path, const uint32_t *addrs,
			      const int64_t *times, uint64_t n)
{
	size_t cap = (size_t)n * 40 + 64, len = 0;
	char *buf = malloc(cap);
	uint64_t i;
	int fd, ok;

	if (buf == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		uint32_t v = addrs[i];

		len += (size_t)snprintf(buf + len, cap - len,
					"%u.%u.%u.%u %lld\n", v >> 24,
					(v >> 16) & 255, (v >> 8) & 255,
					v & 255, (long long)times[i]);
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok ? 0 : -1;
}

static int work_makemap(struct worker *w)
{
	const struct makemap_arg *a = w->arg;
	const char *argv[] = { opt.makemap, "hash", a->map, NULL };
	uint32_t *addrs = calloc(a->size, sizeof(*addrs));
	int64_t *times = calloc(a->size, sizeof(*times));
	uint64_t i;
	int status;

	if (addrs == NULL || times == NULL)
		return worker_fail(w, "out of memory");
	for (i = 0; i < a->size; i++) {
		addrs[i] = bench_ipv4(0, i);
		times[i] = (int64_t)time(NULL);
	}
	if (makemap_write_list(a->list, addrs, times, a->size) < 0
	    || spawn_wait_err(argv, a->list, NULL, makemap_log, &status,
			      NULL) < 0
	    || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return worker_fail(w, "%s hash %s failed (see %s)", opt.makemap,
				   a->map, makemap_log);
	worker_go(w);
	for (i = 0; i < w->count; i++) {
		uint64_t slot = i % a->size, t0, t1;

		/* The new grant replaces the oldest entry of the list. */
		addrs[slot] = bench_ipv4(0, a->size + i);
		times[slot] = (int64_t)time(NULL);
		t0 = now_ns();
		if (makemap_write_list(a->list, addrs, times, a->size) < 0)
			return worker_fail(w, "write %s: %s", a->list,
					   strerror(errno));
		if (spawn_wait_err(argv, a->list, NULL, makemap_log, &status,
				   NULL) < 0)
			return worker_fail(w, "spawn %s: %s", opt.makemap,
					   strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			return worker_fail(w, "makemap exited with status %d "
					   "(see %s)", status, makemap_log);
		t1 = now_ns();
		w->lat[i] = t1 - t0;
		w->slot->done = i + 1;
		if (worker_time_up(w, t1))
			break;
	}
	w->slot->end_ns = now_ns();
	free(addrs);
	free(times);
	return 0;
}

static void run_makemap(uint64_t size)
{
	struct makemap_arg a;
	struct run_outcome o;
	struct result *r;
	char id[16], label[80], name[64], db_path[PATH_MAX + 8];

	a.size = size;
	snprintf(name, sizeof(name), "makemap-%" PRIu64, size);
	work_path(a.map, sizeof(a.map), name);
	snprintf(name, sizeof(name), "makemap-%" PRIu64 ".txt", size);
	work_path(a.list, sizeof(a.list), name);
	snprintf(id, sizeof(id), "c%" PRIu64, size);
	snprintf(label, sizeof(label), "makemap hash rewrite, %" PRIu64
		 "-entry map", size);
	r = result_new(id, label, "grants", 1);
	run_workers(1, opt.makemap_grants, true, false, work_makemap, &a, &o);
	outcome_to_result(&o, r);
	snprintf(db_path, sizeof(db_path), "%s.db", a.map);
	store_register(db_path, label, (int64_t)size);
	result_print_line(r);
}

/* ------------------------------------------------------------------ */
/* d: raw put ceiling */

static int work_raw(struct worker *w)
{
	const char *path = w->arg;
	uint64_t i, t_close;
	DB *db;
	int ret;

	(void)unlink(path);
	if ((ret = db_create(&db, NULL, 0)) != 0)
		return worker_fail(w, "db_create: %s", db_strerror(ret));
	ret = db->open(db, NULL, path, NULL, DB_HASH, DB_CREATE | DB_EXCL, 0644);
	if (ret != 0)
		return worker_fail(w, "DB->open %s: %s", path, db_strerror(ret));
	worker_go(w);
	for (i = 0; i < w->count; i++) {
		char key[ADDRESS_TEXT_MAX], value[32];
		DBT k, v;

		bench_address_text(0, i, key, sizeof(key));
		snprintf(value, sizeof(value), "%lld", (long long)time(NULL));
		memset(&k, 0, sizeof(k));
		memset(&v, 0, sizeof(v));
		k.data = key;
		k.size = (u_int32_t)strlen(key);
		v.data = value;
		v.size = (u_int32_t)strlen(value);
		if ((ret = db->put(db, NULL, &k, &v, 0)) != 0)
			return worker_fail(w, "DB->put: %s", db_strerror(ret));
		if ((i & 1023) == 1023 && worker_time_up(w, now_ns())) {
			i++;
			break;
		}
	}
	w->slot->end_ns = now_ns();
	w->slot->done = i;
	t_close = now_ns();
	if ((ret = db->close(db, 0)) != 0)
		return worker_fail(w, "DB->close: %s", db_strerror(ret));
	w->slot->extra_ns = now_ns() - t_close;
	return 0;
}

static void run_raw(void)
{
	char path[PATH_MAX];
	struct run_outcome o;
	struct result *r;

	work_path(path, sizeof(path), "raw.db");
	r = result_new("d", "ceiling: raw DB->put loop, one handle", "puts", 1);
	run_workers(1, opt.raw_puts, false, false, work_raw, path, &o);
	outcome_to_result(&o, r);
	snprintf(r->note, sizeof(r->note), "no lock, no sync per put; final "
		 "DB->close (flush+fsync) took %.3f s more",
		 (double)o.extra_ns / 1e9);
	store_register(path, "raw DB->put", (int64_t)o.done);
	result_print_line(r);
}

/* ------------------------------------------------------------------ */
/* e: lookups */

struct lookup_arg {
	const char *path;
	uint64_t entries;
};

static int work_fill_store(struct worker *w)
{
	const struct lookup_arg *a = w->arg;
	struct relaydb_settings settings;
	struct relaydb_grant *grants;
	struct relaydb *db;
	const char *error;
	uint64_t i;
	int64_t now = (int64_t)time(NULL);

	grants = calloc(a->entries ? a->entries : 1, sizeof(*grants));
	if (grants == NULL)
		return worker_fail(w, "out of memory");
	for (i = 0; i < a->entries; i++) {
		bench_address(0, i, &grants[i].address);
		grants[i].when = now - (int64_t)(i % 1800);
	}
	memset(&settings, 0, sizeof(settings));
	settings.location = a->path;
	settings.lock_timeout_ms = 10000;
	settings.create = true;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		return worker_fail(w, "relaydb_open: %s", error);
	if (relaydb_replace_all(db, grants, a->entries, &error) < 0)
		return worker_fail(w, "relaydb_replace_all: %s", error);
	relaydb_close(&db);
	free(grants);
	return 0;
}

static int work_lookup(struct worker *w)
{
	const struct lookup_arg *a = w->arg;
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;
	uint64_t i, state = 0x9e3779b97f4a7c15ULL * (w->index + 1);

	memset(&settings, 0, sizeof(settings));
	settings.location = a->path;
	settings.lock_timeout_ms = 10000;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		return worker_fail(w, "relaydb_open: %s", error);
	worker_go(w);
	for (i = 0; i < w->count; i++) {
		struct address addr;
		uint64_t t0, t1;
		int64_t when;

		bench_address(0, xorshift64(&state) % a->entries, &addr);
		t0 = now_ns();
		if (relaydb_lookup(db, &addr, &when, &error) != RELAYDB_FOUND) {
			w->slot->done = i;
			relaydb_close(&db);
			return worker_fail(w, "lookup did not find a stored "
					   "address");
		}
		t1 = now_ns();
		w->lat[i] = t1 - t0;
		if (worker_time_up(w, t1)) {
			i++;
			break;
		}
	}
	w->slot->end_ns = now_ns();
	w->slot->done = i;
	relaydb_close(&db);
	return 0;
}

static void run_lookups(void)
{
	char path[PATH_MAX], label[80], ids[2][8];
	struct lookup_arg a;
	struct run_outcome o;
	unsigned procs[2] = { 1, opt.writers }, k;

	work_path(path, sizeof(path), "lookup.db");
	(void)unlink(path);
	a.path = path;
	a.entries = opt.lookup_store;
	if (run_workers(1, 0, false, false, work_fill_store, &a, &o) < 0)
		die("cannot fill %s", path);
	store_register(path, "lookup store", (int64_t)a.entries);
	snprintf(ids[0], sizeof(ids[0]), "e1");
	snprintf(ids[1], sizeof(ids[1]), "e%u", opt.writers);
	for (k = 0; k < 2; k++) {
		struct result *r;
		char n[32];

		snprintf(label, sizeof(label), "relaydb_lookup, %s-entry store, "
			 "%u reader%s", fmt_count(a.entries, n, sizeof(n)),
			 procs[k], procs[k] == 1 ? "" : "s");
		r = result_new(ids[k], label, "lookups", procs[k]);
		run_workers(procs[k], opt.lookups, true, false, work_lookup, &a,
			    &o);
		outcome_to_result(&o, r);
		result_print_line(r);
	}
}

/* ------------------------------------------------------------------ */
/* Counting entries of a store (in a child) */

static int count_entry(void *context, const char *key, size_t key_len,
		       const char *value, size_t value_len)
{
	(void)key;
	(void)key_len;
	(void)value;
	(void)value_len;
	(*(uint64_t *)context)++;
	return 0;
}

static int work_count(struct worker *w)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;
	uint64_t n = 0;

	memset(&settings, 0, sizeof(settings));
	settings.location = w->arg;
	settings.lock_timeout_ms = 10000;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		return worker_fail(w, "relaydb_open: %s", error);
	if (relaydb_iterate(db, count_entry, &n, &error) < 0) {
		relaydb_close(&db);
		return worker_fail(w, "relaydb_iterate: %s", error);
	}
	relaydb_close(&db);
	w->slot->done = n;
	return 0;
}

static int64_t count_entries(const char *path)
{
	struct run_outcome o;

	if (run_workers(1, 0, false, false, work_count, (void *)(uintptr_t)path,
			&o) < 0)
		return -1;
	return (int64_t)o.done;
}

/* ------------------------------------------------------------------ */
/* f: vsmtprelay over a large store */

static void print_command(const char *const argv[], const char *in,
			  const char *out, const char *err)
{
	size_t i;

	printf("    $");
	for (i = 0; argv[i] != NULL; i++)
		printf(" %s", argv[i]);
	if (in != NULL)
		printf(" < %s", in);
	if (out != NULL)
		printf(" > %s", out);
	if (err != NULL)
		printf(" 2>> %s", err);
	printf("\n");
}

/* Run a command, print it, time it; returns wall seconds or -1. */
static double timed_command(const char *id, const char *label,
			    const char *const argv[], const char *in,
			    const char *out, const char *err, uint64_t entries)
{
	struct rusage ru;
	struct result *r;
	uint64_t t0, t1;
	int status;

	print_command(argv, in, out, err);
	fflush(stdout);
	r = result_new(id, label, "entries", 1);
	t0 = now_ns();
	if (spawn_wait_err(argv, in, out, err, &status, &ru) < 0) {
		fprintf(stderr, "relaydb-bench: %s: %s\n", argv[0],
			strerror(errno));
		r->failed = true;
		failures++;
		return -1;
	}
	t1 = now_ns();
	r->ops = entries;
	r->seconds = (double)(t1 - t0) / 1e9;
	r->rate = r->seconds > 0 ? (double)entries / r->seconds : 0;
	snprintf(r->note, sizeof(r->note), "user %.2f s, sys %.2f s, max RSS "
		 "%ld MB", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		 (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		 ru.ru_maxrss / 1024);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "relaydb-bench: %s exited with status %d\n",
			argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		r->failed = true;
		failures++;
	}
	result_print_line(r);
	return r->failed ? -1 : r->seconds;
}

static void write_bulk_list(const char *path, uint64_t n, int64_t now)
{
	FILE *f = fopen(path, "w");
	uint64_t i;

	if (f == NULL)
		die("cannot write %s: %s", path, strerror(errno));
	for (i = 0; i < n; i++) {
		char key[ADDRESS_TEXT_MAX];
		/* even: 2 h old and more (expired by "expire 60"); odd: 10 to
		 * 15 minutes old (kept by it) */
		int64_t when = (i & 1) == 0 ? now - 7200 - (int64_t)(i % 3600)
		    : now - 600 - (int64_t)(i % 300);

		bench_address_text(0, i, key, sizeof(key));
		fprintf(f, "%s %lld\n", key, (long long)when);
	}
	if (fclose(f) != 0)
		die("write error on %s", path);
}

static void check_count(const char *path, int64_t expected, const char *what)
{
	int64_t n = count_entries(path);
	char a[32], b[32];

	if (n == expected)
		printf("    entries now: %s (as expected %s)\n",
		       fmt_count((uint64_t)n, a, sizeof(a)), what);
	else {
		printf("    entries now: %lld, expected %s %s: WRONG\n",
		       (long long)n, fmt_count((uint64_t)expected, b, sizeof(b)),
		       what);
		failures++;
	}
}

static void run_bulk(void)
{
	char store[PATH_MAX], list[PATH_MAX], conf[PATH_MAX], mm[PATH_MAX];
	char mm_db[PATH_MAX + 8], label[80], n[32];
	uint64_t b = opt.bulk;
	int64_t now = (int64_t)time(NULL);
	FILE *f;

	work_path(store, sizeof(store), "bulk.db");
	work_path(list, sizeof(list), "bulk.txt");
	work_path(conf, sizeof(conf), "relaygate.conf");
	work_path(mm, sizeof(mm), "bulk-makemap");
	snprintf(mm_db, sizeof(mm_db), "%s.db", mm);
	if (access(opt.vsmtprelay, X_OK) < 0) {
		printf("  f: skipped: %s: %s\n", opt.vsmtprelay, strerror(errno));
		failures++;
		return;
	}
	f = fopen(conf, "w");
	if (f == NULL || fputs("# relaydb-bench: all defaults\n", f) < 0
	    || fclose(f) != 0)
		die("cannot write %s", conf);
	write_bulk_list(list, b, now);
	fmt_count(b, n, sizeof(n));
	printf("  %s: %s entries, half 2 h old or more, half 10-15 min old\n",
	       list, n);
	(void)unlink(store);
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"load", list, NULL };

		snprintf(label, sizeof(label), "vsmtprelay load, %s entries", n);
		timed_command("f-load", label, argv, NULL, NULL, NULL, b);
	}
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"list", NULL };

		snprintf(label, sizeof(label), "vsmtprelay list > /dev/null, %s",
			 n);
		timed_command("f-list", label, argv, NULL, "/dev/null", NULL, b);
	}
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"dump", NULL };

		snprintf(label, sizeof(label), "vsmtprelay dump > /dev/null, %s",
			 n);
		timed_command("f-dump", label, argv, NULL, "/dev/null", NULL, b);
	}
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"expire", "60", NULL };

		snprintf(label, sizeof(label),
			 "vsmtprelay expire 60 (half of %s)", n);
		timed_command("f-exph", label, argv, NULL, NULL, NULL, b);
		check_count(store, (int64_t)(b / 2), "after expire 60");
	}
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"load", list, NULL };

		snprintf(label, sizeof(label), "vsmtprelay load again (over %s)",
			 fmt_count(b / 2, n, sizeof(n)));
		fmt_count(b, n, sizeof(n));
		timed_command("f-relo", label, argv, NULL, NULL, NULL, b);
	}
	{
		const char *argv[] = { opt.vsmtprelay, "-c", conf, "-f", store,
			"expire", NULL };

		snprintf(label, sizeof(label), "vsmtprelay expire (all %s)", n);
		timed_command("f-expa", label, argv, NULL, NULL, NULL, b);
		check_count(store, 0, "after expire");
	}
	store_register(store, "bulk store after expire", 0);
	if (access(opt.makemap, X_OK) == 0) {
		const char *argv[] = { opt.makemap, "hash", mm, NULL };

		snprintf(label, sizeof(label), "(reference) makemap hash, %s "
			 "lines", n);
		timed_command("f-mm", label, argv, list, NULL, makemap_log, b);
		store_register(mm_db, "makemap of the bulk list", (int64_t)b);
	}
}

/* ------------------------------------------------------------------ */
/* g: verify */

static void run_verify(void)
{
	char log[PATH_MAX];
	size_t i;

	work_path(log, sizeof(log), "verify.log");
	for (i = 0; i < store_count; i++) {
		const struct store_check *s = &stores[i];
		const char *argv[] = { opt.db_verify, s->path, NULL };
		const char *base = strrchr(s->path, '/');
		int status = -1;
		bool ok;

		base = base != NULL ? base + 1 : s->path;
		if (access(s->path, F_OK) < 0)
			continue;
		ok = spawn_wait(argv, NULL, log, &status, NULL) == 0
		    && WIFEXITED(status) && WEXITSTATUS(status) == 0;
		printf("  %-24s db5.3_verify %s", base, ok ? "ok  " : "FAILED");
		if (!ok) {
			failures++;
			printf(" (see %s)", log);
			opt.keep = true;
		}
		/* Entry counts: through relaydb for the relaydb-format stores
		 * (keys without NUL; makemap writes them the same way). */
		if (s->expected >= 0) {
			int64_t n = count_entries(s->path);
			char a[32];

			if (n == s->expected)
				printf(", %s entries (every acknowledged "
				       "grant kept)", fmt_count((uint64_t)n, a,
								 sizeof(a)));
			else {
				printf(", %lld entries, expected %lld: WRONG",
				       (long long)n, (long long)s->expected);
				failures++;
			}
		}
		printf("\n");
	}
}

/* ------------------------------------------------------------------ */
/* p: where the time goes */

static void print_profile(const char *title, const struct run_outcome *o)
{
	double grants = (double)o->done, accounted = 0;
	const struct prof_stat *s;
	char n[32];
	int c;

	if (o->done == 0)
		return;
	printf("\n  %s: %s grants in %.3f s (%.0f grants/s with timing on)\n",
	       title, fmt_count(o->done, n, sizeof(n)), o->seconds,
	       grants / o->seconds);
	printf("    %-36s %10s %12s %14s\n", "phase (in call order)",
	       "calls/grant", "us/grant", "us/call");
	for (c = 0; c < P_COUNT; c++) {
		s = &o->prof.cat[c];
		if (s->top_n == 0)
			continue;
		printf("    %-36s %10.2f %12.2f %14.2f\n", prof_names[c],
		       (double)s->top_n / grants,
		       (double)s->top_ns / 1e3 / grants,
		       (double)s->top_ns / 1e3 / (double)s->top_n);
		accounted += (double)s->top_ns / 1e3 / grants;
	}
	printf("    %-36s %10s %12.2f\n", "sum of the phases above", "",
	       accounted);
	printf("    nested inside the phases above (all calls):\n");
	for (c = 0; c < P_COUNT; c++) {
		s = &o->prof.cat[c];
		if (s->all_n == s->top_n)
			continue;
		printf("      %-34s %10.2f %12.2f %14.2f\n", prof_names[c],
		       (double)(s->all_n - s->top_n) / grants,
		       (double)(s->all_ns - s->top_ns) / 1e3 / grants,
		       (double)(s->all_ns - s->top_ns) / 1e3 /
		       (double)(s->all_n - s->top_n));
	}
	if (o->prof.commits > 0)
		printf("    commits: %" PRIu64 ", %.2f pages each on average, "
		       "%" PRIu64 " (%.2f%%) through a forked commit process\n",
		       o->prof.commits,
		       (double)o->prof.pages / (double)o->prof.commits,
		       o->prof.detached,
		       100.0 * (double)o->prof.detached /
		       (double)o->prof.commits);
}

static void run_profile(void)
{
	char path[PATH_MAX], title[96], file[64];
	struct relaygate_arg a;
	struct run_outcome o;
	unsigned procs[2] = { 1, opt.writers }, k;

	if (!BENCH_HAVE_PROFILE) {
		printf("  p: skipped (built without -Wl,--wrap support)\n");
		return;
	}
	for (k = 0; k < 2; k++) {
		struct result *r;

		snprintf(file, sizeof(file), "profile-%uw.db", procs[k]);
		work_path(path, sizeof(path), file);
		fresh_store(path);
		memset(&a, 0, sizeof(a));
		a.path = path;
		a.fsync = false;
		a.create = true;
		a.rate_per_proc = opt.profile_rate / procs[k];
		snprintf(title, sizeof(title), "relaydb_record, %u writer%s, "
			 "phases timed%s", procs[k], procs[k] == 1 ? "" : "s",
			 opt.profile_rate > 0 ? ", paced" : "");
		r = result_new(k == 0 ? "p1" : "pN", title, "grants", procs[k]);
		run_workers(procs[k], opt.profile_rate > 0 ? (uint64_t)
			    (opt.profile_rate * opt.paced_seconds / procs[k]) + 1
			    : opt.grants, true, true, work_relaygate, &a, &o);
		outcome_to_result(&o, r);
		r->has_forks = true;
		r->forks = o.forks;
		result_print_line(r);
		print_profile(title, &o);
		store_register(path, title, (int64_t)o.done);
	}
}

/* ------------------------------------------------------------------ */
/* Summary */

static void print_ratio(const char *what, const char *a_id, const char *b_id)
{
	const struct result *a = result_find(a_id), *b = result_find(b_id);

	if (a == NULL || b == NULL || b->rate <= 0)
		return;
	printf("  %-58s %10.1fx  (%.0f vs %.0f /s)\n", what, a->rate / b->rate,
	       a->rate, b->rate);
}

static void print_target(const char *what, bool evaluated, bool met,
			 const char *value)
{
	printf("  %-52s %-24s %s\n", what, value,
	       !evaluated ? "not evaluated" : met ? "MET" : "MISSED");
}

static int print_summary(void)
{
	const struct result *r;
	char value[64], id[16], what[96];
	bool missed = false;
	size_t i;

	printf("\n== Results ==\n");
	result_header();
	for (i = 0; i < result_count; i++)
		result_print_line(&results[i]);

	printf("\n== Ratios (grants/s) ==\n");
	snprintf(id, sizeof(id), "a%u", opt.writers);
	print_ratio("relaygate 1 writer / naive cycle 1 writer", "a1", "b1");
	{
		char nid[16];

		snprintf(nid, sizeof(nid), "b%u", opt.writers);
		snprintf(what, sizeof(what), "relaygate %u writers / naive cycle "
			 "%u writers", opt.writers, opt.writers);
		print_ratio(what, id, nid);
	}
	for (i = 0; i < opt.makemap_size_count; i++) {
		char cid[16];

		snprintf(cid, sizeof(cid), "c%" PRIu64, opt.makemap_sizes[i]);
		snprintf(what, sizeof(what), "relaygate 1 writer / makemap "
			 "rewrite, %" PRIu64 " entries", opt.makemap_sizes[i]);
		print_ratio(what, "a1", cid);
	}
	print_ratio("raw-put ceiling / relaygate 1 writer (headroom)", "d", "a1");
	print_ratio("relaygate fsync=false / fsync=true (1 writer)", "a1", "af");
	{
		const struct result *rp = result_find("rp"),
		    *rf = result_find("rf");

		/* The floor is what the same paced clients see from a server
		 * that does nothing: the machine's wake-ups and scheduling. */
		if (rp != NULL && rf != NULL)
			printf("  %-58s p50 %.0f / %.0f us, p99 %.0f / %.0f us\n",
			       "recorder paced (rp) / its floor (rf), latency",
			       rp->p50_us, rf->p50_us, rp->p99_us, rf->p99_us);
	}

	printf("\n== Targets ==\n");
	r = result_find("a1");
	snprintf(value, sizeof(value), "%.0f grants/s", r ? r->rate : 0);
	print_target(">= 20,000 grants/s, 1 writer", r != NULL,
		     r && r->rate >= TARGET_GRANTS_PER_S, value);
	missed |= r && r->rate < TARGET_GRANTS_PER_S;
	r = result_find(id);
	snprintf(what, sizeof(what), ">= 20,000 grants/s, %u writers (aggregate)",
		 opt.writers);
	snprintf(value, sizeof(value), "%.0f grants/s", r ? r->rate : 0);
	print_target(what, r != NULL, r && r->rate >= TARGET_GRANTS_PER_S, value);
	missed |= r && r->rate < TARGET_GRANTS_PER_S;
	r = result_find("a1");
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target("p99 grant latency < 1 ms, 1 writer", r != NULL,
		     r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	r = result_find(id);
	snprintf(what, sizeof(what),
		 "p99 grant latency < 1 ms, %u writers, back to back",
		 opt.writers);
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target(what, r != NULL, r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	r = result_find("ap");
	snprintf(what, sizeof(what), "p99 grant latency < 1 ms, %u writers, "
		 "%.0f/s offered", opt.writers, opt.paced_rate);
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target(what, r != NULL, r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	/* The same latency targets through relaygate-recorder. */
	r = result_find("r1");
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target("p99 < 1 ms, 1 writer, through the recorder", r != NULL,
		     r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	snprintf(id, sizeof(id), "r%u", opt.writers);
	r = result_find(id);
	snprintf(what, sizeof(what), "p99 < 1 ms, %u writers, back to back, "
		 "recorder", opt.writers);
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target(what, r != NULL, r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	snprintf(what, sizeof(what), ">= 20,000 grants/s, %u writers, recorder",
		 opt.writers);
	snprintf(value, sizeof(value), "%.0f grants/s", r ? r->rate : 0);
	print_target(what, r != NULL, r && r->rate >= TARGET_GRANTS_PER_S, value);
	missed |= r && r->rate < TARGET_GRANTS_PER_S;
	r = result_find("rp");
	snprintf(what, sizeof(what), "p99 < 1 ms, %u writers, %.0f/s offered, "
		 "recorder", opt.writers, opt.paced_rate);
	snprintf(value, sizeof(value), "p99 %.0f us", r ? r->p99_us : 0);
	print_target(what, r != NULL, r && r->p99_us < TARGET_P99_US, value);
	missed |= r && r->p99_us >= TARGET_P99_US;
	{
		const char *ids[] = { "f-list", "f-exph", "f-expa" };
		const char *names[] = { "list", "expire (half)", "expire (all)" };

		for (i = 0; i < 3; i++) {
			bool full;

			r = result_find(ids[i]);
			full = r != NULL && opt.bulk >= TARGET_BULK_ENTRIES;
			snprintf(what, sizeof(what), "vsmtprelay %s over 1,000,000 "
				 "entries <= 2 s", names[i]);
			if (r != NULL && !full)
				snprintf(value, sizeof(value), "%.2f s (store "
					 "of %" PRIu64 ")", r->seconds, opt.bulk);
			else
				snprintf(value, sizeof(value), "%.2f s",
					 r ? r->seconds : 0);
			print_target(what, full, r && r->seconds <= TARGET_BULK_S,
				     value);
			missed |= full && r->seconds > TARGET_BULK_S;
		}
	}
	print_target("db5.3_verify on every store, all grants kept",
		     store_count > 0, failures == 0,
		     failures == 0 ? "all passed" : "FAILURES");
	return missed;
}

/* ------------------------------------------------------------------ */
/* Environment description */

static const char *fs_type_name(long type)
{
	switch ((unsigned long)type) {
	case 0xEF53: return "ext2/3/4";
	case 0x01021994: return "tmpfs";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	case 0x2FC12FC1: return "zfs";
	case 0x6969: return "nfs";
	case 0x65735546: return "fuse";
	case 0xF2F52010: return "f2fs";
	default: return "other";
	}
}

static bool describe_filesystem(const char *dir)
{
	char real[PATH_MAX], line[4096], best_mnt[PATH_MAX] = "", best[4096] = "";
	struct statfs sfs;
	size_t best_len = 0;
	FILE *f;
	bool tmpfs = false;

	if (realpath(dir, real) == NULL)
		snprintf(real, sizeof(real), "%s", dir);
	if (statfs(dir, &sfs) == 0) {
		tmpfs = (unsigned long)sfs.f_type == 0x01021994;
		printf("filesystem: %s (statfs type 0x%lx)",
		       fs_type_name(sfs.f_type), (unsigned long)sfs.f_type);
	}
	f = fopen("/proc/self/mounts", "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char dev[1024], mnt[1024], type[64], opts[1024];
		size_t len;

		if (sscanf(line, "%1023s %1023s %63s %1023s", dev, mnt, type,
			   opts) != 4)
			continue;
		len = strlen(mnt);
		if (strncmp(real, mnt, len) == 0
		    && (real[len] == '/' || real[len] == '\0' || len == 1)
		    && len >= best_len) {
			best_len = len;
			snprintf(best_mnt, sizeof(best_mnt), "%s", mnt);
			snprintf(best, sizeof(best), "%s on %s type %s (%s)", dev,
				 mnt, type, opts);
		}
	}
	if (f != NULL)
		fclose(f);
	if (best[0] != '\0')
		printf(", %s", best);
	printf("\n");
	return tmpfs;
}

static void print_loadavg(const char *when)
{
	char buf[128] = "?";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			snprintf(buf, sizeof(buf), "?\n");
		fclose(f);
	}
	printf("load average %s: %s", when, buf);
	if (strchr(buf, '\n') == NULL)
		printf("\n");
}

static void describe_machine(void)
{
	struct utsname u;
	char date[64];
	time_t t = time(NULL);
	int major, minor, patch;

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	uname(&u);
	printf("relaydb-bench: relaygate %s, %s, %ld CPUs online, %s %s %s\n",
	       RELAYGATE_VERSION, db_version(&major, &minor, &patch),
	       sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, u.machine);
	printf("date: %s, mode: %s, writers/readers: %u, time cap per run: "
	       "%.0f s, writer ballast: %" PRIu64 " MB, prefill: %" PRIu64
	       "\n", date, opt.mode, opt.writers, opt.time_cap,
	       opt.ballast_mb, opt.prefill);
	print_loadavg("at start");
	printf("work directory: %s\n", work_dir);
	if (describe_filesystem(work_dir))
		printf("WARNING: the work directory is on tmpfs; use -d to "
		       "choose a disk filesystem\n");
}

/* ------------------------------------------------------------------ */
/* r: through relaygate-recorder */

static bool want(const char *id);

static void run_recorder_rows(void)
{
	char id[16], label[80];

	if (want("r1"))
		run_relaygate("r1", "recorder, 1 writer", "recorder-1w.db", 1,
			      opt.grants, false, 0, GRANT_RECORDER);
	if (want("r8") || want("rN")) {
		snprintf(id, sizeof(id), "r%u", opt.writers);
		snprintf(label, sizeof(label), "recorder, %u writers",
			 opt.writers);
		run_relaygate(id, label, "recorder-Nw.db", opt.writers,
			      opt.grants, false, 0, GRANT_RECORDER);
	}
	if (want("rp") && opt.paced_rate > 0) {
		uint64_t per = (uint64_t)(opt.paced_rate * opt.paced_seconds /
					  opt.writers) + 1;

		snprintf(label, sizeof(label), "recorder, %u writers paced, "
			 "%.0f/s offered", opt.writers, opt.paced_rate);
		run_relaygate("rp", label, "recorder-paced.db", opt.writers, per,
			      false, opt.paced_rate, GRANT_RECORDER);
	}
	if (want("rf") && opt.paced_rate > 0) {
		uint64_t per = (uint64_t)(opt.paced_rate * opt.paced_seconds /
					  opt.writers) + 1;

		snprintf(label, sizeof(label), "floor of rp: no store, %.0f/s "
			 "offered", opt.paced_rate);
		run_relaygate("rf", label, "floor-paced.db", opt.writers, per,
			      false, opt.paced_rate, GRANT_FLOOR);
	}
}

/* ------------------------------------------------------------------ */
/* Main */

static bool want(const char *id)
{
	const char *p;
	size_t len = strlen(id);

	if (opt.sections == NULL || strcmp(opt.sections, "all") == 0)
		return true;
	for (p = opt.sections; *p != '\0';) {
		size_t n = strcspn(p, ",");

		if ((n == len && strncmp(p, id, n) == 0)
		    || (n == 1 && p[0] == id[0]))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static uint64_t parse_count(const char *name, const char *text)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-')
		die("%s: \"%s\" is not a count", name, text);
	return (uint64_t)v;
}

static void set_mode(const char *mode)
{
	opt.mode = mode;
	if (strcmp(mode, "full") == 0) {
		opt.grants = 20000;
		opt.fsync_grants = 2000;
		opt.naive_grants = 1000;
		opt.makemap_grants = 200;
		opt.raw_puts = 1000000;
		opt.lookup_store = 10000;
		opt.lookups = 50000;
		opt.bulk = 1000000;
		opt.time_cap = 20;
		opt.paced_rate = 10000;
		opt.paced_seconds = 5;
	} else if (strcmp(mode, "quick") == 0) {
		opt.grants = 3000;
		opt.fsync_grants = 300;
		opt.naive_grants = 200;
		opt.makemap_grants = 40;
		opt.raw_puts = 200000;
		opt.lookup_store = 10000;
		opt.lookups = 10000;
		opt.bulk = 200000;
		opt.time_cap = 5;
		opt.paced_rate = 10000;
		opt.paced_seconds = 2;
	} else {	/* smoke */
		opt.grants = 200;
		opt.fsync_grants = 20;
		opt.naive_grants = 20;
		opt.makemap_grants = 3;
		opt.raw_puts = 10000;
		opt.lookup_store = 1000;
		opt.lookups = 500;
		opt.bulk = 4000;
		opt.time_cap = 5;
		opt.paced_rate = 2000;
		opt.paced_seconds = 0.2;
	}
}

static void usage(FILE *out)
{
	fprintf(out,
"usage: relaydb-bench [options]\n"
"  -q, --quick              quick run (< 1 minute)\n"
"      --smoke              tiny run for the test suite (seconds)\n"
"  -d, --dir DIR            make the work directory in DIR (default /var/tmp;\n"
"                           avoid tmpfs)\n"
"  -k, --keep               keep the work directory\n"
"  -s, --sections LIST      comma list of a,b,c,d,e,f,g,p,r or run ids (a1,a8,\n"
"                           ap,af,b1,b8,c,d,e,f,g,p,r1,r8,rp,rf); default all\n"
"  -w, --writers N          processes in the multi-process runs (default 8)\n"
"  -n, --grants N           grants per writer, relaygate runs (20000)\n"
"      --fsync-grants N     grants in the fsync=true run (2000)\n"
"      --naive-grants N     grants per writer, naive cycle (1000)\n"
"      --makemap-sizes L    comma list of map sizes (100,1000)\n"
"      --makemap-grants N   grants per map size (200)\n"
"      --raw-puts N         puts in the ceiling run (1000000)\n"
"      --lookup-store N     entries of the lookup store (10000)\n"
"      --lookups N          lookups per reader (50000)\n"
"      --bulk N             entries for vsmtprelay load/list/expire (1000000)\n"
"      --paced-rate R       offered grants/s of the paced N-writer run, 0 = off\n"
"                           (10000: half the 20,000/s target)\n"
"      --paced-seconds S    length of the paced run (5)\n"
"      --prefill N          the stores of rows a* and r* first hold N other\n"
"                           addresses (vsmtprelay load): a store at its size\n"
"                           instead of one growing from empty (default 0)\n"
"      --profile-rate R     section p offers R grants/s (paced) instead of\n"
"                           back to back (default 0)\n"
"      --rss MB             each relaygate writer first touches MB of memory,\n"
"                           like a server process (default 0)\n"
"  -T, --time-cap S         stop any one run after S seconds (20)\n"
"      --vsmtprelay PATH    (default: ../vsmtprelay next to this program,\n"
"                           or $VSMTPRELAY)\n"
"      --makemap PATH       (default /usr/sbin/makemap)\n"
"      --db-verify PATH     (default /usr/bin/db5.3_verify)\n"
"      --recorder PATH      relaygate-recorder for section r (default:\n"
"                           ../relaygate-recorder next to this program, or\n"
"                           $RELAYGATE_RECORDER)\n"
"      --strict             exit 3 when a target is missed\n"
"exit: 0 ok, 1 a run or a verification failed, 2 usage, 3 target missed\n"
"(with --strict)\n");
}

static void default_vsmtprelay(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("VSMTPRELAY");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0') {
		opt.vsmtprelay = env;
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(path, sizeof(path), "%.4000s/../"
					     "vsmtprelay", exe) < sizeof(path)) {
				opt.vsmtprelay = path;
				return;
			}
		}
	}
	opt.vsmtprelay = "vsmtprelay";
}

/* relaygate-recorder: $RELAYGATE_RECORDER, else next to vsmtprelay's
 * default (the build directory). */
static void default_recorder(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("RELAYGATE_RECORDER");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	opt.recorder = "relaygate-recorder";
	if (env != NULL && *env != '\0') {
		opt.recorder = env;
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%.4000s/../relaygate-recorder",
			     exe) < sizeof(path))
		opt.recorder = path;
}

static void remove_work_dir(void)
{
	const char *argv[] = { "/bin/rm", "-rf", work_dir, NULL };
	int status;

	(void)spawn_wait(argv, NULL, NULL, &status, NULL);
}

int main(int argc, char **argv)
{
	enum { O_FSYNC_GRANTS = 256, O_NAIVE, O_MM_SIZES, O_MM_GRANTS, O_RAW,
	       O_LSTORE, O_LOOKUPS, O_BULK, O_VSMTPRELAY, O_MAKEMAP, O_VERIFY,
	       O_STRICT, O_SMOKE, O_PACED_RATE, O_PACED_SECONDS, O_RSS,
	       O_PREFILL,
	       O_PROFILE_RATE, O_RECORDER };
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "smoke", no_argument, NULL, O_SMOKE },
		{ "dir", required_argument, NULL, 'd' },
		{ "keep", no_argument, NULL, 'k' },
		{ "sections", required_argument, NULL, 's' },
		{ "writers", required_argument, NULL, 'w' },
		{ "grants", required_argument, NULL, 'n' },
		{ "fsync-grants", required_argument, NULL, O_FSYNC_GRANTS },
		{ "naive-grants", required_argument, NULL, O_NAIVE },
		{ "makemap-sizes", required_argument, NULL, O_MM_SIZES },
		{ "makemap-grants", required_argument, NULL, O_MM_GRANTS },
		{ "raw-puts", required_argument, NULL, O_RAW },
		{ "lookup-store", required_argument, NULL, O_LSTORE },
		{ "lookups", required_argument, NULL, O_LOOKUPS },
		{ "bulk", required_argument, NULL, O_BULK },
		{ "time-cap", required_argument, NULL, 'T' },
		{ "paced-rate", required_argument, NULL, O_PACED_RATE },
		{ "rss", required_argument, NULL, O_RSS },
		{ "profile-rate", required_argument, NULL, O_PROFILE_RATE },
		{ "paced-seconds", required_argument, NULL, O_PACED_SECONDS },
		{ "prefill", required_argument, NULL, O_PREFILL },
		{ "vsmtprelay", required_argument, NULL, O_VSMTPRELAY },
		{ "makemap", required_argument, NULL, O_MAKEMAP },
		{ "db-verify", required_argument, NULL, O_VERIFY },
		{ "recorder", required_argument, NULL, O_RECORDER },
		{ "strict", no_argument, NULL, O_STRICT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mm_sizes = "100,1000";
	int c, i;
	bool missed;

	/* The mode sets the defaults; explicit counts override them. */
	set_mode("full");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quick") == 0)
			set_mode("quick");
		else if (strcmp(argv[i], "--smoke") == 0)
			set_mode("smoke");
	}
	if (strcmp(opt.mode, "smoke") == 0)
		mm_sizes = "100";
	opt.base_dir = "/var/tmp";
	opt.writers = 8;
	opt.makemap = "/usr/sbin/makemap";
	opt.db_verify = "/usr/bin/db5.3_verify";
	default_vsmtprelay();
	default_recorder();
	while ((c = getopt_long(argc, argv, "qd:ks:w:n:T:h", longopts, NULL))
	       != -1) {
		switch (c) {
		case 'q': case O_SMOKE: break;
		case 'd': opt.base_dir = optarg; break;
		case 'k': opt.keep = true; break;
		case 's': opt.sections = optarg; break;
		case 'w':
			opt.writers = (unsigned)parse_count("-w", optarg);
			break;
		case 'n':
			opt.grants = parse_count("-n", optarg);
			break;
		case O_FSYNC_GRANTS:
			opt.fsync_grants = parse_count("--fsync-grants",
						       optarg);
			break;
		case O_NAIVE:
			opt.naive_grants = parse_count("--naive-grants",
						       optarg);
			break;
		case O_MM_SIZES:
			mm_sizes = optarg;
			break;
		case O_MM_GRANTS:
			opt.makemap_grants = parse_count("--makemap-grants",
							 optarg);
			break;
		case O_RAW:
			opt.raw_puts = parse_count("--raw-puts", optarg);
			break;
		case O_LSTORE:
			opt.lookup_store = parse_count("--lookup-store",
						       optarg);
			break;
		case O_LOOKUPS:
			opt.lookups = parse_count("--lookups", optarg);
			break;
		case O_BULK:
			opt.bulk = parse_count("--bulk", optarg);
			break;
		case 'T':
			opt.time_cap = (double)parse_count("-T", optarg);
			break;
		case O_PROFILE_RATE:
			opt.profile_rate = (double)parse_count(
			    "--profile-rate", optarg);
			break;
		case O_RSS:
			opt.ballast_mb = parse_count("--rss", optarg);
			break;
		case O_PACED_RATE:
			opt.paced_rate = (double)parse_count(
			    "--paced-rate", optarg);
			break;
		case O_PREFILL:
			opt.prefill = parse_count("--prefill", optarg);
			if (opt.prefill >= (1u << 22))
				die("--prefill: at most 4194303");
			break;
		case O_PACED_SECONDS:
			opt.paced_seconds = (double)parse_count(
			    "--paced-seconds", optarg);
			break;
		case O_VSMTPRELAY: opt.vsmtprelay = optarg; break;
		case O_MAKEMAP: opt.makemap = optarg; break;
		case O_VERIFY: opt.db_verify = optarg; break;
		case O_RECORDER: opt.recorder = optarg; break;
		case O_STRICT: opt.strict = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (opt.writers < 1 || opt.writers > 64)
		die("-w: 1 to 64 writers");
	if (opt.grants >= ADDR_BLOCK_SIZE || opt.naive_grants >= ADDR_BLOCK_SIZE)
		die("at most %llu grants per writer", ADDR_BLOCK_SIZE - 1);
	if (opt.lookup_store < 1 || opt.bulk < 2 || opt.bulk > (1ULL << 26)
	    || opt.lookup_store > (1ULL << 26) || opt.raw_puts > (1ULL << 26))
		die("store sizes: 1 (bulk 2) to 67108864 entries");
	{
		const char *p = mm_sizes;

		opt.makemap_size_count = 0;
		while (*p != '\0' && opt.makemap_size_count < 8) {
			char num[32];
			size_t n = strcspn(p, ",");

			if (n == 0 || n >= sizeof(num))
				die("--makemap-sizes: bad list \"%s\"", mm_sizes);
			memcpy(num, p, n);
			num[n] = '\0';
			opt.makemap_sizes[opt.makemap_size_count] =
			    parse_count("--makemap-sizes", num);
			if (opt.makemap_sizes[opt.makemap_size_count] == 0)
				die("--makemap-sizes: sizes start at 1");
			opt.makemap_size_count++;
			p += n;
			if (*p == ',')
				p++;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (snprintf(work_dir, sizeof(work_dir), "%s/relaydb-bench.XXXXXX",
		     opt.base_dir) >= (int)sizeof(work_dir))
		die("-d: path too long");
	if (mkdtemp(work_dir) == NULL)
		die("cannot make a directory in %s: %s", opt.base_dir,
		    strerror(errno));
	{
		/* Absolute: relaygate.conf (section r) wants absolute paths. */
		char real[PATH_MAX];

		if (realpath(work_dir, real) != NULL)
			snprintf(work_dir, sizeof(work_dir), "%s", real);
	}
	describe_machine();
	work_path(makemap_log, sizeof(makemap_log), "makemap.log");

	if (want("a1") || want("a8") || want("af") || want("ap"))
		printf("\n== a. relaygate: relaydb_record(), one handle per "
		       "process, new address per grant, value now ==\n");
	if (want("a1"))
		run_relaygate("a1", "relaygate, 1 writer", "relaygate-1w.db", 1,
			      opt.grants, false, 0, GRANT_DIRECT);
	if (want("a8") || want("aN")) {
		char id[16], label[80], file[64];

		snprintf(id, sizeof(id), "a%u", opt.writers);
		snprintf(label, sizeof(label), "relaygate, %u writers",
			 opt.writers);
		snprintf(file, sizeof(file), "relaygate-%uw.db", opt.writers);
		run_relaygate(id, label, file, opt.writers, opt.grants, false, 0,
			      GRANT_DIRECT);
	}
	if (want("ap") && opt.paced_rate > 0) {
		char label[80], file[64];
		uint64_t per = (uint64_t)(opt.paced_rate * opt.paced_seconds /
					  opt.writers) + 1;

		snprintf(label, sizeof(label), "relaygate, %u writers paced, "
			 "%.0f/s offered", opt.writers, opt.paced_rate);
		snprintf(file, sizeof(file), "relaygate-paced.db");
		run_relaygate("ap", label, file, opt.writers, per, false,
			      opt.paced_rate, GRANT_DIRECT);
	}
	if (want("af"))
		run_relaygate("af", "relaygate, 1 writer, fsync = true",
			      "relaygate-fsync.db", 1, opt.fsync_grants, true, 0,
			      GRANT_DIRECT);

	if (want("r1") || want("r8") || want("rp") || want("rf")) {
		printf("\n== r. relaygate through relaygate-recorder: "
		       "relaydb_record() with relay_db_recorder set ==\n");
		if (access(opt.recorder, X_OK) < 0)
			printf("  skipped: %s: %s\n", opt.recorder,
			       strerror(errno));
		else
			run_recorder_rows();
	}

	if (want("b1") || want("b8")) {
		printf("\n== b. naive cycle per grant: open, flock, db_create, "
		       "DB->open, put, DB->sync, DB->close, close ==\n");
		run_naive("b1", "naive cycle, 1 writer", "naive-1w.db", 1,
			  opt.naive_grants);
		{
			char id[16], label[80], file[64];

			snprintf(id, sizeof(id), "b%u", opt.writers);
			snprintf(label, sizeof(label), "naive cycle, %u writers",
				 opt.writers);
			snprintf(file, sizeof(file), "naive-%uw.db", opt.writers);
			run_naive(id, label, file, opt.writers, opt.naive_grants);
		}
	}
	if (want("c")) {
		size_t k;

		printf("\n== c. log-watcher way: rewrite the text list and run "
		       "`%s hash MAP < list` per grant ==\n", opt.makemap);
		if (access(opt.makemap, X_OK) < 0)
			printf("  skipped: %s: %s\n", opt.makemap,
			       strerror(errno));
		else
			for (k = 0; k < opt.makemap_size_count; k++)
				run_makemap(opt.makemap_sizes[k]);
	}
	if (want("d")) {
		printf("\n== d. ceiling: DB->put loop on one open handle ==\n");
		run_raw();
	}
	if (want("e")) {
		printf("\n== e. lookups: relaydb_lookup(), one handle per "
		       "process, random stored addresses ==\n");
		run_lookups();
	}
	if (want("f")) {
		printf("\n== f. vsmtprelay over a large store ==\n");
		run_bulk();
	}
	if (want("p")) {
		printf("\n== p. where the time of relaydb_record() goes "
		       "(wrapped calls timed; a separate run) ==\n");
		run_profile();
	}
	if (want("g")) {
		printf("\n== g. db5.3_verify and entry counts of every store "
		       "written ==\n");
		if (access(opt.db_verify, X_OK) < 0) {
			printf("  skipped: %s: %s\n", opt.db_verify,
			       strerror(errno));
			failures++;
		} else
			run_verify();
	}
	missed = print_summary();
	printf("\n");
	print_loadavg("at end");
	if (opt.keep)
		printf("\nwork directory kept: %s\n", work_dir);
	else
		remove_work_dir();
	if (failures > 0)
		return 1;
	return opt.strict && missed ? 3 : 0;
}

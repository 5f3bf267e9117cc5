#ifndef RELAYGATE_STORE_TEST_H
#define RELAYGATE_STORE_TEST_H
/* store-test: helpers shared by the relay-store test programs (crash,
 * concurrency, fault injection, lock timeout): private test directories
 * under the build tree, running db5.3_verify and other tools as
 * subprocesses, a reversible address generator and a per-address model of
 * what the store must hold. Never skips: a missing tool or environment
 * variable is a test failure with a message that says what is missing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* nftw */
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <db.h>

#include "address.h"
#include "relaydb.h"

/* Print "# FATAL: ..." and exit 1: for broken test environments. */
static inline void store_test_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void store_test_fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FATAL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("# FATAL (see stderr); test failed\n");
	fflush(stdout);
	exit(1);
}

/* Make a private 0755 directory for test NAME under $RELAYGATE_BUILD_ROOT
 * (not under /tmp: sendmail tools refuse world-writable parents). */
static inline void store_test_dir_create(const char *name, char *dir, size_t size)
{
	const char *root = getenv("RELAYGATE_BUILD_ROOT");

	if (root == NULL || *root == '\0')
		store_test_fatal("RELAYGATE_BUILD_ROOT is not set (run the test "
				 "through meson test)");
	if ((size_t)snprintf(dir, size, "%s/store-%s.XXXXXX", root, name)
	    >= size)
		store_test_fatal("test directory path too long");
	if (mkdtemp(dir) == NULL)
		store_test_fatal("mkdtemp %s: %s", dir, strerror(errno));
	if (chmod(dir, 0755) < 0)
		store_test_fatal("chmod %s: %s", dir, strerror(errno));
}

static inline int store_test_unlink_entry(const char *path, const struct stat *st,
				   int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 ? -1 : 0;
}

/* Remove DIR and everything in it. */
static inline void store_test_dir_remove(const char *dir)
{
	if (getenv("STORE_TEST_KEEP") != NULL) {
		fprintf(stderr, "kept %s\n", dir);
		return;
	}
	if (nftw(dir, store_test_unlink_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "warning: cannot remove %s: %s\n", dir,
			strerror(errno));
}

/* Run ARGV (PATH search), stdin from /dev/null, stdout into OUT and
 * stderr into ERR (each NUL-terminated, truncated to its size - 1); with
 * ERR NULL, stderr goes into OUT too. Returns the wait status, or -1 if the
 * program could not be started (then OUT says why). */
static inline int store_test_run_split(const char *const argv[], char *out,
				       size_t size, char *err, size_t err_size)
{
	int out_pipe[2], err_pipe[2] = { -1, -1 }, status;
	size_t len[2] = { 0, 0 };
	bool open_fd[2] = { true, err != NULL };
	pid_t pid;

	if (pipe(out_pipe) < 0 || (err != NULL && pipe(err_pipe) < 0))
		store_test_fatal("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		store_test_fatal("fork: %s", strerror(errno));
	if (pid == 0) {
		int null_fd = open("/dev/null", O_RDONLY);

		if (null_fd >= 0)
			dup2(null_fd, STDIN_FILENO);
		dup2(out_pipe[1], STDOUT_FILENO);
		dup2(err != NULL ? err_pipe[1] : out_pipe[1], STDERR_FILENO);
		close(out_pipe[0]);
		if (err != NULL)
			close(err_pipe[0]);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		dprintf(STDOUT_FILENO, "cannot execute %s: %s\n", argv[0],
			strerror(errno));
		_exit(127);
	}
	close(out_pipe[1]);
	if (err != NULL)
		close(err_pipe[1]);
	while (open_fd[0] || open_fd[1]) {
		struct pollfd fds[2];
		int i;

		fds[0].fd = open_fd[0] ? out_pipe[0] : -1;
		fds[1].fd = open_fd[1] ? err_pipe[0] : -1;
		fds[0].events = fds[1].events = POLLIN;
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			store_test_fatal("poll: %s", strerror(errno));
		}
		for (i = 0; i < 2; i++) {
			char *buf = i == 0 ? out : err;
			size_t cap = i == 0 ? size : err_size;
			char chunk[4096];
			ssize_t got;

			if (!open_fd[i] || fds[i].revents == 0)
				continue;
			got = read(fds[i].fd, chunk, sizeof(chunk));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				open_fd[i] = false;
				close(fds[i].fd);
				continue;
			}
			if (buf != NULL && len[i] + 1 < cap) {
				size_t take = (size_t)got < cap - 1 - len[i]
				    ? (size_t)got : cap - 1 - len[i];

				memcpy(buf + len[i], chunk, take);
				len[i] += take;
			}
		}
	}
	if (out != NULL && size > 0)
		out[len[0]] = '\0';
	if (err != NULL && err_size > 0)
		err[len[1]] = '\0';
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			store_test_fatal("waitpid: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	return status;
}

/* As store_test_run_split() with stderr merged into OUT. */
static inline int store_test_run(const char *const argv[], char *out,
				 size_t size)
{
	return store_test_run_split(argv, out, size, NULL, 0);
}

/* Run db5.3_verify on PATH. Returns true when it passes; on failure prints
 * its output (prefixed by WHAT) and returns false. A missing db5.3_verify
 * is fatal. */
static inline bool store_test_verify(const char *path, const char *what)
{
	const char *argv[] = { "db5.3_verify", path, NULL };
	char out[8192];
	int status = store_test_run(argv, out, sizeof(out));

	if (status == -1)
		store_test_fatal("db5.3_verify could not be run (install "
				 "db5.3-util): %s", out);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	printf("# db5.3_verify %s failed (%s): status 0x%x\n# %s\n", path,
	       what, (unsigned)status, out);
	fflush(stdout);
	return false;
}

/* Copy file FROM to TO (a snapshot for byte comparisons). */
static inline void store_test_copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), outfd;
	ssize_t got;

	if (in < 0)
		store_test_fatal("open %s: %s", from, strerror(errno));
	outfd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (outfd < 0)
		store_test_fatal("create %s: %s", to, strerror(errno));
	while ((got = read(in, buf, sizeof(buf))) > 0) {
		if (write(outfd, buf, (size_t)got) != got)
			store_test_fatal("write %s: %s", to, strerror(errno));
	}
	if (got < 0)
		store_test_fatal("read %s: %s", from, strerror(errno));
	close(in);
	close(outfd);
}

/* True when files A and B have identical bytes. */
static inline bool store_test_same_bytes(const char *a, const char *b)
{
	const char *argv[] = { "cmp", a, b, NULL };
	char out[1024];
	int status = store_test_run(argv, out, sizeof(out));

	if (status == -1)
		store_test_fatal("cmp could not be run: %s", out);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	printf("# %s and %s differ: %s", a, b, out);
	return false;
}

/* Take and release flock(LOCK_EX) on PATH: returns once no writer and no
 * detached commit process holds the store. *WAITED_R tells whether the lock
 * was busy at first. */
static inline void store_test_wait_unlocked(const char *path, bool *waited_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*waited_r = false;
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		store_test_fatal("open %s: %s", path, strerror(errno));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK)
			store_test_fatal("flock %s: %s", path, strerror(errno));
		*waited_r = true;
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR)
				store_test_fatal("flock %s: %s", path,
						 strerror(errno));
		}
	}
	close(fd);
}

/* Open the store at PATH with a long lock wait. */
/* Create PATH, if it does not exist, as an empty hash map the way
 * makemap(8) and postmap(1) make one: Berkeley DB's defaults, no fill
 * factor. Such a map grows by one overflow page every few hundred keys,
 * and each growth replaces the file (page_commit.c); a store relaygate
 * creates itself has a fill factor and grows only when its table
 * doubles. Tests of the replacement path start from this shape. */
static inline void store_test_create_makemap_shape(const char *path)
{
	DB *hdb;
	int ret;

	if (access(path, F_OK) == 0)
		return;
	if ((ret = db_create(&hdb, NULL, 0)) != 0)
		store_test_fatal("db_create: %s", db_strerror(ret));
	ret = hdb->open(hdb, NULL, path, NULL, DB_HASH, DB_CREATE | DB_EXCL,
			0644);
	if (ret == 0)
		ret = hdb->close(hdb, 0);
	else
		(void)hdb->close(hdb, 0);
	if (ret != 0)
		store_test_fatal("creating %s like makemap: %s", path,
				 db_strerror(ret));
}

/* Tests given the argument "--makemap-shape" start from such a store. */
static bool store_test_makemap_shape;

/* Take "--makemap-shape" out of ARGV; returns the new ARGC. */
static inline int store_test_parse_args(int argc, char **argv)
{
	int i, kept = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--makemap-shape") == 0)
			store_test_makemap_shape = true;
		else
			argv[kept++] = argv[i];
	}
	argv[kept] = NULL;
	return kept;
}

/* Open PATH directly (no recorder); with KEEP_WRITER as a long-lived
 * writer that keeps the store open between its updates. */
static inline struct relaydb *store_test_open_writer(const char *path,
						     unsigned timeout_ms,
						     bool create,
						     bool keep_writer)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;

	if (create && store_test_makemap_shape)
		store_test_create_makemap_shape(path);
	memset(&settings, 0, sizeof(settings));
	settings.location = path;
	settings.lock_timeout_ms = timeout_ms;
	settings.create = create;
	settings.keep_writer = keep_writer;
	db = relaydb_open(&settings, &error);
	if (db == NULL)
		store_test_fatal("relaydb_open %s: %s", path, error);
	return db;
}

static inline struct relaydb *store_test_open(const char *path, unsigned timeout_ms,
				       bool create)
{
	return store_test_open_writer(path, timeout_ms, create, false);
}

/* ---- a reversible address universe ------------------------------------
 * Sequence number SEQ (below STORE_TEST_SEQ_LIMIT) maps to one address:
 *   seq % 8 in 0..5: IPv4 10.a.b.c (a.b.c = seq), one key;
 *   seq % 8 == 6:    2001:db8::x:y (x:y = seq), two keys (compressed and
 *                    sendmail's full form);
 *   seq % 8 == 7:    2001:db8:1:1:1:1:(x|0x8000):y, one key (no "::"). */
#define STORE_TEST_SEQ_LIMIT (1u << 24)

static inline void store_test_address(uint32_t seq, struct address *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (seq % 8 < 6) {
		addr->family = AF_INET;
		addr->bytes[0] = 10;
		addr->bytes[1] = (unsigned char)(seq >> 16);
		addr->bytes[2] = (unsigned char)(seq >> 8);
		addr->bytes[3] = (unsigned char)seq;
		return;
	}
	addr->family = AF_INET6;
	addr->bytes[0] = 0x20;
	addr->bytes[1] = 0x01;
	addr->bytes[2] = 0x0d;
	addr->bytes[3] = 0xb8;
	if (seq % 8 == 7) {
		addr->bytes[5] = 1;
		addr->bytes[7] = 1;
		addr->bytes[9] = 1;
		addr->bytes[11] = 1;
	}
	addr->bytes[12] = (unsigned char)((seq >> 24) | (seq % 8 == 7 ? 0x80 : 0));
	addr->bytes[13] = (unsigned char)(seq >> 16);
	addr->bytes[14] = (unsigned char)(seq >> 8);
	addr->bytes[15] = (unsigned char)seq;
}

/* Number of store keys for SEQ's address (1 or 2). */
static inline unsigned store_test_key_count(uint32_t seq)
{
	char a[ADDRESS_TEXT_MAX], b[ADDRESS_TEXT_MAX];
	struct address addr;

	store_test_address(seq, &addr);
	address_format(&addr, a);
	address_format_full(&addr, b);
	return strcmp(a, b) == 0 ? 1 : 2;
}

/* Map a stored key back to its sequence number. Returns false when KEY is
 * not the canonical (RFC 5952 or full) text of an address of the universe. */
static inline bool store_test_seq_of_key(const char *key, uint32_t *seq_r)
{
	char a[ADDRESS_TEXT_MAX], b[ADDRESS_TEXT_MAX];
	struct address addr, again;
	const char *error;
	uint32_t seq;

	if (address_parse(key, &addr, &error) < 0)
		return false;
	if (addr.family == AF_INET) {
		if (addr.bytes[0] != 10)
			return false;
		seq = (uint32_t)addr.bytes[1] << 16 | (uint32_t)addr.bytes[2] << 8
		    | addr.bytes[3];
	} else {
		seq = (uint32_t)(addr.bytes[12] & 0x7f) << 24
		    | (uint32_t)addr.bytes[13] << 16
		    | (uint32_t)addr.bytes[14] << 8 | addr.bytes[15];
	}
	if (seq >= STORE_TEST_SEQ_LIMIT)
		return false;
	store_test_address(seq, &again);
	if (again.family != addr.family
	    || memcmp(again.bytes, addr.bytes, sizeof(addr.bytes)) != 0)
		return false;
	address_format(&addr, a);
	address_format_full(&addr, b);
	if (strcmp(key, a) != 0 && strcmp(key, b) != 0)
		return false;
	*seq_r = seq;
	return true;
}

/* ---- what the file holds, per sequence number -------------------------- */
struct store_test_view {
	uint32_t limit;		/* sequence numbers below this */
	uint8_t *keys;		/* keys found per seq */
	int64_t *value;		/* their value (all keys must agree) */
	unsigned long long entries, bad_keys, bad_values, disagreeing;
	char first_problem[256];
};

static inline void store_test_view_init(struct store_test_view *view, uint32_t limit)
{
	memset(view, 0, sizeof(*view));
	view->limit = limit;
	view->keys = calloc(limit, sizeof(*view->keys));
	view->value = calloc(limit, sizeof(*view->value));
	if (view->keys == NULL || view->value == NULL)
		store_test_fatal("out of memory");
}

static inline void store_test_view_free(struct store_test_view *view)
{
	free(view->keys);
	free(view->value);
	memset(view, 0, sizeof(*view));
}

static inline void store_test_view_problem(struct store_test_view *view,
				    const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline void store_test_view_problem(struct store_test_view *view,
				    const char *fmt, ...)
{
	va_list ap;

	if (view->first_problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(view->first_problem, sizeof(view->first_problem), fmt, ap);
	va_end(ap);
}

static inline int store_test_view_add(void *context, const char *key, size_t key_len,
			       const char *value, size_t value_len)
{
	struct store_test_view *view = context;
	const char *error;
	int64_t when;
	uint32_t seq;

	view->entries++;
	if (strlen(key) != key_len || !store_test_seq_of_key(key, &seq)
	    || seq >= view->limit) {
		view->bad_keys++;
		store_test_view_problem(view, "unexpected key \"%.64s\" "
					"(length %zu)", key, key_len);
		return 0;
	}
	if (strlen(value) != value_len
	    || relaydb_parse_time(value, &when, &error) < 0) {
		view->bad_values++;
		store_test_view_problem(view, "key %s: bad value \"%.64s\"",
					key, value);
		return 0;
	}
	if (view->keys[seq] > 0 && view->value[seq] != when) {
		view->disagreeing++;
		store_test_view_problem(view, "key %s: value %lld, other key "
					"of the address has %lld", key,
					(long long)when,
					(long long)view->value[seq]);
	}
	view->keys[seq]++;
	view->value[seq] = when;
	return 0;
}

/* Read the whole store into VIEW (cleared first). Returns false (with a
 * printed reason) if the store cannot be iterated. */
static inline bool store_test_view_load(struct store_test_view *view,
				 struct relaydb *db)
{
	const char *error;

	memset(view->keys, 0, view->limit * sizeof(*view->keys));
	memset(view->value, 0, view->limit * sizeof(*view->value));
	view->entries = view->bad_keys = view->bad_values = 0;
	view->disagreeing = 0;
	view->first_problem[0] = '\0';
	if (relaydb_iterate(db, store_test_view_add, view, &error) < 0) {
		printf("# relaydb_iterate failed: %s\n", error);
		return false;
	}
	return true;
}

/* Small deterministic PRNG (splitmix64): runs are reproducible by seed. */
static uint64_t store_test_rng_state;

static inline uint64_t store_test_random(void)
{
	uint64_t z = (store_test_rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform-ish random number in 0..N-1 (N > 0). */
static inline uint64_t store_test_random_below(uint64_t n)
{
	return store_test_random() % n;
}

/* Seed from $NAME if set (to replay a failure), else from the clock;
 * prints the seed. */
static inline void store_test_seed(const char *env_name)
{
	const char *text = getenv(env_name);
	uint64_t seed;

	if (text != NULL && *text != '\0')
		seed = strtoull(text, NULL, 0);
	else {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000007ULL
		    ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
	}
	store_test_rng_state = seed;
	printf("# random seed %s=%" PRIu64 " (set it to replay this run)\n",
	       env_name, seed);
	fflush(stdout);
}

/* Monotonic clock in milliseconds. */
static inline double store_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A pipe, or die. */
static inline void store_test_pipe(int fds[2])
{
	if (pipe(fds) < 0)
		store_test_fatal("pipe: %s", strerror(errno));
}

/* fork(), or die; output buffered so far is flushed first, so that the
 * child never prints it a second time. */
static inline pid_t store_test_fork(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		store_test_fatal("fork: %s", strerror(errno));
	return pid;
}

/* Wait for child PID through EINTR, or die; returns its status. */
static inline int store_test_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			store_test_fatal("waitpid: %s", strerror(errno));
	}
	return status;
}

/* write(2) all of BUF or die (the caller is a child process). */
static inline void store_test_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(90);
		p += n;
		len -= (size_t)n;
	}
}

#endif

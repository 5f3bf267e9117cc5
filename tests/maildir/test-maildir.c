/* test-maildir: snapshots, sizes, UIDLs, reading, deletion and the session
 * lock on temporary Maildirs, with another program's renames and
 * deletions played in between. */
#define _GNU_SOURCE 1
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "maildir_size_cache.h"
#include "message_crlf.h"
#include "test-common.h"

static char test_root[4096];

/* A path below the current temporary Maildir. */
static const char *tpath(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *tpath(const char *fmt, ...)
{
	static char paths[4][4096 + 512];
	static unsigned next;
	char *path = paths[next++ % 4];
	char rel[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(paths[0]), "%s/%s", test_root, rel);
	return path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* A fresh empty Maildir in test_root. */
static void maildir_create(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(test_root, sizeof(test_root), "%s/relaygate-maildir.XXXXXX",
		 base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(test_root) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	if (mkdir(tpath("new"), 0700) < 0 || mkdir(tpath("cur"), 0700) < 0
	    || mkdir(tpath("tmp"), 0700) < 0) {
		perror("mkdir");
		exit(1);
	}
}

static void maildir_destroy(void)
{
	nftw(test_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write LEN bytes of DATA to the file at PATH. */
static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) < 0) {
		perror(path);
		exit(1);
	}
}

static void put(const char *subdir, const char *name, const char *data)
{
	write_file(tpath("%s/%s", subdir, name), data, strlen(data));
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Open and scan the test Maildir with OPTIONS (NULL: defaults). */
static struct maildir *scan(const struct maildir_options *options,
			    struct maildir_snapshot_stats *stats)
{
	struct maildir *md;
	const char *error;

	if (maildir_open(test_root, options, &md, &error) < 0) {
		printf("# maildir_open: %s\n", error);
		return NULL;
	}
	if (maildir_scan(md, stats, &error) < 0) {
		printf("# maildir_scan: %s\n", error);
		maildir_close(&md);
	}
	return md;
}

/* Read message INDEX (TOP_LINES as for maildir_reader_open) with reads of
 * at most STEP bytes: the stuffed bytes into OUT (NUL-terminated, length
 * in *LEN_R), the terminator into *TERM_R. */
static enum maildir_read_result read_message(struct maildir *md, size_t index,
					     long long top_lines, size_t step,
					     char *out, size_t out_size,
					     size_t *len_r, const char **term_r)
{
	struct maildir_reader *reader;
	enum maildir_read_result ret;
	const char *error;
	unsigned char buf[256];
	size_t len = 0;
	ssize_t n;

	*len_r = 0;
	ret = maildir_reader_open(md, index, top_lines, &reader, &error);
	if (ret != MAILDIR_READ_OK)
		return ret;
	if (step > sizeof(buf))
		step = sizeof(buf);
	while ((n = maildir_reader_read(reader, buf, step, &error)) > 0) {
		if (len + (size_t)n >= out_size) {
			maildir_reader_close(&reader);
			return MAILDIR_READ_ERROR;
		}
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	out[len] = '\0';
	*term_r = maildir_reader_terminator(reader);
	maildir_reader_close(&reader);
	*len_r = len;
	return n < 0 ? MAILDIR_READ_ERROR : MAILDIR_READ_OK;
}

/* Remove byte-stuffing from the CRLF text IN (LEN bytes); returns the
 * new length. */
static size_t unstuff(char *in, size_t len)
{
	size_t i, o = 0;
	bool line_start = true;

	for (i = 0; i < len; i++) {
		if (line_start && in[i] == '.' && i + 1 < len && in[i + 1] == '.')
			i++;
		in[o++] = in[i];
		line_start = in[i] == '\n';
	}
	return o;
}

/* The index of the message whose UIDL is UIDL, or (size_t)-1. */
static size_t find_uidl(const struct maildir *md, const char *uidl)
{
	size_t i;

	for (i = 0; i < maildir_count(md); i++)
		if (strcmp(maildir_message(md, i)->uidl, uidl) == 0)
			return i;
	return (size_t)-1;
}

static void test_maildir_open_requires_subdirs(void)
{
	struct maildir *md;
	const char *error;

	test_begin("maildir_open: new/, cur/ and tmp/ must exist");
	maildir_create();
	test_assert(maildir_open(test_root, NULL, &md, &error) == 0);
	maildir_close(&md);
	test_assert(md == NULL);
	rmdir(tpath("tmp"));
	test_assert(maildir_open(test_root, NULL, &md, &error) == -1);
	test_assert(md == NULL);
	test_assert_contains(error, "not a Maildir");
	test_assert_contains(error, "/tmp");
	write_file(tpath("tmp"), "", 0);
	test_assert(maildir_open(test_root, NULL, &md, &error) == -1);
	test_assert_contains(error, "not a Maildir");
	maildir_destroy();
	test_assert(maildir_open(test_root, NULL, &md, &error) == -1);
	test_assert_contains(error, "cannot open Maildir");
	test_end();
}

static void test_maildir_scan_moves_new_and_orders(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;

	test_begin("maildir_scan: new/ renamed to cur/ with :2,, stable order,"
		   " tmp/ and odd names left out");
	maildir_create();
	put("new", "1700000300.M1P1.host", "c\n");
	put("new", "1700000100.M1P1.host:2,S", "a\n");
	put("cur", "1700000200.M2P1.host:2,", "b\n");
	put("cur", "1700000200.M1P1.host:2,RS", "b0\n");
	put("cur", "no-time-here:2,", "z\n");
	put("cur", ".hidden", "x\n");
	put("cur", ":2,S", "x\n");
	put("tmp", "1700000000.M1P1.host", "t\n");
	mkdir(tpath("cur/1700000000.dir"), 0700);
	test_assert(symlink("/etc/passwd", tpath("cur/1700000000.link:2,")) == 0);
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 5);
		test_assert_int_eq(stats.moved, 2);
		test_assert_int_eq(stats.skipped, 4);
		test_assert(exists(tpath("cur/1700000300.M1P1.host:2,")));
		test_assert(exists(tpath("cur/1700000100.M1P1.host:2,S")));
		test_assert(!exists(tpath("new/1700000300.M1P1.host")));
		test_assert(exists(tpath("tmp/1700000000.M1P1.host")));
		test_assert_strcmp(maildir_message(md, 0)->uidl,
				   "1700000100.M1P1.host");
		test_assert_strcmp(maildir_message(md, 1)->uidl,
				   "1700000200.M1P1.host");
		test_assert_strcmp(maildir_message(md, 2)->uidl,
				   "1700000200.M2P1.host");
		test_assert_strcmp(maildir_message(md, 3)->uidl,
				   "1700000300.M1P1.host");
		test_assert_strcmp(maildir_message(md, 4)->uidl,
				   "no-time-here");
		test_assert(maildir_message(md, 5) == NULL);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

/* Message bodies with everything a converter can get wrong. */
static const char *const bodies[] = {
	"Subject: lf\n\nline 1\n.dot line\n..two dots\n.\nend\n",
	"Subject: crlf\r\n\r\nline 1\r\n.dot\r\n.\r\nend\r\n",
	"Subject: no final newline\n\nlast line",
	"",
	"Subject: mixed\r\n\nbare\rcr\n.\r\n",
	".\n",
};

static void test_maildir_move_never_replaces(void)
{
	struct maildir_snapshot_stats stats;
	char out[64];
	struct maildir *md;
	const char *term;
	size_t len;

	test_begin("maildir_scan: moving new/ to cur/ never replaces a file "
		   "already in cur/");
	maildir_create();
	put("new", "1700000001.M1P1.host", "in new\n");
	put("cur", "1700000001.M1P1.host:2,", "in cur\n");
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(stats.moved, 0);
		test_assert_int_eq(maildir_count(md), 1);
		test_assert(read_message(md, 0, -1, 64, out, sizeof(out), &len,
					 &term) == MAILDIR_READ_OK);
		test_assert_strcmp(out, "in cur\r\n");
		maildir_close(&md);
	}
	test_assert(exists(tpath("new/1700000001.M1P1.host")));
	maildir_destroy();
	test_end();
}

static void test_maildir_sizes_match_reader(void)
{
	char out[512], expect[512];
	struct maildir_snapshot_stats stats;
	const struct maildir_message *msg;
	struct maildir *md;
	const char *term;
	size_t i, len, step, j, e;
	char name[64];

	test_begin("maildir: LIST size is the CRLF form the reader yields "
		   "(without stuffing); LF files converted");
	maildir_create();
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		snprintf(name, sizeof(name), "17000000%02zu.M1P1.host:2,", i);
		put("cur", name, bodies[i]);
	}
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md),
				   sizeof(bodies) / sizeof(bodies[0]));
		test_assert_int_eq(stats.sized_by_name, 0);
		for (i = 0; i < maildir_count(md); i++) {
			msg = maildir_message(md, i);
			/* the expected CRLF form */
			for (j = e = 0; bodies[i][j] != '\0'; j++) {
				if (bodies[i][j] == '\n'
				    && (j == 0 || bodies[i][j - 1] != '\r'))
					expect[e++] = '\r';
				expect[e++] = bodies[i][j];
			}
			for (step = 2; step <= 256; step *= 4) {
				test_assert_idx(read_message(md, i, -1, step,
							     out, sizeof(out),
							     &len, &term)
						== MAILDIR_READ_OK, i);
				len = unstuff(out, len);
				test_assert_idx(len == msg->size, i);
				test_assert_idx(len == e
						&& memcmp(out, expect, e) == 0,
						i);
			}
			test_assert_idx(strcmp(term, e == 0
					       || expect[e - 1] == '\n'
					       ? ".\r\n" : "\r\n.\r\n") == 0,
					i);
		}
		/* exact bytes of the first, dot lines stuffed */
		read_message(md, 0, -1, 256, out, sizeof(out), &len, &term);
		test_assert_strcmp(out, "Subject: lf\r\n\r\nline 1\r\n"
				   "..dot line\r\n...two dots\r\n..\r\nend\r\n");
		test_assert_int_eq(maildir_message(md, 0)->size,
				   strlen(out) - 3);
		test_assert_int_eq(maildir_message(md, 3)->size, 0);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_size_from_name(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;

	test_begin("maildir: ,W= gives the size; ,S= (size on disk) does not");
	maildir_create();
	/* 4 LF lines of 2 bytes: 8 on disk, 12 in CRLF form */
	put("cur", "1700000001.M1P1.host,S=8,W=12:2,S", "a\nb\nc\nd\n");
	put("cur", "1700000002.M1P1.host,S=8:2,", "a\nb\nc\nd\n");
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(stats.sized_by_name, 1);
		test_assert_int_eq(maildir_message(md, 0)->size, 12);
		test_assert_int_eq(maildir_message(md, 1)->size, 12);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_uidl_survives_flag_rename(void)
{
	char uidl[MAILDIR_UIDL_MAX + 1];
	struct maildir *md;

	test_begin("maildir: UIDL and order unchanged after another program "
		   "renames for flags");
	maildir_create();
	put("new", "1700000001.M1P1.host", "one\n");
	put("new", "1700000002.M1P1.host,S=4", "two\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		snprintf(uidl, sizeof(uidl), "%s", maildir_message(md, 1)->uidl);
		test_assert_strcmp(uidl, "1700000002.M1P1.host,S=4");
		maildir_close(&md);
	}
	/* Dovecot marks it seen and replied */
	test_assert(rename(tpath("cur/1700000002.M1P1.host,S=4:2,"),
			   tpath("cur/1700000002.M1P1.host,S=4:2,RS")) == 0);
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 2);
		test_assert_strcmp(maildir_message(md, 1)->uidl, uidl);
		test_assert_strcmp(maildir_message(md, 1)->name,
				   "1700000002.M1P1.host,S=4:2,RS");
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_reader_finds_renamed(void)
{
	char out[256];
	struct maildir *md;
	const char *term;
	size_t len, index;

	test_begin("maildir_reader_open: a message renamed (flags, even back "
		   "to new/) during the session is found; a deleted one is "
		   "gone");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,", "one\n");
	put("cur", "1700000002.M1P1.host:2,", "two\n");
	put("cur", "1700000003.M1P1.host:2,", "three\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		test_assert(rename(tpath("cur/1700000001.M1P1.host:2,"),
				   tpath("cur/1700000001.M1P1.host:2,FS"))
			    == 0);
		test_assert(rename(tpath("cur/1700000002.M1P1.host:2,"),
				   tpath("new/1700000002.M1P1.host")) == 0);
		test_assert(unlink(tpath("cur/1700000003.M1P1.host:2,")) == 0);
		index = find_uidl(md, "1700000001.M1P1.host");
		test_assert(read_message(md, index, -1, 256, out, sizeof(out),
					 &len, &term) == MAILDIR_READ_OK);
		test_assert_strcmp(out, "one\r\n");
		test_assert_strcmp(maildir_message(md, index)->name,
				   "1700000001.M1P1.host:2,FS");
		index = find_uidl(md, "1700000002.M1P1.host");
		test_assert(read_message(md, index, -1, 256, out, sizeof(out),
					 &len, &term) == MAILDIR_READ_OK);
		test_assert_strcmp(out, "two\r\n");
		index = find_uidl(md, "1700000003.M1P1.host");
		test_assert(read_message(md, index, -1, 256, out, sizeof(out),
					 &len, &term) == MAILDIR_READ_GONE);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_top(void)
{
	char out[256];
	struct maildir *md;
	const char *term;
	size_t len;

	test_begin("maildir_reader_open: TOP gives the header, the empty line "
		   "and N body lines, stuffed");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,", "A: 1\nB: 2\n\n.b1\nb2\nb3");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		read_message(md, 0, 0, 256, out, sizeof(out), &len, &term);
		test_assert_strcmp(out, "A: 1\r\nB: 2\r\n\r\n");
		test_assert_strcmp(term, ".\r\n");
		read_message(md, 0, 1, 3, out, sizeof(out), &len, &term);
		test_assert_strcmp(out, "A: 1\r\nB: 2\r\n\r\n..b1\r\n");
		read_message(md, 0, 3, 256, out, sizeof(out), &len, &term);
		test_assert_strcmp(out, "A: 1\r\nB: 2\r\n\r\n..b1\r\nb2\r\nb3");
		test_assert_strcmp(term, "\r\n.\r\n");
		read_message(md, 0, 1000, 256, out, sizeof(out), &len, &term);
		test_assert_strcmp(out, "A: 1\r\nB: 2\r\n\r\n..b1\r\nb2\r\nb3");
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_commit(void)
{
	struct maildir_commit_result result;
	struct maildir *md;
	const char *error;
	size_t count;
	uint64_t size;

	test_begin("maildir_commit: unlinks only the marked messages, renamed "
		   "or not, tolerates gone ones, never touches newer mail");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,", "keep\n");
	put("cur", "1700000002.M1P1.host:2,", "delete, renamed\n");
	put("cur", "1700000003.M1P1.host:2,", "delete, gone\n");
	put("cur", "1700000004.M1P1.host:2,", "delete\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		test_assert(maildir_mark_deleted(md, 1) == 0);
		test_assert(maildir_mark_deleted(md, 1) == -1);
		test_assert(maildir_mark_deleted(md, 4) == -1);
		test_assert(maildir_mark_deleted(md, 2) == 0);
		test_assert(maildir_mark_deleted(md, 3) == 0);
		maildir_stat(md, &count, &size);
		test_assert_int_eq(count, 1);
		test_assert_int_eq(size, 6);
		/* RSET, then DELE again */
		maildir_unmark_all(md);
		maildir_stat(md, &count, &size);
		test_assert_int_eq(count, 4);
		test_assert(maildir_mark_deleted(md, 1) == 0);
		test_assert(maildir_mark_deleted(md, 2) == 0);
		test_assert(maildir_mark_deleted(md, 3) == 0);
		/* meanwhile: Dovecot sets a flag, an MUA deletes, an MDA
		 * delivers a message with the same time */
		rename(tpath("cur/1700000002.M1P1.host:2,"),
		       tpath("cur/1700000002.M1P1.host:2,S"));
		unlink(tpath("cur/1700000003.M1P1.host:2,"));
		put("new", "1700000004.M2P1.host", "new mail\n");
		test_assert(maildir_commit(md, &result, &error) == 0);
		test_assert_int_eq(result.deleted, 2);
		test_assert_int_eq(result.gone, 1);
		test_assert(result.quota == MAILDIR_QUOTA_UNTOUCHED);
		maildir_close(&md);
	}
	test_assert(exists(tpath("cur/1700000001.M1P1.host:2,")));
	test_assert(!exists(tpath("cur/1700000002.M1P1.host:2,S")));
	test_assert(!exists(tpath("cur/1700000004.M1P1.host:2,")));
	test_assert(exists(tpath("new/1700000004.M2P1.host")));
	maildir_destroy();
	test_end();
}

static void test_maildir_close_deletes_nothing(void)
{
	struct maildir *md;

	test_begin("maildir_close: a session that ends without commit deletes "
		   "nothing");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,", "keep\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		test_assert(maildir_mark_deleted(md, 0) == 0);
		maildir_close(&md);
	}
	test_assert(exists(tpath("cur/1700000001.M1P1.host:2,")));
	maildir_destroy();
	test_end();
}

static void test_maildir_lock(void)
{
	struct maildir *md1, *md2;
	const char *error;
	struct stat st;

	test_begin("maildir_lock: a second session gets IN_USE until the first "
		   "closes; the lock file is 0600");
	maildir_create();
	test_assert(maildir_open(test_root, NULL, &md1, &error) == 0);
	test_assert(maildir_open(test_root, NULL, &md2, &error) == 0);
	test_assert(maildir_lock(md1, &error) == MAILDIR_LOCK_OK);
	test_assert(maildir_lock(md2, &error) == MAILDIR_LOCK_IN_USE);
	test_assert_contains(error, "another POP3 session");
	test_assert(stat(tpath(MAILDIR_LOCK_NAME), &st) == 0
		    && (st.st_mode & 07777) == 0600);
	maildir_close(&md1);
	test_assert(maildir_lock(md2, &error) == MAILDIR_LOCK_OK);
	maildir_close(&md2);
	maildir_destroy();
	test_end();
}

static void test_maildir_caps(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir_options options;
	struct maildir *md;
	char name[64];
	int i;

	test_begin("maildir_scan: max_messages keeps the oldest, max_name_len "
		   "skips long names");
	maildir_create();
	/* written newest first so directory order is not snapshot order */
	for (i = 9; i >= 0; i--) {
		snprintf(name, sizeof(name), "17000000%02d.M1P1.host:2,", i);
		put("cur", name, "m\n");
	}
	put("cur", "1600000000.M1P1.a-very-long-host-name:2,", "long\n");
	maildir_options_init(&options);
	test_assert_int_eq(options.max_messages, 1000000);
	options.max_messages = 3;
	options.max_name_len = 30;
	md = scan(&options, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 3);
		test_assert_int_eq(stats.over_limit, 7);
		test_assert_int_eq(stats.skipped, 1);
		test_assert_strcmp(maildir_message(md, 0)->uidl,
				   "1700000000.M1P1.host");
		test_assert_strcmp(maildir_message(md, 2)->uidl,
				   "1700000002.M1P1.host");
		maildir_close(&md);
	}
	options.max_messages = 0;
	md = scan(&options, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 0);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_duplicate_base(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;

	test_begin("maildir_scan: two files with one base name give one message"
		   " (UIDLs stay unique)");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,S", "a\n");
	put("cur", "1700000001.M1P1.host:2,RS", "a\n");
	put("cur", "1700000002.M1P1.host:2,", "b\n");
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 2);
		test_assert_int_eq(stats.duplicates, 1);
		test_assert(strcmp(maildir_message(md, 0)->uidl,
				   maildir_message(md, 1)->uidl) != 0);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_odd_base_uidl(void)
{
	struct maildir *md;
	const char *uidl;

	test_begin("maildir_scan: a base name with a blank gets an x: UIDL");
	maildir_create();
	put("cur", "1700000001.M1 P1.host:2,", "a\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL) && test_assert(maildir_count(md) == 1)) {
		uidl = maildir_message(md, 0)->uidl;
		test_assert_strcmp(uidl,
				   "x:313730303030303030312e4d312050312e686f7374");
		maildir_close(&md);
	}
	if (md != NULL)
		maildir_close(&md);
	maildir_destroy();
	test_end();
}

/* Open, lock and scan the test Maildir as a POP3 session does, with
 * OPTIONS (NULL: defaults); NULL on failure. */
static struct maildir *scan_locked(const struct maildir_options *options,
				   struct maildir_snapshot_stats *stats)
{
	struct maildir *md;
	const char *error;

	if (maildir_open(test_root, options, &md, &error) < 0) {
		printf("# maildir_open: %s\n", error);
		return NULL;
	}
	if (maildir_lock(md, &error) != MAILDIR_LOCK_OK) {
		printf("# maildir_lock: %s\n", error);
		maildir_close(&md);
		return NULL;
	}
	if (maildir_scan(md, stats, &error) < 0) {
		printf("# maildir_scan: %s\n", error);
		maildir_close(&md);
	}
	return md;
}

/* The text of the file at PATH (at most SIZE - 1 bytes), or "" if it
 * cannot be read. */
static const char *read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* The three messages of the size cache tests: CRLF sizes 12, 9 and 7. */
#define CACHE_MSG1 "1700000001.M1P1.host,S=8"	/* 4 LF lines */
#define CACHE_MSG2 "1700000002.M1P1.host"	/* no S=: fstatat */
#define CACHE_MSG3 "1700000003.M1P1.host,S=6,W=7"	/* W=: not cached */
#define CACHE_TEXT MAILDIR_SIZE_CACHE_HEADER \
	CACHE_MSG1 " 8 12\n" CACHE_MSG2 " 6 9\n"

static void cache_put_messages(void)
{
	put("new", CACHE_MSG1, "a\nb\nc\nd\n");
	put("cur", CACHE_MSG2 ":2,S", "a\nb\nc\n");
	put("cur", CACHE_MSG3 ":2,", "abc\nd\n");
}

/* The snapshot MD has the three messages with their right sizes. */
static bool cache_sizes_right(const struct maildir *md)
{
	return maildir_count(md) == 3 && maildir_message(md, 0)->size == 12
	       && maildir_message(md, 1)->size == 9
	       && maildir_message(md, 2)->size == 7;
}

static void test_maildir_size_cache_written_then_used(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir_options options;
	struct maildir *md;
	char text[1024];
	struct stat st;

	test_begin("maildir size cache: written by the first locked scan, "
		   "then sizes from it with no message read; W= not cached");
	maildir_create();
	cache_put_messages();
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 2);
		test_assert_int_eq(stats.sized_by_name, 1);
		test_assert_int_eq(stats.sized_by_cache, 0);
		test_assert_int_eq(stats.cache_rejected, 0);
		test_assert_int_eq(stats.cache_written, 1);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), CACHE_TEXT);
	test_assert(stat(tpath(MAILDIR_SIZE_CACHE_NAME), &st) == 0
		    && (st.st_mode & 07777) == 0600);
	test_assert(!exists(tpath(MAILDIR_SIZE_CACHE_TEMP_NAME)));
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 0);
		test_assert_int_eq(stats.sized_by_cache, 2);
		test_assert_int_eq(stats.sized_by_name, 1);
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	/* proof the S= message is not read: the cached size wins over a
	 * (forbidden) rewrite in place of the same length */
	write_file(tpath("cur/" CACHE_MSG1 ":2,"), "a\r\nb\r\nc", 8);
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_message(md, 0)->size, 12);
		test_assert_int_eq(stats.measured, 0);
		maildir_close(&md);
	}
	/* and with the cache off it is */
	maildir_options_init(&options);
	test_assert(options.use_size_cache);
	options.use_size_cache = false;
	md = scan_locked(&options, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_message(md, 0)->size, 8);
		test_assert_int_eq(stats.measured, 2);
		test_assert_int_eq(stats.sized_by_cache, 0);
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), CACHE_TEXT);
	maildir_destroy();
	test_end();
}

static void test_maildir_size_cache_needs_lock(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;

	test_begin("maildir size cache: a scan without the session lock reads "
		   "it but never writes it");
	maildir_create();
	cache_put_messages();
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 2);
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	test_assert(!exists(tpath(MAILDIR_SIZE_CACHE_NAME)));
	put(".", MAILDIR_SIZE_CACHE_NAME, CACHE_TEXT);
	md = scan(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 0);
		test_assert_int_eq(stats.sized_by_cache, 2);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

/* Cache files that must be refused as a whole. */
static const char *const bad_caches[] = {
	"",
	"relaygate-pop3-sizes 2\n" CACHE_MSG1 " 8 12\n",
	"relaygate-pop3-sizes 1\r\n" CACHE_MSG1 " 8 12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 12",		/* no final LF */
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG2 " 6 9\n" CACHE_MSG1 " 8 12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 12\n" CACHE_MSG1 " 8 12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 012\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 +12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8  12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 12 \n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 12\n",
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 9 12\n",		/* S=8 */
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 5\n",		/* < 8 */
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 17\n",		/* > 16 */
	MAILDIR_SIZE_CACHE_HEADER CACHE_MSG1 " 8 99999999999999999999\n",
	MAILDIR_SIZE_CACHE_HEADER "\n",
	MAILDIR_SIZE_CACHE_HEADER ".hidden 1 1\n",
	MAILDIR_SIZE_CACHE_HEADER "a:2, 1 1\n",
	MAILDIR_SIZE_CACHE_HEADER "a/b 1 1\n",
	"\x7f" "ELF\x02\x01\x01",
};

static void test_maildir_size_cache_bad_rebuilt(void)
{
	const size_t bad_count = sizeof(bad_caches) / sizeof(bad_caches[0]);
	struct maildir_snapshot_stats stats;
	struct maildir *md;
	char text[1024];
	size_t i;

	test_begin("maildir size cache: a bad, foreign, symlinked or "
		   "directory cache is refused whole, sizes measured, cache "
		   "rebuilt");
	maildir_create();
	cache_put_messages();
	/* the bad texts, a directory, a symlink to a directory and one to a
	 * good cache */
	for (i = 0; i < bad_count + 3; i++) {
		unlink(tpath(MAILDIR_SIZE_CACHE_NAME));
		if (i < bad_count) {
			put(".", MAILDIR_SIZE_CACHE_NAME, bad_caches[i]);
		} else if (i == bad_count) {
			test_assert(mkdir(tpath(MAILDIR_SIZE_CACHE_NAME), 0700)
				    == 0);
		} else if (i == bad_count + 1) {
			test_assert(symlink("cur",
					    tpath(MAILDIR_SIZE_CACHE_NAME))
				    == 0);
		} else {
			put(".", "other", CACHE_TEXT);
			test_assert(symlink("other",
					    tpath(MAILDIR_SIZE_CACHE_NAME))
				    == 0);
		}
		md = scan_locked(NULL, &stats);
		if (!test_assert_idx(md != NULL, i))
			continue;
		test_assert_idx(cache_sizes_right(md), i);
		test_assert_idx(stats.cache_rejected == 1, i);
		test_assert_idx(stats.measured == 2, i);
		test_assert_idx(stats.sized_by_cache == 0, i);
		maildir_close(&md);
		if (i == bad_count) {
			/* a file cannot replace a directory */
			test_assert(stats.cache_written == 0);
			test_assert(!exists(tpath(MAILDIR_SIZE_CACHE_TEMP_NAME)));
			rmdir(tpath(MAILDIR_SIZE_CACHE_NAME));
			continue;
		}
		test_assert_idx(stats.cache_written == 1, i);
		test_assert_idx(strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME),
						 text, sizeof(text)),
				       CACHE_TEXT) == 0, i);
	}
	/* the symlink was replaced, not followed */
	test_assert_strcmp(read_text(tpath("other"), text, sizeof(text)),
			   CACHE_TEXT);
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(stats.measured, 0);
		test_assert_int_eq(stats.cache_rejected, 0);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_size_cache_stale_entries(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;
	char text[1024];

	test_begin("maildir size cache: an entry whose size on disk differs is"
		   " not trusted; a missing one is measured; both are fixed");
	maildir_create();
	cache_put_messages();
	/* MSG2 has 6 bytes on disk, not 7; MSG1 is missing */
	put(".", MAILDIR_SIZE_CACHE_NAME, MAILDIR_SIZE_CACHE_HEADER
	    CACHE_MSG2 " 7 7\n");
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.cache_rejected, 0);
		test_assert_int_eq(stats.measured, 2);
		test_assert_int_eq(stats.sized_by_cache, 0);
		test_assert_int_eq(stats.cache_written, 1);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), CACHE_TEXT);
	/* only MSG1 missing: measured alone */
	put(".", MAILDIR_SIZE_CACHE_NAME, MAILDIR_SIZE_CACHE_HEADER
	    CACHE_MSG2 " 6 9\n");
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 1);
		test_assert_int_eq(stats.sized_by_cache, 1);
		test_assert_int_eq(stats.cache_written, 1);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), CACHE_TEXT);
	maildir_destroy();
	test_end();
}

static void test_maildir_size_cache_rename_and_delete(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;
	char text[1024];

	test_begin("maildir size cache: a message renamed for flags is found "
		   "by base name; a deleted one leaves the cache");
	maildir_create();
	cache_put_messages();
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL))
		maildir_close(&md);
	/* Dovecot sets flags on both */
	test_assert(rename(tpath("cur/" CACHE_MSG1 ":2,"),
			   tpath("cur/" CACHE_MSG1 ":2,RS")) == 0);
	test_assert(rename(tpath("cur/" CACHE_MSG2 ":2,S"),
			   tpath("cur/" CACHE_MSG2 ":2,FS")) == 0);
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.measured, 0);
		test_assert_int_eq(stats.sized_by_cache, 2);
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	/* an IMAP client deletes MSG1 */
	test_assert(unlink(tpath("cur/" CACHE_MSG1 ":2,RS")) == 0);
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(maildir_count(md), 2);
		test_assert_int_eq(stats.measured, 0);
		test_assert_int_eq(stats.cache_written, 1);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)),
			   MAILDIR_SIZE_CACHE_HEADER CACHE_MSG2 " 6 9\n");
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	maildir_destroy();
	test_end();
}

static void test_maildir_size_cache_uncacheable(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;
	char text[1024];
	int round;

	test_begin("maildir size cache: a file whose real size is not its S= "
		   "is measured every time without rewriting the cache");
	maildir_create();
	/* 5 bytes on disk, the name says 4 */
	put("cur", "1700000001.M1P1.host,S=4:2,", "a\nbc\n");
	put("cur", "1700000002.M1P1.host:2,", "x\n");
	for (round = 0; round < 2; round++) {
		md = scan_locked(NULL, &stats);
		if (!test_assert(md != NULL))
			break;
		test_assert_int_eq(maildir_message(md, 0)->size, 7);
		test_assert_int_eq(maildir_message(md, 1)->size, 3);
		test_assert_int_eq(stats.measured, round == 0 ? 2 : 1);
		test_assert_int_eq(stats.cache_written, round == 0 ? 1 : 0);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), MAILDIR_SIZE_CACHE_HEADER
			   "1700000002.M1P1.host 2 3\n");
	maildir_destroy();
	test_end();
}

static void test_maildir_size_cache_write_failure(void)
{
	struct maildir_snapshot_stats stats;
	struct maildir *md;
	char text[1024];

	test_begin("maildir size cache: a temporary file left by a dead "
		   "session is replaced; one that cannot be is no error");
	maildir_create();
	cache_put_messages();
	put(".", MAILDIR_SIZE_CACHE_TEMP_NAME, "left over");
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert_int_eq(stats.cache_written, 1);
		maildir_close(&md);
	}
	test_assert(!exists(tpath(MAILDIR_SIZE_CACHE_TEMP_NAME)));
	test_assert_strcmp(read_text(tpath(MAILDIR_SIZE_CACHE_NAME), text,
				     sizeof(text)), CACHE_TEXT);
	unlink(tpath(MAILDIR_SIZE_CACHE_NAME));
	test_assert(mkdir(tpath(MAILDIR_SIZE_CACHE_TEMP_NAME), 0700) == 0);
	md = scan_locked(NULL, &stats);
	if (test_assert(md != NULL)) {
		test_assert(cache_sizes_right(md));
		test_assert_int_eq(stats.cache_written, 0);
		maildir_close(&md);
	}
	test_assert(!exists(tpath(MAILDIR_SIZE_CACHE_NAME)));
	maildir_destroy();
	test_end();
}

/* The Maildir++ quota file of the quota tests, before any commit. */
#define QUOTA_TEXT "1000000S,1000C\n1106 4\n"

/* Mark messages INDEXES (ended by -1) of a fresh snapshot and commit;
 * the result in *RESULT_R. */
static bool commit_marked(struct maildir_commit_result *result_r, ...)
{
	struct maildir *md;
	const char *error;
	va_list ap;
	int index, ret;

	md = scan(NULL, NULL);
	if (!test_assert(md != NULL))
		return false;
	va_start(ap, result_r);
	while ((index = va_arg(ap, int)) >= 0)
		test_assert(maildir_mark_deleted(md, (size_t)index) == 0);
	va_end(ap);
	ret = maildir_commit(md, result_r, &error);
	/* the error text lives in MD: copy what the tests look at */
	if (result_r->quota == MAILDIR_QUOTA_FAILED) {
		static char quota_error[600];

		snprintf(quota_error, sizeof(quota_error), "%s",
			 result_r->quota_error);
		result_r->quota_error = quota_error;
	}
	maildir_close(&md);
	return test_assert(ret == 0);
}

static void test_maildir_quota_appended(void)
{
	struct maildir_commit_result result;
	char text[256];
	struct maildir *md;
	const char *error;

	test_begin("maildirsize: QUIT appends one line with minus the bytes "
		   "and the count of the files it unlinked (,S= from the name, "
		   "else the size on disk; renamed ones counted, ones already "
		   "gone not); the rest of the file stays as it was");
	maildir_create();
	put(".", MAILDIR_QUOTA_NAME, QUOTA_TEXT);
	/* ,S= wins over the size on disk (2 bytes), as Dovecot counts it */
	put("cur", "1700000001.M1P1.host,S=1000:2,", "x\n");
	put("cur", "1700000002.M1P1.host:2,", "hello\n");
	put("cur", "1700000003.M1P1.host:2,", "gone\n");
	put("cur", "1700000004.M1P1.host,S=5:2,", "keep\n");
	md = scan(NULL, NULL);
	if (test_assert(md != NULL)) {
		test_assert(maildir_mark_deleted(md, 0) == 0);
		test_assert(maildir_mark_deleted(md, 1) == 0);
		test_assert(maildir_mark_deleted(md, 2) == 0);
		rename(tpath("cur/1700000002.M1P1.host:2,"),
		       tpath("cur/1700000002.M1P1.host:2,S"));
		unlink(tpath("cur/1700000003.M1P1.host:2,"));
		test_assert(maildir_commit(md, &result, &error) == 0);
		test_assert_int_eq(result.deleted, 2);
		test_assert_int_eq(result.gone, 1);
		test_assert(result.quota == MAILDIR_QUOTA_UPDATED);
		maildir_close(&md);
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_QUOTA_NAME), text,
				     sizeof(text)), QUOTA_TEXT "-1006 -2\n");
	test_assert(exists(tpath("cur/1700000004.M1P1.host,S=5:2,")));
	/* empty messages: no bytes, still counted */
	put("cur", "1700000005.M1P1.host:2,", "");
	put("cur", "1700000006.M1P1.host,S=0:2,", "");
	if (commit_marked(&result, 1, 2, -1))
		test_assert(result.quota == MAILDIR_QUOTA_UPDATED);
	test_assert_strcmp(read_text(tpath(MAILDIR_QUOTA_NAME), text,
				     sizeof(text)),
			   QUOTA_TEXT "-1006 -2\n0 -2\n");
	maildir_destroy();
	test_end();
}

static void test_maildir_quota_untouched(void)
{
	struct maildir_commit_result result;
	char text[256];
	struct stat st;

	test_begin("maildirsize: never created; left alone when QUIT unlinks "
		   "nothing (nothing marked, or the marked ones already gone)");
	maildir_create();
	put("cur", "1700000001.M1P1.host:2,", "one\n");
	put("cur", "1700000002.M1P1.host:2,", "two\n");
	put("cur", "1700000003.M1P1.host:2,", "three\n");
	if (commit_marked(&result, 0, -1)) {
		test_assert_int_eq(result.deleted, 1);
		test_assert(result.quota == MAILDIR_QUOTA_UNTOUCHED);
	}
	test_assert(!exists(tpath(MAILDIR_QUOTA_NAME)));
	put(".", MAILDIR_QUOTA_NAME, QUOTA_TEXT);
	test_assert(chmod(tpath(MAILDIR_QUOTA_NAME), 0640) == 0);
	if (commit_marked(&result, -1))
		test_assert(result.quota == MAILDIR_QUOTA_UNTOUCHED);
	/* marked, then deleted by another program before QUIT */
	{
		struct maildir *md = scan(NULL, NULL);
		const char *error;

		if (test_assert(md != NULL)) {
			test_assert(maildir_mark_deleted(md, 0) == 0);
			unlink(tpath("cur/1700000002.M1P1.host:2,"));
			test_assert(maildir_commit(md, &result, &error) == 0);
			test_assert_int_eq(result.gone, 1);
			test_assert(result.quota == MAILDIR_QUOTA_UNTOUCHED);
			maildir_close(&md);
		}
	}
	test_assert_strcmp(read_text(tpath(MAILDIR_QUOTA_NAME), text,
				     sizeof(text)), QUOTA_TEXT);
	test_assert(stat(tpath(MAILDIR_QUOTA_NAME), &st) == 0
		    && (st.st_mode & 07777) == 0640);
	maildir_destroy();
	test_end();
}

static void test_maildir_quota_long_file(void)
{
	struct maildir_commit_result result;
	static char before[8192], after[8192];
	size_t len;

	test_begin("maildirsize: a file of 5120 bytes or more (its readers "
		   "count the Maildir again) is appended to as it is, never "
		   "truncated or removed");
	maildir_create();
	len = (size_t)snprintf(before, sizeof(before), "%s", QUOTA_TEXT);
	while (len < 5200)
		len += (size_t)snprintf(before + len, sizeof(before) - len,
					"%12d %12d\n", 1000, 1);
	write_file(tpath(MAILDIR_QUOTA_NAME), before, len);
	put("cur", "1700000001.M1P1.host,S=1234:2,", "x\n");
	if (commit_marked(&result, 0, -1))
		test_assert(result.quota == MAILDIR_QUOTA_UPDATED);
	read_text(tpath(MAILDIR_QUOTA_NAME), after, sizeof(after));
	test_assert_int_eq(strlen(after), len + strlen("-1234 -1\n"));
	test_assert(strncmp(after, before, len) == 0);
	test_assert_strcmp(after + len, "-1234 -1\n");
	maildir_destroy();
	test_end();
}

static void test_maildir_quota_failure(void)
{
	struct maildir_commit_result result;
	char text[256];

	test_begin("maildirsize: one that cannot be appended to (a directory, "
		   "a symbolic link, never followed) is reported with its path; "
		   "the messages are deleted all the same");
	maildir_create();
	test_assert(mkdir(tpath(MAILDIR_QUOTA_NAME), 0700) == 0);
	put("cur", "1700000001.M1P1.host:2,", "one\n");
	put("cur", "1700000002.M1P1.host:2,", "two\n");
	if (commit_marked(&result, 0, -1)) {
		test_assert_int_eq(result.deleted, 1);
		test_assert(result.quota == MAILDIR_QUOTA_FAILED);
		test_assert_contains(result.quota_error, test_root);
		test_assert_contains(result.quota_error, MAILDIR_QUOTA_NAME);
	}
	test_assert(!exists(tpath("cur/1700000001.M1P1.host:2,")));
	test_assert(rmdir(tpath(MAILDIR_QUOTA_NAME)) == 0);
	put(".", "elsewhere", QUOTA_TEXT);
	test_assert(symlink("elsewhere", tpath(MAILDIR_QUOTA_NAME)) == 0);
	if (commit_marked(&result, 0, -1)) {
		test_assert_int_eq(result.deleted, 1);
		test_assert(result.quota == MAILDIR_QUOTA_FAILED);
		test_assert_contains(result.quota_error, "symbolic link");
	}
	test_assert_strcmp(read_text(tpath("elsewhere"), text, sizeof(text)),
			   QUOTA_TEXT);
	test_assert(!exists(tpath("cur/1700000002.M1P1.host:2,")));
	maildir_destroy();
	test_end();
}

int main(void)
{
	log_open("test-maildir", true);
	test_maildir_open_requires_subdirs();
	test_maildir_scan_moves_new_and_orders();
	test_maildir_move_never_replaces();
	test_maildir_sizes_match_reader();
	test_maildir_size_from_name();
	test_maildir_uidl_survives_flag_rename();
	test_maildir_reader_finds_renamed();
	test_maildir_top();
	test_maildir_commit();
	test_maildir_close_deletes_nothing();
	test_maildir_lock();
	test_maildir_caps();
	test_maildir_duplicate_base();
	test_maildir_odd_base_uidl();
	test_maildir_size_cache_written_then_used();
	test_maildir_size_cache_needs_lock();
	test_maildir_size_cache_bad_rebuilt();
	test_maildir_size_cache_stale_entries();
	test_maildir_size_cache_rename_and_delete();
	test_maildir_size_cache_uncacheable();
	test_maildir_size_cache_write_failure();
	test_maildir_quota_appended();
	test_maildir_quota_untouched();
	test_maildir_quota_long_file();
	test_maildir_quota_failure();
	return test_exit();
}

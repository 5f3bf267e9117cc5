#ifndef RELAYGATE_MAILDIR_H
#define RELAYGATE_MAILDIR_H
/* maildir: a Maildir as one POP3 session sees it.
 *
 *   maildir_open()      check new/, cur/, tmp/
 *   maildir_lock()      one POP3 session per mailbox (flock, non-blocking)
 *   maildir_scan()      the snapshot: new/ moved to cur/, cur/ listed
 *   maildir_reader_*()  RETR and TOP: the CRLF, byte-stuffed form
 *   maildir_mark_deleted(), maildir_unmark_all()   DELE and RSET
 *   maildir_commit()    QUIT in the UPDATE state: unlink the marked ones,
 *                       and tell a Maildir++ maildirsize file about them
 *   maildir_close()
 *
 * Dovecot, Courier or an MDA may deliver, rename (flags) and delete files
 * at the same time; messages are found again by their base name (see
 * maildir_name.h) and one that is gone is reported as such. Not for
 * concurrent use by several threads. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maildir_name.h"

/* The lock file in the Maildir's top directory. */
#define MAILDIR_LOCK_NAME "relaygate-pop3.lock"

/* The Maildir++ quota file in the Maildir's top directory, or in the
 * directory of Dovecot's CONTROL= (maildir_options.quota_dir) (Courier's
 * maildirquota, Dovecot's quota backend "maildir"): a first line with the
 * quota definition ("10000000S,1000C"), then lines "<bytes> <count>" that
 * readers add up. Programs that add or remove messages append a line;
 * a reader that finds the file 5120 bytes or longer, or its sums
 * negative, counts the Maildir again and replaces it. */
#define MAILDIR_QUOTA_NAME "maildirsize"

#define MAILDIR_DEFAULT_MAX_MESSAGES 1000000u
#define MAILDIR_DEFAULT_MAX_NAME_LEN 255u

struct maildir_options {
	size_t max_messages;	/* at most this many in a snapshot */
	size_t max_name_len;	/* longer file names are skipped */
	bool use_size_cache;	/* read and keep maildir_size_cache.h's file */
	const char *quota_dir;	/* the directory of maildirsize (Dovecot's
				 * CONTROL=), or NULL: the Maildir's top */
};

struct maildir_message {
	char *name;		/* file name, updated when found renamed */
	bool in_new;		/* the file is in new/ (else cur/) */
	size_t base_len;	/* name[0..base_len) is the base name */
	uint64_t time;		/* delivery seconds from the name (sort key) */
	bool has_time;
	uint64_t size;		/* RFC 1939 octets: CRLF form, no stuffing */
	bool deleted;		/* marked by DELE */
	char uidl[MAILDIR_UIDL_MAX + 1];
};

struct maildir_snapshot_stats {
	size_t moved;		/* new/ files moved to cur/ */
	size_t skipped;		/* dot files, bad names, not regular files */
	size_t duplicates;	/* a second file with an already seen base */
	size_t vanished;	/* listed, then gone before it was measured */
	size_t over_limit;	/* left out: more than max_messages */
	size_t sized_by_name;	/* sizes from ",W=" */
	size_t sized_by_cache;	/* sizes from the size cache */
	size_t measured;	/* sizes counted by reading the file */
	size_t cache_rejected;	/* 1: the cache file was refused (rebuilt) */
	size_t cache_written;	/* 1: the cache file was replaced */
};

struct maildir;
struct maildir_reader;

enum maildir_lock_result {
	MAILDIR_LOCK_OK,
	MAILDIR_LOCK_IN_USE,	/* another session holds it: [IN-USE] */
	MAILDIR_LOCK_ERROR,
};

enum maildir_quota_update {
	MAILDIR_QUOTA_UNTOUCHED,	/* no maildirsize, or nothing unlinked */
	MAILDIR_QUOTA_UPDATED,		/* one line appended */
	MAILDIR_QUOTA_FAILED,		/* not updated: see quota_error */
};

/* What maildir_commit() did. */
struct maildir_commit_result {
	size_t deleted;		/* files unlinked */
	size_t gone;		/* marked ones another program deleted first */
	enum maildir_quota_update quota;
	const char *quota_error;	/* MAILDIR_QUOTA_FAILED: why, naming the
					 * file; valid until maildir_close() */
};

enum maildir_read_result {
	MAILDIR_READ_OK,
	MAILDIR_READ_GONE,	/* deleted by another program: -ERR */
	MAILDIR_READ_ERROR,
};

/* OPTIONS with the defaults. */
void maildir_options_init(struct maildir_options *options);

/* Open the Maildir at PATH: new/, cur/ and tmp/ must be directories.
 * OPTIONS may be NULL for the defaults. Returns 0, or -1 with *error_r
 * (valid until the next failing maildir_open()). */
int maildir_open(const char *path, const struct maildir_options *options,
		 struct maildir **maildir_r, const char **error_r);

/* Take the mailbox's POP3 session lock (MAILDIR_LOCK_NAME, created 0600)
 * without waiting; held until maildir_close(). */
enum maildir_lock_result maildir_lock(struct maildir *md,
				      const char **error_r);

/* Take the snapshot: rename every file in new/ to cur/ (adding ":2,"
 * when it has no info), then list cur/ in a stable order (delivery time
 * from the name, then base name; names without a time last), measure each
 * message and give it a UIDL. Replaces an earlier snapshot. STATS_R may
 * be NULL. Returns 0, or -1 with *error_r.
 *
 * Sizes come from ",W=" in the name, else from the size cache
 * (MAILDIR_SIZE_CACHE_NAME, when use_size_cache: no system call for a
 * name with ",S=", one fstatat to compare the size on disk otherwise),
 * else from reading the file. Under maildir_lock() the cache is then
 * replaced if it lacked a message or held a gone one; failing to write it
 * is logged, not an error. */
int maildir_scan(struct maildir *md, struct maildir_snapshot_stats *stats_r,
		 const char **error_r);

/* The number of messages in the snapshot, deleted ones included. */
size_t maildir_count(const struct maildir *md);

/* Message INDEX (0-based, below maildir_count()). */
const struct maildir_message *maildir_message(const struct maildir *md,
					      size_t index);

/* Messages not marked deleted and their total octets (STAT). */
void maildir_stat(const struct maildir *md, size_t *count_r,
		  uint64_t *size_r);

/* DELE: mark message INDEX. Returns -1 if it is out of range or already
 * marked. */
int maildir_mark_deleted(struct maildir *md, size_t index);

/* RSET: unmark every message. */
void maildir_unmark_all(struct maildir *md);

/* Unlink every marked message (QUIT in the UPDATE state). A file renamed
 * meanwhile is found by its base name; one already gone counts as gone.
 * Nothing outside the snapshot is touched. Returns 0, or -1 with *error_r
 * when some could not be removed (the others are); *RESULT_R either way.
 *
 * When MAILDIR_QUOTA_NAME exists (it is never created: that needs the
 * quota definition), the messages this call unlinked are then subtracted
 * from it: one line "-<bytes> -<count>" appended in one write(2) to the
 * file opened with O_APPEND, so that other programs' lines never mix with
 * it, whatever its length. A message's bytes are the ",S=" of its name,
 * else its size on disk, as Maildir++ and Dovecot count them. A failure
 * there is only reported in result_r->quota: the deletion stands, and
 * the next recalculation of the file corrects it. */
int maildir_commit(struct maildir *md, struct maildir_commit_result *result_r,
		   const char **error_r);

/* Release the lock, the snapshot and MD, and set *MD to NULL. Deletes
 * nothing. */
void maildir_close(struct maildir **md);

/* Open message INDEX for RETR (TOP_LINES < 0) or TOP TOP_LINES. A file
 * renamed by another program is found again by its base name. */
enum maildir_read_result maildir_reader_open(struct maildir *md, size_t index,
					     long long top_lines,
					     struct maildir_reader **reader_r,
					     const char **error_r);

/* Up to SIZE (at least 2) bytes of the byte-stuffed CRLF form into BUF.
 * Returns the number of bytes, 0 at the end, or -1 with *error_r. */
ssize_t maildir_reader_read(struct maildir_reader *reader, unsigned char *buf,
			    size_t size, const char **error_r);

/* Read the first block of the file now (a read-ahead while the client
 * is busy), so that the next maildir_reader_read() needs no system call
 * for it. Returns 0, or -1 with *error_r. */
int maildir_reader_prefill(struct maildir_reader *reader, const char **error_r);

/* After the end: the bytes that close the response (".\r\n", or
 * "\r\n.\r\n" after a last line without newline). */
const char *maildir_reader_terminator(const struct maildir_reader *reader);

/* Close READER and set *READER to NULL. */
void maildir_reader_close(struct maildir_reader **reader);

/* The octets of the CRLF form of the open file FD, read to its end. */
int maildir_file_size(int fd, uint64_t *size_r, const char **error_r);

#endif

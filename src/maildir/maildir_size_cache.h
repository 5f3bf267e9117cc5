#ifndef RELAYGATE_MAILDIR_SIZE_CACHE_H
#define RELAYGATE_MAILDIR_SIZE_CACHE_H
/* maildir_size_cache: the POP3 sizes of a Maildir's messages, kept so a
 * login need not read every message whose name lacks Dovecot's ",W=".
 *
 * The file MAILDIR_SIZE_CACHE_NAME in the Maildir's top directory:
 *
 *   relaygate-pop3-sizes 1
 *   <base name> <size on disk> <CRLF size>
 *   ...
 *
 * one line per message, every line ended by '\n', base names in strictly
 * increasing byte order (so at most one line per base name), numbers in
 * canonical decimal (no sign, no leading zero). A base name is 1 to
 * MAILDIR_SIZE_CACHE_BASE_MAX bytes without '\n', NUL, '/' or ':' and not
 * beginning with '.'; it may hold blanks (the two numbers are taken from
 * the end of the line). The CRLF size lies between the size on disk and
 * twice it (every LF may gain a CR); when the base name has ",S=<n>" the
 * size on disk is n. Anything else refuses the whole file: it is never
 * trusted in part.
 *
 * The file lives in the mailbox owner's Maildir and is read by a process
 * running as that owner: a forged one can only make LIST and STAT lie to
 * the owner. The parser is still strict and bounded (file size, line
 * length, entry count). Maildir messages are never rewritten in place;
 * files are found by base name, which stays through flag renames. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_SIZE_CACHE_NAME "relaygate-pop3.sizes"
/* Written there first, under the POP3 session lock, then renamed. */
#define MAILDIR_SIZE_CACHE_TEMP_NAME "relaygate-pop3.sizes.tmp"
#define MAILDIR_SIZE_CACHE_HEADER "relaygate-pop3-sizes 1\n"
#define MAILDIR_SIZE_CACHE_BASE_MAX 255u
/* A line at most: base, blank, 20 digits, blank, 20 digits, newline. */
#define MAILDIR_SIZE_CACHE_LINE_MAX (MAILDIR_SIZE_CACHE_BASE_MAX + 43u)
/* Larger files are refused without being read. */
#define MAILDIR_SIZE_CACHE_FILE_MAX (64u * 1024u * 1024u)

struct maildir_size_cache_entry {
	const char *base;	/* not NUL-terminated */
	size_t base_len;
	uint64_t disk_size;	/* st_size of the file */
	uint64_t size;		/* RFC 1939 octets (CRLF form) */
};

struct maildir_size_cache {
	char *data;		/* the file; entries point into it */
	struct maildir_size_cache_entry *entries;	/* sorted by base */
	size_t count;
};

/* Parse the cache file text DATA (LEN bytes) of at most MAX_ENTRIES
 * lines. *ENTRIES_R (allocated, NULL when there is none) point into DATA.
 * Returns 0, or -1 with *error_r set to a static description (nothing
 * allocated). */
int maildir_size_cache_parse(const char *data, size_t len, size_t max_entries,
			     struct maildir_size_cache_entry **entries_r,
			     size_t *count_r, const char **error_r);

/* True when the cache can hold an entry for BASE (BASE_LEN bytes) with
 * these sizes: the base name and the sizes meet the rules above. */
bool maildir_size_cache_entry_valid(const char *base, size_t base_len,
				    uint64_t disk_size, uint64_t size);

/* Sort ENTRIES (COUNT) by base name, the order of the file. */
void maildir_size_cache_sort(struct maildir_size_cache_entry *entries,
			     size_t count);

/* The entry of CACHE for BASE (BASE_LEN bytes), or NULL. */
const struct maildir_size_cache_entry *
maildir_size_cache_find(const struct maildir_size_cache *cache,
			const char *base, size_t base_len);

/* The file text for ENTRIES (COUNT, sorted, unique and valid bases) into
 * BUF, which has room for BUF_SIZE bytes. Returns the length, or the
 * length needed when it is more than BUF_SIZE (nothing is written then);
 * BUF may be NULL when BUF_SIZE is 0. */
size_t maildir_size_cache_format(const struct maildir_size_cache_entry *entries,
				 size_t count, char *buf, size_t buf_size);

/* Read the cache file of the Maildir whose top directory is DIR_FD.
 * Returns 1 (read and valid), 0 (there is none) or -1 with *error_r
 * (unreadable, too large or refused by the parser). */
int maildir_size_cache_read(int dir_fd, size_t max_entries,
			    struct maildir_size_cache *cache_r,
			    const char **error_r);

/* Replace the cache file of DIR_FD with ENTRIES (COUNT, sorted): write a
 * temporary file beside it, then rename it into place. Call only under
 * the POP3 session lock. No fsync: losing it costs a re-measure. Returns
 * 0, or -1 with *error_r (errno kept). */
int maildir_size_cache_write(int dir_fd,
			     const struct maildir_size_cache_entry *entries,
			     size_t count, const char **error_r);

/* Free what maildir_size_cache_read() allocated; CACHE may be empty. */
void maildir_size_cache_free(struct maildir_size_cache *cache);

#endif

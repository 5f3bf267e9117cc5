#ifndef RELAYGATE_MAILDIR_NAME_H
#define RELAYGATE_MAILDIR_NAME_H
/* maildir_name: what a Maildir file name says, without touching the file.
 *
 *   1733040000.M20557P1234.host,S=1024,W=1050:2,RS
 *   \________ base name (the UIDL source) _______/ \flags
 *
 * The base name is everything before the first ':' (the info separator of
 * Dovecot, Courier and qmail); programs that change flags rename only what
 * follows it. ",W=" in the base is Dovecot's virtual size: the size in the
 * CRLF form, which is the POP3 octet count. ",S=" (Courier and Dovecot) is
 * the size on disk, which is not; it only checks the size cache (see
 * maildir_size_cache.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 1939: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define MAILDIR_UIDL_MAX 70

struct maildir_name {
	size_t base_len;	/* bytes before the first ':' (or all) */
	bool has_info;		/* the name has ":2," */
	size_t flags_offset;	/* where the flags begin, when has_info */
	bool has_vsize;		/* ",W=<digits>" in the base */
	uint64_t vsize;
	bool has_disk_size;	/* ",S=<digits>" in the base */
	uint64_t disk_size;
	bool has_time;		/* the name begins with delivery seconds */
	uint64_t time;
};

/* Parse the file name NAME (LEN bytes, no NUL needed) of at most MAX_LEN
 * bytes. Refused: empty, longer than MAX_LEN, beginning with '.', holding
 * '/' or NUL, or an empty base name. Returns 0, or -1 with *error_r set to
 * a static description. */
int maildir_name_parse(const char *name, size_t len, size_t max_len,
		       struct maildir_name *name_r, const char **error_r);

/* True when NAME (LEN bytes) has the base name BASE (BASE_LEN bytes):
 * NAME is BASE alone or BASE followed by ':'. */
bool maildir_name_has_base(const char *name, size_t len, const char *base,
			   size_t base_len);

/* The POP3 UIDL for the base name BASE (BASE_LEN bytes, no ':') into
 * UIDL (MAILDIR_UIDL_MAX + 1 bytes, NUL-terminated):
 *  - the base name itself when it is 1-70 bytes in 0x21..0x7E;
 *  - else "x:" and the base in lower-case hex when it has at most 34 bytes;
 *  - else "h:" and 32 hex digits of a 128-bit hash of it.
 * A base name never holds ':', so the three forms cannot collide with each
 * other, and the first two are one-to-one. */
void maildir_name_uidl(const char *base, size_t base_len,
		       char uidl[MAILDIR_UIDL_MAX + 1]);

#endif

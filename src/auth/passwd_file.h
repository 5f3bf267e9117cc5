#ifndef RELAYGATE_PASSWD_FILE_H
#define RELAYGATE_PASSWD_FILE_H
/* passwd_file: users from a file in Dovecot's passwd-file format,
 *
 *   user:password:uid:gid:(gecos):home:(shell):extra_fields
 *
 * password is "{SCHEME}data" or a bare crypt(3) hash (scheme CRYPT); uid,
 * gid and home may be empty (the server's own / none); gecos and shell are
 * ignored; extra_fields (the rest of the line, ':' included) is kept as
 * text. Trailing fields may be left out: "user:{PLAIN}secret" is a line. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "password.h"

/* Longest line (without its newline) and largest file accepted. */
#define PASSWD_FILE_LINE_MAX 4096
#define PASSWD_FILE_SIZE_MAX (16 * 1024 * 1024)
/* Longest user name. */
#define PASSWD_FILE_USER_MAX 255

/* One user. The strings live in the file's buffer. */
struct passwd_entry {
	const char *user;
	enum password_scheme scheme;
	const char *password;	/* data after "{SCHEME}" */
	bool locked;		/* bare hash starting with '!' or '*' */
	bool has_uid, has_gid;	/* false: field empty */
	uid_t uid;
	gid_t gid;
	const char *home;	/* "" when empty */
	const char *extra_fields; /* "" when absent */
	unsigned line;		/* line number in the file */
};

/* A loaded file: entries sorted by user name. */
struct passwd_file {
	char *path;		/* NULL for passwd_file_parse() */
	char *text;		/* the file's bytes, fields cut in place */
	size_t text_len;
	size_t text_map_len;	/* TEXT is a private anonymous mapping */
	struct passwd_entry *entries;
	size_t count;
	/* the entry of the costliest scheme, for unknown users; NULL when
	 * the file has no usable password */
	const struct passwd_entry *dummy;
	/* identity of the file when it was read, for passwd_file_refresh() */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

/* Parse TEXT (LEN bytes, need not be NUL-terminated) named NAME. Returns
 * a new file, or NULL with "NAME:LINE: problem" (or "NAME: problem") in
 * ERROR; the first problem stops the parse and nothing is kept. */
struct passwd_file *passwd_file_parse(const char *name, const char *text,
				      size_t len, char *error,
				      size_t error_size);

/* Read and parse the file PATH (a regular file of at most
 * PASSWD_FILE_SIZE_MAX bytes). NULL with the problem in ERROR. */
struct passwd_file *passwd_file_load(const char *path, char *error,
				     size_t error_size);

/* Re-read FILE's path when its inode, size, mtime or ctime changed; the
 * server calls this before each login. Returns 0 when unchanged, 1 when
 * reloaded (every entry pointer taken before is then invalid), or -1 with
 * the problem in ERROR: FILE is then left as it was (the last good
 * contents stay in use). */
int passwd_file_refresh(struct passwd_file *file, char *error,
			size_t error_size);

/* The entry of USER (exact, case-sensitive match), or NULL. */
const struct passwd_entry *passwd_file_lookup(const struct passwd_file *file,
					      const char *user);

/* In a forked child: unmap the file's text (hashes and passwords) without
 * touching it, so nothing secret stays readable and no page is copied.
 * FILE then holds no users; only passwd_file_free() may follow. */
void passwd_file_forget(struct passwd_file *file);

/* Release *FILE and set it to NULL. */
void passwd_file_free(struct passwd_file **file);

#endif

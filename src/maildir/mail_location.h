#ifndef RELAYGATE_MAIL_LOCATION_H
#define RELAYGATE_MAIL_LOCATION_H
/* mail_location: where a user's mailbox is, from the mail_location
 * template of relaygate.conf, shared by the POP3 and IMAP servers:
 *
 *   maildir:PATH    PATH absolute, or starting with "~/" or "%h" (the
 *                   user's home; "~" alone is the home); in PATH, %u is
 *                   the user name, %h the home directory, %% a percent
 *                   sign; "~" after the start is just a "~".
 *
 * Dovecot's options after the path (":INDEX=...", ":CONTROL=...", ...)
 * are accepted; only CONTROL= has a meaning here (where maildirsize is). */
#include <stddef.h>

/* Room for an expanded path, its NUL included. */
#define MAIL_LOCATION_PATH_MAX 4096

/* Check TEMPLATE. Returns 0, or -1 with a static message in *ERROR_R that
 * says what is wrong and what is expected. */
int mail_location_check(const char *template, const char **error_r);

/* The Maildir path of USER, whose home directory is HOME ("" for none),
 * from TEMPLATE, into PATH (SIZE bytes). Returns 0, or -1 with a static
 * message in *ERROR_R: a bad template, no absolute home where one is
 * needed, a user name that is not a single path component where %u is
 * used, or a result of SIZE bytes or more. */
int mail_location_expand(const char *template, const char *user,
			 const char *home, char *path, size_t size,
			 const char **error_r);

/* The control directory of USER from the CONTROL= option of TEMPLATE
 * (expanded like PATH), where Dovecot keeps the Maildir++ maildirsize
 * file, into PATH. Returns 1, 0 when TEMPLATE has no CONTROL=, or -1 with
 * a static message in *ERROR_R as for mail_location_expand(). */
int mail_location_expand_control(const char *template, const char *user,
				 const char *home, char *path, size_t size,
				 const char **error_r);

#endif

#ifndef RELAYGATE_LOG_H
#define RELAYGATE_LOG_H
/* log: one line per event, to syslog (mail facility) or to stderr. */
#include <stdbool.h>

/* Log as PROGNAME; to stderr when TO_STDERR, else to syslog LOG_MAIL. */
void log_open(const char *progname, bool to_stderr);

/* On stderr, collect lines and write them only at log_flush() (or when
 * 64 KiB are pending, or with a warning or error): for event loops that
 * log every request. Syslog lines are always sent at once. */
void log_set_batched(bool batched);

/* Write the collected lines. */
void log_flush(void);

/* Informational event. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something is wrong but the program goes on. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An operation failed. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Unrecoverable: log and exit with EXIT_CODE (a <sysexits.h> value). */
void log_fatal(int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* Copy untrusted TEXT into BUF for a log line: non-printable bytes become
 * "\xNN", quotes and backslashes are escaped, the result is truncated to
 * fit SIZE. Returns BUF. */
const char *log_sanitize(const char *text, char *buf, unsigned long size);

#endif

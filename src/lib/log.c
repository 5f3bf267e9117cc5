/* log: the only place that writes diagnostics. Lines are bounded; text
 * from clients must go through log_sanitize() before it gets here. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <errno.h>

static const char *log_name = "relaygate";
static bool log_to_stderr = true;

void log_open(const char *progname, bool to_stderr)
{
	log_name = progname;
	log_to_stderr = to_stderr;
	if (!to_stderr)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

static void log_vwrite(int priority, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Batched stderr lines (log_set_batched): written by log_flush(). */
static bool log_batched;
static char log_batch[65536];
static size_t log_batch_used;

void log_set_batched(bool batched)
{
	log_flush();
	log_batched = batched;
}

void log_flush(void)
{
	size_t done = 0;

	while (done < log_batch_used) {
		ssize_t n = write(STDERR_FILENO, log_batch + done,
				  log_batch_used - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* nowhere to report it */
		done += (size_t)n;
	}
	log_batch_used = 0;
}

#define LOG_LINE_MAX 2048

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	size_t name_len, room;
	char *at;
	int n;

	if (!log_to_stderr || !log_batched) {
		vsnprintf(line, sizeof(line), fmt, ap);
		if (log_to_stderr)
			fprintf(stderr, "%s: %s\n", log_name, line);
		else
			syslog(priority, "%s", line);
		return;
	}
	/* Batched: format straight into the batch, "name: line\n". */
	name_len = strlen(log_name);
	if (sizeof(log_batch) - log_batch_used < name_len + 2 + LOG_LINE_MAX + 1)
		log_flush();
	at = log_batch + log_batch_used;
	memcpy(at, log_name, name_len);
	memcpy(at + name_len, ": ", 2);
	room = LOG_LINE_MAX;
	n = vsnprintf(at + name_len + 2, room, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= room)
		n = (int)room - 1;
	at[name_len + 2 + (size_t)n] = '\n';
	log_batch_used += name_len + 2 + (size_t)n + 1;
	/* Problems are written at once, after what came before them. */
	if (priority <= LOG_WARNING)
		log_flush();
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_fatal(int exit_code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(exit_code);
}

const char *log_sanitize(const char *text, char *buf, unsigned long size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned long out = 0;
	const unsigned char *p;

	if (size == 0)
		return buf;
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (out + 3 > size)
				break;
			buf[out++] = '\\';
			buf[out++] = (char)*p;
		} else if (*p < 0x20 || *p >= 0x7f) {
			if (out + 5 > size)
				break;
			buf[out++] = '\\';
			buf[out++] = 'x';
			buf[out++] = hex[*p >> 4];
			buf[out++] = hex[*p & 0xf];
		} else {
			if (out + 2 > size)
				break;
			buf[out++] = (char)*p;
		}
	}
	buf[out] = '\0';
	return buf;
}

/* log: the only place that writes diagnostics. Lines are bounded; text
 * from clients must go through log_sanitize() before it gets here. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

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

static void log_vwrite(int priority, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_to_stderr)
		fprintf(stderr, "%s: %s\n", log_name, line);
	else
		syslog(priority, "%s", line);
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
	unsigned long out = 0;
	const unsigned char *p;

	if (size == 0)
		return buf;
	for (p = (const unsigned char *)text; *p != '\0'; p++) {
		char piece[5];
		size_t len;

		if (*p == '"' || *p == '\\') {
			piece[0] = '\\';
			piece[1] = (char)*p;
			piece[2] = '\0';
		} else if (*p < 0x20 || *p >= 0x7f) {
			snprintf(piece, sizeof(piece), "\\x%02x", *p);
		} else {
			piece[0] = (char)*p;
			piece[1] = '\0';
		}
		len = strlen(piece);
		if (out + len + 1 > size)
			break;
		memcpy(buf + out, piece, len);
		out += len;
	}
	buf[out] = '\0';
	return buf;
}

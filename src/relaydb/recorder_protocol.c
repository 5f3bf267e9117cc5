/* recorder_protocol: format and parse recorder requests. The parser reads
 * untrusted bytes: it must never read past LEN, accept a field over its
 * cap, or accept anything but the exact grammar. */
#include "recorder_protocol.h"

#include <stdio.h>
#include <string.h>

static const char *const recorder_error_words[] = {
	[RELAYDB_ERROR_NONE] = "none",
	[RELAYDB_ERROR_TEMPORARY] = "temporary",
	[RELAYDB_ERROR_PERMISSION] = "permission",
	[RELAYDB_ERROR_MISSING] = "missing",
	[RELAYDB_ERROR_CREATE] = "create",
	[RELAYDB_ERROR_IO] = "io",
	[RELAYDB_ERROR_INCOMPATIBLE] = "incompatible",
	[RELAYDB_ERROR_USAGE] = "usage",
};

#define RECORDER_ERROR_WORD_COUNT \
	(sizeof(recorder_error_words) / sizeof(recorder_error_words[0]))

/* Copy TEXT into OUT as a token: printable, no blanks, not empty. */
static size_t recorder_token(const char *text, char *out)
{
	size_t i;

	if (text == NULL || *text == '\0') {
		out[0] = '-';
		return 1;
	}
	for (i = 0; i < RECORDER_TOKEN_MAX && text[i] != '\0'; i++) {
		unsigned char c = (unsigned char)text[i];

		out[i] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	return i;
}

size_t recorder_request_format(const struct address *address, int64_t when,
			       const char *user, const char *source, char *buf)
{
	char text[ADDRESS_TEXT_MAX];
	size_t len;

	len = (size_t)snprintf(buf, RECORDER_LINE_MAX, "record %s %lld ",
			       address_format(address, text), (long long)when);
	len += recorder_token(user, buf + len);
	buf[len++] = ' ';
	len += recorder_token(source, buf + len);
	buf[len++] = '\n';
	return len;
}

/* Take the next field of LINE (up to a blank or the end) into OUT, at
 * most MAX bytes. */
static int recorder_field(const char **p, const char *end, char *out,
			  size_t max)
{
	size_t n = 0;

	while (*p < end && **p != ' ') {
		unsigned char c = (unsigned char)**p;

		if (c <= 0x20 || c >= 0x7f || n == max)
			return -1;
		out[n++] = (char)c;
		(*p)++;
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	if (*p < end)
		(*p)++;		/* the blank */
	return 0;
}

int recorder_request_parse(const char *line, size_t len,
			   struct recorder_request *req_r,
			   const char **error_r)
{
	const char *p = line, *end = line + len;
	char address[ADDRESS_TEXT_MAX], when[24];
	const char *error;

	if (len < 7 || memcmp(line, "record ", 7) != 0) {
		*error_r = "expected: record ADDRESS WHEN USER SOURCE";
		return -1;
	}
	p += 7;
	if (recorder_field(&p, end, address, sizeof(address) - 1) < 0
	    || address_parse(address, &req_r->address, &error) < 0) {
		*error_r = "bad address";
		return -1;
	}
	if (recorder_field(&p, end, when, sizeof(when) - 1) < 0
	    || relaydb_parse_time(when, &req_r->when, &error) < 0) {
		*error_r = "bad time";
		return -1;
	}
	if (recorder_field(&p, end, req_r->user, RECORDER_TOKEN_MAX) < 0) {
		*error_r = "bad user";
		return -1;
	}
	/* The source is the last field: no blank may follow it. */
	if (recorder_field(&p, end, req_r->source, RECORDER_TOKEN_MAX) < 0
	    || p != end || line[len - 1] == ' ') {
		*error_r = "bad source";
		return -1;
	}
	return 0;
}

const char *recorder_error_word(enum relaydb_error_kind kind)
{
	if ((size_t)kind >= RECORDER_ERROR_WORD_COUNT)
		return "io";
	return recorder_error_words[kind];
}

enum relaydb_error_kind recorder_error_kind(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < RECORDER_ERROR_WORD_COUNT; i++) {
		if (strlen(recorder_error_words[i]) == len
		    && memcmp(recorder_error_words[i], word, len) == 0)
			return (enum relaydb_error_kind)i;
	}
	if (len == 11 && memcmp(word, "never_relay", 11) == 0)
		return RELAYDB_ERROR_USAGE;
	return RELAYDB_ERROR_IO;
}

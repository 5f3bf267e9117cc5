#ifndef RELAYGATE_RECORDER_PROTOCOL_H
#define RELAYGATE_RECORDER_PROTOCOL_H
/* recorder_protocol: the line protocol between relaydb_record() and
 * relaygate-recorder(8), written and parsed in one place.
 *   request:  "record ADDRESS WHEN USER SOURCE\n"
 *   answer:   "ok\n"  or  "error KIND TEXT\n"
 * KIND is a word naming a relaydb_error_kind ("temporary", "io", ...) or
 * "never_relay". Lines, newline included, are at most RECORDER_LINE_MAX
 * bytes; USER and SOURCE are 1..RECORDER_TOKEN_MAX printable bytes without
 * blanks. */
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "relaydb.h"

#define RECORDER_LINE_MAX 512
#define RECORDER_TOKEN_MAX 64

struct recorder_request {
	struct address address;
	int64_t when;
	char user[RECORDER_TOKEN_MAX + 1];
	char source[RECORDER_TOKEN_MAX + 1];
};

/* Write the request line for a grant into BUF (RECORDER_LINE_MAX bytes):
 * USER and SOURCE are made into tokens (bytes that are not printable or
 * are blanks become '?', empty becomes "-", cut at RECORDER_TOKEN_MAX).
 * Returns the length. */
size_t recorder_request_format(const struct address *address, int64_t when,
			       const char *user, const char *source, char *buf);

/* Parse one request line of LEN bytes (newline removed). Returns 0, or -1
 * with a static description in *error_r. */
int recorder_request_parse(const char *line, size_t len,
			   struct recorder_request *req_r,
			   const char **error_r);

/* The word for KIND in an error answer, and back (unknown words: io). */
const char *recorder_error_word(enum relaydb_error_kind kind);
enum relaydb_error_kind recorder_error_kind(const char *word, size_t len);

#endif

#ifndef RELAYGATE_RELAYDB_TEXT_H
#define RELAYGATE_RELAYDB_TEXT_H
/* relaydb_text: the text form of the store that `vsmtprelay list` and
 * `dump` print and `load` and `makemap hash` read:
 *
 *   # timestamp (UTC): Tue Sep 22 22:15:27 1998
 *   10.11.12.13 906502527
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "relaydb.h"

/* Longest line accepted by the parser. */
#define RELAYDB_TEXT_LINE_MAX 1024

/* Parsed grants; relaydb_text_parse() fills it. */
struct relaydb_text {
	struct relaydb_grant *grants;
	size_t count;
};

/* Parse TEXT (LEN bytes) named NAME: "#" comment lines, blank lines and
 * "address<blanks>timestamp" lines. Addresses are canonicalised; the two
 * IPv6 key forms of one address count as one grant (with the same time, or
 * it is an error). Returns 0, or -1 with "NAME:LINE: problem" in ERROR;
 * on error nothing is allocated. */
int relaydb_text_parse(const char *name, const char *text, size_t len,
		       struct relaydb_text *result, char *error,
		       size_t error_size);

/* Release RESULT's memory. */
void relaydb_text_free(struct relaydb_text *result);

/* Write the "# timestamp (UTC): ..." comment for WHEN (seconds) into BUF. */
const char *relaydb_text_comment(int64_t when, char *buf, size_t size);

#endif

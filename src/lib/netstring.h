#ifndef RELAYGATE_NETSTRING_H
#define RELAYGATE_NETSTRING_H
/* netstring: D. J. Bernstein's netstrings (for instance 12:hello world!, ), as the
 * sendmail and Postfix socketmap protocols use them. */
#include <stddef.h>

#include "buffer.h"

enum netstring_result {
	NETSTRING_OK,		/* one netstring parsed */
	NETSTRING_INCOMPLETE,	/* valid so far: wait for more bytes */
	NETSTRING_INVALID,	/* not a netstring, or longer than allowed */
};

/* Parse one netstring at the start of DATA (LEN bytes) with a payload of
 * at most MAX bytes. The length has no sign, no blanks and no leading
 * zeros; it is rejected as soon as it exceeds MAX, before the payload
 * arrives. On NETSTRING_OK *payload_r and *payload_len_r give the payload and
 * *consumed_r the bytes used; on NETSTRING_INVALID *error_r says why. */
enum netstring_result netstring_parse(const unsigned char *data, size_t len,
				      size_t max,
				      const unsigned char **payload_r,
				      size_t *payload_len_r,
				      size_t *consumed_r, const char **error_r);

/* Append PAYLOAD (LEN bytes) to OUT as a netstring; -1 if OUT is full. */
int netstring_append(struct buffer *out, const void *payload, size_t len);

#endif

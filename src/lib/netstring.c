/* netstring: bounded netstring reader and writer. Must never trust the
 * length a peer announces beyond the caller's cap. */
#include "netstring.h"

#include <stdio.h>

enum netstring_result netstring_parse(const unsigned char *data, size_t len,
				      size_t max,
				      const unsigned char **payload_r,
				      size_t *payload_len_r,
				      size_t *consumed_r, const char **error_r)
{
	size_t i = 0, n = 0;

	*error_r = NULL;
	if (len == 0)
		return NETSTRING_INCOMPLETE;
	if (data[0] < '0' || data[0] > '9') {
		*error_r = "netstring does not start with a length";
		return NETSTRING_INVALID;
	}
	if (data[0] == '0' && len > 1 && data[1] != ':') {
		*error_r = "netstring length has a leading zero";
		return NETSTRING_INVALID;
	}
	for (i = 0; i < len && data[i] >= '0' && data[i] <= '9'; i++) {
		n = n * 10 + (size_t)(data[i] - '0');
		if (n > max) {
			*error_r = "netstring longer than allowed";
			return NETSTRING_INVALID;
		}
	}
	if (i == len)
		return NETSTRING_INCOMPLETE;
	if (data[i] != ':') {
		*error_r = "netstring length not followed by ':'";
		return NETSTRING_INVALID;
	}
	i++;
	if (len - i < n + 1)
		return NETSTRING_INCOMPLETE;
	if (data[i + n] != ',') {
		*error_r = "netstring not ended by ','";
		return NETSTRING_INVALID;
	}
	*payload_r = data + i;
	*payload_len_r = n;
	*consumed_r = i + n + 1;
	return NETSTRING_OK;
}

int netstring_append(struct buffer *out, const void *payload, size_t len)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof(prefix), "%zu:", len);

	if (n < 0 || (size_t)n >= sizeof(prefix))
		return -1;
	if ((size_t)n + len + 1 > out->max - buffer_length(out))
		return -1;
	if (buffer_append(out, prefix, (size_t)n) < 0
	    || buffer_append(out, payload, len) < 0
	    || buffer_append(out, ",", 1) < 0)
		return -1;
	return 0;
}

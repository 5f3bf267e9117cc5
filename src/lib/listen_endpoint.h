#ifndef RELAYGATE_LISTEN_ENDPOINT_H
#define RELAYGATE_LISTEN_ENDPOINT_H
/* listen_endpoint: where a daemon listens, written as in Postfix
 * ("unix:/path", "inet:127.0.0.1:port", "inet:[::1]:port"; the "inet:"
 * may be left out, as the POP3/IMAP listen lists do), parsed
 * strictly and opened as a non-blocking listening socket. */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LISTEN_ENDPOINT_TEXT_MAX 128

struct listen_endpoint {
	int family;			/* AF_UNIX, AF_INET or AF_INET6 */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char text[LISTEN_ENDPOINT_TEXT_MAX];	/* as written */
};

/* Parse one endpoint. Host parts are numeric addresses only (no name
 * lookups); unix paths must be absolute and fit a socket address.
 * Returns 0, or -1 with a static description in *error_r. */
int listen_endpoint_parse(const char *text, struct listen_endpoint *endpoint_r,
			  const char **error_r);

/* Parse a list separated by commas and/or blanks (empty: no endpoint).
 * *items_r is malloc'ed. On error *error_r names the item. */
int listen_endpoint_list_parse(const char *text,
			       struct listen_endpoint **items_r,
			       size_t *count_r, const char **error_r);

/* Open a non-blocking, close-on-exec listening socket at ENDPOINT. A unix
 * socket left by a dead process is replaced (a live one is an error) and
 * made accessible to all (restrict access with its directory). Returns
 * the descriptor, or -1 with a message in ERROR. */
int listen_endpoint_open(const struct listen_endpoint *endpoint, int backlog,
			 char *error, size_t error_size);

#endif

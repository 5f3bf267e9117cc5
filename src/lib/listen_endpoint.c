/* listen_endpoint: parse and open listening sockets. Must never listen on
 * anything but the address written, and never remove a file that is not
 * a dead socket. */
#include "listen_endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strnum.h"

static int listen_endpoint_parse_inet(const char *rest,
				      struct listen_endpoint *ep,
				      const char **error_r)
{
	char host[64];
	const char *colon, *port_text;
	const char *num_error;
	uint64_t port;
	size_t host_len;

	if (*rest == '[') {
		const char *close = strchr(rest, ']');

		if (close == NULL || close[1] != ':') {
			*error_r = "expected inet:[IPv6-address]:port";
			return -1;
		}
		host_len = (size_t)(close - rest - 1);
		if (host_len >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, rest + 1, host_len);
		host[host_len] = '\0';
		port_text = close + 2;
		ep->family = AF_INET6;
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL) {
			*error_r = "expected inet:address:port";
			return -1;
		}
		host_len = (size_t)(colon - rest);
		if (host_len >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, rest, host_len);
		host[host_len] = '\0';
		if (strchr(host, ':') != NULL) {
			*error_r = "an IPv6 address must be in brackets: inet:[::1]:port";
			return -1;
		}
		port_text = colon + 1;
		ep->family = AF_INET;
	}
	if (strnum_parse_u64(port_text, 65535, &port, &num_error) < 0 || port == 0) {
		*error_r = "expected a port number from 1 to 65535";
		return -1;
	}
	if (ep->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ep->addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*error_r = "expected a numeric IPv4 address (no host names)";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		ep->addr_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ep->addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*error_r = "expected a numeric IPv6 address in brackets";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		ep->addr_len = sizeof(*sin6);
	}
	return 0;
}

int listen_endpoint_parse(const char *text, struct listen_endpoint *endpoint_r,
			  const char **error_r)
{
	struct listen_endpoint *ep = endpoint_r;

	memset(ep, 0, sizeof(*ep));
	if (strlen(text) >= sizeof(ep->text)) {
		*error_r = "endpoint too long";
		return -1;
	}
	strcpy(ep->text, text);
	if (strncmp(text, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ep->addr;
		const char *path = text + 5;

		if (*path != '/') {
			*error_r = "expected an absolute path: unix:/path";
			return -1;
		}
		if (strlen(path) >= sizeof(sun->sun_path)) {
			*error_r = "unix socket path too long";
			return -1;
		}
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		ep->family = AF_UNIX;
		ep->addr_len = (socklen_t)sizeof(*sun);
		return 0;
	}
	if (strncmp(text, "inet:", 5) == 0)
		return listen_endpoint_parse_inet(text + 5, ep, error_r);
	/* The servers' lists are written "address:port" (DESIGN.md). */
	if ((*text >= '0' && *text <= '9') || *text == '[')
		return listen_endpoint_parse_inet(text, ep, error_r);
	*error_r = "expected unix:/path, inet:address:port or address:port";
	return -1;
}

int listen_endpoint_list_parse(const char *text,
			       struct listen_endpoint **items_r,
			       size_t *count_r, const char **error_r)
{
	static char message[LISTEN_ENDPOINT_TEXT_MAX + 128];
	struct listen_endpoint *items = NULL;
	size_t count = 0;
	const char *p = text;

	*items_r = NULL;
	*count_r = 0;
	for (;;) {
		char item[LISTEN_ENDPOINT_TEXT_MAX];
		const char *item_error;
		size_t len;
		struct listen_endpoint *grown;

		while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		len = strcspn(p, ", \t\n");
		if (len >= sizeof(item)) {
			snprintf(message, sizeof(message), "endpoint too long: %.40s...", p);
			*error_r = message;
			free(items);
			return -1;
		}
		memcpy(item, p, len);
		item[len] = '\0';
		p += len;
		grown = realloc(items, (count + 1) * sizeof(*items));
		if (grown == NULL) {
			*error_r = "out of memory";
			free(items);
			return -1;
		}
		items = grown;
		if (listen_endpoint_parse(item, &items[count], &item_error) < 0) {
			snprintf(message, sizeof(message), "%s: %s", item, item_error);
			*error_r = message;
			free(items);
			return -1;
		}
		count++;
	}
	*items_r = items;
	*count_r = count;
	return 0;
}

/* Remove a unix socket left at PATH by a process that is gone. */
static int listen_endpoint_clear_unix(const struct listen_endpoint *ep,
				      char *error, size_t error_size)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&ep->addr;
	struct stat st;
	int fd;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(error, error_size, "%s: exists and is not a socket",
			 ep->text);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(error, error_size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)sun, ep->addr_len) == 0) {
		close(fd);
		snprintf(error, error_size, "%s: another process is listening there",
			 ep->text);
		return -1;
	}
	close(fd);
	if (unlink(sun->sun_path) < 0 && errno != ENOENT) {
		snprintf(error, error_size, "%s: cannot remove old socket: %s",
			 ep->text, strerror(errno));
		return -1;
	}
	return 0;
}

int listen_endpoint_open(const struct listen_endpoint *ep, int backlog,
			 char *error, size_t error_size)
{
	int fd, on = 1;

	if (ep->family == AF_UNIX
	    && listen_endpoint_clear_unix(ep, error, error_size) < 0)
		return -1;
	fd = socket(ep->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(error, error_size, "%s: socket: %s", ep->text, strerror(errno));
		return -1;
	}
	if (ep->family != AF_UNIX)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ep->family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&ep->addr, ep->addr_len) < 0) {
		snprintf(error, error_size, "%s: bind: %s", ep->text, strerror(errno));
		close(fd);
		return -1;
	}
	if (ep->family == AF_UNIX) {
		const struct sockaddr_un *sun = (const struct sockaddr_un *)&ep->addr;

		if (chmod(sun->sun_path, 0666) < 0) {
			snprintf(error, error_size, "%s: chmod: %s", ep->text,
				 strerror(errno));
			close(fd);
			return -1;
		}
	}
	if (listen(fd, backlog) < 0) {
		snprintf(error, error_size, "%s: listen: %s", ep->text, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

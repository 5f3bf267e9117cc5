/* fuzz-listen-endpoint: listen_endpoint_list_parse on any text (the
 * lookupd_*_listen values). Invariants: accepted endpoints are unix
 * sockets with absolute paths or numeric inet addresses with a port from
 * 1 to 65535, and the text is kept; errors come with a message. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "listen_endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct listen_endpoint *items = NULL;
	const char *error = NULL;
	size_t count = 0, i;
	char *text = malloc(size + 1);

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	if (listen_endpoint_list_parse(text, &items, &count, &error) < 0) {
		FUZZ_CHECK(error != NULL && items == NULL);
	} else {
		for (i = 0; i < count; i++) {
			const struct listen_endpoint *ep = &items[i];

			FUZZ_CHECK(strlen(ep->text) < sizeof(ep->text));
			if (ep->family == AF_UNIX) {
				const struct sockaddr_un *sun =
				    (const struct sockaddr_un *)&ep->addr;

				FUZZ_CHECK(sun->sun_path[0] == '/');
				FUZZ_CHECK(strncmp(ep->text, "unix:", 5) == 0);
			} else if (ep->family == AF_INET) {
				const struct sockaddr_in *sin =
				    (const struct sockaddr_in *)&ep->addr;

				FUZZ_CHECK(ntohs(sin->sin_port) > 0);
				FUZZ_CHECK(ep->addr_len == sizeof(*sin));
			} else {
				const struct sockaddr_in6 *sin6 =
				    (const struct sockaddr_in6 *)&ep->addr;

				FUZZ_CHECK(ep->family == AF_INET6);
				FUZZ_CHECK(ntohs(sin6->sin6_port) > 0);
				/* "inet:" may be left out ("[::1]:110") */
				FUZZ_CHECK(strstr(ep->text, "inet:[") == ep->text
					   || ep->text[0] == '[');
			}
		}
		free(items);
	}
	free(text);
	return 0;
}

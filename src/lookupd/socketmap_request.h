#ifndef RELAYGATE_SOCKETMAP_REQUEST_H
#define RELAYGATE_SOCKETMAP_REQUEST_H
/* socketmap_request: the payload of a sendmail/Postfix socketmap request,
 * "mapname key" (sendmail's op.me "socket" map, Postfix socketmap_table(5));
 * the netstring framing is netstring.c's. */
#include <stdbool.h>
#include <stddef.h>

/* Longest netstring payload accepted; longer requests close the
 * connection. Keys are addresses or host names (Postfix's
 * check_client_access asks for the client's name first). */
#define SOCKETMAP_REQUEST_MAX 1024
#define SOCKETMAP_NAME_MAX 64
#define SOCKETMAP_KEY_MAX 256

struct socketmap_request {
	char name[SOCKETMAP_NAME_MAX + 1];
	char key[SOCKETMAP_KEY_MAX + 1];
};

/* Split PAYLOAD (LEN bytes) at its first space into map name and key.
 * Returns 0, or -1 with *error_r set when there is no space, the name is
 * empty or too long, the key too long, or a NUL byte is present. */
int socketmap_request_parse(const unsigned char *payload, size_t len,
			    struct socketmap_request *request_r,
			    const char **error_r);

#endif

/* socketmap_request: split "mapname key". Must never write past the
 * fixed fields, whatever the payload. */
#include "socketmap_request.h"

#include <string.h>

int socketmap_request_parse(const unsigned char *payload, size_t len,
			    struct socketmap_request *request_r,
			    const char **error_r)
{
	const unsigned char *space;
	size_t name_len, key_len;

	memset(request_r, 0, sizeof(*request_r));
	if (memchr(payload, '\0', len) != NULL) {
		*error_r = "NUL byte in request";
		return -1;
	}
	space = memchr(payload, ' ', len);
	if (space == NULL) {
		*error_r = "request without a space between map name and key";
		return -1;
	}
	name_len = (size_t)(space - payload);
	key_len = len - name_len - 1;
	if (name_len == 0) {
		*error_r = "request without a map name";
		return -1;
	}
	if (name_len > SOCKETMAP_NAME_MAX) {
		*error_r = "map name too long";
		return -1;
	}
	if (key_len > SOCKETMAP_KEY_MAX) {
		*error_r = "key too long";
		return -1;
	}
	memcpy(request_r->name, payload, name_len);
	memcpy(request_r->key, space + 1, key_len);
	return 0;
}

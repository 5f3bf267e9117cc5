/* buffer: bounded growable byte buffer. Must never grow past its cap,
 * whatever a peer sends. */
#include "buffer.h"

#include <stdlib.h>
#include <string.h>

void buffer_init(struct buffer *buf, size_t max)
{
	memset(buf, 0, sizeof(*buf));
	buf->max = max;
}

void buffer_free(struct buffer *buf)
{
	free(buf->data);
	buffer_init(buf, buf->max);
}

unsigned char *buffer_reserve(struct buffer *buf, size_t want, size_t *room_r)
{
	size_t length = buffer_length(buf), need, new_size;
	unsigned char *data;

	*room_r = 0;
	if (length >= buf->max)
		return NULL;
	if (want > buf->max - length)
		want = buf->max - length;
	if (buf->size - buf->end >= want) {
		*room_r = buf->size - buf->end;
		return buf->data + buf->end;
	}
	/* Compact first; grow only if that is not enough. */
	if (buf->start > 0) {
		memmove(buf->data, buf->data + buf->start, length);
		buf->start = 0;
		buf->end = length;
		if (buf->size - buf->end >= want) {
			*room_r = buf->size - buf->end;
			return buf->data + buf->end;
		}
	}
	need = length + want;
	new_size = buf->size == 0 ? 256 : buf->size;
	while (new_size < need)
		new_size *= 2;
	if (new_size > buf->max)
		new_size = buf->max;
	data = realloc(buf->data, new_size);
	if (data == NULL)
		return NULL;
	buf->data = data;
	buf->size = new_size;
	*room_r = buf->size - buf->end;
	return buf->data + buf->end;
}

void buffer_commit(struct buffer *buf, size_t n)
{
	buf->end += n;
}

int buffer_append(struct buffer *buf, const void *data, size_t len)
{
	unsigned char *at;
	size_t room;

	if (len == 0)
		return 0;
	if (len > buf->max - buffer_length(buf))
		return -1;
	at = buffer_reserve(buf, len, &room);
	if (at == NULL || room < len)
		return -1;
	memcpy(at, data, len);
	buffer_commit(buf, len);
	return 0;
}

void buffer_consume(struct buffer *buf, size_t n)
{
	buf->start += n;
	if (buf->start >= buf->end)
		buf->start = buf->end = 0;
}

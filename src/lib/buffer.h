#ifndef RELAYGATE_BUFFER_H
#define RELAYGATE_BUFFER_H
/* buffer: the growable, length-counted byte buffer for protocol data, with
 * a hard cap. Data is consumed from the front without copying until the
 * buffer is compacted. Never NUL-terminated implicitly. */
#include <stddef.h>

struct buffer {
	unsigned char *data;
	size_t start;		/* first unconsumed byte */
	size_t end;		/* one past the last byte */
	size_t size;		/* allocated */
	size_t max;		/* at most this many unconsumed bytes */
};

/* An empty buffer that will never hold more than MAX bytes. */
void buffer_init(struct buffer *buf, size_t max);

/* Release the memory of BUF and empty it. */
void buffer_free(struct buffer *buf);

/* The unconsumed bytes and their number. */
static inline const unsigned char *buffer_data(const struct buffer *buf)
{
	return buf->data + buf->start;
}
static inline size_t buffer_length(const struct buffer *buf)
{
	return buf->end - buf->start;
}

/* Room for at least WANT more bytes (fewer if the cap is near): returns
 * where to write and sets *room_r, or NULL when the cap is reached or
 * memory runs out (*room_r is then 0). Commit with buffer_commit(). */
unsigned char *buffer_reserve(struct buffer *buf, size_t want, size_t *room_r);

/* Count N bytes written at the reserved place. */
void buffer_commit(struct buffer *buf, size_t n);

/* Append LEN bytes; -1 if the cap would be exceeded or memory runs out. */
int buffer_append(struct buffer *buf, const void *data, size_t len);

/* Drop N bytes from the front. */
void buffer_consume(struct buffer *buf, size_t n);

#endif

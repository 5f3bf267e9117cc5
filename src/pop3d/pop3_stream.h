#ifndef RELAYGATE_POP3_STREAM_H
#define RELAYGATE_POP3_STREAM_H
/* pop3_stream: one client connection, plain or TLS, with a bounded line
 * reader, an output buffer and a timeout on every wait. Used by one
 * process for one connection; blocking from the caller's point of view. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#define POP3_STREAM_IN_SIZE 8192
#define POP3_STREAM_OUT_SIZE 65536

enum pop3_stream_status {
	POP3_STREAM_OK,
	POP3_STREAM_EOF,	/* the peer closed (or the TLS session ended) */
	POP3_STREAM_TIMEOUT,	/* nothing moved for timeout_ms */
	POP3_STREAM_TOO_LONG,	/* a line over the caller's limit */
	POP3_STREAM_ERROR,	/* I/O or TLS failure */
};

struct pop3_stream {
	int fd;			/* non-blocking */
	SSL *ssl;		/* NULL: plaintext */
	int timeout_ms;
	unsigned char in[POP3_STREAM_IN_SIZE];
	size_t in_start, in_end;
	unsigned char out[POP3_STREAM_OUT_SIZE];
	size_t out_len;
	bool write_failed;	/* output is dropped after a failed write */
	unsigned long long bytes_out;
	const char *error;	/* last ERROR, for the log */
};

/* Set up STREAM on FD (made non-blocking) with TIMEOUT_MS per wait. */
void pop3_stream_init(struct pop3_stream *stream, int fd, int timeout_ms);

/* Start TLS on STREAM as a server with CTX (the handshake runs here).
 * Input still buffered is an error (call pop3_stream_discard_input()
 * first): returns -1 and the connection must be closed. */
int pop3_stream_start_tls(struct pop3_stream *stream, SSL_CTX *ctx);

/* Wipe and drop the input buffered beyond the last line read; returns
 * how many bytes. Plaintext a client pipelined after STLS (RFC 2595: it
 * must wait for the handshake) is never read as commands over TLS. */
size_t pop3_stream_discard_input(struct pop3_stream *stream);

/* Read one line of at most MAX bytes (without its CRLF or LF) into LINE,
 * NUL-terminated (LINE holds MAX + 1 bytes); *LEN_R is its length. */
enum pop3_stream_status pop3_stream_read_line(struct pop3_stream *stream,
					      char *line, size_t max,
					      size_t *len_r);

/* Take up to SIZE buffered input bytes (for handing the rest over). */
size_t pop3_stream_take_buffered(struct pop3_stream *stream, void *buf,
				 size_t size);

/* Queue LEN bytes of output; the buffer is written out when full. */
void pop3_stream_write(struct pop3_stream *stream, const void *data,
		       size_t len);

/* Queue a NUL-terminated string. */
void pop3_stream_puts(struct pop3_stream *stream, const char *text);

/* Queue printf output (one reply line is short: at most 512 bytes). */
void pop3_stream_printf(struct pop3_stream *stream, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Write everything queued; -1 when the peer is gone or stopped reading
 * for timeout_ms (the output is then dropped). */
int pop3_stream_flush(struct pop3_stream *stream);

/* Flush only when no further command is already buffered (PIPELINING:
 * answers to a burst go out together). */
int pop3_stream_flush_if_idle(struct pop3_stream *stream);

/* Send TLS close_notify (best effort) and free the TLS state; the
 * descriptor is left to the caller. */
void pop3_stream_end_tls(struct pop3_stream *stream);

#endif

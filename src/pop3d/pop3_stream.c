/* pop3_stream: buffered, bounded, timed client I/O over a socket or TLS.
 * It never trusts a length from the peer: lines are cut at the caller's
 * limit and every wait ends after timeout_ms. */
#include "pop3_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

void pop3_stream_init(struct pop3_stream *stream, int fd, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags >= 0 && (flags & O_NONBLOCK) == 0)
		(void)fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	stream->fd = fd;
	stream->ssl = NULL;
	stream->timeout_ms = timeout_ms;
	stream->in_start = stream->in_end = 0;
	stream->out_len = 0;
	stream->write_failed = false;
	stream->bytes_out = 0;
	stream->error = NULL;
}

/* Wait until FD is ready for EVENTS; 1 ready, 0 timeout, -1 error. */
static int pop3_stream_wait(struct pop3_stream *stream, short events)
{
	struct pollfd pfd = { .fd = stream->fd, .events = events };
	int ret;

	do {
		ret = poll(&pfd, 1, stream->timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		stream->error = strerror(errno);
		return -1;
	}
	return ret;
}

/* The TLS error of the last call, for the log. */
static const char *pop3_stream_tls_error(void)
{
	static char text[160];
	unsigned long code = ERR_get_error();

	if (code == 0)
		return "TLS failure";
	ERR_error_string_n(code, text, sizeof(text));
	ERR_clear_error();
	return text;
}

enum pop3_stream_tls_step {
	POP3_STREAM_TLS_AGAIN,		/* the socket is ready: call again */
	POP3_STREAM_TLS_TIMEOUT,	/* it stayed unready for timeout_ms */
	POP3_STREAM_TLS_CLOSED,		/* the peer closed (close_notify, or
					 * end of file with no TLS error) */
	POP3_STREAM_TLS_FAILED,		/* a TLS or poll error: stream->error */
};

/* After a TLS call on STREAM returned RET (not success): wait, at most
 * timeout_ms, for the socket to be readable or writable when OpenSSL
 * wants that, and say what the caller does next. */
static enum pop3_stream_tls_step pop3_stream_tls_wait(struct pop3_stream *stream,
						      int ret)
{
	int wait;

	switch (SSL_get_error(stream->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		wait = pop3_stream_wait(stream, POLLIN);
		break;
	case SSL_ERROR_WANT_WRITE:
		wait = pop3_stream_wait(stream, POLLOUT);
		break;
	case SSL_ERROR_ZERO_RETURN:
		return POP3_STREAM_TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0)
			return POP3_STREAM_TLS_CLOSED;
		/* fall through */
	default:
		stream->error = pop3_stream_tls_error();
		return POP3_STREAM_TLS_FAILED;
	}
	if (wait < 0)
		return POP3_STREAM_TLS_FAILED;
	return wait == 0 ? POP3_STREAM_TLS_TIMEOUT : POP3_STREAM_TLS_AGAIN;
}

int pop3_stream_start_tls(struct pop3_stream *stream, SSL_CTX *ctx)
{
	enum pop3_stream_tls_step step;
	int ret;

	if (stream->in_end > stream->in_start) {
		stream->error = "input pipelined after STLS";
		return -1;
	}
	stream->ssl = SSL_new(ctx);
	if (stream->ssl == NULL || SSL_set_fd(stream->ssl, stream->fd) != 1) {
		stream->error = pop3_stream_tls_error();
		return -1;
	}
	for (;;) {
		ret = SSL_accept(stream->ssl);
		if (ret == 1)
			return 0;
		step = pop3_stream_tls_wait(stream, ret);
		if (step == POP3_STREAM_TLS_AGAIN)
			continue;
		if (step == POP3_STREAM_TLS_TIMEOUT)
			stream->error = "TLS handshake timed out";
		else if (step == POP3_STREAM_TLS_CLOSED)
			stream->error = pop3_stream_tls_error();
		return -1;
	}
}

/* Read more input into the buffer. */
static enum pop3_stream_status pop3_stream_fill(struct pop3_stream *stream)
{
	size_t room;
	ssize_t got;
	int wait;

	if (stream->in_start > 0) {
		memmove(stream->in, stream->in + stream->in_start,
			stream->in_end - stream->in_start);
		stream->in_end -= stream->in_start;
		stream->in_start = 0;
	}
	room = sizeof(stream->in) - stream->in_end;
	if (room == 0)
		return POP3_STREAM_TOO_LONG;
	for (;;) {
		if (stream->ssl != NULL) {
			int ret = SSL_read(stream->ssl,
					   stream->in + stream->in_end,
					   (int)room);

			if (ret > 0) {
				stream->in_end += (size_t)ret;
				return POP3_STREAM_OK;
			}
			switch (pop3_stream_tls_wait(stream, ret)) {
			case POP3_STREAM_TLS_AGAIN:
				break;
			case POP3_STREAM_TLS_TIMEOUT:
				return POP3_STREAM_TIMEOUT;
			case POP3_STREAM_TLS_CLOSED:
				return POP3_STREAM_EOF;
			case POP3_STREAM_TLS_FAILED:
				return POP3_STREAM_ERROR;
			}
		} else {
			got = read(stream->fd, stream->in + stream->in_end, room);
			if (got > 0) {
				stream->in_end += (size_t)got;
				return POP3_STREAM_OK;
			}
			if (got == 0)
				return POP3_STREAM_EOF;
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				if (errno == ECONNRESET)
					return POP3_STREAM_EOF;
				stream->error = strerror(errno);
				return POP3_STREAM_ERROR;
			}
			wait = pop3_stream_wait(stream, POLLIN);
			if (wait < 0)
				return POP3_STREAM_ERROR;
			if (wait == 0)
				return POP3_STREAM_TIMEOUT;
		}
	}
}

enum pop3_stream_status pop3_stream_read_line(struct pop3_stream *stream,
					      char *line, size_t max,
					      size_t *len_r)
{
	enum pop3_stream_status status;
	size_t scanned = 0;

	for (;;) {
		const unsigned char *start = stream->in + stream->in_start;
		size_t avail = stream->in_end - stream->in_start;
		const unsigned char *lf = memchr(start + scanned, '\n',
						 avail - scanned);

		if (lf != NULL) {
			size_t len = (size_t)(lf - start);
			size_t consumed = len + 1;

			if (len > 0 && start[len - 1] == '\r')
				len--;
			if (len > max)
				return POP3_STREAM_TOO_LONG;
			memcpy(line, start, len);
			line[len] = '\0';
			*len_r = len;
			stream->in_start += consumed;
			if (stream->in_start == stream->in_end)
				stream->in_start = stream->in_end = 0;
			return POP3_STREAM_OK;
		}
		/* max + CR + LF must fit: a longer line is refused unseen */
		if (avail > max + 1)
			return POP3_STREAM_TOO_LONG;
		scanned = avail;
		status = pop3_stream_fill(stream);
		if (status != POP3_STREAM_OK)
			return status;
	}
}

size_t pop3_stream_discard_input(struct pop3_stream *stream)
{
	size_t avail = stream->in_end - stream->in_start;

	OPENSSL_cleanse(stream->in, sizeof(stream->in));
	stream->in_start = stream->in_end = 0;
	return avail;
}

size_t pop3_stream_take_buffered(struct pop3_stream *stream, void *buf,
				 size_t size)
{
	size_t avail = stream->in_end - stream->in_start;

	if (avail > size)
		avail = size;
	memcpy(buf, stream->in + stream->in_start, avail);
	stream->in_start += avail;
	if (stream->in_start == stream->in_end)
		stream->in_start = stream->in_end = 0;
	return avail;
}

/* Write DATA to the peer now, waiting at most timeout_ms per step. */
static int pop3_stream_send(struct pop3_stream *stream,
			    const unsigned char *data, size_t len)
{
	enum pop3_stream_tls_step step;
	int wait;

	while (len > 0) {
		ssize_t done;

		if (stream->ssl != NULL) {
			int ret = SSL_write(stream->ssl, data,
					    len > 1 << 30 ? 1 << 30 : (int)len);

			if (ret <= 0) {
				step = pop3_stream_tls_wait(stream, ret);
				if (step == POP3_STREAM_TLS_AGAIN)
					continue;
				if (step == POP3_STREAM_TLS_TIMEOUT)
					stream->error = "client stopped reading";
				else if (step == POP3_STREAM_TLS_CLOSED)
					stream->error = pop3_stream_tls_error();
				return -1;
			}
			done = ret;
		} else {
			done = send(stream->fd, data, len, MSG_NOSIGNAL);
			if (done < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK) {
					stream->error = strerror(errno);
					return -1;
				}
				wait = pop3_stream_wait(stream, POLLOUT);
				if (wait <= 0) {
					if (wait == 0)
						stream->error = "client stopped reading";
					return -1;
				}
				continue;
			}
		}
		data += done;
		len -= (size_t)done;
		stream->bytes_out += (unsigned long long)done;
	}
	return 0;
}

void pop3_stream_write(struct pop3_stream *stream, const void *data,
		       size_t len)
{
	const unsigned char *p = data;

	if (stream->write_failed)
		return;
	while (len > 0) {
		size_t room = sizeof(stream->out) - stream->out_len;

		if (room == 0) {
			if (pop3_stream_flush(stream) < 0)
				return;
			continue;
		}
		if (stream->out_len == 0 && len >= sizeof(stream->out)) {
			/* a big block: no copy */
			if (pop3_stream_send(stream, p, len) < 0)
				stream->write_failed = true;
			return;
		}
		if (room > len)
			room = len;
		memcpy(stream->out + stream->out_len, p, room);
		stream->out_len += room;
		p += room;
		len -= room;
	}
}

void pop3_stream_puts(struct pop3_stream *stream, const char *text)
{
	pop3_stream_write(stream, text, strlen(text));
}

void pop3_stream_printf(struct pop3_stream *stream, const char *fmt, ...)
{
	char line[512];
	va_list args;
	int len;

	va_start(args, fmt);
	len = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	pop3_stream_write(stream, line, (size_t)len);
}

int pop3_stream_flush(struct pop3_stream *stream)
{
	if (stream->write_failed)
		return -1;
	if (stream->out_len == 0)
		return 0;
	if (pop3_stream_send(stream, stream->out, stream->out_len) < 0) {
		stream->write_failed = true;
		stream->out_len = 0;
		return -1;
	}
	stream->out_len = 0;
	return 0;
}

int pop3_stream_flush_if_idle(struct pop3_stream *stream)
{
	const unsigned char *start = stream->in + stream->in_start;
	size_t avail = stream->in_end - stream->in_start;

	/* a whole further command is waiting: answer it in the same write */
	if (avail > 0 && memchr(start, '\n', avail) != NULL
	    && stream->out_len < sizeof(stream->out) / 2)
		return stream->write_failed ? -1 : 0;
	return pop3_stream_flush(stream);
}

void pop3_stream_end_tls(struct pop3_stream *stream)
{
	if (stream->ssl == NULL)
		return;
	if (!stream->write_failed)
		(void)SSL_shutdown(stream->ssl);
	SSL_free(stream->ssl);
	stream->ssl = NULL;
}

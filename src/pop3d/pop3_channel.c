/* pop3_channel: framing for the login/session socket pair. The peer is not
 * trusted: lengths are capped before anything is read. */
#include "pop3_channel.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int pop3_channel_send(int fd, const void *payload, size_t len)
{
	char head[24], comma[1] = { ',' };
	union { const void *in; void *out; } unconst = { .in = payload };
	struct iovec iov[3];
	struct msghdr msg;
	int head_len;
	ssize_t done;
	size_t total, i;

	if (len > POP3_CHANNEL_MAX)
		return -1;
	head_len = snprintf(head, sizeof(head), "%zu:", len);
	iov[0].iov_base = head;
	iov[0].iov_len = (size_t)head_len;
	iov[1].iov_base = unconst.out;	/* sendmsg does not write it */
	iov[1].iov_len = len;
	iov[2].iov_base = comma;
	iov[2].iov_len = 1;
	total = (size_t)head_len + len + 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 3;
	while (total > 0) {
		done = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				(void)poll(&pfd, 1, 1000);
				continue;
			}
			return -1;
		}
		total -= (size_t)done;
		/* advance the iovecs past what went out */
		for (i = 0; i < msg.msg_iovlen && done > 0; i++) {
			size_t step = (size_t)done < msg.msg_iov[i].iov_len ?
			    (size_t)done : msg.msg_iov[i].iov_len;

			msg.msg_iov[i].iov_base = (char *)msg.msg_iov[i].iov_base + step;
			msg.msg_iov[i].iov_len -= step;
			done -= (ssize_t)step;
		}
	}
	return 0;
}

/* Read exactly LEN bytes. */
static int pop3_channel_read_exact(int fd, char *buf, size_t len,
				   int timeout_ms, const char **error_r)
{
	while (len > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t got;
		int ret;

		ret = poll(&pfd, 1, timeout_ms);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0) {
			*error_r = ret == 0 ? "timed out" : strerror(errno);
			return -1;
		}
		got = read(fd, buf, len);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			*error_r = got == 0 ? "closed" : strerror(errno);
			return -1;
		}
		buf += got;
		len -= (size_t)got;
	}
	return 0;
}

ssize_t pop3_channel_recv(int fd, char *buf, size_t size, int timeout_ms,
			  const char **error_r)
{
	size_t len = 0, digits = 0;
	char c;

	for (;;) {
		if (pop3_channel_read_exact(fd, &c, 1, timeout_ms, error_r) < 0)
			return -1;
		if (c == ':')
			break;
		if (c < '0' || c > '9' || digits >= 6 || (digits == 1 && len == 0)) {
			*error_r = "malformed length";
			return -1;
		}
		len = len * 10 + (size_t)(c - '0');
		digits++;
	}
	if (digits == 0 || len >= size || len > POP3_CHANNEL_MAX) {
		*error_r = "message too long";
		return -1;
	}
	if (pop3_channel_read_exact(fd, buf, len, timeout_ms, error_r) < 0
	    || pop3_channel_read_exact(fd, &c, 1, timeout_ms, error_r) < 0)
		return -1;
	if (c != ',') {
		*error_r = "missing comma";
		return -1;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

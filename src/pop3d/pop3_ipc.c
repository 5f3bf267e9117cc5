/* pop3_ipc: datagrams with an optional descriptor over SOCK_SEQPACKET.
 * Never trusts the peer: truncation and stray descriptors are errors. */
#include "pop3_ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int pop3_ipc_send2(int socket_fd, enum pop3_ipc_type type, uint32_t conn_id,
		   const void *head, size_t head_len, const void *tail,
		   size_t tail_len, int fd)
{
	struct pop3_ipc_header header = { .type = type, .conn_id = conn_id };
	union { const void *in; void *out; } h = { .in = head }, t = { .in = tail };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov[3];
	struct msghdr msg;
	ssize_t sent;

	if (head_len + tail_len > POP3_IPC_PAYLOAD_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	iov[0].iov_base = &header;
	iov[0].iov_len = sizeof(header);
	iov[1].iov_base = h.out;
	iov[1].iov_len = head_len;
	iov[2].iov_base = t.out;
	iov[2].iov_len = tail_len;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 3;
	if (fd >= 0) {
		struct cmsghdr *cmsg;

		memset(&control, 0, sizeof(control));
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	do {
		sent = sendmsg(socket_fd, &msg, MSG_NOSIGNAL);
	} while (sent < 0 && errno == EINTR);
	return sent < 0 ? -1 : 0;
}

int pop3_ipc_send(int socket_fd, enum pop3_ipc_type type, uint32_t conn_id,
		  const void *payload, size_t len, int fd)
{
	return pop3_ipc_send2(socket_fd, type, conn_id, payload, len, NULL, 0,
			      fd);
}

int pop3_ipc_recv(int socket_fd, struct pop3_ipc_message *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} control;
	struct iovec iov[2];
	struct msghdr mh;
	struct cmsghdr *cmsg;
	ssize_t got;
	int fds = 0;

	msg->fd = -1;
	iov[0].iov_base = &msg->header;
	iov[0].iov_len = sizeof(msg->header);
	iov[1].iov_base = msg->payload;
	iov[1].iov_len = sizeof(msg->payload);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	do {
		got = recvmsg(socket_fd, &mh, MSG_CMSG_CLOEXEC);
	} while (got < 0 && errno == EINTR);
	if (got <= 0)
		return got == 0 ? 0 : -1;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		size_t i, n;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
			if (fds++ == 0)
				msg->fd = fd;
			else
				close(fd);
		}
	}
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || fds > 1
	    || (size_t)got < sizeof(msg->header)) {
		if (msg->fd >= 0)
			close(msg->fd);
		msg->fd = -1;
		errno = EBADMSG;
		return -1;
	}
	msg->payload_len = (size_t)got - sizeof(msg->header);
	return 1;
}

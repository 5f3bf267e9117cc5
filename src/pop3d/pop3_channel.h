#ifndef RELAYGATE_POP3_CHANNEL_H
#define RELAYGATE_POP3_CHANNEL_H
/* pop3_channel: netstring messages between the login process and its
 * session process over their socket pair. Reads are exact (never past the
 * message), so the same socket can carry a raw byte stream afterwards. */
#include <stddef.h>
#include <sys/types.h>

/* Largest payload on the channel. */
#define POP3_CHANNEL_MAX 16384

/* Send PAYLOAD (LEN bytes) as one netstring. Returns 0 or -1. */
int pop3_channel_send(int fd, const void *payload, size_t len);

/* Receive one netstring into BUF (SIZE bytes, payload at most SIZE - 1,
 * NUL-terminated) waiting at most TIMEOUT_MS (-1: no limit). Returns the
 * payload length, or -1 on EOF, timeout or a malformed message (*error_r
 * says which). */
ssize_t pop3_channel_recv(int fd, char *buf, size_t size, int timeout_ms,
			  const char **error_r);

#endif

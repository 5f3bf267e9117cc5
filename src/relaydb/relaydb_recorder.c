/* relaydb_recorder: the client side of relaygate-recorder(8). Hands one
 * grant over a connection kept in the handle and waits, bounded by the
 * lock timeout, for the answer. Must never report a grant recorded unless
 * the recorder answered "ok", and never turn "the recorder is away" into
 * a lost grant: such failures return 1 and the caller writes the store
 * itself (the same flock protocol). */
#include "relaydb_private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "listen_endpoint.h"
#include "recorder_protocol.h"

/* Wait for an answer at least this long when lock_timeout_ms is 0. */
#define RECORDER_MIN_WAIT_MS 1000

static int64_t recorder_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void relaydb_recorder_close(struct relaydb *db)
{
	if (db->recorder_fd >= 0)
		close(db->recorder_fd);
	db->recorder_fd = -1;
}

/* Connect to the recorder, waiting at most TIMEOUT_MS when its listen
 * queue is full. Returns the non-blocking descriptor or -1 (errno set). */
static int recorder_connect(const struct relaydb *db, unsigned timeout_ms)
{
	struct listen_endpoint ep;
	struct timeval tv;
	const char *error;
	int fd, flags, err;

	if (listen_endpoint_parse(db->recorder, &ep, &error) < 0) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(ep.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)&ep.addr, ep.addr_len) < 0
	    || (flags = fcntl(fd, F_GETFL)) < 0
	    || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* Wait until FD is ready for EVENTS or DEADLINE passes (ETIMEDOUT). */
static int recorder_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - recorder_now_ms();
		int ready;

		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ready = poll(&pfd, 1, (int)left);
		if (ready > 0)
			return 0;
		if (ready < 0 && errno != EINTR)
			return -1;
	}
}

/* Send LINE and read one answer line into REPLY (NUL-terminated, newline
 * removed). Returns 0, or -1 with errno set (ECONNRESET for an early end,
 * EPROTO for an answer that breaks the protocol). */
static int recorder_exchange(int fd, const char *line, size_t len,
			     int64_t deadline, char *reply, size_t size)
{
	size_t sent = 0, got = 0;

	/* the answer cannot be there before the request: wait first */
	bool waited = false;

	while (sent < len) {
		ssize_t n = send(fd, line + sent, len - sent, MSG_NOSIGNAL);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (recorder_wait(fd, POLLOUT, deadline) < 0)
				return -1;
			continue;
		}
		return -1;
	}
	for (;;) {
		ssize_t n;
		char *nl;

		if (!waited) {
			if (recorder_wait(fd, POLLIN, deadline) < 0)
				return -1;
			waited = true;
		}
		n = recv(fd, reply + got, size - 1 - got, 0);

		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -1;
			if (recorder_wait(fd, POLLIN, deadline) < 0)
				return -1;
			continue;
		}
		got += (size_t)n;
		nl = memchr(reply, '\n', got);
		if (nl != NULL) {
			/* One request in flight: nothing may follow. */
			if ((size_t)(nl - reply) + 1 != got) {
				errno = EPROTO;
				return -1;
			}
			*nl = '\0';
			return 0;
		}
		if (got == size - 1) {
			errno = EPROTO;
			return -1;
		}
	}
}

int relaydb_recorder_record(struct relaydb *db, const struct relaydb_grant *grant,
			    const char *user, const char *source)
{
	char line[RECORDER_LINE_MAX], reply[RECORDER_LINE_MAX + 1];
	unsigned timeout_ms = db->settings.lock_timeout_ms > RECORDER_MIN_WAIT_MS
	    ? db->settings.lock_timeout_ms : RECORDER_MIN_WAIT_MS;
	int64_t deadline = recorder_now_ms() + timeout_ms;
	size_t len = recorder_request_format(&grant->address, grant->when,
					     user, source, line);
	const char *kind, *text;
	unsigned attempt;

	/* A connection made before a fork belongs to the parent: answers
	 * must not go to the wrong process. The child makes its own. */
	if (db->recorder_fd >= 0 && db->recorder_pid != relaydb_process_id()) {
		close(db->recorder_fd);
		db->recorder_fd = -1;
	}
	for (attempt = 0;; attempt++) {
		bool fresh = false;

		if (db->recorder_fd < 0) {
			/* ENOENT, ECONNREFUSED: no recorder; a full queue
			 * past the timeout: a stuck one. Either way the
			 * store is written directly. */
			db->recorder_fd = recorder_connect(db, timeout_ms);
			if (db->recorder_fd < 0)
				return 1;
			db->recorder_pid = relaydb_process_id();
			fresh = true;
		}
		if (recorder_exchange(db->recorder_fd, line, len, deadline,
				      reply, sizeof(reply)) == 0)
			break;
		relaydb_recorder_close(db);
		/* A kept connection the recorder closed (it restarted, or
		 * closed it idle): try a new one once. A retry is harmless:
		 * recording the same grant twice changes nothing. */
		if (!fresh && attempt == 0
		    && (errno == EPIPE || errno == ECONNRESET))
			continue;
		return 1;
	}
	if (strcmp(reply, "ok") == 0)
		return 0;
	if (strncmp(reply, "error ", 6) != 0) {
		relaydb_recorder_close(db);
		return 1;	/* not our protocol: write it ourselves */
	}
	kind = reply + 6;
	text = kind + strcspn(kind, " ");
	relaydb_set_error(db, recorder_error_kind(kind, (size_t)(text - kind)),
			  "relaygate-recorder: %s", kind);
	return -1;
}

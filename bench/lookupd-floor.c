/* lookupd-floor: the benchmark floor for relaygate-lookupd. The same
 * protocols, parsers, caps and event loop, but no lookup at all: every
 * socketmap request is answered "NOTFOUND " and every policy request
 * "action=DUNNO". Never installed. Usage:
 *   lookupd-floor socketmap|policy ENDPOINT */
#define _GNU_SOURCE 1
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buffer.h"
#include "event_loop.h"
#include "listen_endpoint.h"
#include "netstring.h"
#include "policy_request.h"
#include "socketmap_request.h"

struct floor_connection {
	struct event_watch watch;
	struct buffer input, output;
	struct policy_parser policy;	/* zeroed by calloc: reset */
};

static struct event_loop *floor_loop;
static int floor_policy;

static void floor_close(struct floor_connection *conn)
{
	event_loop_remove(floor_loop, &conn->watch);
	close(conn->watch.fd);
	buffer_free(&conn->input);
	buffer_free(&conn->output);
	free(conn);
}

static int floor_process(struct floor_connection *conn)
{
	while (buffer_length(&conn->input) > 0) {
		const unsigned char *data = buffer_data(&conn->input);
		size_t len = buffer_length(&conn->input), consumed = 0;
		const char *error;

		if (floor_policy) {
			enum policy_parse_result r = policy_parser_feed(
			    &conn->policy, data, len, &consumed, &error);

			if (r == POLICY_PARSE_INCOMPLETE)
				return 0;
			if (r == POLICY_PARSE_INVALID)
				return -1;
			policy_parser_reset(&conn->policy);
			if (buffer_append(&conn->output, "action=DUNNO\n\n", 14) < 0)
				return -1;
		} else {
			const unsigned char *payload;
			size_t payload_len;
			struct socketmap_request req;
			enum netstring_result r = netstring_parse(
			    data, len, SOCKETMAP_REQUEST_MAX, &payload,
			    &payload_len, &consumed, &error);

			if (r == NETSTRING_INCOMPLETE)
				return 0;
			if (r == NETSTRING_INVALID)
				return -1;
			if (socketmap_request_parse(payload, payload_len, &req,
						    &error) < 0)
				return -1;
			if (netstring_append(&conn->output, "NOTFOUND ", 9) < 0)
				return -1;
		}
		buffer_consume(&conn->input, consumed);
	}
	return 0;
}

static void floor_event(struct event_watch *watch, unsigned events)
{
	struct floor_connection *conn = watch->context;
	size_t room;
	unsigned char *at = buffer_reserve(&conn->input, 4096, &room);
	ssize_t n;

	if (at == NULL) {
		floor_close(conn);
		return;
	}
	n = recv(watch->fd, at, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		floor_close(conn);
		return;
	}
	buffer_commit(&conn->input, (size_t)n);
	if (floor_process(conn) < 0) {
		floor_close(conn);
		return;
	}
	while (buffer_length(&conn->output) > 0) {
		n = send(watch->fd, buffer_data(&conn->output),
			 buffer_length(&conn->output), MSG_NOSIGNAL);
		if (n <= 0) {
			floor_close(conn);	/* the bench client always reads */
			return;
		}
		buffer_consume(&conn->output, (size_t)n);
	}
}

static void floor_accept(struct event_watch *watch, unsigned events)
{
	for (;;) {
		struct floor_connection *conn;
		int fd = accept4(watch->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		conn = calloc(1, sizeof(*conn));
		if (conn == NULL) {
			close(fd);
			return;
		}
		buffer_init(&conn->input, POLICY_REQUEST_MAX + 4096);
		buffer_init(&conn->output, 65536);
		conn->watch.fd = fd;
		conn->watch.handler = floor_event;
		conn->watch.context = conn;
		if (event_loop_add(floor_loop, &conn->watch, EVENT_READ) < 0) {
			close(fd);
			free(conn);
		}
	}
}

int main(int argc, char **argv)
{
	struct listen_endpoint ep;
	struct event_watch listener;
	const char *error;
	char message[256];

	if (argc != 3 || (strcmp(argv[1], "socketmap") != 0
			  && strcmp(argv[1], "policy") != 0)) {
		fprintf(stderr, "usage: lookupd-floor socketmap|policy ENDPOINT\n");
		return 64;
	}
	floor_policy = strcmp(argv[1], "policy") == 0;
	if (listen_endpoint_parse(argv[2], &ep, &error) < 0) {
		fprintf(stderr, "lookupd-floor: %s: %s\n", argv[2], error);
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&listener, 0, sizeof(listener));
	listener.fd = listen_endpoint_open(&ep, 512, message, sizeof(message));
	if (listener.fd < 0) {
		fprintf(stderr, "lookupd-floor: %s\n", message);
		return 69;
	}
	listener.handler = floor_accept;
	floor_loop = event_loop_create();
	if (floor_loop == NULL || event_loop_add(floor_loop, &listener, EVENT_READ) < 0) {
		perror("lookupd-floor: epoll");
		return 71;
	}
	for (;;) {
		if (event_loop_run_once(floor_loop, -1) < 0 && errno != EINTR) {
			perror("lookupd-floor: epoll_wait");
			return 71;
		}
	}
}

/* connection_list: accepting, reading, sending and closing the clients of
 * relaygate-lookupd and relaygate-recorder, written once. Must never hold
 * more than max_connections clients (the rest wait in the listen queue),
 * never let a buffer grow past its cap, and never touch a connection
 * after freeing it. */
#define _GNU_SOURCE 1
#include "connection_list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

/* Watch every listener for EVENTS: EVENT_READ to accept, 0 to pause. */
static void connection_list_watch_listeners(struct connection_list *list,
					    unsigned events)
{
	size_t i;

	for (i = 0; i < list->listener_count; i++)
		(void)event_loop_modify(list->loop, list->listeners[i], events);
	list->accepting = events != 0;
}

int connection_list_add_listener(struct connection_list *list,
				 struct event_watch *listener)
{
	struct event_watch **grown;

	grown = realloc(list->listeners,
			(list->listener_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	list->listeners = grown;
	if (event_loop_add(list->loop, listener, EVENT_READ) < 0)
		return -1;
	list->listeners[list->listener_count++] = listener;
	list->accepting = true;
	return 0;
}

struct connection *connection_list_accept(struct connection_list *list,
					  struct event_watch *listener,
					  const char *endpoint_text,
					  size_t input_max)
{
	struct connection *conn;
	int fd;

	if (list->count >= list->max_connections) {
		/* At the limit: leave new clients in the listen queue. */
		if (list->accepting) {
			if (list->max_setting != NULL)
				log_warn("%ld connections (%s): not accepting "
					 "more until one closes", list->count,
					 list->max_setting);
			else
				log_warn("%ld connections: not accepting more "
					 "until one closes", list->count);
			connection_list_watch_listeners(list, 0);
		}
		return NULL;
	}
	fd = accept4(listener->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
		    || errno == ENOMEM)
			log_error("accept on %s: %s", endpoint_text,
				  strerror(errno));
		return NULL;
	}
	conn = calloc(1, list->connection_size);
	if (conn == NULL) {
		log_error("out of memory for a new connection");
		close(fd);
		return NULL;
	}
	buffer_init(&conn->input, input_max);
	buffer_init(&conn->output, list->output_max);
	conn->watch.fd = fd;
	conn->watch.handler = list->handler;
	conn->watch.context = conn;
	if (event_loop_add(list->loop, &conn->watch, EVENT_READ) < 0) {
		log_error("epoll: %s", strerror(errno));
		close(fd);
		free(conn);
		return NULL;
	}
	conn->next = list->first;
	if (conn->next != NULL)
		conn->next->prev = conn;
	list->first = conn;
	list->count++;
	return conn;
}

enum connection_receive_result connection_receive(struct connection *conn,
						  size_t chunk)
{
	size_t room;
	unsigned char *at = buffer_reserve(&conn->input, chunk, &room);
	ssize_t n;

	if (at == NULL)
		return CONNECTION_INPUT_FULL;
	n = recv(conn->watch.fd, at, room, 0);
	if (n > 0)
		buffer_commit(&conn->input, (size_t)n);
	else if (n == 0)
		conn->input_closed = true;
	else if (errno != EAGAIN && errno != EINTR)
		return CONNECTION_RECEIVE_FAILED;
	return CONNECTION_RECEIVED;
}

int connection_flush(struct connection *conn)
{
	while (buffer_length(&conn->output) > 0) {
		ssize_t n = send(conn->watch.fd, buffer_data(&conn->output),
				 buffer_length(&conn->output), MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		buffer_consume(&conn->output, (size_t)n);
	}
	return 0;
}

void connection_list_wait_or_close(struct connection_list *list,
				   struct connection *conn, bool read_more)
{
	unsigned want = 0;

	if (buffer_length(&conn->output) == 0
	    && (conn->closing || conn->input_closed)) {
		/* Answered; what came after a violation or a partial
		 * request before EOF is dropped. */
		connection_list_close(list, conn);
		return;
	}
	if (buffer_length(&conn->output) > 0)
		want |= EVENT_WRITE;
	if (read_more && !conn->input_closed && !conn->closing)
		want |= EVENT_READ;
	(void)event_loop_modify(list->loop, &conn->watch, want);
}

/* Unlink CONN, close its descriptor and free it. */
static void connection_list_forget(struct connection_list *list,
				   struct connection *conn)
{
	event_loop_remove(list->loop, &conn->watch);
	close(conn->watch.fd);
	buffer_free(&conn->input);
	buffer_free(&conn->output);
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		list->first = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	free(conn);
	list->count--;
}

void connection_list_close(struct connection_list *list,
			   struct connection *conn)
{
	connection_list_forget(list, conn);
	if (!list->accepting && list->count < list->max_connections)
		connection_list_watch_listeners(list, EVENT_READ);
}

void connection_list_free(struct connection_list *list)
{
	while (list->first != NULL)
		connection_list_forget(list, list->first);
	free(list->listeners);
	list->listeners = NULL;
	list->listener_count = 0;
	list->accepting = false;
}

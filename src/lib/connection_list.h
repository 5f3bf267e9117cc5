#ifndef RELAYGATE_CONNECTION_LIST_H
#define RELAYGATE_CONNECTION_LIST_H
/* connection_list: the client connections of a single-threaded daemon on
 * an event loop: accepting them up to a maximum (the listeners paused
 * there, resumed when one closes), their bounded input and output
 * buffers, reading, sending, and closing. Knows no protocol: the daemon
 * parses the input and fills the output. */
#include <stdbool.h>
#include <stddef.h>

#include "buffer.h"
#include "event_loop.h"

/* One client. A daemon's connection type starts with this struct (so the
 * list allocates and frees the daemon's whole struct). */
struct connection {
	struct event_watch watch;	/* context: this connection */
	struct buffer input;
	struct buffer output;
	bool input_closed;		/* the peer sent EOF */
	bool closing;			/* protocol violation: send what is
					 * answered, then close */
	struct connection *prev, *next;
};

struct connection_list {
	/* set by the caller */
	struct event_loop *loop;
	long max_connections;		/* the listeners pause there */
	const char *max_setting;	/* named in the warning, or NULL */
	size_t connection_size;		/* the daemon's connection type */
	event_handler *handler;		/* called with a connection's events */
	size_t output_max;		/* cap of each output buffer */
	/* kept by connection_list_*() */
	struct connection *first;
	long count;
	bool accepting;
	struct event_watch **listeners;
	size_t listener_count;
};

/* What connection_receive() did. */
enum connection_receive_result {
	CONNECTION_RECEIVED,		/* bytes read, EOF, or nothing yet */
	CONNECTION_INPUT_FULL,		/* the input is at its cap: not read */
	CONNECTION_RECEIVE_FAILED,	/* a read error: close the connection */
};

/* Watch LISTENER (fd and handler set by the caller) for clients to
 * accept, and pause it with the others at the maximum. Returns 0, or -1
 * with errno set. */
int connection_list_add_listener(struct connection_list *list,
				 struct event_watch *listener);

/* Accept one client waiting on LISTENER (at ENDPOINT_TEXT, for the log):
 * a zeroed connection of list->connection_size bytes, input capped at
 * INPUT_MAX, watched for reading. Returns NULL when no client waits, on
 * an error (logged), or at the maximum (the listeners are then paused,
 * logged once). */
struct connection *connection_list_accept(struct connection_list *list,
					  struct event_watch *listener,
					  const char *endpoint_text,
					  size_t input_max);

/* Read what the peer of CONN sent, at most CHUNK bytes; EOF sets
 * input_closed. */
enum connection_receive_result connection_receive(struct connection *conn,
						  size_t chunk);

/* Send what CONN has in its output until the peer stops taking it.
 * Returns 0, or -1 on a write error. */
int connection_flush(struct connection *conn);

/* After CONN's input was answered: close CONN when its output is sent and
 * it will read nothing more (closing, or EOF); else watch it for writing
 * while output waits, and for reading when READ_MORE and it is neither
 * closing nor at EOF. CONN may be freed. */
void connection_list_wait_or_close(struct connection_list *list,
				   struct connection *conn, bool read_more);

/* Close CONN, forget it and free it; resume the listeners below the
 * maximum. */
void connection_list_close(struct connection_list *list,
			   struct connection *conn);

/* Close every connection (the listeners stay as they are) and release
 * what the list holds. */
void connection_list_free(struct connection_list *list);

#endif

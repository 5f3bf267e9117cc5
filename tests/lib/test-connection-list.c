/* test-connection-list: a list accepts clients up to its maximum, then
 * pauses its listeners and resumes them when one closes; connections are
 * the caller's zeroed type; receiving stops at the input cap and sees EOF
 * and read errors; flushing sends everything, waits for a slow peer and
 * reports a gone one; a finished connection is closed, another watched
 * for what it waits for. */
#define _GNU_SOURCE 1
#include "connection_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test-common.h"

/* A daemon's connection type: the list must allocate all of it. */
struct test_connection {
	struct connection base;
	int marker;
	char tail[100];
};

static void test_connection_event(struct event_watch *watch, unsigned events)
{
	(void)watch;
	(void)events;
}

/* A listening unix socket in a fresh directory, its address in ADDR_R. */
static int test_listen(struct sockaddr_un *addr_r)
{
	char dir[] = "/tmp/test-connection-list.XXXXXX";
	int fd;

	memset(addr_r, 0, sizeof(*addr_r));
	addr_r->sun_family = AF_UNIX;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(addr_r->sun_path, sizeof(addr_r->sun_path), "%s/s", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)addr_r, sizeof(*addr_r)) < 0
			|| listen(fd, 16) < 0)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Remove the socket and its directory. */
static void test_unlisten(int fd, const struct sockaddr_un *addr)
{
	char dir[sizeof(addr->sun_path)], *slash;

	close(fd);
	(void)unlink(addr->sun_path);
	snprintf(dir, sizeof(dir), "%s", addr->sun_path);
	slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		(void)rmdir(dir);
	}
}

static int test_connect(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)addr,
			       sizeof(*addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A list with one listener on a unix socket, as a daemon has. */
struct test_server {
	struct sockaddr_un addr;
	struct event_watch listener;
	struct connection_list list;
};

static void test_server_stop(struct test_server *server);

/* Start SERVER for at most MAX clients; false (asserted, SERVER
 * stopped) on failure. */
static bool test_server_start(struct test_server *server, long max)
{
	memset(server, 0, sizeof(*server));
	server->list = (struct connection_list){
		.loop = event_loop_create(),
		.max_connections = max,
		.max_setting = "test_max_connections",
		.connection_size = sizeof(struct test_connection),
		.handler = test_connection_event,
		.output_max = 128,
	};
	server->listener.fd = test_listen(&server->addr);
	if (test_assert(server->list.loop != NULL && server->listener.fd >= 0)
	    && test_assert(connection_list_add_listener(&server->list,
							&server->listener) == 0))
		return true;
	test_server_stop(server);
	return false;
}

/* Close SERVER's connections, its listener and its loop. */
static void test_server_stop(struct test_server *server)
{
	connection_list_free(&server->list);
	if (server->listener.fd >= 0)
		test_unlisten(server->listener.fd, &server->addr);
	event_loop_destroy(&server->list.loop);
}

/* Connect COUNT clients to SERVER into CLIENTS; true when all did. */
static bool test_clients_connect(const struct test_server *server,
				 int *clients, int count)
{
	bool all = true;
	int i;

	for (i = 0; i < count; i++) {
		clients[i] = test_connect(&server->addr);
		if (clients[i] < 0)
			all = false;
	}
	return all;
}

static void test_clients_close(const int *clients, int count)
{
	int i;

	for (i = 0; i < count; i++) {
		if (clients[i] >= 0)
			close(clients[i]);
	}
}

/* Accept what waits on SERVER's listener; returns the number accepted. */
static int test_accept_all(struct test_server *server)
{
	int accepted = 0;

	while (connection_list_accept(&server->list, &server->listener, "test",
				      64) != NULL)
		accepted++;
	return accepted;
}

static void test_connection_list_maximum(void)
{
	struct test_server server;
	struct connection_list *list = &server.list;
	struct test_connection *tconn;
	int clients[3];

	test_begin("connection_list: accepts up to the maximum, pauses the "
		   "listener there, resumes it when one closes");
	if (!test_server_start(&server, 2)) {
		test_end();
		return;
	}
	test_assert(list->accepting && server.listener.events == EVENT_READ);
	test_assert(test_clients_connect(&server, clients, 3));

	test_assert_int_eq(test_accept_all(&server), 2);
	test_assert_int_eq(list->count, 2);
	test_assert(!list->accepting && server.listener.events == 0);
	tconn = (struct test_connection *)list->first;
	test_assert(tconn != NULL);
	if (tconn != NULL) {
		/* the whole caller's type, zeroed, watched for reading */
		test_assert(tconn->marker == 0 && tconn->tail[99] == 0);
		tconn->tail[99] = 'x';
		test_assert(tconn->base.watch.context == &tconn->base);
		test_assert(tconn->base.watch.handler == test_connection_event);
		test_assert(tconn->base.watch.events == EVENT_READ);
		test_assert_int_eq(tconn->base.input.max, 64);
		test_assert_int_eq(tconn->base.output.max, 128);
		test_assert(tconn->base.next != NULL
			    && tconn->base.next->prev == &tconn->base);
	}
	/* at the maximum, asking again accepts nothing */
	test_assert_int_eq(test_accept_all(&server), 0);

	connection_list_close(list, list->first);
	test_assert_int_eq(list->count, 1);
	test_assert(list->accepting && server.listener.events == EVENT_READ);
	/* the third client waited in the listen queue */
	test_assert_int_eq(test_accept_all(&server), 1);
	test_assert_int_eq(list->count, 2);
	test_assert(!list->accepting);

	connection_list_free(list);
	test_assert(list->first == NULL && list->count == 0);
	test_assert(list->listeners == NULL && list->listener_count == 0);
	test_clients_close(clients, 3);
	test_server_stop(&server);
	test_end();
}

static void test_connection_list_wait_or_close(void)
{
	struct test_server server;
	struct connection_list *list = &server.list;
	struct connection *conn;
	int clients[2];

	test_begin("connection_list: a finished connection is closed, "
		   "another watched for what it waits for");
	if (!test_server_start(&server, 10)) {
		test_end();
		return;
	}
	test_assert(test_clients_connect(&server, clients, 2));
	conn = connection_list_accept(list, &server.listener, "test", 64);
	test_assert(conn != NULL);
	if (conn != NULL) {
		test_assert(buffer_append(&conn->output, "ok\n", 3) == 0);
		connection_list_wait_or_close(list, conn, true);
		test_assert(conn->watch.events == (EVENT_READ | EVENT_WRITE));
		connection_list_wait_or_close(list, conn, false);
		test_assert(conn->watch.events == EVENT_WRITE);
		/* closing, but the answer is not sent yet: kept */
		conn->closing = true;
		connection_list_wait_or_close(list, conn, true);
		test_assert(conn->watch.events == EVENT_WRITE);
		test_assert_int_eq(list->count, 1);
		test_assert(connection_flush(conn) == 0);
		/* sent: closed and freed */
		connection_list_wait_or_close(list, conn, true);
		test_assert_int_eq(list->count, 0);
		test_assert(list->first == NULL);
	}
	/* after EOF with nothing to send: closed too */
	conn = connection_list_accept(list, &server.listener, "test", 64);
	test_assert(conn != NULL);
	if (conn != NULL) {
		connection_list_wait_or_close(list, conn, true);
		test_assert(conn->watch.events == EVENT_READ);
		conn->input_closed = true;
		connection_list_wait_or_close(list, conn, true);
		test_assert_int_eq(list->count, 0);
	}
	test_clients_close(clients, 2);
	test_server_stop(&server);
	test_end();
}

static void test_connection_receive(void)
{
	struct connection conn;
	int pair[2], pipe_fds[2];

	test_begin("connection_receive: reads up to the input cap, then says "
		   "full; EOF sets input_closed; a read error fails");
	memset(&conn, 0, sizeof(conn));
	test_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
			       pair) == 0);
	buffer_init(&conn.input, 8);
	conn.watch.fd = pair[0];
	/* nothing sent yet: nothing read, no error */
	test_assert(connection_receive(&conn, 4096) == CONNECTION_RECEIVED);
	test_assert_int_eq(buffer_length(&conn.input), 0);
	test_assert(write(pair[1], "0123456789", 10) == 10);
	test_assert(connection_receive(&conn, 4096) == CONNECTION_RECEIVED);
	test_assert_int_eq(buffer_length(&conn.input), 8);
	test_assert(connection_receive(&conn, 4096) == CONNECTION_INPUT_FULL);
	test_assert(memcmp(buffer_data(&conn.input), "01234567", 8) == 0);
	buffer_consume(&conn.input, 8);
	test_assert(connection_receive(&conn, 4096) == CONNECTION_RECEIVED);
	test_assert_int_eq(buffer_length(&conn.input), 2);
	test_assert(!conn.input_closed);
	close(pair[1]);
	test_assert(connection_receive(&conn, 4096) == CONNECTION_RECEIVED);
	test_assert(conn.input_closed);
	test_assert_int_eq(buffer_length(&conn.input), 2);
	close(pair[0]);

	/* recv() on a pipe: ENOTSOCK, a read error */
	test_assert(pipe(pipe_fds) == 0);
	conn.watch.fd = pipe_fds[0];
	test_assert(connection_receive(&conn, 4096)
		    == CONNECTION_RECEIVE_FAILED);
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	buffer_free(&conn.input);
	test_end();
}

static void test_connection_flush(void)
{
	struct connection conn;
	static char big[1 << 20];
	char got[16];
	int pair[2];

	test_begin("connection_flush: sends the output, keeps what a slow "
		   "peer does not take, fails when the peer is gone");
	memset(&conn, 0, sizeof(conn));
	test_assert(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
			       pair) == 0);
	buffer_init(&conn.output, sizeof(big));
	conn.watch.fd = pair[0];
	test_assert(buffer_append(&conn.output, "hello\n", 6) == 0);
	test_assert(connection_flush(&conn) == 0);
	test_assert_int_eq(buffer_length(&conn.output), 0);
	test_assert(read(pair[1], got, sizeof(got)) == 6);
	test_assert(memcmp(got, "hello\n", 6) == 0);

	/* more than the socket holds: the rest waits, no error */
	memset(big, 'x', sizeof(big));
	test_assert(buffer_append(&conn.output, big, sizeof(big)) == 0);
	test_assert(connection_flush(&conn) == 0);
	test_assert(buffer_length(&conn.output) > 0);
	test_assert(buffer_length(&conn.output) < sizeof(big));

	close(pair[1]);
	test_assert(connection_flush(&conn) == -1);
	close(pair[0]);
	buffer_free(&conn.output);
	test_end();
}

int main(void)
{
	test_connection_list_maximum();
	test_connection_list_wait_or_close();
	test_connection_receive();
	test_connection_flush();
	return test_exit();
}

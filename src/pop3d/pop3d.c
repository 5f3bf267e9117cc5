/* relaygate-pop3d: the master process. It reads the configuration, the
 * password file and the TLS keys (as root), listens, keeps pools of login,
 * auth and mail processes and routes each connection through them:
 * accept -> login process -> auth process (password) -> mail process of
 * the mailbox owner's uid (lock, scan) -> auth process (grant) -> +OK.
 * It counts connections per address, holds failed answers back (the
 * throttle) and never reads a byte from a client. */
#define _GNU_SOURCE 1
#include "pop3d.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "daemon.h"
#include "event_loop.h"
#include "listen_endpoint.h"
#include "log.h"

#define POP3D_NAME "relaygate-pop3d"
#define POP3D_BACKLOG 1024
#define POP3D_LISTENERS_MAX 32
/* Login processes started ahead of connections. */
#define POP3D_LOGIN_SPARE 2

struct pop3d_listener {
	struct listen_endpoint endpoint;
	int fd;
	bool implicit_tls;
};

enum pop3d_child_kind {
	POP3D_CHILD_LOGIN,
	POP3D_CHILD_AUTH,
	POP3D_CHILD_MAIL,
};

struct pop3d_child {
	struct event_watch watch;	/* the channel */
	struct pop3d_child *next;
	pid_t pid;
	enum pop3d_child_kind kind;
	bool busy;			/* login, auth: working for conn_id */
	uint32_t conn_id;
	uid_t uid;			/* mail */
	gid_t gid;
	size_t sessions;		/* mail: sessions it holds */
	uint64_t idle_since_ms;		/* mail: when sessions became 0 */
	unsigned long served;		/* login: connections handed to it */
	bool retired;			/* login: gets no more connections
					 * (it exits after its last, or a send
					 * to it failed); stays "busy".
					 * mail: told to stop (POP3_IPC_STOP)
					 * or unreachable: gets no more
					 * sessions */
	bool reaped;			/* waited for: its pid may be reused */
};

enum pop3d_conn_state {
	POP3D_CONN_LOGIN,		/* the login process talks to it */
	POP3D_CONN_AUTH_QUEUED,		/* waiting for an auth process */
	POP3D_CONN_VERIFYING,
	POP3D_CONN_DELAYING,		/* a failed answer held back */
	POP3D_CONN_HANDING_OVER,
	POP3D_CONN_LOCKING,		/* the mail process opens the mailbox */
	POP3D_CONN_GRANT_QUEUED,
	POP3D_CONN_GRANTING,
	POP3D_CONN_MAIL,		/* logged in */
	POP3D_CONN_CLOSING,		/* mail process told to drop it */
};

struct pop3d_conn {
	uint32_t id;
	enum pop3d_conn_state state;
	struct pop3_ipc_connection client;
	struct pop3d_child *login, *auth, *mail;
	unsigned char *request;		/* login_request while queued */
	size_t request_len;
	struct pop3_ipc_verified *verified;
	uint64_t due_ms;		/* DELAYING: when to answer */
	struct pop3d_conn *queue_next;	/* auth queue or delay list */
};

#define POP3D_CONN_SLOT_BITS 20
#define POP3D_CONN_SLOT_MASK ((1u << POP3D_CONN_SLOT_BITS) - 1)

static struct pop3d pop3d;
static struct pop3d_listener listeners[POP3D_LISTENERS_MAX];
static size_t listener_count;
static struct event_watch listener_watches[POP3D_LISTENERS_MAX];
static struct pop3d_conn **conns;
static size_t conn_slots, conn_count, conn_next_slot;
static uint32_t conn_generation;
static struct pop3d_child *children;
static size_t login_total, login_idle, mail_per_uid_max;
static struct pop3d_conn *auth_queue_head, *auth_queue_tail, *delay_list;
/* When the next idle mail process may be due to stop (UINT64_MAX: none
 * is idle, or pop3_mail_process_idle is 0). */
static uint64_t mail_idle_due_ms = UINT64_MAX;
static struct login_throttle *throttle;
static struct event_loop *loop;
static struct event_watch signal_watch;
static sigset_t original_mask;
static bool stopping;
static struct pop3_ipc_message master_message;
/* A client socket the master holds while it may spawn a child (closed in
 * the child by pop3d_spawn), or -1. */
static int spawn_close_fd = -1;

static const char pop3d_usage[] =
	"usage: " POP3D_NAME " [-F] [-t] [-c config-file]\n"
	"  -c FILE  configuration file (default "
	RELAYGATE_CONF_DEFAULT_PATH ")\n"
	"  -F       stay in the foreground, log to stderr\n"
	"  -t       check the configuration, print the problems, exit\n"
	"  -V       print the version\n";

/* Parse an endpoint list into the listener table. */
static int pop3d_add_listeners(const char *list, bool implicit_tls,
			       char *error, size_t error_size)
{
	struct listen_endpoint *items;
	const char *parse_error;
	size_t count, i;

	if (listen_endpoint_list_parse(list, &items, &count, &parse_error) < 0) {
		snprintf(error, error_size, "%s", parse_error);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (listener_count == POP3D_LISTENERS_MAX) {
			free(items);
			snprintf(error, error_size, "more than %d listening "
				 "addresses", POP3D_LISTENERS_MAX);
			return -1;
		}
		listeners[listener_count].endpoint = items[i];
		listeners[listener_count].fd = -1;
		listeners[listener_count].implicit_tls = implicit_tls;
		listener_count++;
	}
	free(items);
	return 0;
}

/* The TLS context for STLS and the pop3s ports. */
static SSL_CTX *pop3d_tls_context(const char *cert, const char *key,
				  char *error, size_t error_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	unsigned long code;

	if (ctx == NULL)
		goto fail;
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
			    | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
			 | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* one process per connection: a session cache would not be shared */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
	    || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
	    || SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	return ctx;
fail:
	code = ERR_get_error();
	snprintf(error, error_size, "TLS (tls_cert %s, tls_key %s): %s", cert,
		 key, code != 0 ? ERR_error_string(code, NULL) : "failed");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

/* Everything -t checks. Returns the number of problems (printed). */
static int pop3d_check(const struct daemon_options *options)
{
	const char *conf_path = options->conf_path;
	char message[1024];
	int problems = 0;

	if (pop3d_add_listeners(pop3d.conf.pop3_listen, false, message,
				sizeof(message)) < 0
	    || pop3d_add_listeners(pop3d.conf.pop3s_listen, true, message,
				   sizeof(message)) < 0) {
		fprintf(stderr, POP3D_NAME ": %s: %s\n", conf_path, message);
		problems++;
	} else if (listener_count == 0) {
		fprintf(stderr, POP3D_NAME ": %s: nothing to listen on: set "
			"pop3_listen and/or pop3s_listen\n", conf_path);
		problems++;
	}
	if ((pop3d.conf.tls_cert[0] == '\0') != (pop3d.conf.tls_key[0] == '\0')) {
		fprintf(stderr, POP3D_NAME ": %s: tls_cert and tls_key go "
			"together: set both or neither\n", conf_path);
		problems++;
	} else if (pop3d.conf.tls_cert[0] != '\0') {
		pop3d.tls = pop3d_tls_context(pop3d.conf.tls_cert,
					      pop3d.conf.tls_key, message,
					      sizeof(message));
		if (pop3d.tls == NULL) {
			fprintf(stderr, POP3D_NAME ": %s\n", message);
			problems++;
		}
	} else if (pop3d.conf.pop3s_listen[0] != '\0') {
		fprintf(stderr, POP3D_NAME ": %s: pop3s_listen needs tls_cert "
			"and tls_key\n", conf_path);
		problems++;
	}
	pop3d.users = passwd_file_load(pop3d.conf.passwd_file, message,
				       sizeof(message));
	if (pop3d.users == NULL) {
		fprintf(stderr, POP3D_NAME ": passwd_file: %s\n", message);
		problems++;
	}
	if (geteuid() == 0 && pop3d.conf.login_user[0] != '\0'
	    && getpwnam(pop3d.conf.login_user) == NULL) {
		fprintf(stderr, POP3D_NAME ": %s: login_user %s: no such user\n",
			conf_path, pop3d.conf.login_user);
		problems++;
	}
	if (geteuid() == 0 && pop3d.conf.login_user[0] == '\0') {
		fprintf(stderr, POP3D_NAME ": %s: login_user is empty: the "
			"login processes would read client input as root\n",
			conf_path);
		problems++;
	}
	return problems;
}

/* The client's address from a socket address (IPv4-mapped IPv6: IPv4, so
 * that IPv4 blocks of plaintext_auth_networks hold it). */
static void pop3d_client_address(const struct sockaddr_storage *ss,
				 struct pop3_ipc_connection *client)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						  0xff, 0xff };
	char text[ADDRESS_TEXT_MAX];

	memset(&client->address, 0, sizeof(client->address));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		client->address.family = AF_INET;
		memcpy(client->address.bytes, &sin->sin_addr, 4);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		if (memcmp(sin6->sin6_addr.s6_addr, mapped, 12) == 0) {
			client->address.family = AF_INET;
			memcpy(client->address.bytes,
			       sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			client->address.family = AF_INET6;
			memcpy(client->address.bytes, sin6->sin6_addr.s6_addr, 16);
		}
	}
	snprintf(client->address_text, sizeof(client->address_text), "%s",
		 address_format(&client->address, text));
	client->plaintext_auth_network =
	    cidr_list_match(&pop3d.conf.plaintext_auth_networks,
			    &client->address) != NULL;
}

static uint64_t pop3d_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct pop3d_conn *pop3d_conn_find(uint32_t id)
{
	struct pop3d_conn *conn;
	size_t slot = id & POP3D_CONN_SLOT_MASK;

	if (slot >= conn_slots)
		return NULL;
	conn = conns[slot];
	return conn != NULL && conn->id == id ? conn : NULL;
}

/* Remove CONN from the auth queue or the delay list, where it may be. */
static void pop3d_conn_unlink(struct pop3d_conn *conn)
{
	struct pop3d_conn **p, *prev = NULL;

	for (p = &auth_queue_head; *p != NULL; prev = *p, p = &(*p)->queue_next) {
		if (*p == conn) {
			*p = conn->queue_next;
			if (auth_queue_tail == conn)
				auth_queue_tail = prev;
			conn->queue_next = NULL;
			return;
		}
	}
	for (p = &delay_list; *p != NULL; p = &(*p)->queue_next) {
		if (*p == conn) {
			*p = conn->queue_next;
			conn->queue_next = NULL;
			return;
		}
	}
}

static void pop3d_conn_free(struct pop3d_conn *conn)
{
	pop3d_conn_unlink(conn);
	conns[conn->id & POP3D_CONN_SLOT_MASK] = NULL;
	conn_count--;
	if (conn->request != NULL) {
		OPENSSL_cleanse(conn->request, conn->request_len);
		free(conn->request);
	}
	free(conn->verified);
	free(conn);
}

/* Connections from ADDRESS now. */
static size_t pop3d_connections_from(const struct address *address)
{
	size_t i, n = 0;

	for (i = 0; i < conn_slots; i++) {
		const struct pop3d_conn *c = conns[i];

		if (c != NULL && c->client.address.family == address->family
		    && memcmp(c->client.address.bytes, address->bytes,
			      address->family == AF_INET ? 4 : 16) == 0)
			n++;
	}
	return n;
}

/* Refuse a connection with a reply (plaintext ports only) and close it. */
static void pop3d_refuse(int fd, bool implicit_tls, const char *reply)
{
	if (!implicit_tls)
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void pop3d_on_child(struct event_watch *watch, unsigned events);
static uint64_t pop3d_now_ms(void);

/* The mail process CHILD holds no session from now on: it is stopped
 * after pop3_mail_process_idle unless it gets one before. */
static void pop3d_mail_idle_from_now(struct pop3d_child *child)
{
	uint64_t due;

	child->idle_since_ms = pop3d_now_ms();
	if (pop3d.conf.pop3_mail_process_idle == 0)
		return;
	due = child->idle_since_ms
	    + (uint64_t)pop3d.conf.pop3_mail_process_idle * 1000u;
	if (due < mail_idle_due_ms)
		mail_idle_due_ms = due;
}

/* Fork a child of KIND; the child runs its role and never returns. */
static struct pop3d_child *pop3d_spawn(enum pop3d_child_kind kind, uid_t uid,
				       gid_t gid)
{
	struct pop3d_child *child, *c;
	int pair[2];
	pid_t pid;
	size_t i;

	child = calloc(1, sizeof(*child));
	if (child == NULL)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
		log_error("pop3: socketpair: %s", strerror(errno));
		free(child);
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		log_error("pop3: fork: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		free(child);
		return NULL;
	}
	if (pid == 0) {
		struct sigaction sa;

		for (i = 0; i < listener_count; i++)
			close(listeners[i].fd);
		close(signal_watch.fd);
		for (c = children; c != NULL; c = c->next)
			close(c->watch.fd);
		/* Children are spawned while the master holds a client
		 * socket (being handed over, or just accepted): without this
		 * the child keeps a copy and the connection outlives QUIT. */
		if (master_message.fd >= 0)
			close(master_message.fd);
		if (spawn_close_fd >= 0)
			close(spawn_close_fd);
		event_loop_destroy(&loop);
		close(pair[0]);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigprocmask(SIG_SETMASK, &original_mask, NULL);
		switch (kind) {
		case POP3D_CHILD_LOGIN:
			pop3_login_run(&pop3d, pair[1]);
		case POP3D_CHILD_AUTH:
			pop3_auth_run(&pop3d, pair[1]);
		case POP3D_CHILD_MAIL:
			(void)fcntl(pair[1], F_SETFL, O_NONBLOCK);
			pop3_mail_run(&pop3d, pair[1], uid, gid);
		}
		_exit(EX_SOFTWARE);
	}
	close(pair[1]);
	(void)fcntl(pair[0], F_SETFL, O_NONBLOCK);
	child->pid = pid;
	child->kind = kind;
	child->uid = uid;
	child->gid = gid;
	child->watch.fd = pair[0];
	child->watch.handler = pop3d_on_child;
	child->watch.context = child;
	if (event_loop_add(loop, &child->watch, EVENT_READ) < 0) {
		log_error("pop3: epoll: %s", strerror(errno));
		kill(pid, SIGKILL);
		close(pair[0]);
		free(child);
		return NULL;
	}
	child->next = children;
	children = child;
	if (kind == POP3D_CHILD_LOGIN) {
		login_total++;
		login_idle++;
	}
	if (kind == POP3D_CHILD_MAIL)
		pop3d_mail_idle_from_now(child);
	return child;
}

/* An idle login process, started if needed. */
static struct pop3d_child *pop3d_idle_login(void)
{
	struct pop3d_child *c;

	if (login_idle > 0) {
		for (c = children; c != NULL; c = c->next) {
			if (c->kind == POP3D_CHILD_LOGIN && !c->busy)
				return c;
		}
	}
	if (login_total >= (size_t)pop3d.conf.pop3_max_connections)
		return NULL;
	return pop3d_spawn(POP3D_CHILD_LOGIN, 0, 0);
}

/* The mail process for UID/GID with the fewest sessions, started if none
 * or all are busy and there may be more. Never one told to stop. */
static struct pop3d_child *pop3d_mail_for(uid_t uid, gid_t gid)
{
	struct pop3d_child *c, *best = NULL;
	size_t count = 0;

	for (c = children; c != NULL; c = c->next) {
		/* a retired process may be exiting: it gets nothing more */
		if (c->kind != POP3D_CHILD_MAIL || c->uid != uid || c->gid != gid
		    || c->retired)
			continue;
		count++;
		if (best == NULL || c->sessions < best->sessions)
			best = c;
	}
	if ((best == NULL || best->sessions > 0) && count < mail_per_uid_max) {
		c = pop3d_spawn(POP3D_CHILD_MAIL, uid, gid);
		if (c != NULL)
			return c;
	}
	return best;
}

/* Send a failed-login reply to the login process of CONN. */
static void pop3d_auth_failed(struct pop3d_conn *conn, const char *reply)
{
	conn->state = POP3D_CONN_LOGIN;
	if (conn->login != NULL)
		(void)pop3_ipc_send(conn->login->watch.fd, POP3_IPC_AUTH_FAILED,
				    conn->id, reply, strlen(reply), -1);
}

/* Give queued work to idle auth processes. */
static void pop3d_dispatch_auth(void)
{
	struct pop3d_child *c;

	for (c = children; c != NULL && auth_queue_head != NULL; c = c->next) {
		struct pop3d_conn *conn;
		int ret;

		if (c->kind != POP3D_CHILD_AUTH || c->busy)
			continue;
		conn = auth_queue_head;
		auth_queue_head = conn->queue_next;
		if (auth_queue_head == NULL)
			auth_queue_tail = NULL;
		conn->queue_next = NULL;
		if (conn->state == POP3D_CONN_AUTH_QUEUED) {
			struct {
				struct address address;
				struct pop3_ipc_verify head;
			} head;

			memset(&head, 0, sizeof(head));
			head.address = conn->client.address;
			memcpy(head.head.apop_timestamp,
			       conn->client.apop_timestamp,
			       sizeof(head.head.apop_timestamp));
			ret = pop3_ipc_send2(c->watch.fd, POP3_IPC_VERIFY, conn->id,
					     &head, sizeof(head), conn->request,
					     conn->request_len, -1);
			OPENSSL_cleanse(conn->request, conn->request_len);
			free(conn->request);
			conn->request = NULL;
			conn->state = POP3D_CONN_VERIFYING;
		} else {
			struct pop3_ipc_grant grant;

			memset(&grant, 0, sizeof(grant));
			grant.address = conn->client.address;
			snprintf(grant.user, sizeof(grant.user), "%s",
				 conn->verified->user);
			ret = pop3_ipc_send(c->watch.fd, POP3_IPC_GRANT, conn->id,
					    &grant, sizeof(grant), -1);
			conn->state = POP3D_CONN_GRANTING;
		}
		if (ret < 0) {
			log_error("pop3: auth process %ld: %s", (long)c->pid,
				  strerror(errno));
			continue;
		}
		c->busy = true;
		c->conn_id = conn->id;
		conn->auth = c;
	}
}

static void pop3d_queue_auth(struct pop3d_conn *conn, enum pop3d_conn_state state)
{
	conn->state = state;
	conn->queue_next = NULL;
	if (auth_queue_tail != NULL)
		auth_queue_tail->queue_next = conn;
	else
		auth_queue_head = conn;
	auth_queue_tail = conn;
	pop3d_dispatch_auth();
}

/* A failed login: answer after the throttle's delay. */
static void pop3d_delay_failure(struct pop3d_conn *conn)
{
	unsigned delay = login_throttle_failure(throttle, &conn->client.address);

	conn->state = POP3D_CONN_DELAYING;
	conn->due_ms = pop3d_now_ms() + delay;
	conn->queue_next = delay_list;
	delay_list = conn;
}

static void pop3d_send_delayed(void)
{
	struct pop3d_conn **p = &delay_list;
	uint64_t now = pop3d_now_ms();

	while (*p != NULL) {
		struct pop3d_conn *conn = *p;

		if (conn->due_ms > now) {
			p = &conn->queue_next;
			continue;
		}
		*p = conn->queue_next;
		conn->queue_next = NULL;
		pop3d_auth_failed(conn, POP3D_REPLY_AUTH_FAILED);
	}
}

/* Stop the mail processes that have held no session for
 * pop3_mail_process_idle. The master is the only one that hands sessions
 * out, so this is race-free: a process with no session has none on the
 * way, and once it is retired it gets none. It still finishes the
 * replies of sessions it reported CLOSED, then exits; the channel's end
 * of file frees it here. */
static void pop3d_stop_idle_mail(void)
{
	uint64_t now = pop3d_now_ms(), idle_ms, due;
	struct pop3d_child *c;

	if (now < mail_idle_due_ms)
		return;
	mail_idle_due_ms = UINT64_MAX;
	idle_ms = (uint64_t)pop3d.conf.pop3_mail_process_idle * 1000u;
	for (c = children; c != NULL; c = c->next) {
		if (c->kind != POP3D_CHILD_MAIL || c->retired || c->sessions > 0)
			continue;
		due = c->idle_since_ms + idle_ms;
		if (due > now) {
			if (due < mail_idle_due_ms)
				mail_idle_due_ms = due;
			continue;
		}
		if (pop3_ipc_send(c->watch.fd, POP3_IPC_STOP, 0, NULL, 0, -1) < 0) {
			log_warn("pop3: mail process %ld: stop: %s", (long)c->pid,
				 strerror(errno));
			if (errno == EAGAIN || errno == ENOBUFS) {
				/* its queue is full: try again in a second */
				if (now + 1000 < mail_idle_due_ms)
					mail_idle_due_ms = now + 1000;
				continue;
			}
		} else
			log_info("pop3: event=mail-process-stop reason=idle "
				 "pid=%ld uid=%lu gid=%lu idle_seconds=%llu",
				 (long)c->pid, (unsigned long)c->uid,
				 (unsigned long)c->gid,
				 (unsigned long long)((now - c->idle_since_ms)
						      / 1000u));
		c->retired = true;
	}
}

/* Milliseconds until the next held-back answer or idle mail process to
 * stop (-1: none). */
static int pop3d_next_timeout(void)
{
	const struct pop3d_conn *conn;
	uint64_t now = pop3d_now_ms(), next = mail_idle_due_ms;

	for (conn = delay_list; conn != NULL; conn = conn->queue_next) {
		if (conn->due_ms < next)
			next = conn->due_ms;
	}
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

static void pop3d_on_login_message(struct pop3d_child *child,
				   struct pop3_ipc_message *msg)
{
	struct pop3d_conn *conn = pop3d_conn_find(msg->header.conn_id);

	if (conn != NULL && conn->login != child)
		conn = NULL;	/* not this process's connection */
	switch (msg->header.type) {
	case POP3_IPC_AUTH_REQUEST:
		if (conn == NULL || conn->state != POP3D_CONN_LOGIN
		    || msg->payload_len == 0)
			break;
		if (login_throttle_refused(throttle, &conn->client.address)) {
			log_info("pop3: event=login-failed address=%s "
				 "reason=throttled", conn->client.address_text);
			pop3d_delay_failure(conn);
			break;
		}
		conn->request = malloc(msg->payload_len);
		if (conn->request == NULL) {
			pop3d_auth_failed(conn, "-ERR [SYS/TEMP] Out of memory.");
			break;
		}
		memcpy(conn->request, msg->payload, msg->payload_len);
		conn->request_len = msg->payload_len;
		pop3d_queue_auth(conn, POP3D_CONN_AUTH_QUEUED);
		break;
	case POP3_IPC_HANDED_OVER: {
		struct pop3_ipc_session head;
		struct pop3d_child *mail_child;

		if (conn == NULL || conn->state != POP3D_CONN_HANDING_OVER
		    || msg->fd < 0 || msg->payload_len < 1)
			break;
		mail_child = pop3d_mail_for(conn->verified->uid,
					    conn->verified->gid);
		memset(&head, 0, sizeof(head));
		memcpy(head.user, conn->verified->user, sizeof(head.user));
		memcpy(head.method, conn->verified->method, sizeof(head.method));
		memcpy(head.address_text, conn->client.address_text,
		       sizeof(head.address_text));
		head.tls = msg->payload[0] != 0;
		head.plaintext_auth = pop3d_plaintext_auth_allowed(&pop3d,
								   &conn->client,
								   head.tls);
		memcpy(head.maildir, conn->verified->maildir, sizeof(head.maildir));
		memcpy(head.control, conn->verified->control, sizeof(head.control));
		if (mail_child == NULL
		    || pop3_ipc_send2(mail_child->watch.fd, POP3_IPC_SESSION,
				      conn->id, &head, sizeof(head),
				      msg->payload + 1, msg->payload_len - 1,
				      msg->fd) < 0) {
			log_error("pop3: address=%s user=%s: no mail process",
				  conn->client.address_text, conn->verified->user);
			(void)send(msg->fd, "-ERR [SYS/TEMP] Server busy.\r\n", 30,
				   MSG_NOSIGNAL | MSG_DONTWAIT);
			if (msg->payload[0] == 0)
				pop3d_conn_free(conn);
			else
				conn->login = child; /* the relay ends it */
			break;
		}
		mail_child->sessions++;
		conn->mail = mail_child;
		conn->state = POP3D_CONN_LOCKING;
		if (msg->payload[0] == 0)
			conn->login = NULL;	/* the login process is free */
		break;
	}
	case POP3_IPC_LOGIN_DONE:
		if (child->busy && !child->retired) {
			child->busy = false;
			login_idle++;
		}
		if (conn != NULL) {
			conn->login = NULL;
			if (conn->state < POP3D_CONN_LOCKING || conn->mail == NULL)
				pop3d_conn_free(conn);
		}
		break;
	default:
		break;
	}
}

static void pop3d_on_auth_message(struct pop3d_child *child,
				  struct pop3_ipc_message *msg)
{
	struct pop3d_conn *conn = pop3d_conn_find(msg->header.conn_id);

	if (child->busy && child->conn_id == msg->header.conn_id)
		child->busy = false;
	if (conn != NULL && conn->auth != child)
		conn = NULL;
	if (conn != NULL)
		conn->auth = NULL;
	if (msg->header.type == POP3_IPC_VERIFIED && conn != NULL
	    && conn->state == POP3D_CONN_VERIFYING
	    && msg->payload_len == sizeof(struct pop3_ipc_verified)) {
		struct pop3_ipc_verified *v = malloc(sizeof(*v));

		if (v == NULL) {
			pop3d_auth_failed(conn, "-ERR [SYS/TEMP] Out of memory.");
			goto next;
		}
		memcpy(v, msg->payload, sizeof(*v));
		v->user[sizeof(v->user) - 1] = '\0';
		v->method[sizeof(v->method) - 1] = '\0';
		v->maildir[sizeof(v->maildir) - 1] = '\0';
		v->control[sizeof(v->control) - 1] = '\0';
		free(conn->verified);
		conn->verified = v;
		switch (v->result) {
		case POP3_VERIFY_MATCH:
			conn->state = POP3D_CONN_HANDING_OVER;
			(void)pop3_ipc_send(conn->login->watch.fd,
					    POP3_IPC_HAND_OVER, conn->id, NULL, 0,
					    -1);
			break;
		case POP3_VERIFY_MISMATCH:
			log_info("pop3: event=login-failed address=%s user=%s "
				 "method=%s reason=password",
				 conn->client.address_text, v->user, v->method);
			pop3d_delay_failure(conn);
			break;
		case POP3_VERIFY_REFUSED:
			pop3d_auth_failed(conn, "-ERR [SYS/PERM] Mailbox unavailable.");
			break;
		default:
			pop3d_auth_failed(conn, "-ERR [SYS/TEMP] Authentication is "
					  "temporarily unavailable.");
			break;
		}
	} else if (msg->header.type == POP3_IPC_GRANTED && conn != NULL
		   && conn->state == POP3D_CONN_GRANTING && conn->mail != NULL) {
		conn->state = POP3D_CONN_MAIL;
		(void)pop3_ipc_send(conn->mail->watch.fd, POP3_IPC_GO, conn->id,
				    msg->payload, msg->payload_len < 16 ?
				    msg->payload_len : 16, -1);
	}
next:
	pop3d_dispatch_auth();
}

static void pop3d_on_mail_message(struct pop3d_child *child,
				  struct pop3_ipc_message *msg)
{
	struct pop3d_conn *conn = pop3d_conn_find(msg->header.conn_id);

	if (conn == NULL || conn->mail != child)
		return;
	if (msg->header.type == POP3_IPC_LOCKED && conn->state == POP3D_CONN_LOCKING
	    && msg->payload_len == sizeof(struct pop3_ipc_locked)) {
		struct pop3_ipc_locked locked;

		memcpy(&locked, msg->payload, sizeof(locked));
		if (locked.result == POP3_LOCK_OK)
			pop3d_queue_auth(conn, POP3D_CONN_GRANT_QUEUED);
		else {
			conn->state = POP3D_CONN_CLOSING;
			(void)pop3_ipc_send(child->watch.fd, POP3_IPC_CANCEL,
					    conn->id, NULL, 0, -1);
		}
	} else if (msg->header.type == POP3_IPC_CLOSED) {
		if (child->sessions > 0 && --child->sessions == 0)
			pop3d_mail_idle_from_now(child);
		conn->mail = NULL;
		if (conn->login == NULL)
			pop3d_conn_free(conn);
		else
			conn->state = POP3D_CONN_CLOSING; /* the relay ends */
	}
}

/* A child is gone: clean up what it held. */
static void pop3d_child_gone(struct pop3d_child *child)
{
	struct pop3d_child **p;
	size_t i;

	event_loop_remove(loop, &child->watch);
	close(child->watch.fd);
	for (p = &children; *p != NULL; p = &(*p)->next) {
		if (*p == child) {
			*p = child->next;
			break;
		}
	}
	if (child->kind == POP3D_CHILD_LOGIN) {
		login_total--;
		if (!child->busy)
			login_idle--;
	}
	for (i = 0; i < conn_slots; i++) {
		struct pop3d_conn *conn = conns[i];

		if (conn == NULL)
			continue;
		if (conn->login == child) {
			conn->login = NULL;
			if (conn->state < POP3D_CONN_LOCKING) {
				pop3d_conn_free(conn);
				continue;
			}
		}
		if (conn->mail == child) {
			conn->mail = NULL;
			if (conn->login == NULL)
				pop3d_conn_free(conn);
			continue;
		}
		if (conn->auth == child) {
			conn->auth = NULL;
			if (conn->state == POP3D_CONN_VERIFYING)
				pop3d_auth_failed(conn, "-ERR [SYS/TEMP] "
						  "Authentication is temporarily "
						  "unavailable.");
			else if (conn->state == POP3D_CONN_GRANTING
				 && conn->mail != NULL) {
				conn->state = POP3D_CONN_MAIL;
				(void)pop3_ipc_send(conn->mail->watch.fd,
						    POP3_IPC_GO, conn->id,
						    "failed", 6, -1);
			}
		}
	}
	if (child->kind == POP3D_CHILD_AUTH && !stopping) {
		log_error("pop3: auth process %ld ended; starting another",
			  (long)child->pid);
		(void)pop3d_spawn(POP3D_CHILD_AUTH, 0, 0);
		pop3d_dispatch_auth();
	}
	free(child);
}

static void pop3d_on_child(struct event_watch *watch, unsigned events)
{
	struct pop3d_child *child = watch->context;

	for (;;) {
		int ret = pop3_ipc_recv(watch->fd, &master_message);

		if (ret < 0 && errno == EAGAIN)
			return;
		if (ret < 0 && errno == EBADMSG) {
			log_error("pop3: malformed message from process %ld",
				  (long)child->pid);
			continue;
		}
		if (ret <= 0) {
			pop3d_child_gone(child);
			return;
		}
		switch (child->kind) {
		case POP3D_CHILD_LOGIN:
			pop3d_on_login_message(child, &master_message);
			break;
		case POP3D_CHILD_AUTH:
			pop3d_on_auth_message(child, &master_message);
			break;
		case POP3D_CHILD_MAIL:
			pop3d_on_mail_message(child, &master_message);
			break;
		}
		if (master_message.fd >= 0)
			close(master_message.fd);
		master_message.fd = -1;	/* pop3d_spawn closes it in children */
	}
}

/* Give one accepted connection to a login process. */
static void pop3d_start_connection(int fd, const struct sockaddr_storage *ss,
				   bool implicit_tls)
{
	static unsigned long long counter;
	struct pop3d_child *login;
	struct pop3d_conn *conn;
	uint64_t nonce = 0;
	size_t slot;
	int attempt;

	conn = calloc(1, sizeof(*conn));
	if (conn == NULL) {
		pop3d_refuse(fd, implicit_tls, "-ERR [SYS/TEMP] Out of memory.\r\n");
		return;
	}
	conn->client.implicit_tls = implicit_tls;
	pop3d_client_address(ss, &conn->client);
	if (conn_count >= (size_t)pop3d.conf.pop3_max_connections) {
		log_warn("pop3: event=refused address=%s reason=max-connections "
			 "limit=%lld", conn->client.address_text,
			 (long long)pop3d.conf.pop3_max_connections);
		pop3d_refuse(fd, implicit_tls,
			     "-ERR [SYS/TEMP] Too many connections, try later.\r\n");
		free(conn);
		return;
	}
	if (pop3d_connections_from(&conn->client.address)
	    >= (size_t)pop3d.conf.pop3_max_connections_per_ip) {
		log_warn("pop3: event=refused address=%s "
			 "reason=max-connections-per-ip limit=%lld",
			 conn->client.address_text,
			 (long long)pop3d.conf.pop3_max_connections_per_ip);
		pop3d_refuse(fd, implicit_tls, "-ERR [SYS/TEMP] Too many "
			     "connections from your address, try later.\r\n");
		free(conn);
		return;
	}
	for (slot = conn_next_slot; conns[slot] != NULL;
	     slot = (slot + 1) % conn_slots)
		;
	conn_next_slot = (slot + 1) % conn_slots;
	conn_generation = (conn_generation + 1) & 0xfffu;
	conn->id = (conn_generation << POP3D_CONN_SLOT_BITS) | (uint32_t)slot;
	if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
		nonce ^= (uint64_t)time(NULL) * 2654435761u;
	snprintf(conn->client.apop_timestamp, sizeof(conn->client.apop_timestamp),
		 "<%llu.%llu.%016llx@%.64s>", (unsigned long long)getpid(),
		 (unsigned long long)time(NULL),
		 (unsigned long long)(nonce ^ ++counter), pop3d.hostname);
	for (attempt = 0;; attempt++) {
		spawn_close_fd = fd;	/* a login process spawned now must not keep it */
		login = attempt < 3 ? pop3d_idle_login() : NULL;
		spawn_close_fd = -1;
		if (login == NULL) {
			pop3d_refuse(fd, implicit_tls,
				     "-ERR [SYS/TEMP] Server busy, try later.\r\n");
			free(conn);
			return;
		}
		if (pop3_ipc_send(login->watch.fd, POP3_IPC_CONNECTION, conn->id,
				  &conn->client, sizeof(conn->client), fd) == 0)
			break;
		/* it is exiting or broken: out of the pool, try another */
		log_warn("pop3: login process %ld: %s", (long)login->pid,
			 strerror(errno));
		login->busy = true;
		login->retired = true;
		login_idle--;
	}
	login->served++;
	if (login->served >= POP3D_LOGIN_CONNECTIONS_MAX)
		login->retired = true;	/* it exits after this one */
	close(fd);
	conns[slot] = conn;
	conn_count++;
	conn->state = POP3D_CONN_LOGIN;
	conn->login = login;
	login->busy = true;
	login->conn_id = conn->id;
	login_idle--;
}

static void pop3d_on_listener(struct event_watch *watch, unsigned events)
{
	struct pop3d_listener *listener = watch->context;

	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(listener->fd, (struct sockaddr *)&ss, &len,
				 SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("pop3: accept on %s: %s",
					 listener->endpoint.text, strerror(errno));
			break;
		}
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
			close(fd);
			continue;
		}
		{
			/* replies are whole lines: no Nagle delay on them, nor
			 * on TLS records relayed in pieces */
			int on = 1;

			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
					 sizeof(on));
		}
		pop3d_start_connection(fd, &ss, listener->implicit_tls);
	}
	/* a spare login process for the next connection */
	if (login_idle == 0 && login_total < (size_t)pop3d.conf.pop3_max_connections)
		(void)pop3d_spawn(POP3D_CHILD_LOGIN, 0, 0);
}

static void pop3d_on_signal(struct event_watch *watch, unsigned events)
{
	struct signalfd_siginfo info;
	struct pop3d_child *c;

	while (read(watch->fd, &info, sizeof(info)) == sizeof(info)) {
		if (info.ssi_signo == SIGCHLD) {
			int status;
			pid_t pid;

			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				/* its channel's end of file may come later:
				 * no signal to its pid from now on */
				for (c = children; c != NULL; c = c->next) {
					if (c->pid == pid)
						c->reaped = true;
				}
				if (WIFSIGNALED(status) && !stopping)
					log_error("pop3: process %ld ended by "
						  "signal %d", (long)pid,
						  WTERMSIG(status));
				else if (WIFEXITED(status)
					 && WEXITSTATUS(status) != 0)
					log_error("pop3: process %ld exited "
						  "with status %d", (long)pid,
						  WEXITSTATUS(status));
			}
		} else if (info.ssi_signo == SIGHUP)
			log_info("pop3: event=reload (the password file is "
				 "re-read whenever it changes)");
		else {
			log_info("pop3: event=stop signal=%u connections=%zu",
				 info.ssi_signo, conn_count);
			stopping = true;
			for (c = children; c != NULL; c = c->next) {
				if (!c->reaped)
					kill(c->pid, SIGTERM);
			}
		}
	}
}

static void pop3d_open_store(void)
{
	struct relaydb_settings settings;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = pop3d.conf.relay_db;
	settings.lock_timeout_ms = (unsigned)pop3d.conf.relay_db_lock_timeout * 1000;
	settings.fsync = pop3d.conf.relay_db_fsync;
	settings.create = true;
	settings.recorder = pop3d.conf.relay_db_recorder;
	/* The auth processes that record grants live long: each keeps the
	 * store open between its grants while no one else changed it. */
	settings.keep_writer = true;
	pop3d.db = relaydb_open(&settings, &error);
	if (pop3d.db == NULL)
		log_fatal(EX_UNAVAILABLE, "relay store %s: %s",
			  pop3d.conf.relay_db, error);
}

int main(int argc, char **argv)
{
	struct daemon_options options = {
		.name = POP3D_NAME,
		.version = RELAYGATE_VERSION,
		.usage = pop3d_usage,
		.conf_path = RELAYGATE_CONF_DEFAULT_PATH,
	};
	struct login_throttle_settings throttle_settings;
	char message[1024];
	struct sigaction sa;
	sigset_t mask;
	size_t i;
	int status;

	status = relaygate_conf_start_daemon(&pop3d.conf, &options, argc, argv,
					     pop3d_check);
	if (status >= 0)
		return status;
	log_open(POP3D_NAME, options.foreground);
	pop3d.privileged = geteuid() == 0;
	if (pop3d.privileged) {
		/* looked up once: a child must not load name services */
		struct passwd *pw = getpwnam(pop3d.conf.login_user);

		if (pw == NULL || pw->pw_uid == 0 || pw->pw_gid == 0)
			log_fatal(EX_CONFIG, "login_user %s: no such user, or "
				  "uid or gid 0", pop3d.conf.login_user);
		pop3d.login_uid = pw->pw_uid;
		pop3d.login_gid = pw->pw_gid;
	}
	if (gethostname(pop3d.hostname, sizeof(pop3d.hostname) - 1) < 0
	    || pop3d.hostname[0] == '\0')
		strcpy(pop3d.hostname, "localhost");

	daemon_raise_nofile((uint64_t)pop3d.conf.pop3_max_connections + 64);
	for (i = 0; i < listener_count; i++) {
		listeners[i].fd = listen_endpoint_open(&listeners[i].endpoint,
						       POP3D_BACKLOG, message,
						       sizeof(message));
		if (listeners[i].fd < 0)
			log_fatal(EX_UNAVAILABLE, "cannot listen: %s", message);
	}
	master_message.fd = -1;
	conn_slots = (size_t)pop3d.conf.pop3_max_connections;
	conns = calloc(conn_slots, sizeof(*conns));
	login_throttle_defaults(&throttle_settings);
	throttle = login_throttle_new(&throttle_settings, NULL, NULL);
	if (conns == NULL || throttle == NULL)
		log_fatal(EX_OSERR, "out of memory");
	{
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		mail_per_uid_max = cpus > 0 ? (size_t)cpus : 1;
	}

	if (!options.foreground)
		daemon_detach();
	pop3d_open_store();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &original_mask);
	signal_watch.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	loop = event_loop_create();
	if (signal_watch.fd < 0 || loop == NULL)
		log_fatal(EX_OSERR, "signalfd/epoll: %s", strerror(errno));
	signal_watch.handler = pop3d_on_signal;
	if (event_loop_add(loop, &signal_watch, EVENT_READ) < 0)
		log_fatal(EX_OSERR, "epoll: %s", strerror(errno));
	for (i = 0; i < listener_count; i++) {
		listener_watches[i].fd = listeners[i].fd;
		listener_watches[i].handler = pop3d_on_listener;
		listener_watches[i].context = &listeners[i];
		if (event_loop_add(loop, &listener_watches[i], EVENT_READ) < 0)
			log_fatal(EX_OSERR, "epoll: %s", strerror(errno));
	}
	/* the pools: auth processes, and spare login processes */
	for (i = 0; i < mail_per_uid_max; i++) {
		if (pop3d_spawn(POP3D_CHILD_AUTH, 0, 0) == NULL)
			log_fatal(EX_OSERR, "cannot start an auth process");
	}
	for (i = 0; i < POP3D_LOGIN_SPARE; i++)
		(void)pop3d_spawn(POP3D_CHILD_LOGIN, 0, 0);

	{
		char list[512];
		size_t off = 0;

		list[0] = '\0';
		for (i = 0; i < listener_count && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off,
						"%s%s%s", i > 0 ? "," : "",
						listeners[i].endpoint.text,
						listeners[i].implicit_tls ?
						"(tls)" : "");
		log_info("pop3: event=start listen=%s tls=%s users=%zu",
			 list, pop3d.tls != NULL ? "yes" : "no",
			 pop3d.users->count);
		if (pop3d.conf.pop3_idle_timeout < POP3D_AUTOLOGOUT_MIN_SECONDS)
			log_warn("pop3: pop3_idle_timeout is %lds: RFC 1939 "
				 "section 3 asks for at least 10 minutes",
				 (long)pop3d.conf.pop3_idle_timeout);
	}
	while (!stopping) {
		int timeout = pop3d_next_timeout();

		(void)event_loop_run_once(loop, timeout);
		pop3d_send_delayed();
		pop3d_stop_idle_mail();
	}
	return 0;
}

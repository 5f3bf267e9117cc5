/* relaygate-lookupd: answers sendmail's and Postfix's socketmap and the
 * Postfix SMTP access policy protocol from the relay store, honouring a
 * grant only inside relay_window. One process, one epoll loop; binds as
 * root, then runs as lookupd_user. Must never answer "relay" when the
 * store cannot be read, and never trust a length a client announces. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "connection_list.h"
#include "daemon.h"
#include "event_loop.h"
#include "listen_endpoint.h"
#include "log.h"
#include "lookupd_decide.h"
#include "netstring.h"
#include "policy_request.h"
#include "privilege.h"
#include "relaydb.h"
#include "relaygate_conf.h"
#include "socketmap_request.h"

#define LOOKUPD_NAME "relaygate-lookupd"
#define LOOKUPD_READ_CHUNK 4096
#define LOOKUPD_OUTPUT_MAX 65536	/* stop reading above half of it */
#define LOOKUPD_BACKLOG 512
#define LOOKUPD_SWEEP_INTERVAL 60	/* seconds between expiry sweeps */

enum lookupd_protocol { PROTOCOL_SOCKETMAP, PROTOCOL_POLICY };

struct lookupd_listener {
	struct event_watch watch;
	enum lookupd_protocol protocol;
	struct listen_endpoint endpoint;
};

struct lookupd_connection {
	struct connection base;		/* first: see connection_list.h */
	enum lookupd_protocol protocol;
	uint64_t last_active_ms;	/* monotonic */
	struct policy_parser policy;	/* the policy request being read */
};

static struct {
	struct relaygate_conf conf;
	struct relaydb *db;
	struct event_loop *loop;
	struct lookupd_listener *listeners;
	size_t listener_count;
	struct connection_list connections;
	pid_t sweeper;
	int sweeper_pipe;		/* write end: the sweeper's lifeline */
	volatile sig_atomic_t stop;
	volatile sig_atomic_t reopen;
	unsigned long queries;
} lookupd;

static uint64_t lookupd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static const char lookupd_usage[] =
	"usage: " LOOKUPD_NAME " [-F] [-t] [-c config-file]\n"
	"  -c FILE  configuration file (default " RELAYGATE_CONF_DEFAULT_PATH ")\n"
	"  -F       stay in the foreground and log to stderr\n"
	"  -t       check the configuration, print the problems, exit\n"
	"  -V       print the version\n";

static void lookupd_on_signal(int sig)
{
	if (sig == SIGHUP)
		lookupd.reopen = 1;
	else
		lookupd.stop = 1;
}

static void lookupd_log_decision(const char *protocol,
				 const struct lookupd_decision *d,
				 const char *key, const char *extra)
{
	char safe[96];

	if (!lookupd.conf.lookupd_log_decisions && d->verdict != LOOKUPD_TEMPFAIL)
		return;
	if (d->verdict == LOOKUPD_TEMPFAIL)
		log_error("decision proto=%s client=%s result=tempfail error=\"%s\"",
			  protocol, d->address, d->error != NULL ? d->error : "");
	else if (d->verdict == LOOKUPD_NOT_ADDRESS)
		log_info("decision proto=%s key=\"%s\" result=not-address%s",
			 protocol, log_sanitize(key, safe, sizeof(safe)), extra);
	else if (d->verdict == LOOKUPD_GRANT || d->verdict == LOOKUPD_STALE)
		log_info("decision proto=%s client=%s result=%s age=%lld%s",
			 protocol, d->address, lookupd_verdict_name(d->verdict),
			 (long long)d->age, extra);
	else
		log_info("decision proto=%s client=%s result=%s%s", protocol,
			 d->address, lookupd_verdict_name(d->verdict), extra);
}

/* Answer one socketmap request; -1 closes the connection. */
static int lookupd_socketmap_answer(struct connection *conn,
				    const unsigned char *payload, size_t len)
{
	struct socketmap_request req;
	struct lookupd_decision d;
	const char *error, *reply;
	char perm[160], safe[80];

	if (socketmap_request_parse(payload, len, &req, &error) < 0) {
		snprintf(perm, sizeof(perm), "PERM %s", error);
		log_warn("socketmap request refused: %s", error);
		return netstring_append(&conn->output, perm, strlen(perm));
	}
	if (strcmp(req.name, lookupd.conf.lookupd_socketmap_name) != 0) {
		log_warn("socketmap request for unknown map \"%s\"",
			 log_sanitize(req.name, safe, sizeof(safe)));
		snprintf(perm, sizeof(perm), "PERM unknown map %s", req.name);
		return netstring_append(&conn->output, perm, strlen(perm));
	}
	lookupd.queries++;
	lookupd_decide(lookupd.db, &lookupd.conf, req.key, (int64_t)time(NULL), &d);
	lookupd_log_decision("socketmap", &d, req.key, "");
	switch (d.verdict) {
	case LOOKUPD_GRANT:
		reply = "OK OK";
		break;
	case LOOKUPD_TEMPFAIL:
		reply = "TEMP relay store temporarily unavailable";
		break;
	default:
		reply = "NOTFOUND ";
		break;
	}
	return netstring_append(&conn->output, reply, strlen(reply));
}

/* Answer one policy request; -1 closes the connection. */
static int lookupd_policy_answer(struct connection *conn,
				 const struct policy_request *req)
{
	struct lookupd_decision d;
	const char *reply;
	char extra[POLICY_VALUE_MAX * 2 + 64], rcpt[POLICY_VALUE_MAX + 32],
	    sender[POLICY_VALUE_MAX + 32], state[48];

	lookupd.queries++;
	lookupd_decide(lookupd.db, &lookupd.conf, req->client_address,
		       (int64_t)time(NULL), &d);
	if (lookupd.conf.lookupd_log_decisions || d.verdict == LOOKUPD_TEMPFAIL) {
		snprintf(extra, sizeof(extra), " state=%s sender=\"%s\" recipient=\"%s\"",
			 log_sanitize(req->protocol_state, state, sizeof(state)),
			 log_sanitize(req->sender, sender, 96),
			 log_sanitize(req->recipient, rcpt, 96));
		lookupd_log_decision("policy", &d, req->client_address, extra);
	}
	switch (d.verdict) {
	case LOOKUPD_GRANT:
		reply = "action=OK\n\n";
		break;
	case LOOKUPD_TEMPFAIL:
		reply = "action=451 4.3.0 Relay store temporarily unavailable\n\n";
		break;
	default:
		reply = "action=DUNNO\n\n";
		break;
	}
	return buffer_append(&conn->output, reply, strlen(reply));
}

/* Answer the whole requests in CONN's input while the output has room.
 * On a protocol violation the connection is marked closing: the answers
 * already made are still sent, the rest of the input is dropped. Returns
 * true when it answered something. */
static bool lookupd_connection_process(struct lookupd_connection *lconn)
{
	struct connection *conn = &lconn->base;
	bool answered = false;

	while (!conn->closing && buffer_length(&conn->input) > 0
	       && buffer_length(&conn->output) < LOOKUPD_OUTPUT_MAX / 2) {
		const unsigned char *data = buffer_data(&conn->input);
		size_t len = buffer_length(&conn->input), consumed = 0;
		const char *error = NULL;
		int ret;

		if (lconn->protocol == PROTOCOL_SOCKETMAP) {
			const unsigned char *payload;
			size_t payload_len;
			enum netstring_result r = netstring_parse(
			    data, len, SOCKETMAP_REQUEST_MAX, &payload,
			    &payload_len, &consumed, &error);

			if (r == NETSTRING_INCOMPLETE)
				break;
			if (r == NETSTRING_INVALID) {
				log_warn("socketmap client closed: %s", error);
				conn->closing = true;
				break;
			}
			ret = lookupd_socketmap_answer(conn, payload, payload_len);
		} else {
			enum policy_parse_result r = policy_parser_feed(
			    &lconn->policy, data, len, &consumed, &error);

			if (r == POLICY_PARSE_INCOMPLETE)
				break;
			if (r == POLICY_PARSE_INVALID) {
				log_warn("policy client closed: %s", error);
				conn->closing = true;
				break;
			}
			ret = lookupd_policy_answer(conn, &lconn->policy.request);
			policy_parser_reset(&lconn->policy);
		}
		if (ret < 0) {
			/* Cannot happen below half the output cap. */
			log_error("internal error: answer does not fit");
			conn->closing = true;
			break;
		}
		buffer_consume(&conn->input, consumed);
		answered = true;
	}
	if (conn->closing)
		buffer_consume(&conn->input, buffer_length(&conn->input));
	return answered;
}

static void lookupd_connection_event(struct event_watch *watch, unsigned events)
{
	struct lookupd_connection *lconn = watch->context;
	struct connection *conn = &lconn->base;

	lconn->last_active_ms = lookupd_now_ms();
	if ((events & (EVENT_READ | EVENT_ERROR)) && !conn->input_closed
	    && !conn->closing) {
		enum connection_receive_result r =
		    connection_receive(conn, LOOKUPD_READ_CHUNK);

		if (r == CONNECTION_INPUT_FULL) {
			log_warn("client closed: request over the size limit");
			conn->closing = true;
		} else if (r == CONNECTION_RECEIVE_FAILED) {
			connection_list_close(&lookupd.connections, conn);
			return;
		}
	}
	/* Answer and send until the input holds no whole request or the
	 * client stops taking answers. A flush that empties the output
	 * makes room for more answers: the input may still hold requests
	 * (also after the client's EOF, which must not lose them). */
	for (;;) {
		bool answered = lookupd_connection_process(lconn);
		size_t pending = buffer_length(&conn->output);

		if (connection_flush(conn) < 0) {
			connection_list_close(&lookupd.connections, conn);
			return;
		}
		if (buffer_length(&conn->output) > 0)
			break;		/* the client takes no more for now */
		if (!answered && pending == 0)
			break;		/* no whole request left */
	}
	connection_list_wait_or_close(&lookupd.connections, conn,
				      buffer_length(&conn->output)
				      < LOOKUPD_OUTPUT_MAX / 2);
}

static void lookupd_accept(struct event_watch *watch, unsigned events)
{
	struct lookupd_listener *listener = watch->context;
	size_t input_max = listener->protocol == PROTOCOL_POLICY
	    ? POLICY_REQUEST_MAX + LOOKUPD_READ_CHUNK
	    : SOCKETMAP_REQUEST_MAX + 16 + LOOKUPD_READ_CHUNK;
	struct connection *conn;

	while ((conn = connection_list_accept(&lookupd.connections, watch,
					      listener->endpoint.text,
					      input_max)) != NULL) {
		struct lookupd_connection *lconn =
		    (struct lookupd_connection *)conn;

		lconn->protocol = listener->protocol;
		lconn->last_active_ms = lookupd_now_ms();
		policy_parser_reset(&lconn->policy);
	}
}

/* Close connections idle for lookupd_idle_timeout or longer. */
static void lookupd_close_idle(uint64_t now_ms)
{
	struct connection *conn = lookupd.connections.first, *next;
	uint64_t limit = (uint64_t)lookupd.conf.lookupd_idle_timeout * 1000u;

	for (; conn != NULL; conn = next) {
		next = conn->next;
		if (now_ms - ((struct lookupd_connection *)conn)->last_active_ms
		    >= limit)
			connection_list_close(&lookupd.connections, conn);
	}
}

/* Add the endpoints in TEXT for PROTOCOL to the listener table. */
static int lookupd_add_listeners(const char *text, enum lookupd_protocol protocol,
				 char *error, size_t error_size)
{
	struct listen_endpoint *items;
	struct lookupd_listener *grown;
	size_t count, i;
	const char *parse_error;

	if (listen_endpoint_list_parse(text, &items, &count, &parse_error) < 0) {
		snprintf(error, error_size, "%s", parse_error);
		return -1;
	}
	grown = realloc(lookupd.listeners,
			(lookupd.listener_count + count + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(items);
		snprintf(error, error_size, "out of memory");
		return -1;
	}
	lookupd.listeners = grown;
	for (i = 0; i < count; i++) {
		struct lookupd_listener *l = &lookupd.listeners[lookupd.listener_count++];

		memset(l, 0, sizeof(*l));
		l->protocol = protocol;
		l->endpoint = items[i];
		l->watch.fd = -1;
	}
	free(items);
	return 0;
}

/* The expiry sweeper: a child that keeps the starting user (it rewrites
 * the store) and deletes grants older than relay_window at start and then
 * every minute. It parses nothing from the network. It waits on LIFELINE,
 * the read end of a pipe the daemon holds open: when the daemon exits or
 * closes it, the sweeper exits too (the daemon, no longer root, cannot
 * signal it). */
static void lookupd_sweeper_run(int lifeline)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = lookupd.conf.relay_db;
	settings.lock_timeout_ms = (unsigned)lookupd.conf.relay_db_lock_timeout * 1000;
	settings.fsync = lookupd.conf.relay_db_fsync;
	settings.create = true;
	while (!lookupd.stop) {
		uint64_t removed = 0, skipped = 0;
		int64_t cutoff = (int64_t)time(NULL) - lookupd.conf.relay_window;
		struct pollfd pfd;
		int ready;

		db = relaydb_open(&settings, &error);
		if (db == NULL)
			log_error("expire: %s", error);
		else if (relaydb_expire(db, cutoff, &removed, &skipped, &error) < 0)
			log_error("expire: %s", error);
		else if (removed > 0 || skipped > 0)
			log_info("expire removed=%llu skipped=%llu cutoff=%lld",
				 (unsigned long long)removed,
				 (unsigned long long)skipped, (long long)cutoff);
		relaydb_close(&db);
		pfd.fd = lifeline;
		pfd.events = POLLIN;
		pfd.revents = 0;
		ready = poll(&pfd, 1, LOOKUPD_SWEEP_INTERVAL * 1000);
		if (ready > 0)
			break;	/* EOF: the daemon is gone */
		if (ready < 0 && errno != EINTR) {
			log_error("expire: poll: %s", strerror(errno));
			break;
		}
	}
	_exit(0);
}

static void lookupd_start_sweeper(void)
{
	int lifeline[2];
	pid_t pid;

	if (pipe2(lifeline, O_CLOEXEC) < 0)
		log_fatal(EX_OSERR, "pipe for the expiry sweeper: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		log_fatal(EX_OSERR, "fork for the expiry sweeper: %s", strerror(errno));
	if (pid == 0) {
		size_t i;

		close(lifeline[1]);
		for (i = 0; i < lookupd.listener_count; i++)
			close(lookupd.listeners[i].watch.fd);
		lookupd_sweeper_run(lifeline[0]);
	}
	close(lifeline[0]);
	lookupd.sweeper = pid;
	lookupd.sweeper_pipe = lifeline[1];
}

/* Check everything -t checks; print each problem. Returns the number. */
static int lookupd_check(const struct daemon_options *options)
{
	const char *conf_path = options->conf_path;
	bool conf_given = options->conf_given;
	struct listen_endpoint *items;
	size_t count, total = 0;
	const char *error;
	int problems = 0;

	if (listen_endpoint_list_parse(lookupd.conf.lookupd_socketmap_listen,
				       &items, &count, &error) == 0) {
		total += count;
		free(items);
	}
	if (listen_endpoint_list_parse(lookupd.conf.lookupd_policy_listen,
				       &items, &count, &error) == 0) {
		total += count;
		free(items);
	}
	if (total == 0) {
		fprintf(stderr, LOOKUPD_NAME ": %s: nothing to listen on: set "
			"lookupd_socketmap_listen and/or lookupd_policy_listen\n",
			conf_given ? conf_path : "configuration");
		problems++;
	}
	/* The default user must exist when it is used (a named one was
	 * checked with its line by the configuration parser). */
	if ((getuid() == 0 || geteuid() == 0)
	    && lookupd.conf.lookupd_user[0] != '\0'
	    && getpwnam(lookupd.conf.lookupd_user) == NULL) {
		fprintf(stderr, LOOKUPD_NAME ": %s: lookupd_user %s (the default): "
			"no such user; set lookupd_user\n",
			conf_given ? conf_path : RELAYGATE_CONF_DEFAULT_PATH,
			lookupd.conf.lookupd_user);
		problems++;
	}
	if (access(lookupd.conf.relay_db, R_OK) < 0) {
		fprintf(stderr, LOOKUPD_NAME ": warning: relay_db %s: %s (lookups "
			"answer a temporary failure until it exists)\n",
			lookupd.conf.relay_db, strerror(errno));
	}
	return problems;
}

static void lookupd_open_store(void)
{
	struct relaydb_settings settings;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = lookupd.conf.relay_db;
	settings.lock_timeout_ms = (unsigned)lookupd.conf.relay_db_lock_timeout * 1000;
	settings.create = false;	/* a missing store: temporary failures */
	settings.keep_open = true;
	lookupd.db = relaydb_open(&settings, &error);
	if (lookupd.db == NULL)
		log_fatal(EX_SOFTWARE, "relay store %s: %s", lookupd.conf.relay_db,
			  error);
}

int main(int argc, char **argv)
{
	struct daemon_options options = {
		.name = LOOKUPD_NAME,
		.version = RELAYGATE_VERSION,
		.usage = lookupd_usage,
		.conf_path = RELAYGATE_CONF_DEFAULT_PATH,
	};
	char message[1024];
	struct sigaction sa;
	uint64_t last_idle_check = 0;
	size_t i;
	int status;

	status = relaygate_conf_start_daemon(&lookupd.conf, &options, argc,
					     argv, lookupd_check);
	if (status >= 0)
		return status;
	if (lookupd_add_listeners(lookupd.conf.lookupd_socketmap_listen,
				  PROTOCOL_SOCKETMAP, message, sizeof(message)) < 0
	    || lookupd_add_listeners(lookupd.conf.lookupd_policy_listen,
				     PROTOCOL_POLICY, message, sizeof(message)) < 0) {
		fprintf(stderr, LOOKUPD_NAME ": %s\n", message);
		return EX_CONFIG;
	}
	log_open(LOOKUPD_NAME, options.foreground);

	/* Room for every connection: raise the descriptor limit if we may. */
	daemon_raise_nofile((uint64_t)lookupd.conf.lookupd_max_connections + 64);

	for (i = 0; i < lookupd.listener_count; i++) {
		struct lookupd_listener *l = &lookupd.listeners[i];

		l->watch.fd = listen_endpoint_open(&l->endpoint, LOOKUPD_BACKLOG,
						   message, sizeof(message));
		if (l->watch.fd < 0)
			log_fatal(EX_UNAVAILABLE, "cannot listen: %s", message);
		l->watch.handler = lookupd_accept;
		l->watch.context = l;
	}
	if (!options.foreground)
		daemon_detach();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = lookupd_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (lookupd.conf.lookupd_expire)
		lookupd_start_sweeper();
	if (lookupd.conf.lookupd_user[0] == '\0') {
		if (geteuid() == 0)
			log_warn("lookupd_user is empty: answering requests as root");
	} else if (privilege_drop(lookupd.conf.lookupd_user, message,
				  sizeof(message)) < 0)
		log_fatal(EX_NOPERM, "%s", message);
	lookupd_open_store();

	lookupd.loop = event_loop_create();
	if (lookupd.loop == NULL)
		log_fatal(EX_OSERR, "epoll: %s", strerror(errno));
	lookupd.connections = (struct connection_list){
		.loop = lookupd.loop,
		.max_connections = (long)lookupd.conf.lookupd_max_connections,
		.max_setting = "lookupd_max_connections",
		.connection_size = sizeof(struct lookupd_connection),
		.handler = lookupd_connection_event,
		.output_max = LOOKUPD_OUTPUT_MAX,
	};
	for (i = 0; i < lookupd.listener_count; i++) {
		if (connection_list_add_listener(&lookupd.connections,
						 &lookupd.listeners[i].watch) < 0)
			log_fatal(EX_OSERR, "epoll: %s", strerror(errno));
		log_info("listening proto=%s endpoint=%s",
			 lookupd.listeners[i].protocol == PROTOCOL_POLICY
			 ? "policy" : "socketmap", lookupd.listeners[i].endpoint.text);
	}
	log_set_batched(true);
	log_info("started store=%s window=%llds expire=%s user=%s", lookupd.conf.relay_db,
		 (long long)lookupd.conf.relay_window,
		 lookupd.conf.lookupd_expire ? "yes" : "no",
		 geteuid() == 0 ? "root" : lookupd.conf.lookupd_user[0] != '\0'
		 ? lookupd.conf.lookupd_user : "(unchanged)");

	while (!lookupd.stop) {
		uint64_t now;

		/* One round of requests shares one store lock and check. */
		relaydb_batch_begin(lookupd.db);
		if (event_loop_run_once(lookupd.loop, 250) < 0 && errno != EINTR)
			log_fatal(EX_OSERR, "epoll_wait: %s", strerror(errno));
		relaydb_batch_end(lookupd.db);
		log_flush();
		if (lookupd.reopen) {
			lookupd.reopen = 0;
			relaydb_close(&lookupd.db);
			lookupd_open_store();
			log_info("SIGHUP: store reopened");
		}
		now = lookupd_now_ms();
		if (now - last_idle_check >= 250) {
			last_idle_check = now;
			lookupd_close_idle(now);
		}
		if (lookupd.sweeper > 0
		    && waitpid(lookupd.sweeper, NULL, WNOHANG) == lookupd.sweeper) {
			log_error("the expiry sweeper exited; expired grants are "
				  "no longer deleted");
			lookupd.sweeper = 0;
		}
	}
	log_info("stopping queries=%lu", lookupd.queries);
	log_set_batched(false);
	connection_list_free(&lookupd.connections);
	for (i = 0; i < lookupd.listener_count; i++) {
		close(lookupd.listeners[i].watch.fd);
		if (lookupd.listeners[i].endpoint.family == AF_UNIX)
			(void)unlink(((const struct sockaddr_un *)
				      &lookupd.listeners[i].endpoint.addr)->sun_path);
	}
	if (lookupd.sweeper > 0) {
		/* We may no longer signal it (it kept root): closing its
		 * lifeline ends it. */
		close(lookupd.sweeper_pipe);
		(void)waitpid(lookupd.sweeper, NULL, 0);
	}
	event_loop_destroy(&lookupd.loop);
	relaydb_close(&lookupd.db);
	free(lookupd.listeners);
	relaygate_conf_free(&lookupd.conf);
	return 0;
}

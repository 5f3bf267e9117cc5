/* relaygate-recorder: the one long-lived writer of the relay store. The
 * servers hand it their grants over a unix socket (relaydb_record() with
 * relay_db_recorder set); each round of its event loop gathers every whole
 * request of every connection, writes them all in ONE update of the store
 * (group commit: one lock, one open, one commit for many grants), and
 * only then answers them. Must never answer "ok" before the update that
 * holds the grant returned success, never grant a never_relay address,
 * and never trust a line longer than RECORDER_LINE_MAX. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "connection_list.h"
#include "daemon.h"
#include "event_loop.h"
#include "listen_endpoint.h"
#include "log.h"
#include "recorder_protocol.h"
#include "relaydb.h"
#include "relaygate_conf.h"

#define RECORDER_NAME "relaygate-recorder"
#define RECORDER_READ_CHUNK 4096
#define RECORDER_INPUT_MAX (RECORDER_LINE_MAX * 16)	/* pipelined lines */
#define RECORDER_OUTPUT_MAX 65536	/* stop reading above half of it */
#define RECORDER_BACKLOG 512
#define RECORDER_MAX_CONNECTIONS 1000
#define RECORDER_SUMMARY_INTERVAL 60	/* seconds between summary lines */

struct recorder_connection {
	struct connection base;		/* first: see connection_list.h */
	bool dead;			/* I/O error: close at the round's end */
};

/* One answer of the current round, in request order. */
struct recorder_answer {
	struct recorder_connection *conn;
	const char *text;		/* fixed answer, or NULL: the update's */
};

static struct {
	struct relaygate_conf conf;
	struct relaydb *db;
	struct event_loop *loop;
	struct event_watch listener;
	struct listen_endpoint endpoint;
	struct connection_list connections;
	volatile sig_atomic_t stop;
	/* The current round. */
	struct relaydb_grant *grants;
	size_t grant_count, grant_size;
	struct recorder_answer *answers;
	size_t answer_count, answer_size;
	/* Since the last summary line. */
	unsigned long rounds, updates, grants_done, refused, violations,
	    failed_updates, largest;
	uint64_t update_us, update_max_us;	/* time spent in updates */
} recorder;

static uint64_t recorder_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const char recorder_usage[] =
	"usage: " RECORDER_NAME " [-F] [-t] [-c config-file]\n"
	"  -c FILE  configuration file (default " RELAYGATE_CONF_DEFAULT_PATH ")\n"
	"  -F       stay in the foreground and log to stderr\n"
	"  -t       check the configuration, print the problems, exit\n"
	"  -V       print the version\n";

static void recorder_on_signal(int sig)
{
	(void)sig;
	recorder.stop = 1;
}

/* Read what the peer sent; answers are written at the end of the round. */
static void recorder_connection_event(struct event_watch *watch,
				      unsigned events)
{
	struct recorder_connection *rconn = watch->context;
	struct connection *conn = &rconn->base;

	if ((events & (EVENT_READ | EVENT_ERROR)) && !conn->input_closed
	    && !conn->closing && !rconn->dead
	    && connection_receive(conn, RECORDER_READ_CHUNK)
	       == CONNECTION_RECEIVE_FAILED)
		rconn->dead = true;
	/* EVENT_WRITE: the flush at the end of the round sends. */
}

static void recorder_accept(struct event_watch *watch, unsigned events)
{
	(void)events;
	/* At the limit, new clients stay in the listen queue (they fall
	 * back to writing the store themselves after their timeout). */
	while (connection_list_accept(&recorder.connections, watch,
				      recorder.endpoint.text,
				      RECORDER_INPUT_MAX) != NULL)
		continue;
}

/* Grow *ARRAY (of ELEMENT bytes, *SIZE allocated) to hold one more. */
static void recorder_reserve(void **array, size_t *size, size_t count,
			     size_t element)
{
	void *grown;
	size_t new_size;

	if (count < *size)
		return;
	new_size = *size == 0 ? 64 : *size * 2;
	grown = realloc(*array, new_size * element);
	if (grown == NULL)
		log_fatal(EX_OSERR, "out of memory for a round of %zu requests",
			  count);
	*array = grown;
	*size = new_size;
}

static void recorder_add_answer(struct recorder_connection *conn,
				const char *text)
{
	recorder_reserve((void **)&recorder.answers, &recorder.answer_size,
			 recorder.answer_count, sizeof(*recorder.answers));
	recorder.answers[recorder.answer_count].conn = conn;
	recorder.answers[recorder.answer_count].text = text;
	recorder.answer_count++;
}

/* A protocol violation: answer it, drop the rest of the input, close once
 * the answers are sent. */
static void recorder_violation(struct recorder_connection *rconn,
			       const char *answer, const char *why)
{
	struct connection *conn = &rconn->base;

	log_warn("client closed: %s", why);
	recorder_add_answer(rconn, answer);
	conn->closing = true;
	recorder.violations++;
	buffer_consume(&conn->input, buffer_length(&conn->input));
}

/* Take every whole request line of CONN into the round. */
static void recorder_connection_parse(struct recorder_connection *rconn)
{
	struct connection *conn = &rconn->base;

	while (!conn->closing
	       && buffer_length(&conn->output) < RECORDER_OUTPUT_MAX / 2) {
		const char *data = (const char *)buffer_data(&conn->input);
		size_t len = buffer_length(&conn->input), line_len;
		const char *nl, *error;
		struct recorder_request req;

		if (len == 0)
			break;	/* nothing buffered (data may be NULL) */
		nl = memchr(data, '\n', len);
		if (nl == NULL) {
			if (len >= RECORDER_LINE_MAX)
				recorder_violation(rconn, "error usage line too "
						   "long\n", "line too long");
			break;
		}
		line_len = (size_t)(nl - data);
		if (line_len + 1 > RECORDER_LINE_MAX) {
			recorder_violation(rconn, "error usage line too long\n",
					   "line too long");
			break;
		}
		if (recorder_request_parse(data, line_len, &req, &error) < 0) {
			char safe[96], copy[RECORDER_LINE_MAX];

			memcpy(copy, data, line_len);
			copy[line_len] = '\0';
			log_sanitize(copy, safe, sizeof(safe));
			log_warn("bad request \"%s\": %s", safe, error);
			recorder_add_answer(rconn, "error usage bad request\n");
			conn->closing = true;
			recorder.violations++;
			buffer_consume(&conn->input, buffer_length(&conn->input));
			break;
		}
		buffer_consume(&conn->input, line_len + 1);
		if (cidr_list_match(&recorder.conf.never_relay,
				    &req.address) != NULL) {
			char text[ADDRESS_TEXT_MAX];

			log_warn("refused client=%s user=%s source=%s: in "
				 "never_relay", address_format(&req.address, text),
				 req.user, req.source);
			recorder.refused++;
			recorder_add_answer(rconn, "error never_relay in "
					    "never_relay, not recorded\n");
			continue;
		}
		recorder_reserve((void **)&recorder.grants, &recorder.grant_size,
				 recorder.grant_count, sizeof(*recorder.grants));
		recorder.grants[recorder.grant_count].address = req.address;
		recorder.grants[recorder.grant_count].when = req.when;
		recorder.grant_count++;
		recorder_add_answer(rconn, NULL);
	}
}

/* One round: every whole request of every connection, one update of the
 * store, then the answers. */
static void recorder_round(void)
{
	struct connection *conn, *next;
	char failure[RECORDER_LINE_MAX];
	const char *error;
	size_t i;

	recorder.grant_count = 0;
	recorder.answer_count = 0;
	for (conn = recorder.connections.first; conn != NULL; conn = conn->next) {
		struct recorder_connection *rconn =
		    (struct recorder_connection *)conn;

		if (!rconn->dead)
			recorder_connection_parse(rconn);
	}
	failure[0] = '\0';
	if (recorder.grant_count > 0) {
		uint64_t started = recorder_now_us(), took;
		int ret = relaydb_record_many(recorder.db, recorder.grants,
					      recorder.grant_count, &error);

		took = recorder_now_us() - started;
		recorder.update_us += took;
		if (took > recorder.update_max_us)
			recorder.update_max_us = took;
		if (ret < 0) {
			size_t k;

			log_error("update of %zu grants failed: %s",
				  recorder.grant_count, error);
			snprintf(failure, sizeof(failure) - 1, "error %s %s",
				 recorder_error_word(relaydb_error_kind(recorder.db)),
				 error);
			for (k = 0; failure[k] != '\0'; k++) {
				if (failure[k] == '\n' || failure[k] == '\r')
					failure[k] = ' ';
			}
			strcat(failure, "\n");
			recorder.failed_updates++;
		} else {
			recorder.grants_done += recorder.grant_count;
			recorder.updates++;
			if (recorder.grant_count > recorder.largest)
				recorder.largest = recorder.grant_count;
		}
		recorder.rounds++;
	}
	/* Answers in request order; each fits below the output cap (the
	 * parser stops at half of it). */
	for (i = 0; i < recorder.answer_count; i++) {
		const struct recorder_answer *a = &recorder.answers[i];
		const char *text = a->text != NULL ? a->text
		    : failure[0] != '\0' ? failure : "ok\n";

		if (!a->conn->dead && buffer_append(&a->conn->base.output, text,
						     strlen(text)) < 0)
			a->conn->dead = true;
	}
	for (conn = recorder.connections.first; conn != NULL; conn = next) {
		next = conn->next;
		if (((struct recorder_connection *)conn)->dead
		    || connection_flush(conn) < 0)
			connection_list_close(&recorder.connections, conn);
		else
			connection_list_wait_or_close(
			    &recorder.connections, conn,
			    buffer_length(&conn->input) < RECORDER_INPUT_MAX
			    && buffer_length(&conn->output)
			       < RECORDER_OUTPUT_MAX / 2);
	}
}

/* True when a connection holds a whole request not yet taken (its input
 * was full, or its output too large, when the round parsed it). */
static bool recorder_work_left(void)
{
	const struct connection *conn;

	for (conn = recorder.connections.first; conn != NULL; conn = conn->next) {
		if (!conn->closing
		    && !((const struct recorder_connection *)conn)->dead
		    && buffer_length(&conn->output) < RECORDER_OUTPUT_MAX / 2
		    && buffer_length(&conn->input) > 0
		    && memchr(buffer_data(&conn->input), '\n',
			      buffer_length(&conn->input)) != NULL)
			return true;
	}
	return false;
}

static void recorder_summary(void)
{
	if (recorder.rounds == 0 && recorder.refused == 0
	    && recorder.violations == 0)
		return;
	log_info("summary updates=%lu grants=%lu largest=%lu update_avg_us=%llu "
		 "update_max_us=%llu failed=%lu refused=%lu violations=%lu "
		 "connections=%ld store_opens=%lu", recorder.updates, recorder.grants_done,
		 recorder.largest, (unsigned long long)(recorder.rounds > 0
		 ? recorder.update_us / recorder.rounds : 0),
		 (unsigned long long)recorder.update_max_us,
		 recorder.failed_updates, recorder.refused, recorder.violations,
		 recorder.connections.count, relaydb_opens(recorder.db));
	recorder.rounds = recorder.updates = recorder.grants_done = 0;
	recorder.refused = recorder.violations = recorder.failed_updates = 0;
	recorder.largest = 0;
	recorder.update_us = recorder.update_max_us = 0;
}

/* Check everything -t checks; print each problem. Returns the number. */
static int recorder_check(const struct daemon_options *options)
{
	const char *conf_path = options->conf_path;
	bool conf_given = options->conf_given;
	struct listen_endpoint *items;
	size_t count = 0;
	const char *error;
	char dir[4096], *slash;
	int problems = 0;

	if (listen_endpoint_list_parse(recorder.conf.relay_db_recorder, &items,
				       &count, &error) == 0)
		free(items);
	if (count == 0) {
		fprintf(stderr, RECORDER_NAME ": %s: nothing to listen on: set "
			"relay_db_recorder\n",
			conf_given ? conf_path : RELAYGATE_CONF_DEFAULT_PATH);
		problems++;
	}
	snprintf(dir, sizeof(dir), "%s", recorder.conf.relay_db);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (access(dir, W_OK) < 0) {
		fprintf(stderr, RECORDER_NAME ": relay_db %s: cannot write its "
			"directory %s: %s (the recorder must run as a user that "
			"may)\n", recorder.conf.relay_db, dir, strerror(errno));
		problems++;
	}
	return problems;
}

/* Listen on relay_db_recorder; a unix socket gets mode 0660 and the
 * group recorder_group (if set). */
static void recorder_listen(void)
{
	char message[512];
	const char *error;

	if (listen_endpoint_parse(recorder.conf.relay_db_recorder,
				  &recorder.endpoint, &error) < 0)
		log_fatal(EX_CONFIG, "relay_db_recorder: %s", error);
	recorder.listener.fd = listen_endpoint_open(&recorder.endpoint,
						    RECORDER_BACKLOG, message,
						    sizeof(message));
	if (recorder.listener.fd < 0)
		log_fatal(EX_UNAVAILABLE, "cannot listen: %s", message);
	if (recorder.endpoint.family == AF_UNIX) {
		const char *path = ((const struct sockaddr_un *)
				    &recorder.endpoint.addr)->sun_path;

		if (*recorder.conf.recorder_group != '\0') {
			struct group *gr = getgrnam(recorder.conf.recorder_group);

			if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) < 0)
				log_fatal(EX_OSERR, "%s: cannot give it group "
					  "%s: %s", path,
					  recorder.conf.recorder_group,
					  gr == NULL ? "no such group"
					  : strerror(errno));
		}
		if (chmod(path, 0660) < 0)
			log_fatal(EX_OSERR, "%s: chmod: %s", path, strerror(errno));
	}
	recorder.listener.handler = recorder_accept;
	recorder.listener.context = NULL;
}

static void recorder_open_store(void)
{
	struct relaydb_settings settings;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = recorder.conf.relay_db;
	settings.lock_timeout_ms =
	    (unsigned)recorder.conf.relay_db_lock_timeout * 1000;
	settings.fsync = recorder.conf.relay_db_fsync;
	settings.create = true;		/* the empty map from the first start */
	settings.recorder = NULL;	/* we are the recorder */
	settings.commit_helper = true;	/* before the socket is opened */
	settings.keep_writer = true;	/* the one long-lived writer */
	recorder.db = relaydb_open(&settings, &error);
	if (recorder.db == NULL)
		log_fatal(EX_UNAVAILABLE, "relay store %s: %s",
			  recorder.conf.relay_db, error);
}

int main(int argc, char **argv)
{
	struct daemon_options options = {
		.name = RECORDER_NAME,
		.version = RELAYGATE_VERSION,
		.usage = recorder_usage,
		.conf_path = RELAYGATE_CONF_DEFAULT_PATH,
	};
	struct sigaction sa;
	time_t last_summary;
	int status;

	status = relaygate_conf_start_daemon(&recorder.conf, &options, argc,
					     argv, recorder_check);
	if (status >= 0)
		return status;
	log_open(RECORDER_NAME, options.foreground);
	/* The store first: a recorder that cannot write it must not take
	 * clients away from writing it themselves. */
	recorder_open_store();
	recorder_listen();
	if (!options.foreground)
		daemon_detach();

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* nothing to reload: the store is
					 * opened for every update */
	sa.sa_handler = recorder_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	recorder.loop = event_loop_create();
	recorder.connections = (struct connection_list){
		.loop = recorder.loop,
		.max_connections = RECORDER_MAX_CONNECTIONS,
		.connection_size = sizeof(struct recorder_connection),
		.handler = recorder_connection_event,
		.output_max = RECORDER_OUTPUT_MAX,
	};
	if (recorder.loop == NULL
	    || connection_list_add_listener(&recorder.connections,
					    &recorder.listener) < 0)
		log_fatal(EX_OSERR, "epoll: %s", strerror(errno));
	log_info("started store=%s endpoint=%s fsync=%s uid=%ld",
		 recorder.conf.relay_db, recorder.endpoint.text,
		 recorder.conf.relay_db_fsync ? "yes" : "no", (long)geteuid());
	last_summary = time(NULL);

	while (!recorder.stop) {
		time_t now;

		/* Requests that arrive while the update runs wait in their
		 * sockets for the next round: that is the batching. */
		if (event_loop_run_once(recorder.loop, recorder_work_left()
					? 0 : 1000) < 0 && errno != EINTR)
			log_fatal(EX_OSERR, "epoll_wait: %s", strerror(errno));
		recorder_round();	/* also after a SIGTERM: answer what
					 * was read */
		now = time(NULL);
		if (now - last_summary >= RECORDER_SUMMARY_INTERVAL) {
			recorder_summary();
			last_summary = now;
		}
	}
	recorder_summary();
	log_info("stopping");
	/* Closing before unlinking: a client that connects now finds no
	 * socket and writes the store itself. */
	close(recorder.listener.fd);
	if (recorder.endpoint.family == AF_UNIX)
		(void)unlink(((const struct sockaddr_un *)
			      &recorder.endpoint.addr)->sun_path);
	connection_list_free(&recorder.connections);
	event_loop_destroy(&recorder.loop);
	relaydb_close(&recorder.db);
	free(recorder.grants);
	free(recorder.answers);
	relaygate_conf_free(&recorder.conf);
	return 0;
}

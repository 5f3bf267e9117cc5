/* relaygate-pop3d: the master process. It reads the configuration, the
 * password file and the TLS keys (as root), listens, and forks one session
 * process per connection; it counts connections per address, reaps the
 * children and keeps the failed-login throttle. It never reads a byte
 * from a client. */
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <pwd.h>

#include <netinet/in.h>
#include <openssl/err.h>

#include "daemon.h"
#include "listen_endpoint.h"
#include "log.h"

#define POP3D_NAME "relaygate-pop3d"
#define POP3D_BACKLOG 1024
#define POP3D_LISTENERS_MAX 32

struct pop3d_listener {
	struct listen_endpoint endpoint;
	int fd;
	bool implicit_tls;
};

struct pop3d_child {
	pid_t pid;
	struct address address;
};

static struct pop3d pop3d;
static struct pop3d_listener listeners[POP3D_LISTENERS_MAX];
static size_t listener_count;
static struct pop3d_child *children;
static size_t child_count;
static int signal_fd, status_read_fd;
static sigset_t original_mask;

static void pop3d_usage(FILE *out)
{
	fprintf(out, "usage: " POP3D_NAME " [-F] [-t] [-c config-file]\n"
		"  -c FILE  configuration file (default "
		RELAYGATE_CONF_DEFAULT_PATH ")\n"
		"  -F       stay in the foreground, log to stderr\n"
		"  -t       check the configuration, print the problems, exit\n"
		"  -V       print the version\n");
}

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
static int pop3d_check(const char *conf_path)
{
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

/* The client's address from a socket address (IPv4-mapped IPv6: IPv4). */
static void pop3d_client_address(const struct sockaddr_storage *ss,
				 struct pop3d_client *client)
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
	if (client->address.family == AF_INET)
		client->loopback = client->address.bytes[0] == 127;
	else {
		static const unsigned char one[16] = { [15] = 1 };

		client->loopback = memcmp(client->address.bytes, one, 16) == 0;
	}
}

/* Connections from ADDRESS now. */
static size_t pop3d_connections_from(const struct address *address)
{
	size_t i, n = 0;

	for (i = 0; i < child_count; i++) {
		if (children[i].address.family == address->family
		    && memcmp(children[i].address.bytes, address->bytes,
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

/* Start the session process of one accepted connection. */
static void pop3d_start_session(int fd, const struct sockaddr_storage *ss,
				bool implicit_tls)
{
	static unsigned long long counter;
	struct pop3d_client client;
	uint64_t nonce = 0;
	char error[512];
	pid_t pid;
	size_t i;

	memset(&client, 0, sizeof(client));
	client.fd = fd;
	client.implicit_tls = implicit_tls;
	pop3d_client_address(ss, &client);
	if (child_count >= (size_t)pop3d.conf.pop3_max_connections) {
		log_warn("pop3: event=refused address=%s reason=max-connections "
			 "limit=%lld", client.address_text,
			 (long long)pop3d.conf.pop3_max_connections);
		pop3d_refuse(fd, implicit_tls,
			     "-ERR [SYS/TEMP] Too many connections, try later.\r\n");
		return;
	}
	if (pop3d_connections_from(&client.address)
	    >= (size_t)pop3d.conf.pop3_max_connections_per_ip) {
		log_warn("pop3: event=refused address=%s "
			 "reason=max-connections-per-ip limit=%lld",
			 client.address_text,
			 (long long)pop3d.conf.pop3_max_connections_per_ip);
		pop3d_refuse(fd, implicit_tls, "-ERR [SYS/TEMP] Too many "
			     "connections from your address, try later.\r\n");
		return;
	}
	if (passwd_file_refresh(pop3d.users, error, sizeof(error)) < 0)
		log_error("pop3: keeping the users loaded before: %s", error);
	if (getrandom(&nonce, sizeof(nonce), GRND_NONBLOCK) != sizeof(nonce))
		nonce ^= (uint64_t)time(NULL) * 2654435761u;
	snprintf(client.apop_timestamp, sizeof(client.apop_timestamp),
		 "<%llu.%llu.%016llx@%s>", (unsigned long long)getpid(),
		 ++counter, (unsigned long long)nonce, pop3d.hostname);

	pid = fork();
	if (pid < 0) {
		log_error("pop3: fork: %s", strerror(errno));
		pop3d_refuse(fd, implicit_tls,
			     "-ERR [SYS/TEMP] Server busy, try later.\r\n");
		return;
	}
	if (pid == 0) {
		struct sigaction sa;

		for (i = 0; i < listener_count; i++)
			close(listeners[i].fd);
		close(signal_fd);
		close(status_read_fd);
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGCHLD, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigprocmask(SIG_SETMASK, &original_mask, NULL);
		free(children);
		pop3_session_run(&pop3d, &client);
	}
	close(fd);
	children[child_count].pid = pid;
	children[child_count].address = client.address;
	child_count++;
}

static void pop3d_accept(struct pop3d_listener *listener)
{
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
			return;
		}
		if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) {
			close(fd);
			continue;
		}
		pop3d_start_session(fd, &ss, listener->implicit_tls);
	}
}

static void pop3d_reap(void)
{
	pid_t pid;
	size_t i;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0) {
		for (i = 0; i < child_count; i++) {
			if (children[i].pid == pid) {
				children[i] = children[--child_count];
				break;
			}
		}
	}
}

static void pop3d_read_status(void)
{
	struct pop3d_status status[64];
	ssize_t got;
	size_t i;

	while ((got = read(status_read_fd, status, sizeof(status))) > 0) {
		for (i = 0; i < (size_t)got / sizeof(*status); i++)
			(void)login_throttle_failure(pop3d.throttle,
						     &status[i].address);
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
	pop3d.db = relaydb_open(&settings, &error);
	if (pop3d.db == NULL)
		log_fatal(EX_UNAVAILABLE, "relay store %s: %s",
			  pop3d.conf.relay_db, error);
}

int main(int argc, char **argv)
{
	const char *conf_path = RELAYGATE_CONF_DEFAULT_PATH, *error;
	bool conf_given = false, foreground = false, check_only = false;
	struct login_throttle_settings throttle_settings;
	struct pollfd pfd[POP3D_LISTENERS_MAX + 2];
	char message[1024];
	struct sigaction sa;
	struct rlimit rl;
	sigset_t mask;
	int status_pipe[2];
	size_t i;
	int opt;

	while ((opt = getopt(argc, argv, "c:FtVh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'F':
			foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'V':
			printf(POP3D_NAME " %s\n", RELAYGATE_VERSION);
			return 0;
		case 'h':
			pop3d_usage(stdout);
			return 0;
		default:
			pop3d_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, POP3D_NAME ": unexpected argument: %s\n", argv[optind]);
		pop3d_usage(stderr);
		return EX_USAGE;
	}
	if (relaygate_conf_init(&pop3d.conf, &error) < 0) {
		fprintf(stderr, POP3D_NAME ": %s\n", error);
		return EX_SOFTWARE;
	}
	if (relaygate_conf_load(&pop3d.conf, conf_path, conf_given, message,
				sizeof(message)) < 0) {
		fprintf(stderr, POP3D_NAME ": %s\n", message);
		return EX_CONFIG;
	}
	if (pop3d_check(conf_path) > 0)
		return EX_CONFIG;
	if (check_only) {
		printf(POP3D_NAME ": %s: configuration OK\n", conf_path);
		return 0;
	}
	log_open(POP3D_NAME, foreground);
	pop3d.privileged = geteuid() == 0;
	if (gethostname(pop3d.hostname, sizeof(pop3d.hostname) - 1) < 0
	    || pop3d.hostname[0] == '\0')
		strcpy(pop3d.hostname, "localhost");

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)pop3d.conf.pop3_max_connections + 64;

		if (rl.rlim_cur < want) {
			rl.rlim_cur = want <= rl.rlim_max ? want : rl.rlim_max;
			if (rl.rlim_cur < want && geteuid() == 0)
				rl.rlim_max = rl.rlim_cur = want;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	for (i = 0; i < listener_count; i++) {
		listeners[i].fd = listen_endpoint_open(&listeners[i].endpoint,
						       POP3D_BACKLOG, message,
						       sizeof(message));
		if (listeners[i].fd < 0)
			log_fatal(EX_UNAVAILABLE, "cannot listen: %s", message);
	}
	children = calloc((size_t)pop3d.conf.pop3_max_connections,
			  sizeof(*children));
	login_throttle_defaults(&throttle_settings);
	pop3d.throttle = login_throttle_new(&throttle_settings, NULL, NULL);
	if (children == NULL || pop3d.throttle == NULL)
		log_fatal(EX_OSERR, "out of memory");
	if (pipe2(status_pipe, O_CLOEXEC) < 0
	    || fcntl(status_pipe[0], F_SETFL, O_NONBLOCK) < 0)
		log_fatal(EX_OSERR, "pipe: %s", strerror(errno));
	status_read_fd = status_pipe[0];
	pop3d.status_fd = status_pipe[1];

	if (!foreground)
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
	signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0)
		log_fatal(EX_OSERR, "signalfd: %s", strerror(errno));

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
	}
	for (;;) {
		size_t n = 0;

		for (i = 0; i < listener_count; i++) {
			pfd[n].fd = listeners[i].fd;
			pfd[n++].events = POLLIN;
		}
		pfd[n].fd = signal_fd;
		pfd[n++].events = POLLIN;
		pfd[n].fd = status_read_fd;
		pfd[n++].events = POLLIN;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_fatal(EX_OSERR, "poll: %s", strerror(errno));
		}
		if (pfd[listener_count].revents & POLLIN) {
			struct signalfd_siginfo info;

			while (read(signal_fd, &info, sizeof(info)) == sizeof(info)) {
				if (info.ssi_signo == SIGCHLD)
					pop3d_reap();
				else if (info.ssi_signo == SIGHUP)
					log_info("pop3: event=reload (the password "
						 "file is re-read when it changes)");
				else {
					log_info("pop3: event=stop signal=%u "
						 "sessions=%zu", info.ssi_signo,
						 child_count);
					for (i = 0; i < child_count; i++)
						kill(children[i].pid, SIGTERM);
					return 0;
				}
			}
		}
		if (pfd[listener_count + 1].revents & POLLIN)
			pop3d_read_status();
		for (i = 0; i < listener_count; i++) {
			if (pfd[i].revents & POLLIN)
				pop3d_accept(&listeners[i]);
		}
	}
}

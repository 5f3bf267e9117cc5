/* pop3_login: the AUTHORIZATION state of RFC 1939, run by unprivileged,
 * long-lived login processes, one connection at a time. They parse every
 * byte a client sends before login and never see a password file or the
 * store: credentials go to the master as a login_request, and the reply
 * comes back. After a login the connection is handed to a mail process
 * (plaintext), or relayed through TLS until either side closes. */
#define _GNU_SOURCE 1
#include "pop3d.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "login_request.h"
#include "pop3_ipc.h"
#include "pop3_command.h"
#include "pop3_stream.h"
#include "privilege.h"
#include "sasl_plain.h"

#define POP3_LOGIN_RELAY_BUFFER 16384

struct pop3_login {
	struct pop3d *pop3d;
	struct pop3_ipc_connection *client;
	uint32_t conn_id;
	struct pop3_stream stream;
	int channel_fd;
	char user[LOGIN_REQUEST_USER_MAX + 1];	/* from USER, "" if none */
	unsigned auth_attempts, auth_failures, bad_commands;
	unsigned plaintext_refused;	/* plaintext logins refused */
	const char *end_reason;	/* set: the connection is over here */
	bool handed_over;
};

static struct pop3_login login;
static struct pop3_ipc_message login_message;

/* The connection ends (REASON for the log); the callers unwind. */
static void pop3_login_end(const char *reason)
{
	if (login.end_reason == NULL)
		login.end_reason = reason;
}

/* May this connection send a plaintext password? */
static bool pop3_login_plaintext_allowed(void)
{
	return pop3d_plaintext_auth_allowed(login.pop3d, login.client,
					    login.stream.ssl != NULL);
}

/* Refuse a plaintext login (RFC 2449's [AUTH], Dovecot's words). */
static void pop3_login_refuse_plaintext(void)
{
	pop3_stream_puts(&login.stream, "-ERR [AUTH] Plaintext authentication "
			 "disallowed on non-secure connections.\r\n");
	login.plaintext_refused++;
}

/* STLS can be offered: TLS configured and not yet in use. */
static bool pop3_login_stls_available(void)
{
	return login.pop3d->tls != NULL && login.stream.ssl == NULL;
}

static void pop3_login_capa(void)
{
	pop3_stream_puts(&login.stream, "+OK Capability list follows\r\n"
			 "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
			 "PIPELINING\r\n");
	if (pop3_login_plaintext_allowed())
		pop3_stream_puts(&login.stream, "USER\r\nSASL PLAIN\r\n");
	if (pop3_login_stls_available())
		pop3_stream_puts(&login.stream, "STLS\r\n");
	pop3_stream_puts(&login.stream, "IMPLEMENTATION relaygate\r\n.\r\n");
}

/* Relay between the TLS client and the session process until one side
 * closes. Both directions are buffered, so neither side can block the
 * other; the session process enforces the idle timeout. */
static void pop3_login_relay(int chan)
{
	static unsigned char to_session[POP3_LOGIN_RELAY_BUFFER];
	static unsigned char to_client[POP3_LOGIN_RELAY_BUFFER];
	size_t in_len, out_len = 0, out_start = 0, in_start = 0;
	SSL *ssl = login.stream.ssl;
	int fd = login.stream.fd;
	bool client_eof = false, session_eof = false;
	bool ssl_want_write = false, shut = false;
	int flags = fcntl(chan, F_GETFL);

	if (flags >= 0)
		(void)fcntl(chan, F_SETFL, flags | O_NONBLOCK);
	in_len = 0;
	for (;;) {
		struct pollfd pfd[2];
		int ret;

		/* client -> session */
		while (!client_eof && in_len < sizeof(to_session)) {
			ret = SSL_read(ssl, to_session + in_len,
				       (int)(sizeof(to_session) - in_len));
			if (ret > 0) {
				in_len += (size_t)ret;
				continue;
			}
			ret = SSL_get_error(ssl, ret);
			if (ret == SSL_ERROR_WANT_WRITE)
				ssl_want_write = true;
			else if (ret != SSL_ERROR_WANT_READ)
				client_eof = true;
			break;
		}
		while (in_start < in_len) {
			ssize_t done = write(chan, to_session + in_start,
					     in_len - in_start);

			if (done > 0) {
				in_start += (size_t)done;
				continue;
			}
			if (done < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			return;	/* the mail process is gone */
		}
		if (in_start == in_len)
			in_start = in_len = 0;

		/* session -> client */
		if (!session_eof && out_len < sizeof(to_client)) {
			ssize_t got = read(chan, to_client + out_len,
					   sizeof(to_client) - out_len);

			if (got > 0)
				out_len += (size_t)got;
			else if (got == 0 || (errno != EAGAIN && errno != EINTR))
				session_eof = true;
		}
		ssl_want_write = false;
		while (out_start < out_len) {
			ret = SSL_write(ssl, to_client + out_start,
					(int)(out_len - out_start));
			if (ret > 0) {
				out_start += (size_t)ret;
				continue;
			}
			ret = SSL_get_error(ssl, ret);
			if (ret == SSL_ERROR_WANT_WRITE)
				ssl_want_write = true;
			else if (ret != SSL_ERROR_WANT_READ)
				return;	/* the client is gone */
			break;
		}
		if (out_start == out_len)
			out_start = out_len = 0;

		if (session_eof && out_len == 0)
			return;
		if (client_eof && in_len == 0 && !shut) {
			shut = true;
			/* the session sees the end of input; keep sending
			 * its last answers */
			shutdown(chan, SHUT_WR);
		}
		if (!client_eof && SSL_pending(ssl) > 0
		    && in_len < sizeof(to_session))
			continue;

		pfd[0].fd = fd;
		pfd[0].events = 0;
		if (!client_eof && in_len < sizeof(to_session))
			pfd[0].events |= POLLIN;
		if (out_len > 0 || ssl_want_write)
			pfd[0].events |= POLLOUT;
		pfd[1].fd = chan;
		pfd[1].events = 0;
		if (!session_eof && out_len < sizeof(to_client))
			pfd[1].events |= POLLIN;
		if (in_len > 0)
			pfd[1].events |= POLLOUT;
		ret = poll(pfd, 2, login.stream.timeout_ms * 2);
		if (ret == 0 || (ret < 0 && errno != EINTR))
			return;
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			return;
		if ((pfd[0].revents & POLLHUP) && !(pfd[0].revents & POLLIN)
		    && !client_eof)
			client_eof = true;
	}
}

/* Hand the logged-in connection to a mail process through the master:
 * plaintext, the client socket itself; TLS, one end of a socket pair that
 * this process then relays to. The input read beyond the login goes
 * along. */
static void pop3_login_hand_over(void)
{
	unsigned char rest[1 + POP3_STREAM_IN_SIZE];
	size_t len;
	int pair[2];

	rest[0] = login.stream.ssl != NULL ? 1 : 0;
	len = pop3_stream_take_buffered(&login.stream, rest + 1,
					sizeof(rest) - 1);
	login.handed_over = true;
	if (login.stream.ssl == NULL) {
		if (pop3_ipc_send(login.channel_fd, POP3_IPC_HANDED_OVER,
				  login.conn_id, rest, 1 + len,
				  login.stream.fd) < 0)
			log_error("pop3: login process: handing over: %s",
				  strerror(errno));
		pop3_login_end("handed-over");
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		log_error("pop3: login process: socketpair: %s", strerror(errno));
		pop3_login_end("error");
		return;
	}
	if (pop3_ipc_send(login.channel_fd, POP3_IPC_HANDED_OVER, login.conn_id,
			  rest, 1 + len, pair[1]) < 0) {
		log_error("pop3: login process: handing over: %s", strerror(errno));
		close(pair[0]);
		close(pair[1]);
		pop3_login_end("error");
		return;
	}
	close(pair[1]);
	pop3_login_relay(pair[0]);
	close(pair[0]);
	pop3_login_end("handed-over");
}

/* The answer to a bad command, TEXT without "-ERR " and CRLF. The one
 * that reaches pop3_max_bad_commands says so in the same line and ends
 * the connection: one reply per command (RFC 1939 section 3), so that a
 * pipelining client (RFC 2449) never reads a reply it did not ask for. */
static void pop3_login_bad_command(const char *text)
{
	login.bad_commands++;
	if (login.bad_commands
	    >= (unsigned)login.pop3d->conf.pop3_max_bad_commands) {
		pop3_stream_printf(&login.stream,
				   "-ERR %s Too many bad commands.\r\n", text);
		pop3_login_end("bad-commands");
	} else
		pop3_stream_printf(&login.stream, "-ERR %s\r\n", text);
}

/* The answer to a failed login, REPLY (LEN bytes, a whole "-ERR ..."
 * line without CRLF): USER is forgotten, and the failure that reaches
 * POP3D_AUTH_FAILURES_MAX says so in the same line and ends the
 * connection. */
static void pop3_login_failed(const char *reply, size_t len)
{
	login.auth_failures++;
	login.user[0] = '\0';
	pop3_stream_write(&login.stream, reply, len);
	if (login.auth_failures >= POP3D_AUTH_FAILURES_MAX) {
		pop3_stream_puts(&login.stream, " Too many failed logins.\r\n");
		pop3_login_end("auth-failures");
	} else
		pop3_stream_puts(&login.stream, "\r\n");
}

/* Send a login request to the session process and relay its answer. */
static void pop3_login_attempt(enum login_method method, const char *user,
			       const char *secret)
{
	struct login_request request;
	char buf[LOGIN_REQUEST_MAX + 16];
	char reply[600];
	size_t len;
	ssize_t got;
	size_t i;

	login.auth_attempts++;
	request.method = method;
	request.user = user;
	request.secret = secret;
	request.tls = login.stream.ssl != NULL;
	len = login_request_format(&request, buf, sizeof(buf));
	if (len == 0) {
		/* A user name no passwd-file entry can have, or a secret
		 * too long for any: no password can match, so the answer
		 * comes at once, but as for a wrong one (RFC 3206: [AUTH],
		 * a problem with the credentials, not [SYS/TEMP]). */
		const char *problem = login_request_user_problem(user);
		char shown[128];

		OPENSSL_cleanse(buf, sizeof(buf));
		log_info("pop3: event=login-failed address=%s user=\"%s\" "
			 "method=%s reason=malformed error=\"%s\"",
			 login.client->address_text,
			 log_sanitize(user, shown, sizeof(shown)),
			 login_method_name(method),
			 problem != NULL ? problem : "secret too long");
		pop3_login_failed(POP3D_REPLY_AUTH_FAILED,
				  sizeof(POP3D_REPLY_AUTH_FAILED) - 1);
		return;
	}
	/* answers already queued go out first */
	if (pop3_stream_flush(&login.stream) < 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		pop3_login_end("disconnect");
		return;
	}
	if (pop3_ipc_send(login.channel_fd, POP3_IPC_AUTH_REQUEST, login.conn_id,
			  buf, len, -1) < 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		log_error("pop3: login process: master gone: %s", strerror(errno));
		_exit(0);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	for (;;) {
		int ret = pop3_ipc_recv(login.channel_fd, &login_message);

		if (ret < 0 && errno == EAGAIN)
			continue;
		if (ret <= 0)
			_exit(0);	/* the master is gone */
		if (login_message.fd >= 0)
			close(login_message.fd);
		if (login_message.header.conn_id == login.conn_id)
			break;
	}
	if (login_message.header.type == POP3_IPC_HAND_OVER) {
		pop3_login_hand_over();
		return;
	}
	got = (ssize_t)login_message.payload_len;
	if (login_message.header.type != POP3_IPC_AUTH_FAILED || got == 0
	    || got >= (ssize_t)sizeof(reply)) {
		pop3_login_end("master-protocol");
		return;
	}
	memcpy(reply, login_message.payload, (size_t)got);
	for (i = 0; i < (size_t)got; i++) {
		if ((unsigned char)reply[i] < 0x20) {
			pop3_login_end("master-protocol");
			return;
		}
	}
	pop3_login_failed(reply, (size_t)got);
}

/* RFC 5034 section 4: a response that cannot be decoded fails the AUTH
 * command; it counts as a failed login. */
static void pop3_login_sasl_invalid(const char *error)
{
	char reply[160];

	snprintf(reply, sizeof(reply),
		 "-ERR [AUTH] Invalid SASL PLAIN response: %s.", error);

	log_info("pop3: event=login-failed address=%s user=\"\" method=%s "
		 "reason=malformed error=\"%s\"", login.client->address_text,
		 login_method_name(LOGIN_METHOD_PLAIN), error);
	pop3_login_failed(reply, strlen(reply));
}

static void pop3_login_auth(struct pop3_command *cmd)
{
	char line[POP3_SASL_LINE_MAX + 1];
	const char *response, *error;
	struct sasl_plain plain;
	size_t len;

	if (cmd->argc == 0) {
		/* the mechanisms usable here, as CAPA's SASL line */
		pop3_stream_puts(&login.stream, pop3_login_plaintext_allowed() ?
				 "+OK\r\nPLAIN\r\n.\r\n" : "+OK\r\n.\r\n");
		return;
	}
	if (strcasecmp(cmd->args[0], "PLAIN") != 0) {
		pop3_stream_puts(&login.stream,
				 "-ERR Unsupported authentication mechanism.\r\n");
		return;
	}
	if (cmd->argc > 2) {
		pop3_login_bad_command("Too many arguments.");
		return;
	}
	if (!pop3_login_plaintext_allowed()) {
		pop3_login_refuse_plaintext();
		return;
	}
	if (cmd->argc == 2) {
		response = cmd->args[1];
		if (strcmp(response, "=") == 0)
			response = "";
	} else {
		pop3_stream_puts(&login.stream, "+ \r\n");
		if (pop3_stream_flush(&login.stream) < 0) {
			pop3_login_end("disconnect");
			return;
		}
		switch (pop3_stream_read_line(&login.stream, line,
					      POP3_SASL_LINE_MAX, &len)) {
		case POP3_STREAM_OK:
			break;
		case POP3_STREAM_TOO_LONG:
			pop3_stream_puts(&login.stream, "-ERR Line too long.\r\n");
			pop3_login_end("too-long");
			return;
		case POP3_STREAM_TIMEOUT:
			/* RFC 1939 section 3: closed without a response */
			pop3_login_end("timeout");
			return;
		default:
			pop3_login_end("disconnect");
			return;
		}
		if (memchr(line, '\0', len) != NULL) {
			/* not base64, and no C string could check it */
			OPENSSL_cleanse(line, sizeof(line));
			pop3_login_sasl_invalid("NUL byte in response");
			return;
		}
		if (strcmp(line, "*") == 0) {
			OPENSSL_cleanse(line, sizeof(line));
			pop3_stream_puts(&login.stream,
					 "-ERR Authentication cancelled.\r\n");
			return;
		}
		response = line;
	}
	if (sasl_plain_decode(response, strlen(response), &plain, &error) < 0) {
		sasl_plain_wipe(&plain);
		OPENSSL_cleanse(line, sizeof(line));
		pop3_login_sasl_invalid(error);
		return;
	}
	OPENSSL_cleanse(line, sizeof(line));
	pop3_login_attempt(LOGIN_METHOD_PLAIN, plain.authcid, plain.password);
	sasl_plain_wipe(&plain);
}

/* One command in the AUTHORIZATION state. */
static void pop3_login_command(char *line, size_t len)
{
	struct pop3_command cmd;
	const char *error;
	size_t discarded;

	if (pop3_command_parse(line, len, &cmd, &error) < 0) {
		pop3_login_bad_command(error);
		return;
	}
	if (cmd.argc > 0 && (strcmp(cmd.name, "CAPA") == 0
			     || strcmp(cmd.name, "QUIT") == 0
			     || strcmp(cmd.name, "STLS") == 0)) {
		/* RFC 1939, 2449, 2595: "Arguments: none" */
		pop3_login_bad_command("Too many arguments.");
		OPENSSL_cleanse(line, len);
		return;
	}
	if (strcmp(cmd.name, "CAPA") == 0)
		pop3_login_capa();
	else if (strcmp(cmd.name, "QUIT") == 0) {
		pop3_stream_puts(&login.stream, "+OK Logging out.\r\n");
		pop3_login_end("quit");
	} else if (strcmp(cmd.name, "STLS") == 0) {
		if (!pop3_login_stls_available()) {
			pop3_login_bad_command(login.stream.ssl != NULL ?
					       "TLS is already active." :
					       "TLS is not available.");
			return;
		}
		pop3_stream_puts(&login.stream,
				 "+OK Begin TLS negotiation now.\r\n");
		/* commands sent before the handshake are not the TLS
		 * client's: dropped unread (the STARTTLS injection of
		 * CVE-2011-0411), as Postfix does */
		discarded = pop3_stream_discard_input(&login.stream);
		if (discarded > 0)
			log_info("pop3: event=stls-input-discarded address=%s "
				 "octets=%zu", login.client->address_text,
				 discarded);
		if (pop3_stream_flush(&login.stream) < 0)
			pop3_login_end("disconnect");
		else if (pop3_stream_start_tls(&login.stream, login.pop3d->tls) < 0)
			pop3_login_end("tls-failed");
		login.user[0] = '\0';	/* RFC 2595: forget the state */
	} else if (strcmp(cmd.name, "USER") == 0) {
		if (cmd.argc != 1) {
			pop3_login_bad_command("Expected one argument: USER name.");
		} else if (!pop3_login_plaintext_allowed()) {
			pop3_login_refuse_plaintext();
		} else if (strlen(cmd.args[0]) > LOGIN_REQUEST_USER_MAX) {
			pop3_login_bad_command("User name too long.");
		} else {
			strcpy(login.user, cmd.args[0]);
			pop3_stream_puts(&login.stream, "+OK\r\n");
		}
	} else if (strcmp(cmd.name, "PASS") == 0) {
		/* the refusal first: a client that ignored USER's answer
		 * shows PASS's, which must say why */
		if (!pop3_login_plaintext_allowed()) {
			pop3_login_refuse_plaintext();
		} else if (login.user[0] == '\0') {
			pop3_login_bad_command("No USER given.");
		} else if (cmd.rest[0] == '\0') {
			/* RFC 1939: the argument is required; a syntax
			 * error, not a failed login */
			pop3_login_bad_command("Expected PASS password.");
		} else
			pop3_login_attempt(LOGIN_METHOD_USER, login.user,
					   cmd.rest);
	} else if (strcmp(cmd.name, "APOP") == 0) {
		if (cmd.argc != 2) {
			pop3_login_bad_command("Expected APOP name digest.");
		} else
			pop3_login_attempt(LOGIN_METHOD_APOP, cmd.args[0],
					   cmd.args[1]);
	} else if (strcmp(cmd.name, "AUTH") == 0)
		pop3_login_auth(&cmd);
	else
		pop3_login_bad_command(strcmp(cmd.name, "STAT") == 0
				       || strcmp(cmd.name, "LIST") == 0
				       || strcmp(cmd.name, "RETR") == 0
				       || strcmp(cmd.name, "DELE") == 0
				       || strcmp(cmd.name, "NOOP") == 0
				       || strcmp(cmd.name, "RSET") == 0
				       || strcmp(cmd.name, "TOP") == 0
				       || strcmp(cmd.name, "UIDL") == 0 ?
				       "Not logged in." : "Unknown command.");
	OPENSSL_cleanse(line, len);
}

/* One connection, from the greeting to its end or its hand-over. */
static void pop3_login_serve(void)
{
	char line[POP3_SASL_LINE_MAX + 1];
	size_t len;

	if (login.client->implicit_tls
	    && pop3_stream_start_tls(&login.stream, login.pop3d->tls) < 0) {
		pop3_login_end("tls-failed");
		return;
	}
	pop3_stream_printf(&login.stream,
			   "+OK relaygate POP3 server ready %s\r\n",
			   login.client->apop_timestamp);
	while (login.end_reason == NULL) {
		if (pop3_stream_flush_if_idle(&login.stream) < 0) {
			pop3_login_end("disconnect");
			break;
		}
		/* AUTH may carry a long initial response (RFC 5034) */
		switch (pop3_stream_read_line(&login.stream, line,
					      POP3_SASL_LINE_MAX, &len)) {
		case POP3_STREAM_OK:
			if (len > POP3_COMMAND_LINE_MAX
			    && strncasecmp(line, "AUTH ", 5) != 0) {
				OPENSSL_cleanse(line, len);
				pop3_stream_puts(&login.stream,
						 "-ERR Line too long.\r\n");
				pop3_login_end("too-long");
				continue;
			}
			pop3_login_command(line, len);
			break;
		case POP3_STREAM_TOO_LONG:
			pop3_stream_puts(&login.stream, "-ERR Line too long.\r\n");
			pop3_login_end("too-long");
			continue;
		case POP3_STREAM_TIMEOUT:
			/* RFC 1939 section 3: closed without a response */
			pop3_login_end("timeout");
			continue;
		case POP3_STREAM_EOF:
			pop3_login_end("disconnect");
			continue;
		default:
			pop3_login_end("error");
			continue;
		}
	}
}

void pop3_login_run(struct pop3d *pop3d, int channel_fd)
{
	struct pop3_ipc_connection client;
	char message[256];
	unsigned long served = 0;
	int ret;

	login.pop3d = pop3d;
	login.channel_fd = channel_fd;
	/* nothing secret stays readable here */
	passwd_file_forget(pop3d->users);
	if (pop3d->privileged
	    && privilege_drop_ids(pop3d->login_uid, pop3d->login_gid, message,
				  sizeof(message)) < 0) {
		log_error("pop3: login process: %s", message);
		_exit(EX_NOPERM);
	}
	/* the login process ends with the master */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);

	while (served < POP3D_LOGIN_CONNECTIONS_MAX) {
		ret = pop3_ipc_recv(channel_fd, &login_message);
		if (ret < 0 && errno == EAGAIN)
			continue;
		if (ret <= 0)
			_exit(0);
		if (login_message.header.type != POP3_IPC_CONNECTION
		    || login_message.fd < 0
		    || login_message.payload_len != sizeof(client)) {
			if (login_message.fd >= 0)
				close(login_message.fd);
			continue;
		}
		memcpy(&client, login_message.payload, sizeof(client));
		served++;
		login.client = &client;
		login.conn_id = login_message.header.conn_id;
		login.user[0] = '\0';
		login.auth_attempts = login.auth_failures = login.bad_commands = 0;
		login.plaintext_refused = 0;
		login.end_reason = NULL;
		login.handed_over = false;
		pop3_stream_init(&login.stream, login_message.fd,
				 (int)pop3d->conf.pop3_idle_timeout * 1000);
		pop3_login_serve();
		/* the master hears of the end before the client reads the last
		 * reply: one that connects again at once is not counted twice */
		(void)pop3_ipc_send(channel_fd, POP3_IPC_LOGIN_DONE,
				    login.conn_id, NULL, 0, -1);
		if (!login.handed_over) {
			char refused[40] = "";

			(void)pop3_stream_flush(&login.stream);
			if (login.plaintext_refused > 0)
				snprintf(refused, sizeof(refused),
					 " plaintext_refused=%u",
					 login.plaintext_refused);
			log_info("pop3: event=disconnect address=%s reason=%s "
				 "auth_attempts=%u%s%s%s", client.address_text,
				 login.end_reason, login.auth_attempts, refused,
				 login.stream.error != NULL ? " error=" : "",
				 login.stream.error != NULL ? login.stream.error : "");
		}
		pop3_stream_end_tls(&login.stream);
		close(login.stream.fd);
		OPENSSL_cleanse(login.stream.in, sizeof(login.stream.in));
	}
	_exit(0);
}

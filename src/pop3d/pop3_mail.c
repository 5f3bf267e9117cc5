/* pop3_mail: a mail process of relaygate-pop3d. It runs as one mailbox
 * owner's uid and gid (never root) and serves the TRANSACTION and UPDATE
 * states of RFC 1939 for many logged-in sessions of that uid at once, in
 * one event loop: no session can stall another, a client that stops
 * reading only fills its own bounded buffer. A session's mailbox is locked
 * and scanned when the master hands it over; +OK goes out only when the
 * master says the grant was recorded. */
#define _GNU_SOURCE 1
#include "pop3d.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "event_loop.h"
#include "log.h"
#include "maildir.h"
#include "pop3_command.h"
#include "privilege.h"

/* Input kept per session: a command line and CRLF, and the hand-over. */
#define POP3_MAIL_IN_MAX (POP3_COMMAND_LINE_MAX + 8192)
/* Output queued per session before its client must read. */
#define POP3_MAIL_OUT_MAX (256 * 1024)
/* Refill a message's output below this. */
#define POP3_MAIL_OUT_LOW (64 * 1024)

enum pop3_mail_state {
	POP3_MAIL_WAIT_GO,	/* mailbox locked, waiting for the grant */
	POP3_MAIL_ACTIVE,
	POP3_MAIL_CLOSING,	/* sending the last replies */
};

struct pop3_mail_session {
	struct event_watch watch;
	struct pop3_mail_session *prev, *next;
	uint32_t conn_id;
	enum pop3_mail_state state;
	struct maildir *maildir;
	struct maildir_reader *reader;	/* RETR/TOP in progress */
	uint64_t reader_size;		/* RETR: octets, for the counters */
	size_t reader_index;
	struct maildir_reader *ahead;	/* the message after the last RETR,
					 * opened while the client was busy */
	size_t ahead_index;
	size_t want_ahead;		/* index to read ahead, or SIZE_MAX */
	struct buffer in, out;
	bool input_eof;
	const char *close_reason;
	bool closed_reported;		/* the master was told */
	unsigned bad_commands;
	unsigned long retrieved, deleted;
	unsigned long long retrieved_octets, bytes_out;
	uint64_t last_activity_ms;
	char user[256];
	char method[8];
	char address_text[64];
	bool tls;
	bool plaintext_auth;		/* CAPA lists USER and SASL PLAIN */
};

static struct {
	struct pop3d *pop3d;
	struct event_loop *loop;
	struct event_watch channel;
	struct pop3_mail_session *sessions;
	size_t session_count;
	bool master_gone;
	bool stop_asked;		/* POP3_IPC_STOP: idle, exit when the
					 * last sessions are done */
	uint64_t idle_timeout_ms;
} mail;

static struct pop3_ipc_message mail_message;
static volatile sig_atomic_t mail_stop_signal;

static void pop3_mail_on_stop(int signo)
{
	mail_stop_signal = signo;
}

static uint64_t pop3_mail_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pop3_mail_reply(struct pop3_mail_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Queue one reply line (printf style, CRLF added by the caller's text). */
static void pop3_mail_reply(struct pop3_mail_session *s, const char *fmt, ...)
{
	char line[512];
	va_list args;
	int len;

	va_start(args, fmt);
	len = vsnprintf(line, sizeof(line), fmt, args);
	va_end(args);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	if (buffer_append(&s->out, line, (size_t)len) < 0 && s->close_reason == NULL)
		s->close_reason = "output-overflow";
}

/* Write what is queued without blocking. Returns -1 when the client is
 * gone. */
static int pop3_mail_flush(struct pop3_mail_session *s)
{
	while (buffer_length(&s->out) > 0) {
		ssize_t done = send(s->watch.fd, buffer_data(&s->out),
				    buffer_length(&s->out),
				    MSG_NOSIGNAL | MSG_DONTWAIT);

		if (done < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		buffer_consume(&s->out, (size_t)done);
		s->bytes_out += (unsigned long long)done;
		s->last_activity_ms = pop3_mail_now_ms();
	}
	/* an idle session keeps no big buffer */
	if (s->out.size > 16384)
		buffer_free(&s->out);
	return 0;
}

/* Forget the read-ahead. */
static void pop3_mail_drop_ahead(struct pop3_mail_session *s)
{
	if (s->ahead != NULL)
		maildir_reader_close(&s->ahead);
	s->want_ahead = SIZE_MAX;
}

/* Tell the master the session is over, once: before its last reply goes
 * out, so that a client that connects again at once is not counted twice
 * against the connection limits. */
static void pop3_mail_report_closed(struct pop3_mail_session *s)
{
	if (s->closed_reported || mail.master_gone)
		return;
	s->closed_reported = true;
	(void)pop3_ipc_send(mail.channel.fd, POP3_IPC_CLOSED, s->conn_id, NULL,
			    0, -1);
}

/* The session is over: log, report to the master, free. */
static void pop3_mail_finish(struct pop3_mail_session *s)
{
	if (s->state != POP3_MAIL_WAIT_GO)
		event_loop_remove(mail.loop, &s->watch);
	if (s->reader != NULL)
		maildir_reader_close(&s->reader);
	pop3_mail_drop_ahead(s);
	if (s->state != POP3_MAIL_WAIT_GO || s->close_reason != NULL)
		log_info("pop3: event=logout address=%s user=%s reason=%s "
			 "retrieved=%lu retrieved_octets=%llu deleted=%lu "
			 "octets_sent=%llu", s->address_text, s->user,
			 s->close_reason != NULL ? s->close_reason : "quit",
			 s->retrieved, s->retrieved_octets, s->deleted,
			 s->bytes_out);
	maildir_close(&s->maildir);
	close(s->watch.fd);
	buffer_free(&s->in);
	buffer_free(&s->out);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		mail.sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	mail.session_count--;
	pop3_mail_report_closed(s);
	free(s);
}

/* The answer to a bad command, TEXT without "-ERR " and CRLF. The one
 * that reaches pop3_max_bad_commands says so in the same line and ends
 * the session: one reply per command (RFC 1939 section 3), so that a
 * pipelining client (RFC 2449) never reads a reply it did not ask for. */
static void pop3_mail_bad_command(struct pop3_mail_session *s,
				  const char *text)
{
	s->bad_commands++;
	if (s->bad_commands
	    >= (unsigned)mail.pop3d->conf.pop3_max_bad_commands) {
		pop3_mail_reply(s, "-ERR %s Too many bad commands.\r\n", text);
		s->close_reason = "bad-commands";
	} else
		pop3_mail_reply(s, "-ERR %s\r\n", text);
}

/* The message of ARG, or NULL after a -ERR reply. */
static const struct maildir_message *
pop3_mail_message(struct pop3_mail_session *s, const char *arg, size_t *index_r)
{
	const struct maildir_message *msg;
	unsigned long number;

	if (arg == NULL || pop3_command_number(arg, &number) < 0) {
		pop3_mail_bad_command(s, "Invalid message number.");
		return NULL;
	}
	if (number == 0 || number > maildir_count(s->maildir)) {
		pop3_mail_reply(s, "-ERR No such message.\r\n");
		return NULL;
	}
	msg = maildir_message(s->maildir, number - 1);
	if (msg->deleted) {
		pop3_mail_reply(s, "-ERR Message is deleted.\r\n");
		return NULL;
	}
	*index_r = number - 1;
	return msg;
}

/* Start RETR (TOP_LINES < 0) or TOP: the body follows in pop3_mail_pump. */
static void pop3_mail_start_message(struct pop3_mail_session *s, size_t index,
				    long long top_lines)
{
	const struct maildir_message *msg = maildir_message(s->maildir, index);
	const char *error;
	enum maildir_read_result result;

	if (s->ahead != NULL && s->ahead_index == index && top_lines < 0) {
		s->reader = s->ahead;
		s->ahead = NULL;
		result = MAILDIR_READ_OK;
	} else {
		pop3_mail_drop_ahead(s);
		result = maildir_reader_open(s->maildir, index, top_lines,
					     &s->reader, &error);
	}
	s->want_ahead = SIZE_MAX;
	s->reader_index = index;
	switch (result) {
	case MAILDIR_READ_OK:
		break;
	case MAILDIR_READ_GONE:
		pop3_mail_reply(s, "-ERR Message was deleted by another program.\r\n");
		return;
	default:
		log_error("pop3: user=%s message=%s: %s", s->user, msg->name, error);
		pop3_mail_reply(s, "-ERR [SYS/TEMP] Cannot read the message.\r\n");
		return;
	}
	if (top_lines < 0) {
		pop3_mail_reply(s, "+OK %llu octets\r\n",
				(unsigned long long)msg->size);
		s->reader_size = msg->size;
	} else {
		pop3_mail_reply(s, "+OK\r\n");
		s->reader_size = 0;
	}
}

/* Move message bytes into the output while it is below the low mark. */
static void pop3_mail_pump(struct pop3_mail_session *s)
{
	const char *error;

	while (s->reader != NULL && buffer_length(&s->out) < POP3_MAIL_OUT_LOW) {
		size_t room;
		unsigned char *space = buffer_reserve(&s->out, 65536, &room);
		ssize_t got;

		if (space == NULL) {
			s->close_reason = "out-of-memory";
			return;
		}
		got = maildir_reader_read(s->reader, space, room, &error);
		if (got < 0) {
			/* the reply is under way: only closing can tell */
			log_error("pop3: user=%s: reading a message: %s", s->user,
				  error);
			maildir_reader_close(&s->reader);
			s->close_reason = "read-error";
			return;
		}
		if (got > 0) {
			buffer_commit(&s->out, (size_t)got);
			continue;
		}
		(void)buffer_append(&s->out, maildir_reader_terminator(s->reader),
				    strlen(maildir_reader_terminator(s->reader)));
		maildir_reader_close(&s->reader);
		/* TOP sets reader_size 0 and is not counted */
		if (s->reader_size > 0) {
			s->retrieved++;
			s->retrieved_octets += s->reader_size;
			/* clients fetch in order: have the next one ready */
			s->want_ahead = s->reader_index + 1;
		}
	}
}

static void pop3_mail_list(struct pop3_mail_session *s,
			   const struct pop3_command *cmd, bool uidl)
{
	const struct maildir_message *msg;
	size_t index, i, count;
	uint64_t octets;

	if (cmd->argc > 1) {
		pop3_mail_bad_command(s, "Too many arguments.");
		return;
	}
	if (cmd->argc == 1) {
		msg = pop3_mail_message(s, cmd->args[0], &index);
		if (msg == NULL)
			return;
		if (uidl)
			pop3_mail_reply(s, "+OK %zu %s\r\n", index + 1, msg->uidl);
		else
			pop3_mail_reply(s, "+OK %zu %llu\r\n", index + 1,
					(unsigned long long)msg->size);
		return;
	}
	maildir_stat(s->maildir, &count, &octets);
	if (uidl)
		pop3_mail_reply(s, "+OK\r\n");
	else
		pop3_mail_reply(s, "+OK %zu messages (%llu octets)\r\n", count,
				(unsigned long long)octets);
	for (i = 0; i < maildir_count(s->maildir); i++) {
		msg = maildir_message(s->maildir, i);
		if (msg->deleted)
			continue;
		if (uidl)
			pop3_mail_reply(s, "%zu %s\r\n", i + 1, msg->uidl);
		else
			pop3_mail_reply(s, "%zu %llu\r\n", i + 1,
					(unsigned long long)msg->size);
	}
	pop3_mail_reply(s, ".\r\n");
}

/* QUIT: the UPDATE state. */
static void pop3_mail_update(struct pop3_mail_session *s)
{
	struct maildir_commit_result result;
	const char *error;

	if (maildir_commit(s->maildir, &result, &error) < 0) {
		log_error("pop3: user=%s: deleting messages: %s", s->user, error);
		pop3_mail_reply(s, "-ERR [SYS/TEMP] Some deleted messages were "
				"not removed.\r\n");
	} else
		pop3_mail_reply(s, "+OK Logging out, %zu messages deleted.\r\n",
				result.deleted + result.gone);
	/* the messages are gone: the client is not told, the quota is
	 * counted again by the next recalculation */
	if (result.quota == MAILDIR_QUOTA_FAILED)
		log_warn("pop3: user=%s: %s not updated: %s", s->user,
			 MAILDIR_QUOTA_NAME, result.quota_error);
	s->deleted = result.deleted + result.gone;
	s->close_reason = "quit";
	pop3_mail_drop_ahead(s);
	/* unlock before the client can read +OK: it may log in again at once */
	maildir_close(&s->maildir);
}

/* One TRANSACTION command. */
static void pop3_mail_command(struct pop3_mail_session *s, char *line,
			      size_t len)
{
	struct pop3_command cmd;
	const char *error;
	unsigned long lines;
	size_t index, count;
	uint64_t octets;

	if (pop3_command_parse(line, len, &cmd, &error) < 0)
		pop3_mail_bad_command(s, error);
	else if (cmd.argc > 0 && (strcmp(cmd.name, "STAT") == 0
				  || strcmp(cmd.name, "NOOP") == 0
				  || strcmp(cmd.name, "RSET") == 0
				  || strcmp(cmd.name, "QUIT") == 0
				  || strcmp(cmd.name, "CAPA") == 0))
		/* RFC 1939, 2449: "Arguments: none" */
		pop3_mail_bad_command(s, "Too many arguments.");
	else if (strcmp(cmd.name, "STAT") == 0) {
		maildir_stat(s->maildir, &count, &octets);
		pop3_mail_reply(s, "+OK %zu %llu\r\n", count,
				(unsigned long long)octets);
	} else if (strcmp(cmd.name, "LIST") == 0)
		pop3_mail_list(s, &cmd, false);
	else if (strcmp(cmd.name, "UIDL") == 0)
		pop3_mail_list(s, &cmd, true);
	else if (strcmp(cmd.name, "RETR") == 0) {
		if (cmd.argc != 1)
			pop3_mail_bad_command(s, "Expected RETR message-number.");
		else if (pop3_mail_message(s, cmd.args[0], &index) != NULL)
			pop3_mail_start_message(s, index, -1);
	} else if (strcmp(cmd.name, "TOP") == 0) {
		if (cmd.argc != 2)
			pop3_mail_bad_command(s, "Expected TOP message-number lines.");
		else if (pop3_command_number(cmd.args[1], &lines) < 0)
			pop3_mail_bad_command(s, "Invalid number of lines.");
		else if (pop3_mail_message(s, cmd.args[0], &index) != NULL)
			pop3_mail_start_message(s, index,
						lines > LLONG_MAX ? LLONG_MAX
						: (long long)lines);
	} else if (strcmp(cmd.name, "DELE") == 0) {
		if (cmd.argc != 1)
			pop3_mail_bad_command(s, "Expected DELE message-number.");
		else if (pop3_mail_message(s, cmd.args[0], &index) != NULL) {
			(void)maildir_mark_deleted(s->maildir, index);
			pop3_mail_reply(s, "+OK Marked to be deleted.\r\n");
		}
	} else if (strcmp(cmd.name, "NOOP") == 0)
		pop3_mail_reply(s, "+OK\r\n");
	else if (strcmp(cmd.name, "RSET") == 0) {
		maildir_unmark_all(s->maildir);
		maildir_stat(s->maildir, &count, &octets);
		pop3_mail_reply(s, "+OK maildrop has %zu messages (%llu octets)\r\n",
				count, (unsigned long long)octets);
	} else if (strcmp(cmd.name, "QUIT") == 0)
		pop3_mail_update(s);
	else if (strcmp(cmd.name, "CAPA") == 0)
		/* RFC 2449 section 5: what the AUTHORIZATION state offered is
		 * announced in both states (STLS is not: RFC 2595 lists it
		 * only where it may be used) */
		pop3_mail_reply(s, "+OK Capability list follows\r\nTOP\r\nUIDL\r\n"
				"RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
				"%sIMPLEMENTATION relaygate\r\n.\r\n",
				s->plaintext_auth ? "USER\r\nSASL PLAIN\r\n" : "");
	else
		pop3_mail_bad_command(s, strcmp(cmd.name, "USER") == 0
				      || strcmp(cmd.name, "PASS") == 0
				      || strcmp(cmd.name, "APOP") == 0
				      || strcmp(cmd.name, "AUTH") == 0
				      || strcmp(cmd.name, "STLS") == 0 ?
				      "Already logged in." : "Unknown command.");
}

/* Run the complete commands that are buffered, as far as the output
 * allows (PIPELINING: answers to a burst go out together). */
static void pop3_mail_process_input(struct pop3_mail_session *s)
{
	char line[POP3_COMMAND_LINE_MAX + 1];

	while (s->state == POP3_MAIL_ACTIVE && s->close_reason == NULL
	       && s->reader == NULL && buffer_length(&s->out) < POP3_MAIL_OUT_LOW) {
		const unsigned char *data = buffer_data(&s->in);
		size_t avail = buffer_length(&s->in), len;
		const unsigned char *lf = avail > 0 ? memchr(data, '\n', avail) : NULL;

		if (lf == NULL) {
			if (avail > POP3_COMMAND_LINE_MAX + 1) {
				pop3_mail_reply(s, "-ERR Line too long.\r\n");
				s->close_reason = "too-long";
			} else if (s->input_eof)
				s->close_reason = "disconnect";
			return;
		}
		len = (size_t)(lf - data);
		if (len > 0 && data[len - 1] == '\r')
			len--;
		if (len > POP3_COMMAND_LINE_MAX) {
			pop3_mail_reply(s, "-ERR Line too long.\r\n");
			s->close_reason = "too-long";
			return;
		}
		memcpy(line, data, len);
		line[len] = '\0';
		buffer_consume(&s->in, (size_t)(lf - data) + 1);
		pop3_mail_command(s, line, len);
		pop3_mail_pump(s);
	}
}

/* Read what the client sent. */
static void pop3_mail_read(struct pop3_mail_session *s)
{
	for (;;) {
		size_t room;
		unsigned char *space = buffer_reserve(&s->in, 4096, &room);
		ssize_t got;

		if (space == NULL)
			return;	/* full: the line check ends it */
		got = recv(s->watch.fd, space, room, MSG_DONTWAIT);
		if (got > 0) {
			buffer_commit(&s->in, (size_t)got);
			s->last_activity_ms = pop3_mail_now_ms();
			if ((size_t)got < room)
				return;
			continue;
		}
		if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK
				 && errno != EINTR)) {
			s->input_eof = true;
			return;
		}
		if (errno != EINTR)
			return;
	}
}

/* Open the message after the last RETR and read its first block while
 * the client digests the reply (loopback round trips, not the server,
 * bound a one-at-a-time RETR loop). Any failure just skips it. */
static void pop3_mail_read_ahead(struct pop3_mail_session *s)
{
	size_t index = s->want_ahead;
	const char *error;

	s->want_ahead = SIZE_MAX;
	if (s->maildir == NULL || index >= maildir_count(s->maildir)
	    || maildir_message(s->maildir, index)->deleted)
		return;
	if (maildir_reader_open(s->maildir, index, -1, &s->ahead, &error)
	    != MAILDIR_READ_OK) {
		s->ahead = NULL;
		return;
	}
	if (maildir_reader_prefill(s->ahead, &error) < 0) {
		maildir_reader_close(&s->ahead);
		return;
	}
	s->ahead_index = index;
}

/* Bring a session forward after any event; finish it when it is over. */
static void pop3_mail_progress(struct pop3_mail_session *s)
{
	unsigned want;

	pop3_mail_process_input(s);
	if (s->close_reason != NULL)
		pop3_mail_report_closed(s);
	for (;;) {
		if (pop3_mail_flush(s) < 0) {
			if (s->close_reason == NULL)
				s->close_reason = "disconnect";
			pop3_mail_finish(s);
			return;
		}
		if (s->reader == NULL || buffer_length(&s->out) > 0)
			break;
		pop3_mail_pump(s);
	}
	if (s->reader == NULL && s->close_reason == NULL)
		pop3_mail_process_input(s);
	if (buffer_length(&s->out) == 0 && s->reader == NULL) {
		if (s->close_reason != NULL) {
			pop3_mail_finish(s);
			return;
		}
	}
	if (s->close_reason != NULL && s->reader != NULL)
		maildir_reader_close(&s->reader);
	if (s->want_ahead != SIZE_MAX && s->ahead == NULL && s->reader == NULL
	    && s->close_reason == NULL && buffer_length(&s->out) == 0
	    && memchr(buffer_data(&s->in), '\n', buffer_length(&s->in)) == NULL)
		pop3_mail_read_ahead(s);
	want = 0;
	if (!s->input_eof && s->close_reason == NULL)
		want |= EVENT_READ;
	if (buffer_length(&s->out) > 0)
		want |= EVENT_WRITE;
	if (want == 0) {
		/* nothing more can happen: the output is out, input ended */
		if (s->close_reason == NULL)
			s->close_reason = "disconnect";
		pop3_mail_finish(s);
		return;
	}
	(void)event_loop_modify(mail.loop, &s->watch, want);
}

static void pop3_mail_on_client(struct event_watch *watch, unsigned events)
{
	struct pop3_mail_session *s = watch->context;

	if (events & (EVENT_READ | EVENT_ERROR))
		pop3_mail_read(s);
	pop3_mail_progress(s);
}

/* A session handed over: lock and scan its mailbox, tell the master. */
static void pop3_mail_new_session(const struct pop3_ipc_message *msg)
{
	struct pop3_ipc_session head;
	struct pop3_ipc_locked locked;
	struct maildir_snapshot_stats stats;
	struct maildir_options options;
	struct pop3_mail_session *s;
	const char *error, *reply = NULL;

	if (msg->payload_len < sizeof(head) || msg->fd < 0) {
		if (msg->fd >= 0)
			close(msg->fd);
		return;
	}
	memcpy(&head, msg->payload, sizeof(head));
	head.user[sizeof(head.user) - 1] = '\0';
	head.method[sizeof(head.method) - 1] = '\0';
	head.address_text[sizeof(head.address_text) - 1] = '\0';
	head.maildir[sizeof(head.maildir) - 1] = '\0';
	head.control[sizeof(head.control) - 1] = '\0';
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		close(msg->fd);
		locked.result = POP3_LOCK_ERROR;
		(void)pop3_ipc_send(mail.channel.fd, POP3_IPC_LOCKED,
				    msg->header.conn_id, &locked, sizeof(locked), -1);
		return;
	}
	s->conn_id = msg->header.conn_id;
	s->watch.fd = msg->fd;
	s->watch.handler = pop3_mail_on_client;
	s->watch.context = s;
	s->state = POP3_MAIL_WAIT_GO;
	s->want_ahead = SIZE_MAX;
	memcpy(s->user, head.user, sizeof(s->user));
	memcpy(s->method, head.method, sizeof(s->method));
	memcpy(s->address_text, head.address_text, sizeof(s->address_text));
	s->tls = head.tls;
	s->plaintext_auth = head.plaintext_auth;
	buffer_init(&s->in, POP3_MAIL_IN_MAX);
	buffer_init(&s->out, POP3_MAIL_OUT_MAX);
	s->last_activity_ms = pop3_mail_now_ms();
	if (msg->payload_len > sizeof(head))
		(void)buffer_append(&s->in, msg->payload + sizeof(head),
				    msg->payload_len - sizeof(head));

	locked.result = POP3_LOCK_OK;
	maildir_options_init(&options);
	if (head.control[0] != '\0')
		options.quota_dir = head.control;	/* Dovecot's CONTROL= */
	if (maildir_open(head.maildir, &options, &s->maildir, &error) < 0) {
		log_error("pop3: event=mailbox-error address=%s user=%s "
			  "mailbox=%s error=\"%s\"", s->address_text, s->user,
			  head.maildir, error);
		locked.result = POP3_LOCK_ERROR;
	} else {
		switch (maildir_lock(s->maildir, &error)) {
		case MAILDIR_LOCK_OK:
			if (maildir_scan(s->maildir, &stats, &error) < 0) {
				log_error("pop3: event=mailbox-error address=%s "
					  "user=%s mailbox=%s error=\"%s\"",
					  s->address_text, s->user, head.maildir,
					  error);
				locked.result = POP3_LOCK_ERROR;
			}
			break;
		case MAILDIR_LOCK_IN_USE:
			locked.result = POP3_LOCK_IN_USE;
			break;
		case MAILDIR_LOCK_ERROR:
			log_error("pop3: event=mailbox-error address=%s user=%s "
				  "mailbox=%s error=\"%s\"", s->address_text,
				  s->user, head.maildir, error);
			locked.result = POP3_LOCK_ERROR;
			break;
		}
	}
	s->prev = NULL;
	s->next = mail.sessions;
	if (mail.sessions != NULL)
		mail.sessions->prev = s;
	mail.sessions = s;
	mail.session_count++;
	if (locked.result != POP3_LOCK_OK) {
		if (locked.result == POP3_LOCK_IN_USE) {
			log_info("pop3: event=login-failed address=%s user=%s "
				 "method=%s reason=in-use", s->address_text,
				 s->user, s->method);
			reply = "-ERR [IN-USE] Mailbox is locked by another "
			    "POP3 session.\r\n";
		} else
			reply = "-ERR [SYS/TEMP] Mailbox unavailable.\r\n";
		(void)send(s->watch.fd, reply, strlen(reply),
			   MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	/* the master answers LOCKED with GO or CANCEL */
	(void)pop3_ipc_send(mail.channel.fd, POP3_IPC_LOCKED, s->conn_id,
			    &locked, sizeof(locked), -1);
}

static struct pop3_mail_session *pop3_mail_find(uint32_t conn_id)
{
	struct pop3_mail_session *s;

	for (s = mail.sessions; s != NULL; s = s->next) {
		if (s->conn_id == conn_id)
			return s;
	}
	return NULL;
}

/* GO: the grant is recorded; the session starts. */
static void pop3_mail_go(struct pop3_mail_session *s, const char *grant)
{
	size_t count;
	uint64_t octets;

	maildir_stat(s->maildir, &count, &octets);
	log_info("pop3: event=login address=%s user=%s method=%s tls=%s "
		 "grant=%s messages=%zu octets=%llu", s->address_text, s->user,
		 s->method, s->tls ? "yes" : "no", grant, count,
		 (unsigned long long)octets);
	s->state = POP3_MAIL_ACTIVE;
	pop3_mail_reply(s, "+OK Logged in.\r\n");
	if (event_loop_add(mail.loop, &s->watch, EVENT_READ) < 0) {
		s->state = POP3_MAIL_WAIT_GO;
		s->close_reason = "error";
		pop3_mail_finish(s);
		return;
	}
	pop3_mail_progress(s);
}

static void pop3_mail_on_channel(struct event_watch *watch, unsigned events)
{
	struct pop3_mail_session *s;
	char grant[32];
	int ret;

	for (;;) {
		ret = pop3_ipc_recv(watch->fd, &mail_message);
		if (ret < 0 && errno == EAGAIN)
			return;
		if (ret < 0 && errno == EBADMSG)
			continue;
		if (ret <= 0) {
			/* the master is gone: finish what runs, take no more */
			event_loop_remove(mail.loop, watch);
			mail.master_gone = true;
			return;
		}
		switch (mail_message.header.type) {
		case POP3_IPC_SESSION:
			pop3_mail_new_session(&mail_message);
			break;
		case POP3_IPC_STOP:
			/* The master sends no SESSION after this one; any
			 * session still here is sending its last replies. */
			if (mail_message.fd >= 0)
				close(mail_message.fd);
			mail.stop_asked = true;
			break;
		case POP3_IPC_GO:
		case POP3_IPC_CANCEL:
			if (mail_message.fd >= 0)
				close(mail_message.fd);
			s = pop3_mail_find(mail_message.header.conn_id);
			if (s == NULL || s->state != POP3_MAIL_WAIT_GO)
				break;
			if (mail_message.header.type == POP3_IPC_CANCEL) {
				pop3_mail_finish(s);
				break;
			}
			snprintf(grant, sizeof(grant), "%.*s",
				 (int)(mail_message.payload_len < sizeof(grant) ?
				       mail_message.payload_len : sizeof(grant) - 1),
				 (const char *)mail_message.payload);
			pop3_mail_go(s, grant);
			break;
		default:
			if (mail_message.fd >= 0)
				close(mail_message.fd);
			break;
		}
	}
}

/* Autologout (RFC 1939): a session silent, or not reading, too long. */
static void pop3_mail_check_timeouts(void)
{
	struct pop3_mail_session *s, *next;
	uint64_t now = pop3_mail_now_ms();

	for (s = mail.sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == POP3_MAIL_WAIT_GO
		    || now - s->last_activity_ms < mail.idle_timeout_ms)
			continue;
		if (s->reader != NULL)
			maildir_reader_close(&s->reader);
		/* RFC 1939 section 3: closed without a response; what
		 * was already queued still goes out if it can */
		(void)pop3_mail_flush(s);
		if (s->close_reason == NULL || strcmp(s->close_reason, "quit") != 0)
			s->close_reason = "timeout";
		pop3_mail_finish(s);
	}
}

void pop3_mail_run(struct pop3d *pop3d, int channel_fd, uid_t uid, gid_t gid)
{
	char message[256];
	uint64_t last_check = 0;

	passwd_file_forget(pop3d->users);
	if (pop3d->privileged
	    && privilege_drop_ids(uid, gid, message, sizeof(message)) < 0) {
		log_error("pop3: mail process: %s", message);
		_exit(EX_NOPERM);
	}
	mail.pop3d = pop3d;
	mail.idle_timeout_ms = (uint64_t)pop3d->conf.pop3_idle_timeout * 1000u;
	mail.loop = event_loop_create();
	if (mail.loop == NULL)
		log_fatal(EX_OSERR, "pop3: mail process: epoll: %s", strerror(errno));
	mail.channel.fd = channel_fd;
	mail.channel.handler = pop3_mail_on_channel;
	if (event_loop_add(mail.loop, &mail.channel, EVENT_READ) < 0)
		log_fatal(EX_OSERR, "pop3: mail process: epoll: %s", strerror(errno));
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = pop3_mail_on_stop;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	for (;;) {
		uint64_t now;

		if (mail_stop_signal != 0) {
			/* stopped: sessions end without QUIT's deletions */
			while (mail.sessions != NULL) {
				if (mail.sessions->close_reason == NULL)
					mail.sessions->close_reason = "shutdown";
				if (mail.sessions->state == POP3_MAIL_ACTIVE)
					(void)pop3_mail_flush(mail.sessions);
				pop3_mail_finish(mail.sessions);
			}
			_exit(0);
		}
		if ((mail.master_gone || mail.stop_asked)
		    && mail.session_count == 0)
			_exit(0);
		(void)event_loop_run_once(mail.loop, 1000);
		now = pop3_mail_now_ms();
		if (now - last_check >= 1000) {
			last_check = now;
			pop3_mail_check_timeouts();
		}
	}
}

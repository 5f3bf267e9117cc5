/* pop3_session: one connection from login to logout. It starts the
 * unprivileged login process, checks the credentials it forwards, locks
 * and scans the mailbox as its owner, records the grant (still root), then
 * drops to the mailbox owner for good and runs the TRANSACTION and UPDATE
 * states of RFC 1939. It never parses a client byte while it is root:
 * only the fixed-format login_request from the login process. */
#define _GNU_SOURCE 1
#include "pop3d.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "login_request.h"
#include "maildir.h"
#include "password.h"
#include "pop3_channel.h"
#include "pop3_command.h"
#include "pop3_stream.h"

#define POP3_MAILDIR_PATH_MAX 4096

struct pop3_session {
	struct pop3d *pop3d;
	struct pop3d_client *client;
	pid_t login_pid;
	char user[LOGIN_REQUEST_USER_MAX + 1];
	const char *method;
	bool tls;
	struct maildir *maildir;
	struct pop3_stream stream;
	unsigned bad_commands;
	unsigned long retrieved, deleted;
	unsigned long long retrieved_octets;
	bool in_update;
};

static struct pop3_session session;

/* Wait for the login process (it ends on its own once the session's side
 * of the channel closes). */
static void pop3_session_reap_login(void)
{
	if (session.login_pid > 0) {
		while (waitpid(session.login_pid, NULL, 0) < 0 && errno == EINTR)
			;
		session.login_pid = 0;
	}
}

static void __attribute__((noreturn)) pop3_session_exit_early(int status)
{
	pop3_session_reap_login();
	_exit(status);
}

/* Tell the master about a failed login, for its throttle. */
static void pop3_session_report_failure(void)
{
	struct pop3d_status status;

	memset(&status, 0, sizeof(status));
	status.address = session.client->address;
	if (write(session.pop3d->status_fd, &status, sizeof(status)) < 0)
		log_warn("pop3: status pipe: %s", strerror(errno));
}

/* Sleep MS milliseconds. */
static void pop3_session_delay(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The Maildir of ENTRY from mail_location ("~" = home, "%u" = user). */
static int pop3_session_maildir_path(const struct passwd_entry *entry,
				     char *path, size_t size,
				     const char **error_r)
{
	const char *p = session.pop3d->conf.mail_location + strlen("maildir:");
	size_t len = 0;

	for (; *p != '\0'; p++) {
		const char *insert = NULL;
		char one[2] = { *p, '\0' };

		if (*p == '~' && len == 0) {
			if (entry->home[0] != '/') {
				*error_r = "the user has no absolute home directory";
				return -1;
			}
			insert = entry->home;
		} else if (*p == '%' && p[1] == 'u') {
			insert = entry->user;
			p++;
		} else if (*p == '%' && p[1] == '%') {
			insert = "%";
			p++;
		} else
			insert = one;
		if (len + strlen(insert) >= size) {
			*error_r = "mailbox path too long";
			return -1;
		}
		memcpy(path + len, insert, strlen(insert));
		len += strlen(insert);
	}
	path[len] = '\0';
	return 0;
}

/* Act as the mailbox owner for the file system (effective ids only). */
static int pop3_session_become_owner(uid_t uid, gid_t gid)
{
	if (!session.pop3d->privileged)
		return 0;
	if (setgroups(1, &gid) < 0 || setegid(gid) < 0 || seteuid(uid) < 0)
		return -1;
	return 0;
}

/* Back to root (effective ids). */
static void pop3_session_become_root(void)
{
	if (!session.pop3d->privileged)
		return;
	if (seteuid(0) < 0 || setegid(0) < 0)
		log_fatal(EX_OSERR, "pop3: cannot regain root: %s", strerror(errno));
}

/* Give up root for good: only the mailbox owner remains. */
static void pop3_session_drop_to_owner(uid_t uid, gid_t gid)
{
	if (!session.pop3d->privileged)
		return;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0
	    || setresuid(uid, uid, uid) < 0)
		log_fatal(EX_OSERR, "pop3: cannot become uid %lu: %s",
			  (unsigned long)uid, strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0)
		log_fatal(EX_OSERR, "pop3: root could be regained after the drop");
}

/* Record the grant; a failure is logged and the login goes on. Returns
 * the word for the log line. */
static const char *pop3_session_record_grant(void)
{
	struct pop3d *pop3d = session.pop3d;
	const char *error;

	if (cidr_list_match(&pop3d->conf.never_relay,
			    &session.client->address) != NULL)
		return "never-relay";
	if (relaydb_record(pop3d->db, &session.client->address, time(NULL),
			   session.user, "pop3", &error) < 0) {
		log_error("pop3: event=grant-failed address=%s user=%s error=\"%s\"",
			  session.client->address_text, session.user, error);
		return "failed";
	}
	return "recorded";
}

/* Open, lock and scan the mailbox as its owner. Returns NULL on success,
 * or the reply line. */
static const char *pop3_session_open_mailbox(const struct passwd_entry *entry,
					     uid_t uid, gid_t gid)
{
	char path[POP3_MAILDIR_PATH_MAX];
	struct maildir_snapshot_stats stats;
	const char *error, *reply = NULL;

	if (pop3_session_maildir_path(entry, path, sizeof(path), &error) < 0) {
		log_error("pop3: event=mailbox-error address=%s user=%s error=\"%s\"",
			  session.client->address_text, session.user, error);
		return "-ERR [SYS/PERM] Mailbox unavailable.";
	}
	if (pop3_session_become_owner(uid, gid) < 0) {
		log_error("pop3: cannot act as uid %lu: %s", (unsigned long)uid,
			  strerror(errno));
		pop3_session_become_root();
		return "-ERR [SYS/TEMP] Mailbox unavailable.";
	}
	if (maildir_open(path, NULL, &session.maildir, &error) < 0) {
		log_error("pop3: event=mailbox-error address=%s user=%s "
			  "mailbox=%s error=\"%s\"", session.client->address_text,
			  session.user, path, error);
		reply = "-ERR [SYS/TEMP] Mailbox unavailable.";
	} else {
		switch (maildir_lock(session.maildir, &error)) {
		case MAILDIR_LOCK_OK:
			if (maildir_scan(session.maildir, &stats, &error) < 0) {
				log_error("pop3: event=mailbox-error address=%s "
					  "user=%s mailbox=%s error=\"%s\"",
					  session.client->address_text,
					  session.user, path, error);
				reply = "-ERR [SYS/TEMP] Mailbox unavailable.";
			}
			break;
		case MAILDIR_LOCK_IN_USE:
			log_info("pop3: event=login-failed address=%s user=%s "
				 "method=%s reason=in-use",
				 session.client->address_text, session.user,
				 session.method);
			reply = "-ERR [IN-USE] Mailbox is locked by another "
			    "POP3 session.";
			break;
		case MAILDIR_LOCK_ERROR:
			log_error("pop3: event=mailbox-error address=%s user=%s "
				  "mailbox=%s error=\"%s\"",
				  session.client->address_text, session.user,
				  path, error);
			reply = "-ERR [SYS/TEMP] Mailbox unavailable.";
			break;
		}
	}
	pop3_session_become_root();
	if (reply != NULL && session.maildir != NULL)
		maildir_close(&session.maildir);
	return reply;
}

/* Check one login request. Returns the reply line; on success the
 * mailbox is open and the process runs as its owner. */
static const char *pop3_session_authenticate(const struct login_request *req)
{
	struct pop3d *pop3d = session.pop3d;
	const struct passwd_entry *entry = NULL;
	enum password_result result;
	const char *error = NULL, *reply, *grant;
	uid_t uid;
	gid_t gid;
	size_t count;
	uint64_t octets;

	snprintf(session.user, sizeof(session.user), "%s", req->user);
	session.method = login_method_name(req->method);
	session.tls = req->tls;

	if (login_throttle_refused(pop3d->throttle, &session.client->address)) {
		pop3_session_delay(login_throttle_failure(pop3d->throttle,
							  &session.client->address));
		pop3_session_report_failure();
		log_info("pop3: event=login-failed address=%s user=%s method=%s "
			 "reason=throttled", session.client->address_text,
			 session.user, session.method);
		return "-ERR [AUTH] Authentication failed.";
	}
	if (req->method == LOGIN_METHOD_APOP) {
		entry = passwd_file_lookup(pop3d->users, req->user);
		if (entry == NULL || !password_plaintext_available(entry))
			result = PASSWORD_MISMATCH;
		else
			result = password_apop_verify(entry,
						      session.client->apop_timestamp,
						      req->secret, &error);
	} else
		result = password_verify_user(pop3d->users, req->user,
					      req->secret, &entry, &error);
	if (result == PASSWORD_FAILURE) {
		log_error("pop3: event=login-failed address=%s user=%s method=%s "
			  "reason=internal error=\"%s\"",
			  session.client->address_text, session.user,
			  session.method, error != NULL ? error : "?");
		return "-ERR [SYS/TEMP] Authentication is temporarily unavailable.";
	}
	if (result != PASSWORD_MATCH) {
		pop3_session_delay(login_throttle_failure(pop3d->throttle,
							  &session.client->address));
		pop3_session_report_failure();
		log_info("pop3: event=login-failed address=%s user=%s method=%s "
			 "reason=password", session.client->address_text,
			 session.user, session.method);
		return "-ERR [AUTH] Authentication failed.";
	}

	/* the mailbox owner */
	if (pop3d->privileged) {
		if (!entry->has_uid || !entry->has_gid || entry->uid == 0) {
			log_error("pop3: event=login-failed address=%s user=%s "
				  "reason=config error=\"%s line %u: a user needs "
				  "a uid and gid, not 0\"",
				  session.client->address_text, session.user,
				  pop3d->conf.passwd_file, entry->line);
			return "-ERR [SYS/PERM] Mailbox unavailable.";
		}
		uid = entry->uid;
		gid = entry->gid;
	} else {
		uid = getuid();
		gid = getgid();
		if (entry->has_uid && entry->uid != uid) {
			log_error("pop3: event=login-failed address=%s user=%s "
				  "reason=config error=\"uid %lu of line %u: "
				  "not root, cannot become it\"",
				  session.client->address_text, session.user,
				  (unsigned long)entry->uid, entry->line);
			return "-ERR [SYS/PERM] Mailbox unavailable.";
		}
	}
	reply = pop3_session_open_mailbox(entry, uid, gid);
	if (reply != NULL)
		return reply;

	/* the grant, before the +OK */
	grant = pop3_session_record_grant();
	pop3_session_drop_to_owner(uid, gid);
	maildir_stat(session.maildir, &count, &octets);
	log_info("pop3: event=login address=%s user=%s method=%s tls=%s "
		 "grant=%s messages=%zu octets=%llu", session.client->address_text,
		 session.user, session.method, session.tls ? "yes" : "no",
		 grant, count, (unsigned long long)octets);
	return "+OK Logged in.";
}

/* The message of ARG, or NULL after a -ERR reply. */
static const struct maildir_message *
pop3_session_message(const char *arg, size_t *index_r)
{
	unsigned long number;
	const struct maildir_message *msg;

	if (arg == NULL || pop3_command_number(arg, &number) < 0) {
		pop3_stream_puts(&session.stream,
				 "-ERR Invalid message number.\r\n");
		session.bad_commands++;
		return NULL;
	}
	if (number == 0 || number > maildir_count(session.maildir)) {
		pop3_stream_puts(&session.stream, "-ERR No such message.\r\n");
		return NULL;
	}
	msg = maildir_message(session.maildir, number - 1);
	if (msg->deleted) {
		pop3_stream_puts(&session.stream,
				 "-ERR Message is deleted.\r\n");
		return NULL;
	}
	*index_r = number - 1;
	return msg;
}

/* RETR (TOP_LINES < 0) and TOP: the byte-stuffed CRLF form. */
static void pop3_session_send_message(size_t index, long long top_lines)
{
	const struct maildir_message *msg = maildir_message(session.maildir,
							    index);
	struct maildir_reader *reader;
	const char *error;
	unsigned char *space;
	size_t room;
	ssize_t got;

	switch (maildir_reader_open(session.maildir, index, top_lines, &reader,
				    &error)) {
	case MAILDIR_READ_OK:
		break;
	case MAILDIR_READ_GONE:
		pop3_stream_puts(&session.stream, "-ERR Message was deleted "
				 "by another program.\r\n");
		return;
	default:
		log_error("pop3: user=%s message=%s: %s", session.user,
			  msg->name, error);
		pop3_stream_puts(&session.stream,
				 "-ERR [SYS/TEMP] Cannot read the message.\r\n");
		return;
	}
	if (top_lines < 0)
		pop3_stream_printf(&session.stream, "+OK %llu octets\r\n",
				   (unsigned long long)msg->size);
	else
		pop3_stream_puts(&session.stream, "+OK\r\n");
	for (;;) {
		space = pop3_stream_space(&session.stream, 4096, &room);
		if (space == NULL)
			break;	/* the client is gone: the caller sees it */
		got = maildir_reader_read(reader, space, room, &error);
		if (got < 0) {
			/* the reply is under way: the only way to say it
			 * failed is to end the connection */
			log_error("pop3: user=%s message=%s: %s", session.user,
				  msg->name, error);
			maildir_reader_close(&reader);
			(void)pop3_stream_flush(&session.stream);
			session.stream.write_failed = true;
			return;
		}
		if (got == 0)
			break;
		pop3_stream_commit(&session.stream, (size_t)got);
	}
	pop3_stream_puts(&session.stream, maildir_reader_terminator(reader));
	maildir_reader_close(&reader);
	if (top_lines < 0) {
		session.retrieved++;
		session.retrieved_octets += msg->size;
	}
}

static void pop3_session_list(const struct pop3_command *cmd, bool uidl)
{
	const struct maildir_message *msg;
	size_t index, i, count;
	uint64_t octets;

	if (cmd->argc > 1) {
		pop3_stream_puts(&session.stream, "-ERR Too many arguments.\r\n");
		session.bad_commands++;
		return;
	}
	if (cmd->argc == 1) {
		msg = pop3_session_message(cmd->args[0], &index);
		if (msg == NULL)
			return;
		if (uidl)
			pop3_stream_printf(&session.stream, "+OK %zu %s\r\n",
					   index + 1, msg->uidl);
		else
			pop3_stream_printf(&session.stream, "+OK %zu %llu\r\n",
					   index + 1,
					   (unsigned long long)msg->size);
		return;
	}
	maildir_stat(session.maildir, &count, &octets);
	if (uidl)
		pop3_stream_puts(&session.stream, "+OK\r\n");
	else
		pop3_stream_printf(&session.stream,
				   "+OK %zu messages (%llu octets)\r\n", count,
				   (unsigned long long)octets);
	for (i = 0; i < maildir_count(session.maildir); i++) {
		msg = maildir_message(session.maildir, i);
		if (msg->deleted)
			continue;
		if (uidl)
			pop3_stream_printf(&session.stream, "%zu %s\r\n", i + 1,
					   msg->uidl);
		else
			pop3_stream_printf(&session.stream, "%zu %llu\r\n", i + 1,
					   (unsigned long long)msg->size);
	}
	pop3_stream_puts(&session.stream, ".\r\n");
}

/* QUIT in the TRANSACTION state: the UPDATE state. */
static void pop3_session_update(void)
{
	size_t deleted = 0, gone = 0;
	const char *error;

	session.in_update = true;
	if (maildir_commit(session.maildir, &deleted, &gone, &error) < 0) {
		log_error("pop3: user=%s: deleting messages: %s", session.user,
			  error);
		pop3_stream_puts(&session.stream, "-ERR [SYS/TEMP] Some deleted "
				 "messages were not removed.\r\n");
	} else
		pop3_stream_printf(&session.stream,
				   "+OK Logging out, %zu messages deleted.\r\n",
				   deleted + gone);
	session.deleted = deleted + gone;
}

/* One TRANSACTION command. Returns false after QUIT. */
static bool pop3_session_command(char *line, size_t len)
{
	struct pop3_command cmd;
	const struct maildir_message *msg;
	const char *error;
	unsigned long lines;
	size_t index, count;
	uint64_t octets;

	if (pop3_command_parse(line, len, &cmd, &error) < 0) {
		pop3_stream_printf(&session.stream, "-ERR %s\r\n", error);
		session.bad_commands++;
		return true;
	}
	if (strcmp(cmd.name, "STAT") == 0) {
		maildir_stat(session.maildir, &count, &octets);
		pop3_stream_printf(&session.stream, "+OK %zu %llu\r\n", count,
				   (unsigned long long)octets);
	} else if (strcmp(cmd.name, "LIST") == 0)
		pop3_session_list(&cmd, false);
	else if (strcmp(cmd.name, "UIDL") == 0)
		pop3_session_list(&cmd, true);
	else if (strcmp(cmd.name, "RETR") == 0) {
		if (cmd.argc != 1) {
			pop3_stream_puts(&session.stream,
					 "-ERR Expected RETR message-number.\r\n");
			session.bad_commands++;
		} else if (pop3_session_message(cmd.args[0], &index) != NULL)
			pop3_session_send_message(index, -1);
	} else if (strcmp(cmd.name, "TOP") == 0) {
		if (cmd.argc != 2) {
			pop3_stream_puts(&session.stream,
					 "-ERR Expected TOP message-number lines.\r\n");
			session.bad_commands++;
		} else if (pop3_command_number(cmd.args[1], &lines) < 0) {
			pop3_stream_puts(&session.stream,
					 "-ERR Invalid number of lines.\r\n");
			session.bad_commands++;
		} else if (pop3_session_message(cmd.args[0], &index) != NULL)
			pop3_session_send_message(index, (long long)lines);
	} else if (strcmp(cmd.name, "DELE") == 0) {
		if (cmd.argc != 1) {
			pop3_stream_puts(&session.stream,
					 "-ERR Expected DELE message-number.\r\n");
			session.bad_commands++;
		} else if ((msg = pop3_session_message(cmd.args[0], &index)) != NULL) {
			(void)maildir_mark_deleted(session.maildir, index);
			pop3_stream_puts(&session.stream,
					 "+OK Marked to be deleted.\r\n");
		}
	} else if (strcmp(cmd.name, "NOOP") == 0)
		pop3_stream_puts(&session.stream, "+OK\r\n");
	else if (strcmp(cmd.name, "RSET") == 0) {
		maildir_unmark_all(session.maildir);
		maildir_stat(session.maildir, &count, &octets);
		pop3_stream_printf(&session.stream,
				   "+OK maildrop has %zu messages (%llu octets)\r\n",
				   count, (unsigned long long)octets);
	} else if (strcmp(cmd.name, "QUIT") == 0) {
		pop3_session_update();
		return false;
	} else if (strcmp(cmd.name, "CAPA") == 0) {
		pop3_stream_puts(&session.stream, "+OK Capability list follows\r\n"
				 "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
				 "PIPELINING\r\nIMPLEMENTATION relaygate\r\n.\r\n");
	} else {
		pop3_stream_puts(&session.stream, strcmp(cmd.name, "USER") == 0
				 || strcmp(cmd.name, "PASS") == 0
				 || strcmp(cmd.name, "APOP") == 0
				 || strcmp(cmd.name, "AUTH") == 0
				 || strcmp(cmd.name, "STLS") == 0 ?
				 "-ERR Already logged in.\r\n" :
				 "-ERR Unknown command.\r\n");
		session.bad_commands++;
	}
	return true;
}

/* The TRANSACTION state until QUIT, a timeout or a hang-up. */
static void __attribute__((noreturn)) pop3_session_transaction(void)
{
	char line[POP3_COMMAND_LINE_MAX + 1];
	const char *reason = "quit";
	size_t len;
	bool going = true;

	while (going) {
		if (pop3_stream_flush_if_idle(&session.stream) < 0) {
			reason = "disconnect";
			break;
		}
		switch (pop3_stream_read_line(&session.stream, line,
					      POP3_COMMAND_LINE_MAX, &len)) {
		case POP3_STREAM_OK:
			going = pop3_session_command(line, len);
			if (session.stream.write_failed) {
				reason = "disconnect";
				going = false;
			} else if (going && session.bad_commands >=
				   (unsigned)session.pop3d->conf.pop3_max_bad_commands) {
				pop3_stream_puts(&session.stream,
						 "-ERR Too many bad commands.\r\n");
				reason = "bad-commands";
				going = false;
			}
			break;
		case POP3_STREAM_TOO_LONG:
			pop3_stream_puts(&session.stream, "-ERR Line too long.\r\n");
			reason = "too-long";
			going = false;
			break;
		case POP3_STREAM_TIMEOUT:
			pop3_stream_puts(&session.stream,
					 "-ERR Disconnected for inactivity.\r\n");
			reason = "timeout";
			going = false;
			break;
		case POP3_STREAM_EOF:
			reason = "disconnect";
			going = false;
			break;
		default:
			reason = "error";
			going = false;
			break;
		}
	}
	(void)pop3_stream_flush(&session.stream);
	log_info("pop3: event=logout address=%s user=%s reason=%s retrieved=%lu "
		 "retrieved_octets=%llu deleted=%lu octets_sent=%llu",
		 session.client->address_text, session.user, reason,
		 session.retrieved, session.retrieved_octets, session.deleted,
		 session.stream.bytes_out);
	maildir_close(&session.maildir);
	close(session.stream.fd);
	pop3_session_reap_login();
	_exit(0);
}

void pop3_session_run(struct pop3d *pop3d, struct pop3d_client *client)
{
	char request_buf[LOGIN_REQUEST_MAX + 1];
	unsigned char rest[POP3_STREAM_IN_SIZE + 1];
	struct login_request request;
	const char *error, *reply = NULL;
	int channel[2];
	ssize_t got;

	session.pop3d = pop3d;
	session.client = client;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel) < 0) {
		log_error("pop3: socketpair: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	session.login_pid = fork();
	if (session.login_pid < 0) {
		log_error("pop3: fork: %s", strerror(errno));
		(void)send(client->fd, "-ERR [SYS/TEMP] Server busy.\r\n", 30,
			   MSG_NOSIGNAL);
		_exit(EX_OSERR);
	}
	if (session.login_pid == 0) {
		close(channel[0]);
		pop3_login_run(pop3d, client, channel[1]);
	}
	close(channel[1]);

	for (;;) {
		got = pop3_channel_recv(channel[0], request_buf,
					sizeof(request_buf), -1, &error);
		if (got < 0)
			pop3_session_exit_early(0);	/* no login */
		if (login_request_parse(request_buf, (size_t)got, &request,
					&error) < 0) {
			log_error("pop3: address=%s: bad request from the login "
				  "process: %s", client->address_text, error);
			OPENSSL_cleanse(request_buf, sizeof(request_buf));
			kill(session.login_pid, SIGKILL);
			pop3_session_exit_early(EX_PROTOCOL);
		}
		reply = pop3_session_authenticate(&request);
		OPENSSL_cleanse(request_buf, sizeof(request_buf));
		if (pop3_channel_send(channel[0], reply, strlen(reply)) < 0)
			pop3_session_exit_early(0);
		if (reply[0] == '+')
			break;
	}
	/* logged in: the password file is no longer needed here */
	passwd_file_forget(pop3d->users);

	if (!session.tls) {
		/* the login process hands over what it read beyond the login */
		got = pop3_channel_recv(channel[0], (char *)rest, sizeof(rest),
					-1, &error);
		close(channel[0]);
		if (got < 0) {
			session.stream.fd = client->fd;
			log_info("pop3: event=logout address=%s user=%s "
				 "reason=disconnect retrieved=0 deleted=0",
				 client->address_text, session.user);
			maildir_close(&session.maildir);
			pop3_session_exit_early(0);
		}
		pop3_stream_init(&session.stream, client->fd,
				 (int)pop3d->conf.pop3_idle_timeout * 1000);
		(void)pop3_stream_unread(&session.stream, rest, (size_t)got);
	} else {
		/* the login process relays TLS through the channel */
		close(client->fd);
		pop3_stream_init(&session.stream, channel[0],
				 (int)pop3d->conf.pop3_idle_timeout * 1000);
	}
	pop3_session_transaction();
}

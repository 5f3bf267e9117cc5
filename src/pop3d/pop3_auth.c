/* pop3_auth: an auth process of relaygate-pop3d. It stays root: it may
 * read the password file and write the relay store. It answers one
 * request at a time from the master: check a login_request (built by an
 * unprivileged login process, so parsed strictly and trusted for nothing)
 * and record a grant. It never talks to a client and never delays: the
 * master holds failed answers back. */
#define _GNU_SOURCE 1
#include "pop3d.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "login_request.h"
#include "mail_location.h"
#include "password.h"

static struct pop3_ipc_message auth_message;

/* Check one request; fill VERIFIED. */
static void pop3_auth_verify(struct pop3d *pop3d, const char *address_text,
			     const struct pop3_ipc_verify *head, char *request_data,
			     size_t request_len, struct pop3_ipc_verified *verified)
{
	const struct passwd_entry *entry = NULL;
	struct login_request request;
	enum password_result result;
	const char *error = NULL;
	char message[512];

	memset(verified, 0, sizeof(*verified));
	verified->result = POP3_VERIFY_FAILURE;
	request_data[request_len] = '\0';
	if (login_request_parse(request_data, request_len, &request, &error) < 0) {
		log_error("pop3: address=%s: bad request from a login process: %s",
			  address_text, error);
		return;
	}
	snprintf(verified->user, sizeof(verified->user), "%s", request.user);
	snprintf(verified->method, sizeof(verified->method), "%s",
		 login_method_name(request.method));
	verified->tls = request.tls;
	if (passwd_file_refresh(pop3d->users, message, sizeof(message)) < 0)
		log_error("pop3: keeping the users loaded before: %s", message);

	if (request.method == LOGIN_METHOD_APOP) {
		char timestamp[sizeof(head->apop_timestamp)];

		memcpy(timestamp, head->apop_timestamp, sizeof(timestamp));
		timestamp[sizeof(timestamp) - 1] = '\0';
		entry = passwd_file_lookup(pop3d->users, request.user);
		if (entry == NULL || !password_plaintext_available(entry))
			result = PASSWORD_MISMATCH;
		else
			result = password_apop_verify(entry, timestamp,
						      request.secret, &error);
	} else
		result = password_verify_user(pop3d->users, request.user,
					      request.secret, &entry, &error);
	OPENSSL_cleanse(request_data, request_len);
	if (result == PASSWORD_FAILURE) {
		log_error("pop3: event=login-failed address=%s user=%s method=%s "
			  "reason=internal error=\"%s\"", address_text,
			  verified->user, verified->method,
			  error != NULL ? error : "?");
		return;
	}
	if (result != PASSWORD_MATCH) {
		verified->result = POP3_VERIFY_MISMATCH;
		return;
	}
	verified->result = POP3_VERIFY_REFUSED;
	if (pop3d->privileged) {
		if (!entry->has_uid || !entry->has_gid || entry->uid == 0
		    || entry->gid == 0) {
			log_error("pop3: event=login-failed address=%s user=%s "
				  "reason=config error=\"%s line %u: a user needs "
				  "a uid and a gid, neither 0\"", address_text,
				  verified->user, pop3d->conf.passwd_file,
				  entry->line);
			return;
		}
		verified->uid = entry->uid;
		verified->gid = entry->gid;
	} else {
		verified->uid = getuid();
		verified->gid = getgid();
		if (entry->has_uid && entry->uid != verified->uid) {
			log_error("pop3: event=login-failed address=%s user=%s "
				  "reason=config error=\"%s line %u: uid %lu, but "
				  "not started as root\"", address_text,
				  verified->user, pop3d->conf.passwd_file,
				  entry->line, (unsigned long)entry->uid);
			return;
		}
	}
	if (mail_location_expand(pop3d->conf.mail_location, entry->user,
				 entry->home, verified->maildir,
				 sizeof(verified->maildir), &error) < 0
	    || mail_location_expand_control(pop3d->conf.mail_location,
					    entry->user, entry->home,
					    verified->control,
					    sizeof(verified->control),
					    &error) < 0) {
		log_error("pop3: event=login-failed address=%s user=%s "
			  "reason=config error=\"%s\"", address_text,
			  verified->user, error);
		return;
	}
	verified->result = POP3_VERIFY_MATCH;
}

/* Record a grant; the outcome word for the login log line. */
static const char *pop3_auth_grant(struct pop3d *pop3d,
				   const struct pop3_ipc_grant *grant)
{
	char address_text[ADDRESS_TEXT_MAX], user[sizeof(grant->user)];
	const char *error;

	memcpy(user, grant->user, sizeof(user));
	user[sizeof(user) - 1] = '\0';
	if (cidr_list_match(&pop3d->conf.never_relay, &grant->address) != NULL)
		return "never-relay";
	if (relaydb_record(pop3d->db, &grant->address, time(NULL), user, "pop3",
			   &error) < 0) {
		log_error("pop3: event=grant-failed address=%s user=%s error=\"%s\"",
			  address_format(&grant->address, address_text), user,
			  error);
		return "failed";
	}
	return "recorded";
}

void pop3_auth_run(struct pop3d *pop3d, int channel_fd)
{
	struct pop3_ipc_verified verified;
	const struct pop3_ipc_verify *head;
	struct pop3_ipc_grant grant;
	const char *word;
	char address_text[ADDRESS_TEXT_MAX];
	int ret;

	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		_exit(0);
	for (;;) {
		ret = pop3_ipc_recv(channel_fd, &auth_message);
		if (ret < 0 && (errno == EAGAIN || errno == EBADMSG))
			continue;
		if (ret <= 0)
			_exit(0);
		if (auth_message.fd >= 0) {
			close(auth_message.fd);
			auth_message.fd = -1;
		}
		switch (auth_message.header.type) {
		case POP3_IPC_VERIFY:
			if (auth_message.payload_len < sizeof(*head) + sizeof(struct address)
			    || auth_message.payload_len >= sizeof(auth_message.payload))
				break;
			/* the address travels first, then the head and request */
			memcpy(&grant.address, auth_message.payload,
			       sizeof(grant.address));
			head = (const struct pop3_ipc_verify *)
			    (auth_message.payload + sizeof(struct address));
			pop3_auth_verify(pop3d, address_format(&grant.address,
							       address_text),
					 head, (char *)auth_message.payload
					 + sizeof(struct address) + sizeof(*head),
					 auth_message.payload_len
					 - sizeof(struct address) - sizeof(*head),
					 &verified);
			OPENSSL_cleanse(auth_message.payload,
					auth_message.payload_len);
			(void)pop3_ipc_send(channel_fd, POP3_IPC_VERIFIED,
					    auth_message.header.conn_id,
					    &verified, sizeof(verified), -1);
			break;
		case POP3_IPC_GRANT:
			if (auth_message.payload_len != sizeof(grant))
				break;
			memcpy(&grant, auth_message.payload, sizeof(grant));
			word = pop3_auth_grant(pop3d, &grant);
			(void)pop3_ipc_send(channel_fd, POP3_IPC_GRANTED,
					    auth_message.header.conn_id, word,
					    strlen(word), -1);
			break;
		default:
			break;
		}
	}
}

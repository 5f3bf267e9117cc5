#ifndef RELAYGATE_POP3D_H
#define RELAYGATE_POP3D_H
/* pop3d: what the processes of relaygate-pop3d share. The master (root)
 * accepts connections and routes messages; login processes (login_user)
 * talk to clients until they log in; auth processes (root) check
 * passwords and record grants; mail processes (the mailbox owner's uid)
 * serve logged-in sessions, many per process. See relaygate-pop3d(8). */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "address.h"
#include "login_throttle.h"
#include "passwd_file.h"
#include "pop3_ipc.h"
#include "relaydb.h"
#include "relaygate_conf.h"

/* Failed logins in one connection before it is closed. */
#define POP3D_AUTH_FAILURES_MAX 3
/* The answer to a wrong password and to an unknown user alike (RFC 3206:
 * a problem with the credentials), without its CRLF. */
#define POP3D_REPLY_AUTH_FAILED "-ERR [AUTH] Authentication failed."
/* RFC 1939 section 3: the autologout timer is at least 10 minutes */
#define POP3D_AUTOLOGOUT_MIN_SECONDS 600
/* Connections a login process serves before it is replaced. */
#define POP3D_LOGIN_CONNECTIONS_MAX 1000

struct pop3d {
	struct relaygate_conf conf;
	SSL_CTX *tls;			/* NULL: no STLS, no pop3s */
	struct passwd_file *users;
	struct relaydb *db;
	bool privileged;		/* started as root */
	uid_t login_uid;		/* login_user, looked up at start */
	gid_t login_gid;
	char hostname[256];
};

/* May CLIENT send a plaintext password (USER/PASS, AUTH PLAIN)? Over
 * TLS, from plaintext_auth_networks, or anywhere with
 * allow_plaintext_auth. */
static inline bool pop3d_plaintext_auth_allowed(const struct pop3d *pop3d,
						const struct pop3_ipc_connection *client,
						bool tls)
{
	return tls || client->plaintext_auth_network
	    || pop3d->conf.allow_plaintext_auth;
}

/* A login process: serves connections the master passes over CHANNEL_FD
 * until the master goes away. Never returns. */
void pop3_login_run(struct pop3d *pop3d, int channel_fd)
	__attribute__((noreturn));

/* An auth process: answers POP3_IPC_VERIFY and POP3_IPC_GRANT on
 * CHANNEL_FD, one at a time. Never returns. */
void pop3_auth_run(struct pop3d *pop3d, int channel_fd)
	__attribute__((noreturn));

/* A mail process for UID/GID: serves the sessions the master passes over
 * CHANNEL_FD. Never returns. */
void pop3_mail_run(struct pop3d *pop3d, int channel_fd, uid_t uid, gid_t gid)
	__attribute__((noreturn));

#endif

#ifndef RELAYGATE_POP3D_H
#define RELAYGATE_POP3D_H
/* pop3d: what the master, the session process and the login process of
 * relaygate-pop3d share. See relaygate-pop3d(8) for the process model. */
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "address.h"
#include "login_throttle.h"
#include "passwd_file.h"
#include "relaydb.h"
#include "relaygate_conf.h"

/* Failed logins in one connection before it is closed. */
#define POP3D_AUTH_FAILURES_MAX 3

struct pop3d {
	struct relaygate_conf conf;
	SSL_CTX *tls;			/* NULL: no STLS, no pop3s */
	struct passwd_file *users;
	struct relaydb *db;
	struct login_throttle *throttle; /* the master's; children get a copy */
	int status_fd;			/* children report failed logins here */
	bool privileged;		/* started as root */
	char hostname[256];
};

/* One accepted connection. */
struct pop3d_client {
	int fd;
	bool implicit_tls;		/* accepted on pop3s_listen */
	bool loopback;			/* 127.0.0.0/8 or ::1 */
	struct address address;
	char address_text[64];		/* canonical, for logs and the grant */
	unsigned local_port;
	char apop_timestamp[160];	/* <pid.time.random@host> */
};

/* A message on the status pipe: a failed login from ADDRESS. */
struct pop3d_status {
	struct address address;
};

/* The session process: runs the login process, checks credentials,
 * records the grant and serves the mailbox. Never returns. */
void pop3_session_run(struct pop3d *pop3d, struct pop3d_client *client)
	__attribute__((noreturn));

/* The login process (unprivileged): greeting, CAPA, STLS, USER/PASS, APOP
 * and AUTH until the session process accepts a login; then hands the
 * connection over (plaintext) or relays it (TLS). Never returns. */
void pop3_login_run(struct pop3d *pop3d, struct pop3d_client *client,
		    int channel_fd) __attribute__((noreturn));

#endif

#ifndef RELAYGATE_CONF_H
#define RELAYGATE_CONF_H
/* relaygate_conf: the settings of relaygate.conf, their defaults and their
 * validation. The one place that knows which keys exist. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "daemon.h"

#ifndef RELAYGATE_SYSCONFDIR
#define RELAYGATE_SYSCONFDIR "/etc/relaygate"
#endif
#ifndef RELAYGATE_STATEDIR
#define RELAYGATE_STATEDIR "/var/lib/relaygate"
#endif
#ifndef RELAYGATE_VERSION
#define RELAYGATE_VERSION "0.1.0"
#endif

#define RELAYGATE_CONF_DEFAULT_PATH RELAYGATE_SYSCONFDIR "/relaygate.conf"

struct relaygate_conf {
	char *relay_db;			/* store location */
	int64_t relay_window;		/* seconds a grant is honoured */
	struct cidr_list never_relay;	/* never granted, never honoured */
	char *never_relay_text;		/* as written, for messages */
	int64_t relay_db_lock_timeout;	/* seconds to wait for the lock */
	bool relay_db_fsync;		/* fsync after every update */
	char *lookupd_socketmap_listen;	/* endpoints, as written */
	char *lookupd_policy_listen;
	char *lookupd_socketmap_name;	/* map name in socketmap requests */
	char *lookupd_user;		/* unprivileged user after binding */
	bool lookupd_expire;		/* delete expired grants every minute */
	int64_t lookupd_max_connections;
	int64_t lookupd_idle_timeout;	/* seconds */
	bool lookupd_log_decisions;	/* one log line per decision */
	char *relay_db_recorder;	/* relaygate-recorder's socket, or "" */
	char *recorder_group;		/* group of that socket, or "" */
	char *passwd_file;		/* users of the POP3/IMAP servers */
	char *mail_location;		/* "maildir:~/Maildir" */
	char *pop3_listen;		/* endpoints, as written */
	char *pop3s_listen;
	char *tls_cert, *tls_key;	/* PEM files, "" = no TLS */
	char *login_user;		/* pre-authentication processes */
	bool allow_plaintext_auth;	/* plaintext from anywhere without TLS */
	struct cidr_list plaintext_auth_networks; /* plaintext without TLS */
	char *plaintext_auth_networks_text;	/* as written, for messages */
	int64_t pop3_max_connections;
	int64_t pop3_max_connections_per_ip;
	int64_t pop3_max_bad_commands;
	int64_t pop3_idle_timeout;	/* seconds: RFC 1939 autologout */
	int64_t pop3_mail_process_idle;	/* seconds a mail process may hold no
					 * session before it is stopped; 0:
					 * never */
	uint64_t seen;			/* keys set so far (duplicate check) */
};

/* Fill CONF with the documented defaults. */
int relaygate_conf_init(struct relaygate_conf *conf, const char **error_r);

/* Apply settings from TEXT (LEN bytes) named NAME on top of CONF. Returns
 * 0, or -1 with "NAME:LINE: key: problem" in ERROR. */
int relaygate_conf_parse_text(struct relaygate_conf *conf, const char *name,
			      const char *text, size_t len, char *error,
			      size_t error_size);

/* Load PATH on top of the defaults in CONF. A missing file is an error
 * only when REQUIRED (the user named it); the default path may be absent. */
int relaygate_conf_load(struct relaygate_conf *conf, const char *path,
			bool required, char *error, size_t error_size);

/* The start of every daemon: parse ARGC/ARGV into OPTIONS, fill CONF
 * with the defaults and load the file on top (required when -c named
 * it), run the daemon's CHECK, and after -t say that all is well.
 * Problems are printed to stderr after "NAME: ". Returns -1 when the
 * daemon goes on, else its exit status: 0 (-V, -h, -t passed),
 * EX_USAGE, EX_SOFTWARE when the defaults cannot be set, EX_CONFIG for
 * the file or a problem CHECK found. */
int relaygate_conf_start_daemon(struct relaygate_conf *conf,
				struct daemon_options *options, int argc,
				char **argv, daemon_check_fn *check);

/* Release CONF's memory. */
void relaygate_conf_free(struct relaygate_conf *conf);

#endif

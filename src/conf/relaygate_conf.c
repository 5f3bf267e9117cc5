/* relaygate_conf: the key table of relaygate.conf. Unknown keys, repeated
 * keys and bad values are errors; nothing is silently ignored. */
#include "relaygate_conf.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "config_file.h"
#include "listen_endpoint.h"
#include "mail_location.h"
#include "strnum.h"
#include "timespan.h"

#define RELAYGATE_DEFAULT_NEVER_RELAY \
	"0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8"
#define RELAYGATE_DEFAULT_PLAINTEXT_AUTH_NETWORKS "127.0.0.0/8, ::1"

enum relaygate_conf_key {
	CONF_RELAY_DB,
	CONF_RELAY_WINDOW,
	CONF_NEVER_RELAY,
	CONF_RELAY_DB_LOCK_TIMEOUT,
	CONF_RELAY_DB_FSYNC,
	CONF_LOOKUPD_SOCKETMAP_LISTEN,
	CONF_LOOKUPD_POLICY_LISTEN,
	CONF_LOOKUPD_SOCKETMAP_NAME,
	CONF_LOOKUPD_USER,
	CONF_LOOKUPD_EXPIRE,
	CONF_LOOKUPD_MAX_CONNECTIONS,
	CONF_LOOKUPD_IDLE_TIMEOUT,
	CONF_LOOKUPD_LOG_DECISIONS,
	CONF_RELAY_DB_RECORDER,
	CONF_RECORDER_GROUP,
	CONF_PASSWD_FILE,
	CONF_MAIL_LOCATION,
	CONF_POP3_LISTEN,
	CONF_POP3S_LISTEN,
	CONF_TLS_CERT,
	CONF_TLS_KEY,
	CONF_LOGIN_USER,
	CONF_ALLOW_PLAINTEXT_AUTH,
	CONF_PLAINTEXT_AUTH_NETWORKS,
	CONF_POP3_MAX_CONNECTIONS,
	CONF_POP3_MAX_CONNECTIONS_PER_IP,
	CONF_POP3_MAX_BAD_COMMANDS,
	CONF_POP3_IDLE_TIMEOUT,
	CONF_POP3_MAIL_PROCESS_IDLE,
};

static const char *const relaygate_conf_keys[] = {
	[CONF_RELAY_DB] = "relay_db",
	[CONF_RELAY_WINDOW] = "relay_window",
	[CONF_NEVER_RELAY] = "never_relay",
	[CONF_RELAY_DB_LOCK_TIMEOUT] = "relay_db_lock_timeout",
	[CONF_RELAY_DB_FSYNC] = "relay_db_fsync",
	[CONF_LOOKUPD_SOCKETMAP_LISTEN] = "lookupd_socketmap_listen",
	[CONF_LOOKUPD_POLICY_LISTEN] = "lookupd_policy_listen",
	[CONF_LOOKUPD_SOCKETMAP_NAME] = "lookupd_socketmap_name",
	[CONF_LOOKUPD_USER] = "lookupd_user",
	[CONF_LOOKUPD_EXPIRE] = "lookupd_expire",
	[CONF_LOOKUPD_MAX_CONNECTIONS] = "lookupd_max_connections",
	[CONF_LOOKUPD_IDLE_TIMEOUT] = "lookupd_idle_timeout",
	[CONF_LOOKUPD_LOG_DECISIONS] = "lookupd_log_decisions",
	[CONF_RELAY_DB_RECORDER] = "relay_db_recorder",
	[CONF_RECORDER_GROUP] = "recorder_group",
	[CONF_PASSWD_FILE] = "passwd_file",
	[CONF_MAIL_LOCATION] = "mail_location",
	[CONF_POP3_LISTEN] = "pop3_listen",
	[CONF_POP3S_LISTEN] = "pop3s_listen",
	[CONF_TLS_CERT] = "tls_cert",
	[CONF_TLS_KEY] = "tls_key",
	[CONF_LOGIN_USER] = "login_user",
	[CONF_ALLOW_PLAINTEXT_AUTH] = "allow_plaintext_auth",
	[CONF_PLAINTEXT_AUTH_NETWORKS] = "plaintext_auth_networks",
	[CONF_POP3_MAX_CONNECTIONS] = "pop3_max_connections",
	[CONF_POP3_MAX_CONNECTIONS_PER_IP] = "pop3_max_connections_per_ip",
	[CONF_POP3_MAX_BAD_COMMANDS] = "pop3_max_bad_commands",
	[CONF_POP3_IDLE_TIMEOUT] = "pop3_idle_timeout",
	[CONF_POP3_MAIL_PROCESS_IDLE] = "pop3_mail_process_idle",
};

static int conf_set_string(char **field, const char *value,
			   const char **error_r)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	free(*field);
	*field = copy;
	return 0;
}

/* A list of CIDR blocks into LIST, the text as written into TEXT. A bad
 * list leaves both as they were. With EXPECTED, the error says what the
 * key expects before naming the bad item. */
static int conf_set_cidr_list(struct cidr_list *list, char **text,
			      const char *value, const char *expected,
			      const char **error_r)
{
	static char message[320];
	struct cidr_list parsed;
	const char *error;

	if (cidr_list_parse(value, &parsed, &error) < 0) {
		if (expected != NULL) {
			snprintf(message, sizeof(message), "expected %s: %s",
				 expected, error);
			error = message;
		}
		*error_r = error;
		return -1;
	}
	if (conf_set_string(text, value, error_r) < 0) {
		cidr_list_free(&parsed);
		return -1;
	}
	cidr_list_free(list);
	*list = parsed;
	return 0;
}

static int conf_set_never_relay(struct relaygate_conf *conf, const char *value,
				const char **error_r)
{
	return conf_set_cidr_list(&conf->never_relay, &conf->never_relay_text,
				  value, NULL, error_r);
}

static int conf_set_plaintext_auth_networks(struct relaygate_conf *conf,
					    const char *value,
					    const char **error_r)
{
	return conf_set_cidr_list(&conf->plaintext_auth_networks,
				  &conf->plaintext_auth_networks_text, value,
				  "addresses or networks like 192.0.2.0/24 or "
				  "2001:db8::/32", error_r);
}

static int conf_set_bool(bool *field, const char *value, const char **error_r)
{
	if (strcmp(value, "yes") == 0)
		*field = true;
	else if (strcmp(value, "no") == 0)
		*field = false;
	else {
		*error_r = "expected yes or no";
		return -1;
	}
	return 0;
}

/* A list of listening endpoints; checked here, opened by the daemon. */
static int conf_set_endpoints(char **field, const char *value,
			      const char **error_r)
{
	struct listen_endpoint *items;
	size_t count;

	if (listen_endpoint_list_parse(value, &items, &count, error_r) < 0)
		return -1;
	free(items);
	return conf_set_string(field, value, error_r);
}

/* An existing user without uid 0, or "" (keep the starting user). */
static int conf_set_unprivileged_user(char **field, const char *value,
				      const char **error_r)
{
	static char message[128];
	struct passwd *pw;

	if (*value == '\0')
		return conf_set_string(field, value, error_r);
	if (strchr(value, ' ') != NULL) {
		*error_r = "expected a user name";
		return -1;
	}
	pw = getpwnam(value);
	if (pw == NULL) {
		snprintf(message, sizeof(message),
			 "expected an existing user (no user \"%.64s\")", value);
		*error_r = message;
		return -1;
	}
	if (pw->pw_uid == 0) {
		*error_r = "expected an unprivileged user, not one with uid 0";
		return -1;
	}
	return conf_set_string(field, value, error_r);
}

/* A count from 1 to MAX. */
static int conf_set_count(int64_t *field, const char *value, uint64_t max,
			  const char **error_r)
{
	static char message[64];
	const char *num_error;
	uint64_t n;

	if (strnum_parse_u64(value, max, &n, &num_error) < 0 || n == 0) {
		snprintf(message, sizeof(message),
			 "expected a number from 1 to %llu",
			 (unsigned long long)max);
		*error_r = message;
		return -1;
	}
	*field = (int64_t)n;
	return 0;
}

static int conf_handle(void *context, const char *key, const char *value,
		       const char **error_r)
{
	static char message[128];
	struct relaygate_conf *conf = context;
	const char *time_error;
	size_t i;
	int64_t seconds;

	for (i = 0; i < sizeof(relaygate_conf_keys) / sizeof(*relaygate_conf_keys); i++) {
		if (strcmp(key, relaygate_conf_keys[i]) == 0)
			break;
	}
	if (i == sizeof(relaygate_conf_keys) / sizeof(*relaygate_conf_keys)) {
		*error_r = "unknown key (see relaygate.conf(5))";
		return -1;
	}
	if (conf->seen & ((uint64_t)1 << i)) {
		*error_r = "set more than once";
		return -1;
	}
	conf->seen |= (uint64_t)1 << i;
	switch ((enum relaygate_conf_key)i) {
	case CONF_RELAY_DB:
		if (*value == '\0') {
			*error_r = "expected a file path, found nothing";
			return -1;
		}
		if (*value != '/') {
			*error_r = "expected an absolute file path";
			return -1;
		}
		return conf_set_string(&conf->relay_db, value, error_r);
	case CONF_RELAY_WINDOW:
	case CONF_RELAY_DB_LOCK_TIMEOUT:
		if (timespan_parse(value, &seconds, &time_error) < 0) {
			snprintf(message, sizeof(message),
				 "expected a time like 30m, 1h or 900s: %s",
				 time_error);
			*error_r = message;
			return -1;
		}
		if (seconds == 0) {
			*error_r = "expected a time above zero";
			return -1;
		}
		if (i == CONF_RELAY_WINDOW)
			conf->relay_window = seconds;
		else if (seconds > 3600) {
			*error_r = "expected at most 1h";
			return -1;
		} else
			conf->relay_db_lock_timeout = seconds;
		return 0;
	case CONF_NEVER_RELAY:
		return conf_set_never_relay(conf, value, error_r);
	case CONF_RELAY_DB_FSYNC:
		return conf_set_bool(&conf->relay_db_fsync, value, error_r);
	case CONF_LOOKUPD_SOCKETMAP_LISTEN:
		return conf_set_endpoints(&conf->lookupd_socketmap_listen,
					  value, error_r);
	case CONF_LOOKUPD_POLICY_LISTEN:
		return conf_set_endpoints(&conf->lookupd_policy_listen, value,
					  error_r);
	case CONF_LOOKUPD_SOCKETMAP_NAME:
		if (*value == '\0' || strlen(value) > 64
		    || strspn(value, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
		    != strlen(value)) {
			*error_r = "expected a map name of letters, digits, "
			    "'_', '.' and '-' (at most 64)";
			return -1;
		}
		return conf_set_string(&conf->lookupd_socketmap_name, value,
				       error_r);
	case CONF_LOOKUPD_USER:
		return conf_set_unprivileged_user(&conf->lookupd_user, value,
						  error_r);
	case CONF_LOOKUPD_EXPIRE:
		return conf_set_bool(&conf->lookupd_expire, value, error_r);
	case CONF_LOOKUPD_LOG_DECISIONS:
		return conf_set_bool(&conf->lookupd_log_decisions, value,
				     error_r);
	case CONF_LOOKUPD_MAX_CONNECTIONS:
		return conf_set_count(&conf->lookupd_max_connections, value,
				      100000, error_r);
	case CONF_RELAY_DB_RECORDER: {
		struct listen_endpoint *items;
		size_t count;

		if (listen_endpoint_list_parse(value, &items, &count,
					       error_r) < 0)
			return -1;
		free(items);
		if (count > 1 || (count == 1 && strncmp(value, "unix:", 5) != 0)) {
			/* The protocol has no authentication: a unix socket,
			 * whose mode and group say who may record. */
			*error_r = "expected one unix socket (unix:/path), or nothing";
			return -1;
		}
		return conf_set_string(&conf->relay_db_recorder, value, error_r);
	}
	case CONF_RECORDER_GROUP:
		if (*value != '\0' && getgrnam(value) == NULL) {
			snprintf(message, sizeof(message),
				 "expected an existing group (no group \"%.64s\")",
				 value);
			*error_r = message;
			return -1;
		}
		return conf_set_string(&conf->recorder_group, value, error_r);
	case CONF_LOOKUPD_IDLE_TIMEOUT:
		if (timespan_parse(value, &seconds, &time_error) < 0
		    || seconds == 0 || seconds > 86400) {
			*error_r = "expected a time from 1s to 1d, like 5m";
			return -1;
		}
		conf->lookupd_idle_timeout = seconds;
		return 0;
	case CONF_PASSWD_FILE:
		if (*value != '/') {
			*error_r = "expected an absolute file path";
			return -1;
		}
		return conf_set_string(&conf->passwd_file, value, error_r);
	case CONF_MAIL_LOCATION:
		if (mail_location_check(value, error_r) < 0)
			return -1;
		return conf_set_string(&conf->mail_location, value, error_r);
	case CONF_POP3_LISTEN:
	case CONF_POP3S_LISTEN: {
		struct listen_endpoint *items;
		size_t count, k;

		if (listen_endpoint_list_parse(value, &items, &count,
					       error_r) < 0)
			return -1;
		for (k = 0; k < count; k++) {
			if (items[k].family == AF_UNIX) {
				free(items);
				*error_r = "expected address:port items, not unix sockets";
				return -1;
			}
		}
		free(items);
		return conf_set_string(i == CONF_POP3_LISTEN ?
				       &conf->pop3_listen : &conf->pop3s_listen,
				       value, error_r);
	}
	case CONF_TLS_CERT:
	case CONF_TLS_KEY:
		if (*value != '\0' && *value != '/') {
			*error_r = "expected an absolute file path, or nothing";
			return -1;
		}
		return conf_set_string(i == CONF_TLS_CERT ? &conf->tls_cert :
				       &conf->tls_key, value, error_r);
	case CONF_LOGIN_USER:
		return conf_set_unprivileged_user(&conf->login_user, value,
						  error_r);
	case CONF_ALLOW_PLAINTEXT_AUTH:
		return conf_set_bool(&conf->allow_plaintext_auth, value,
				     error_r);
	case CONF_PLAINTEXT_AUTH_NETWORKS:
		return conf_set_plaintext_auth_networks(conf, value, error_r);
	case CONF_POP3_MAX_CONNECTIONS:
		return conf_set_count(&conf->pop3_max_connections, value,
				      100000, error_r);
	case CONF_POP3_MAX_CONNECTIONS_PER_IP:
		return conf_set_count(&conf->pop3_max_connections_per_ip,
				      value, 100000, error_r);
	case CONF_POP3_MAX_BAD_COMMANDS:
		return conf_set_count(&conf->pop3_max_bad_commands, value,
				      1000, error_r);
	case CONF_POP3_IDLE_TIMEOUT:
		if (timespan_parse(value, &seconds, &time_error) < 0
		    || seconds == 0 || seconds > 86400) {
			*error_r = "expected a time from 1s to 1d, like 10m "
			    "(RFC 1939 asks for at least 10m)";
			return -1;
		}
		conf->pop3_idle_timeout = seconds;
		return 0;
	case CONF_POP3_MAIL_PROCESS_IDLE:
		if (timespan_parse(value, &seconds, &time_error) < 0
		    || seconds > 86400) {
			*error_r = "expected a time up to 1d, like 5m, or 0 "
			    "(never stop an idle mail process)";
			return -1;
		}
		conf->pop3_mail_process_idle = seconds;
		return 0;
	}
	*error_r = "internal error: unhandled key";
	return -1;
}

int relaygate_conf_init(struct relaygate_conf *conf, const char **error_r)
{
	memset(conf, 0, sizeof(*conf));
	conf->relay_window = 30 * 60;
	conf->relay_db_lock_timeout = 10;
	conf->relay_db_fsync = false;
	if (conf_set_string(&conf->relay_db, RELAYGATE_STATEDIR "/relayers.db",
			    error_r) < 0)
		return -1;
	if (conf_set_never_relay(conf, RELAYGATE_DEFAULT_NEVER_RELAY, error_r) < 0)
		return -1;
	if (conf_set_string(&conf->lookupd_socketmap_listen, "", error_r) < 0
	    || conf_set_string(&conf->lookupd_policy_listen, "", error_r) < 0
	    || conf_set_string(&conf->lookupd_socketmap_name, "relaygate",
			       error_r) < 0
	    || conf_set_string(&conf->lookupd_user, "nobody", error_r) < 0
	    || conf_set_string(&conf->relay_db_recorder, "", error_r) < 0
	    || conf_set_string(&conf->recorder_group, "", error_r) < 0
	    || conf_set_string(&conf->passwd_file,
			       RELAYGATE_SYSCONFDIR "/passwd", error_r) < 0
	    || conf_set_string(&conf->mail_location, "maildir:~/Maildir",
			       error_r) < 0
	    || conf_set_string(&conf->pop3_listen, "0.0.0.0:110, [::]:110",
			       error_r) < 0
	    || conf_set_string(&conf->pop3s_listen, "", error_r) < 0
	    || conf_set_string(&conf->tls_cert, "", error_r) < 0
	    || conf_set_string(&conf->tls_key, "", error_r) < 0
	    || conf_set_string(&conf->login_user, "nobody", error_r) < 0)
		return -1;
	conf->allow_plaintext_auth = false;
	if (conf_set_plaintext_auth_networks(conf,
			RELAYGATE_DEFAULT_PLAINTEXT_AUTH_NETWORKS, error_r) < 0)
		return -1;
	conf->pop3_max_connections = 1000;
	conf->pop3_max_connections_per_ip = 50;
	conf->pop3_max_bad_commands = 10;
	conf->pop3_idle_timeout = 600;
	conf->pop3_mail_process_idle = 300;
	conf->lookupd_expire = false;
	conf->lookupd_max_connections = 1000;
	conf->lookupd_idle_timeout = 600;
	conf->lookupd_log_decisions = true;
	return 0;
}

int relaygate_conf_parse_text(struct relaygate_conf *conf, const char *name,
			      const char *text, size_t len, char *error,
			      size_t error_size)
{
	return config_file_parse_text(name, text, len, conf_handle, conf,
				      error, error_size);
}

int relaygate_conf_load(struct relaygate_conf *conf, const char *path,
			bool required, char *error, size_t error_size)
{
	struct stat st;

	if (!required && stat(path, &st) < 0 && errno == ENOENT)
		return 0;
	return config_file_read(path, conf_handle, conf, error, error_size);
}

/* Fill CONF with the defaults and load PATH on top, a problem printed
 * after "NAME: ". Returns 0 or the daemon's exit status. */
static int relaygate_conf_load_daemon(struct relaygate_conf *conf,
				      const char *name, const char *path,
				      bool required)
{
	char message[1024];
	const char *error;

	if (relaygate_conf_init(conf, &error) < 0) {
		fprintf(stderr, "%s: %s\n", name, error);
		return EX_SOFTWARE;
	}
	if (relaygate_conf_load(conf, path, required, message,
				sizeof(message)) < 0) {
		fprintf(stderr, "%s: %s\n", name, message);
		return EX_CONFIG;
	}
	return 0;
}

int relaygate_conf_start_daemon(struct relaygate_conf *conf,
				struct daemon_options *options, int argc,
				char **argv, daemon_check_fn *check)
{
	int status = daemon_options_parse(options, argc, argv);

	if (status >= 0)
		return status;
	status = relaygate_conf_load_daemon(conf, options->name,
					    options->conf_path,
					    options->conf_given);
	if (status != 0)
		return status;
	if (check(options) > 0)
		return EX_CONFIG;
	if (options->check_only)
		return daemon_check_passed(options);
	return -1;
}

void relaygate_conf_free(struct relaygate_conf *conf)
{
	free(conf->relay_db);
	free(conf->never_relay_text);
	free(conf->lookupd_socketmap_listen);
	free(conf->lookupd_policy_listen);
	free(conf->lookupd_socketmap_name);
	free(conf->lookupd_user);
	free(conf->relay_db_recorder);
	free(conf->recorder_group);
	free(conf->passwd_file);
	free(conf->mail_location);
	free(conf->pop3_listen);
	free(conf->pop3s_listen);
	free(conf->tls_cert);
	free(conf->tls_key);
	free(conf->login_user);
	free(conf->plaintext_auth_networks_text);
	cidr_list_free(&conf->never_relay);
	cidr_list_free(&conf->plaintext_auth_networks);
	memset(conf, 0, sizeof(*conf));
}

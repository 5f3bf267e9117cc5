/* relaygate_conf: the key table of relaygate.conf. Unknown keys, repeated
 * keys and bad values are errors; nothing is silently ignored. */
#include "relaygate_conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_file.h"
#include "timespan.h"

#define RELAYGATE_DEFAULT_NEVER_RELAY \
	"0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8"

enum relaygate_conf_key {
	CONF_RELAY_DB,
	CONF_RELAY_WINDOW,
	CONF_NEVER_RELAY,
	CONF_RELAY_DB_LOCK_TIMEOUT,
	CONF_RELAY_DB_FSYNC,
};

static const char *const relaygate_conf_keys[] = {
	[CONF_RELAY_DB] = "relay_db",
	[CONF_RELAY_WINDOW] = "relay_window",
	[CONF_NEVER_RELAY] = "never_relay",
	[CONF_RELAY_DB_LOCK_TIMEOUT] = "relay_db_lock_timeout",
	[CONF_RELAY_DB_FSYNC] = "relay_db_fsync",
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

static int conf_set_never_relay(struct relaygate_conf *conf, const char *value,
				const char **error_r)
{
	struct cidr_list list;

	if (cidr_list_parse(value, &list, error_r) < 0)
		return -1;
	if (conf_set_string(&conf->never_relay_text, value, error_r) < 0) {
		cidr_list_free(&list);
		return -1;
	}
	cidr_list_free(&conf->never_relay);
	conf->never_relay = list;
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
	if (conf->seen & (1u << i)) {
		*error_r = "set more than once";
		return -1;
	}
	conf->seen |= 1u << i;
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
		if (strcmp(value, "yes") == 0)
			conf->relay_db_fsync = true;
		else if (strcmp(value, "no") == 0)
			conf->relay_db_fsync = false;
		else {
			*error_r = "expected yes or no";
			return -1;
		}
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

void relaygate_conf_free(struct relaygate_conf *conf)
{
	free(conf->relay_db);
	free(conf->never_relay_text);
	cidr_list_free(&conf->never_relay);
	memset(conf, 0, sizeof(*conf));
}

/* mail_location: expand a mail_location template for one user. The
 * template comes from the configuration and the user name and home from
 * the password file: both are checked, and the result never overruns the
 * caller's buffer. Never touches the file system. */
#include "mail_location.h"

#include <stdio.h>
#include <string.h>

#define MAIL_LOCATION_PREFIX "maildir:"

/* Options after PATH that only concern Dovecot's own files (indexes,
 * control files, lock files, the layout of folders other than INBOX):
 * relaygate-pop3d reads INBOX alone and ignores them, so that a
 * mail_location copied from dovecot.conf works as it is -- except that
 * CONTROL= also says where Dovecot keeps the Maildir++ maildirsize file
 * (mail_location_expand_control). */
static const char *const mail_location_ignored_options[] = {
	"INDEX", "INDEXPVT", "CONTROL", "VOLATILEDIR", "LAYOUT", NULL
};

/* Check the ":KEY=VALUE" options that follow PATH (OPTIONS starts at the
 * first ':'). */
static int mail_location_check_options(const char *options,
				       const char **error_r)
{
	const char *p = options;

	while (*p == ':') {
		const char *key = p + 1, *eq = strchr(key, '='),
		    *next = strchr(key, ':');
		size_t key_len, i;

		if (next == NULL)
			next = key + strlen(key);
		if (eq == NULL || eq > next || eq == key) {
			*error_r = "expected KEY=VALUE after ':' in "
			    "maildir:PATH:KEY=VALUE (a ':' in PATH itself is "
			    "not supported)";
			return -1;
		}
		key_len = (size_t)(eq - key);
		for (i = 0; mail_location_ignored_options[i] != NULL; i++) {
			if (strlen(mail_location_ignored_options[i]) == key_len
			    && strncmp(key, mail_location_ignored_options[i],
				       key_len) == 0)
				break;
		}
		if (mail_location_ignored_options[i] == NULL) {
			*error_r = key_len == 5 && strncmp(key, "INBOX", 5) == 0
			    ? "the INBOX= option is not supported (the mailbox "
			      "must be PATH itself)"
			    : "unknown option after PATH (expected one of "
			      "INDEX=, INDEXPVT=, CONTROL=, VOLATILEDIR=, "
			      "LAYOUT=, which only concern Dovecot's files and "
			      "are ignored)";
			return -1;
		}
		p = next;
	}
	return 0;
}

/* Expand the PATH part of a template (after "maildir:", up to its
 * options). With USER NULL, only check it. */
static int mail_location_expand_path(const char *template, const char *user,
				     const char *home, char *path, size_t size,
				     const char **error_r)
{
	const char *p = template, *end = strchr(template, ':');
	size_t len = 0;

	if (end == NULL)
		end = template + strlen(template);
	else if (mail_location_check_options(end, error_r) < 0)
		return -1;
	if (p == end) {
		*error_r = "expected maildir:PATH, found no PATH";
		return -1;
	}
	if (*p != '/' && *p != '~' && strncmp(p, "%h", 2) != 0) {
		*error_r = "expected maildir:PATH with PATH absolute or "
		    "starting with ~/ or %h (the user's home)";
		return -1;
	}
	if (*p == '~' && p + 1 < end && p[1] != '/') {
		*error_r = "expected ~ alone or followed by / (~user is not "
		    "supported)";
		return -1;
	}
	for (; p < end; p++) {
		const char *insert;
		char one[2] = { *p, '\0' };
		size_t insert_len;
		char variable = 0;	/* 'u' or 'h' */

		if (*p == '~' && p == template)
			variable = 'h';
		else if (*p == '%') {
			switch (p + 1 < end ? p[1] : '\0') {
			case 'u':
			case 'h':
				variable = p[1];
				break;
			case '%':
				break;
			case '\0':
				*error_r = "a % ends PATH (write %% for a "
				    "percent sign)";
				return -1;
			default:
				*error_r = "unknown variable after % (expected "
				    "%u for the user name, %h for the home "
				    "directory or %% for a percent sign)";
				return -1;
			}
			p++;
		}
		if (user == NULL)
			continue;	/* only checking */
		if (variable == 'h') {
			if (home[0] != '/') {
				*error_r = "the user has no absolute home "
				    "directory";
				return -1;
			}
			insert = home;
		} else if (variable == 'u') {
			if (user[0] == '\0' || strchr(user, '/') != NULL
			    || strcmp(user, ".") == 0 || strcmp(user, "..") == 0) {
				*error_r = "the user name is not a single path "
				    "component (%u): empty, . or .., or with /";
				return -1;
			}
			insert = user;
		} else
			insert = one;	/* a character, or the % of %% */
		insert_len = strlen(insert);
		if (insert_len >= size - len) {
			*error_r = "mailbox path too long";
			return -1;
		}
		memcpy(path + len, insert, insert_len);
		len += insert_len;
	}
	if (user != NULL)
		path[len] = '\0';
	return 0;
}

/* The value of option KEY ("CONTROL") after PATH in TEMPLATE (after
 * "maildir:"), up to the next ':' or the end, or NULL. Options were
 * checked (mail_location_check_options). */
static const char *mail_location_option(const char *template, const char *key)
{
	const char *p = strchr(template, ':');
	size_t key_len = strlen(key);

	while (p != NULL && *p == ':') {
		if (strncmp(p + 1, key, key_len) == 0 && p[1 + key_len] == '=')
			return p + 2 + key_len;
		p = strchr(p + 1, ':');
	}
	return NULL;
}

/* Expand or, with USER NULL, check the CONTROL= value of TEMPLATE (after
 * "maildir:"). Returns 1 (expanded into PATH), 0 without CONTROL=, or -1
 * with *ERROR_R. */
static int mail_location_control(const char *template, const char *user,
				 const char *home, char *path, size_t size,
				 const char **error_r)
{
	static char control_error[256];
	const char *value = mail_location_option(template, "CONTROL");
	const char *error;

	if (value == NULL)
		return 0;
	if (mail_location_expand_path(value, user, home, path, size,
				      &error) < 0) {
		snprintf(control_error, sizeof(control_error), "in CONTROL=: %s",
			 strncmp(error, "expected maildir:PATH", 21) == 0
			 ? "expected an absolute directory, or one starting "
			   "with ~/ or %h (the user's home)"
			 : error);
		*error_r = control_error;
		return -1;
	}
	return 1;
}

int mail_location_check(const char *template, const char **error_r)
{
	const char *rest = template + strlen(MAIL_LOCATION_PREFIX);

	if (strncmp(template, MAIL_LOCATION_PREFIX,
		    strlen(MAIL_LOCATION_PREFIX)) != 0) {
		*error_r = "expected maildir:PATH (maildir is the only mailbox "
		    "format)";
		return -1;
	}
	if (mail_location_expand_path(rest, NULL, NULL, NULL, 0, error_r) < 0
	    || mail_location_control(rest, NULL, NULL, NULL, 0, error_r) < 0)
		return -1;
	return 0;
}

/* Check TEMPLATE and a buffer of SIZE bytes (TOO_LONG when 0); *REST_R is
 * the template after "maildir:". Returns 0 or -1 with *ERROR_R. */
static int mail_location_prepare(const char *template, size_t size,
				 const char *too_long, const char **rest_r,
				 const char **error_r)
{
	if (mail_location_check(template, error_r) < 0)
		return -1;
	if (size == 0) {
		*error_r = too_long;
		return -1;
	}
	*rest_r = template + strlen(MAIL_LOCATION_PREFIX);
	return 0;
}

int mail_location_expand_control(const char *template, const char *user,
				 const char *home, char *path, size_t size,
				 const char **error_r)
{
	const char *rest;

	if (mail_location_prepare(template, size, "control directory path "
				  "too long", &rest, error_r) < 0)
		return -1;
	return mail_location_control(rest, user, home, path, size, error_r);
}
int mail_location_expand(const char *template, const char *user,
			 const char *home, char *path, size_t size,
			 const char **error_r)
{
	const char *rest;

	if (mail_location_prepare(template, size, "mailbox path too long",
				  &rest, error_r) < 0)
		return -1;
	return mail_location_expand_path(rest, user, home, path, size,
					 error_r);
}
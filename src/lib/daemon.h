#ifndef RELAYGATE_DAEMON_H
#define RELAYGATE_DAEMON_H
/* daemon: the process lifecycle pieces every relaygate daemon shares. */
#include <stdbool.h>
#include <stdint.h>

/* The command line of a daemon: NAME [-F] [-t] [-c FILE], -V, -h. */
struct daemon_options {
	/* set by the caller */
	const char *name;	/* the program, at the start of messages */
	const char *version;	/* -V prints "NAME VERSION" */
	const char *usage;	/* -h prints it, and a usage error */
	const char *conf_path;	/* the default, replaced by -c FILE */
	/* set by daemon_options_parse() */
	bool conf_given;	/* -c: the file must exist */
	bool foreground;	/* -F: stay in the foreground, log to stderr */
	bool check_only;	/* -t: check the configuration, exit */
};

/* Parse ARGC/ARGV into OPTIONS. -V and -h print to stdout; a bad option
 * or an argument prints the problem and the usage to stderr. Returns -1
 * when the program goes on, else its exit status: 0 after -V or -h,
 * EX_USAGE after a usage error. */
int daemon_options_parse(struct daemon_options *options, int argc,
			 char **argv);

/* A daemon's own check of its loaded configuration, run at every start
 * and alone by -t: prints each problem to stderr, returns their number. */
typedef int daemon_check_fn(const struct daemon_options *options);

/* After -t found nothing wrong: print "NAME: FILE: configuration OK".
 * Returns the exit status, 0. */
int daemon_check_passed(const struct daemon_options *options);

/* Make room for WANT open descriptors: raise the soft RLIMIT_NOFILE up
 * to the hard one, and both as root. Best effort: a daemon that gets
 * fewer finds out at accept(). */
void daemon_raise_nofile(uint64_t want);

/* Run in the background: fork (the parent exits 0), start a new session,
 * chdir to /, standard descriptors on /dev/null. Fatal on failure. */
void daemon_detach(void);

#endif

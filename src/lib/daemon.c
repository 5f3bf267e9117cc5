/* daemon: the command line, the descriptor limit and detaching from the
 * terminal, written once for every daemon. Knows nothing of the
 * configuration's keys (see relaygate_conf_start_daemon()). daemon_detach()
 * must never return in the parent. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"

int daemon_options_parse(struct daemon_options *options, int argc,
			 char **argv)
{
	int opt;

	options->conf_given = false;
	options->foreground = false;
	options->check_only = false;
	while ((opt = getopt(argc, argv, "c:FtVh")) != -1) {
		switch (opt) {
		case 'c':
			options->conf_path = optarg;
			options->conf_given = true;
			break;
		case 'F':
			options->foreground = true;
			break;
		case 't':
			options->check_only = true;
			break;
		case 'V':
			printf("%s %s\n", options->name, options->version);
			return 0;
		case 'h':
			fputs(options->usage, stdout);
			return 0;
		default:	/* getopt said what was wrong */
			fputs(options->usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument: %s\n", options->name,
			argv[optind]);
		fputs(options->usage, stderr);
		return EX_USAGE;
	}
	return -1;
}

int daemon_check_passed(const struct daemon_options *options)
{
	printf("%s: %s: configuration OK\n", options->name, options->conf_path);
	return 0;
}

void daemon_raise_nofile(uint64_t want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want <= rl.rlim_max ? (rlim_t)want : rl.rlim_max;
	if (rl.rlim_cur < want && geteuid() == 0)
		rl.rlim_max = rl.rlim_cur = (rlim_t)want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

void daemon_detach(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		log_fatal(EX_OSERR, "fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		log_fatal(EX_OSERR, "setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		log_fatal(EX_OSERR, "chdir /: %s", strerror(errno));
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
}

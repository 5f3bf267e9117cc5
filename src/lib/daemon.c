/* daemon: detaching from the terminal, once for every daemon. Must never
 * return in the parent. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"

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

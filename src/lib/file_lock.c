/* file_lock: flock with a timeout. A blocking flock() is interrupted by a
 * one-shot timer signal; the previous handler and timer are restored, so
 * callers' own signal use is left alone. Not for multi-threaded callers. */
#include "file_lock.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

static void file_lock_alarm(int signo)
{
	(void)signo;
}

int file_lock(int fd, enum file_lock_mode mode, unsigned timeout_ms)
{
	int operation = mode == FILE_LOCK_SHARED ? LOCK_SH : LOCK_EX;
	struct sigaction action, old_action;
	struct sigevent event;
	struct itimerspec when;
	timer_t timer;
	int ret, saved_errno;

	if (flock(fd, operation | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK)
		return -1;
	if (timeout_ms == 0)
		return -1;

	memset(&action, 0, sizeof(action));
	action.sa_handler = file_lock_alarm;
	sigemptyset(&action.sa_mask);
	action.sa_flags = 0;	/* no SA_RESTART: flock must return EINTR */
	if (sigaction(SIGRTMIN + 3, &action, &old_action) < 0)
		return -1;
	memset(&event, 0, sizeof(event));
	event.sigev_notify = SIGEV_SIGNAL;
	event.sigev_signo = SIGRTMIN + 3;
	if (timer_create(CLOCK_MONOTONIC, &event, &timer) < 0) {
		saved_errno = errno;
		sigaction(SIGRTMIN + 3, &old_action, NULL);
		errno = saved_errno;
		return -1;
	}
	memset(&when, 0, sizeof(when));
	when.it_value.tv_sec = timeout_ms / 1000;
	when.it_value.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
	timer_settime(timer, 0, &when, NULL);

	for (;;) {
		ret = flock(fd, operation);
		if (ret == 0 || errno != EINTR)
			break;
		/* EINTR: our timer, or another signal; check which. */
		if (timer_gettime(timer, &when) == 0
		    && when.it_value.tv_sec == 0 && when.it_value.tv_nsec == 0) {
			errno = EWOULDBLOCK;
			break;
		}
	}
	saved_errno = errno;
	timer_delete(timer);
	sigaction(SIGRTMIN + 3, &old_action, NULL);
	errno = saved_errno;
	return ret;
}

int file_unlock(int fd)
{
	return flock(fd, LOCK_UN);
}

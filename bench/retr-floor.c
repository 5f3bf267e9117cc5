/* retr-floor: the floor of the retr-big scenario on this machine. A server
 * that answers every command line with a prepared 4,150-byte reply (the
 * size of one of biguser's messages, with "+OK" and the terminator), and a
 * client that, like mailbench, sends "RETR n", reads until it has the
 * whole reply, and only then sends the next. No POP3 server can retrieve
 * one message at a time faster than this over loopback here: the rest of
 * its time is its own work (docs/BENCHMARKS.md).
 *
 *   retr-floor [N]     N round trips (default 20000) on 127.0.0.1 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REPLY_SIZE 4150

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void serve(int listener, const char *reply)
{
	int conn = accept(listener, NULL, NULL), one = 1;
	char line[256];

	if (conn < 0)
		_exit(1);
	(void)setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (;;) {
		ssize_t got = read(conn, line, sizeof(line));

		if (got <= 0)
			_exit(0);
		if (write(conn, reply, REPLY_SIZE) != REPLY_SIZE)
			_exit(1);
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? strtol(argv[1], NULL, 10) : 20000, i;
	static char reply[REPLY_SIZE], buf[65536];
	struct sockaddr_in addr;
	socklen_t addr_len = sizeof(addr);
	struct timespec t0, t1;
	int listener, conn, one = 1;
	double seconds;
	pid_t pid;

	if (rounds <= 0) {
		fprintf(stderr, "usage: retr-floor [N]\n");
		return 64;
	}
	memset(reply, 'x', sizeof(reply));
	memcpy(reply, "+OK\r\n", 5);
	memcpy(reply + REPLY_SIZE - 5, "\r\n.\r\n", 5);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((listener = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket");
	if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0
	    || listen(listener, 1) < 0
	    || getsockname(listener, (struct sockaddr *)&addr, &addr_len) < 0)
		die("bind");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0)
		serve(listener, reply);
	close(listener);
	if ((conn = socket(AF_INET, SOCK_STREAM, 0)) < 0
	    || connect(conn, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		die("connect");
	(void)setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++) {
		char cmd[32];
		int len = snprintf(cmd, sizeof(cmd), "RETR %ld\r\n", i + 1);
		size_t have = 0;

		if (write(conn, cmd, (size_t)len) != len)
			die("write");
		while (have < REPLY_SIZE) {
			ssize_t got = read(conn, buf, sizeof(buf));

			if (got <= 0)
				die("read");
			have += (size_t)got;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	seconds = (double)(t1.tv_sec - t0.tv_sec)
	    + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("retr-floor: %ld round trips of %d bytes: %.1f us each, "
	       "%.1f MB/s\n", rounds, REPLY_SIZE, seconds / (double)rounds * 1e6,
	       (double)rounds * REPLY_SIZE / seconds / 1e6);
	close(conn);
	waitpid(pid, NULL, 0);
	return 0;
}

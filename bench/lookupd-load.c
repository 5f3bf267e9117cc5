/* lookupd-load: closed-loop load for relaygate-lookupd and its floor, as
 * MTAs use them: C connections, each with one request outstanding at a
 * time (send, wait for the whole answer, send the next). Keys are read
 * from a file, one per line, and used in turn. Prints one result line:
 *   conns=C queries=N seconds=S qps=Q p50_us=A p99_us=B max_us=M answers=...
 * Usage: lookupd-load socketmap|policy ENDPOINT CONNS SECONDS KEYFILE */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "listen_endpoint.h"

#define LOAD_MAX_SAMPLES 20000000

struct load_connection {
	int fd;
	char request[512];
	size_t request_len, sent;
	char reply[512];
	size_t reply_len;
	uint64_t started_ns;
};

static char **load_keys;
static size_t load_key_count, load_next_key;
static int load_policy;
static uint32_t *load_samples;	/* latencies in ns, capped */
static size_t load_sample_count;
static unsigned long load_ok, load_other;

static uint64_t load_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void load_prepare(struct load_connection *c)
{
	const char *key = load_keys[load_next_key++ % load_key_count];

	if (load_policy)
		c->request_len = (size_t)snprintf(c->request, sizeof(c->request),
			"request=smtpd_access_policy\nprotocol_state=RCPT\n"
			"protocol_name=ESMTP\nclient_address=%s\n"
			"client_name=unknown\nhelo_name=client.example\n"
			"sender=user@example.org\nrecipient=rcpt@remote.example\n"
			"recipient_count=0\nqueue_id=\ninstance=1.2.3\nsize=0\n\n", key);
	else {
		size_t n = strlen("relaygate ") + strlen(key);

		c->request_len = (size_t)snprintf(c->request, sizeof(c->request),
						  "%zu:relaygate %s,", n, key);
	}
	c->sent = 0;
	c->reply_len = 0;
	c->started_ns = load_now_ns();
}

/* True when the reply buffer holds one whole answer. */
static int load_reply_complete(const struct load_connection *c)
{
	if (load_policy)
		return c->reply_len >= 2 && c->reply[c->reply_len - 1] == '\n'
		    && c->reply[c->reply_len - 2] == '\n';
	{
		const char *colon = memchr(c->reply, ':', c->reply_len);
		size_t n;

		if (colon == NULL)
			return 0;
		n = (size_t)strtoul(c->reply, NULL, 10);
		return c->reply_len >= (size_t)(colon - c->reply) + 1 + n + 1;
	}
}

static int load_compare(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct listen_endpoint ep;
	struct load_connection *conns;
	struct epoll_event ev, events[256];
	const char *error;
	char line[256];
	FILE *f;
	long nconns, seconds;
	uint64_t start, end, warm;
	int ep_fd, i;

	if (argc != 6) {
		fprintf(stderr, "usage: lookupd-load socketmap|policy ENDPOINT "
			"CONNS SECONDS KEYFILE\n");
		return 64;
	}
	load_policy = strcmp(argv[1], "policy") == 0;
	if (listen_endpoint_parse(argv[2], &ep, &error) < 0) {
		fprintf(stderr, "lookupd-load: %s: %s\n", argv[2], error);
		return 64;
	}
	nconns = strtol(argv[3], NULL, 10);
	seconds = strtol(argv[4], NULL, 10);
	if (nconns < 1 || nconns > 10000 || seconds < 1) {
		fprintf(stderr, "lookupd-load: bad CONNS or SECONDS\n");
		return 64;
	}
	f = fopen(argv[5], "r");
	if (f == NULL) {
		perror(argv[5]);
		return 66;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '\0')
			continue;
		load_keys = realloc(load_keys, (load_key_count + 1) * sizeof(*load_keys));
		load_keys[load_key_count++] = strdup(line);
	}
	fclose(f);
	if (load_key_count == 0) {
		fprintf(stderr, "lookupd-load: no keys\n");
		return 65;
	}
	load_samples = malloc(LOAD_MAX_SAMPLES * sizeof(*load_samples));
	conns = calloc((size_t)nconns, sizeof(*conns));
	ep_fd = epoll_create1(0);
	if (load_samples == NULL || conns == NULL || ep_fd < 0) {
		perror("lookupd-load");
		return 71;
	}
	for (i = 0; i < nconns; i++) {
		struct load_connection *c = &conns[i];

		c->fd = socket(ep.family, SOCK_STREAM, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&ep.addr,
					 ep.addr_len) < 0) {
			fprintf(stderr, "lookupd-load: connect %s: %s\n", argv[2],
				strerror(errno));
			return 69;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		epoll_ctl(ep_fd, EPOLL_CTL_ADD, c->fd, &ev);
	}
	start = load_now_ns();
	warm = start + 500000000u;	/* half a second of warm-up */
	end = warm + (uint64_t)seconds * 1000000000u;
	for (i = 0; i < nconns; i++) {
		load_prepare(&conns[i]);
		if (send(conns[i].fd, conns[i].request, conns[i].request_len,
			 MSG_NOSIGNAL) != (ssize_t)conns[i].request_len) {
			perror("lookupd-load: send");
			return 74;
		}
	}
	for (;;) {
		uint64_t now = load_now_ns();
		int n;

		if (now >= end)
			break;
		n = epoll_wait(ep_fd, events, 256, 1000);
		for (i = 0; i < n; i++) {
			struct load_connection *c = events[i].data.ptr;
			ssize_t got = recv(c->fd, c->reply + c->reply_len,
					   sizeof(c->reply) - 1 - c->reply_len, 0);

			if (got <= 0) {
				fprintf(stderr, "lookupd-load: server closed a connection\n");
				return 74;
			}
			c->reply_len += (size_t)got;
			if (!load_reply_complete(c))
				continue;
			now = load_now_ns();
			if (c->started_ns >= warm && now < end) {
				if (load_sample_count < LOAD_MAX_SAMPLES) {
					uint64_t d = now - c->started_ns;

					load_samples[load_sample_count++] =
					    d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
				}
				if (strstr(c->reply, "OK") != NULL)
					load_ok++;
				else
					load_other++;
			}
			load_prepare(c);
			if (send(c->fd, c->request, c->request_len, MSG_NOSIGNAL)
			    != (ssize_t)c->request_len) {
				perror("lookupd-load: send");
				return 74;
			}
		}
	}
	qsort(load_samples, load_sample_count, sizeof(*load_samples), load_compare);
	if (load_sample_count == 0) {
		fprintf(stderr, "lookupd-load: no answers\n");
		return 1;
	}
	printf("conns=%ld queries=%zu seconds=%ld qps=%.0f p50_us=%.1f p99_us=%.1f "
	       "max_us=%.1f answers_ok=%lu answers_other=%lu\n",
	       nconns, load_sample_count, seconds,
	       (double)load_sample_count / (double)seconds,
	       load_samples[load_sample_count / 2] / 1000.0,
	       load_samples[load_sample_count * 99 / 100] / 1000.0,
	       load_samples[load_sample_count - 1] / 1000.0, load_ok, load_other);
	return 0;
}

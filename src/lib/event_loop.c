/* event_loop: epoll, level-triggered. Must never call a handler for a
 * watch that was removed during the same round. */
#include "event_loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENT_LOOP_BATCH 256

struct event_loop {
	int epoll_fd;
	struct epoll_event ready[EVENT_LOOP_BATCH];
	int ready_count;
	int ready_next;
};

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void event_loop_destroy(struct event_loop **loopp)
{
	struct event_loop *loop = *loopp;

	if (loop == NULL)
		return;
	close(loop->epoll_fd);
	free(loop);
	*loopp = NULL;
}

static uint32_t event_loop_epoll_bits(unsigned events)
{
	uint32_t bits = 0;

	if (events & EVENT_READ)
		bits |= EPOLLIN | EPOLLRDHUP;
	if (events & EVENT_WRITE)
		bits |= EPOLLOUT;
	return bits;
}

int event_loop_add(struct event_loop *loop, struct event_watch *watch,
		   unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = event_loop_epoll_bits(events);
	ev.data.ptr = watch;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, watch->fd, &ev) < 0)
		return -1;
	watch->events = events;
	return 0;
}

int event_loop_modify(struct event_loop *loop, struct event_watch *watch,
		      unsigned events)
{
	struct epoll_event ev;

	if (events == watch->events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = event_loop_epoll_bits(events);
	ev.data.ptr = watch;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, watch->fd, &ev) < 0)
		return -1;
	watch->events = events;
	return 0;
}

void event_loop_remove(struct event_loop *loop, struct event_watch *watch)
{
	int i;

	(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
	/* Forget pending events of this watch in the current round. */
	for (i = loop->ready_next; i < loop->ready_count; i++) {
		if (loop->ready[i].data.ptr == watch)
			loop->ready[i].data.ptr = NULL;
	}
}

int event_loop_run_once(struct event_loop *loop, int timeout_ms)
{
	int n, handled = 0;

	n = epoll_wait(loop->epoll_fd, loop->ready, EVENT_LOOP_BATCH, timeout_ms);
	if (n < 0)
		return -1;
	loop->ready_count = n;
	for (loop->ready_next = 0; loop->ready_next < n;) {
		struct epoll_event *ev = &loop->ready[loop->ready_next++];
		struct event_watch *watch = ev->data.ptr;
		unsigned events = 0;

		if (watch == NULL)
			continue;
		if (ev->events & (EPOLLIN | EPOLLRDHUP))
			events |= EVENT_READ;
		if (ev->events & EPOLLOUT)
			events |= EVENT_WRITE;
		if (ev->events & (EPOLLERR | EPOLLHUP))
			events |= EVENT_ERROR;
		watch->handler(watch, events);
		handled++;
	}
	loop->ready_count = 0;
	loop->ready_next = 0;
	return handled;
}

#ifndef RELAYGATE_EVENT_LOOP_H
#define RELAYGATE_EVENT_LOOP_H
/* event_loop: one epoll loop for a single-threaded daemon. Each watched
 * descriptor has a caller-owned struct event_watch naming its handler. */
#include <stdbool.h>
#include <stdint.h>

#define EVENT_READ 0x1u
#define EVENT_WRITE 0x2u
#define EVENT_ERROR 0x4u	/* hang-up or error (always reported) */

struct event_loop;
struct event_watch;

/* Called with the events that occurred (EVENT_* bits). */
typedef void event_handler(struct event_watch *watch, unsigned events);

struct event_watch {
	int fd;
	unsigned events;	/* what is being watched */
	event_handler *handler;
	void *context;
};

/* A new loop, or NULL with errno set. */
struct event_loop *event_loop_create(void);

/* Close *LOOP and set it to NULL (watched descriptors stay open). */
void event_loop_destroy(struct event_loop **loop);

/* Watch WATCH->fd for EVENTS. Returns 0 or -1 with errno set. */
int event_loop_add(struct event_loop *loop, struct event_watch *watch,
		   unsigned events);

/* Change what WATCH waits for (no system call if unchanged). */
int event_loop_modify(struct event_loop *loop, struct event_watch *watch,
		      unsigned events);

/* Stop watching (before the descriptor is closed). */
void event_loop_remove(struct event_loop *loop, struct event_watch *watch);

/* Wait at most TIMEOUT_MS (-1: no limit) and run the handlers of what
 * happened. Returns the number of events handled, or -1 with errno set
 * (EINTR when a signal arrived: the caller checks its flags). */
int event_loop_run_once(struct event_loop *loop, int timeout_ms);

#endif

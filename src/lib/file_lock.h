#ifndef RELAYGATE_FILE_LOCK_H
#define RELAYGATE_FILE_LOCK_H
/* file_lock: flock(2) with a bounded wait. flock, not fcntl: Berkeley DB
 * drops fcntl locks when it closes its own descriptors. */

enum file_lock_mode { FILE_LOCK_SHARED, FILE_LOCK_EXCLUSIVE };

/* Lock FD in MODE, waiting at most TIMEOUT_MS milliseconds. Returns 0, or
 * -1 with errno set (EWOULDBLOCK after the timeout). */
int file_lock(int fd, enum file_lock_mode mode, unsigned timeout_ms);

/* Release the lock on FD. */
int file_unlock(int fd);

#endif

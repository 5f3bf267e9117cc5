#ifndef RELAYGATE_PRIVILEGE_H
#define RELAYGATE_PRIVILEGE_H
/* privilege: give up root for good, as Postfix's chroot_uid does. */
#include <stddef.h>
#include <sys/types.h>

/* When running as root, become USER (its uid, primary gid and
 * supplementary groups) irrevocably, and check that root cannot be
 * regained. Not root: nothing changes. Returns 0, or -1 with a message in
 * ERROR (an unknown user, or a failed system call). */
int privilege_drop(const char *user, char *error, size_t error_size);

/* The same with the ids already looked up (no name service call, for a
 * freshly forked child): groups become just GID. UID or GID 0 is refused.
 * Not root: nothing changes. */
int privilege_drop_ids(uid_t uid, gid_t gid, char *error, size_t error_size);

/* 0 when no real, effective or saved uid or gid is 0 and setuid(0)
 * fails; else -1 with a message in ERROR. */
int privilege_check_dropped(char *error, size_t error_size);

#endif

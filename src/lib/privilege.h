#ifndef RELAYGATE_PRIVILEGE_H
#define RELAYGATE_PRIVILEGE_H
/* privilege: give up root for good, as Postfix's chroot_uid does. */
#include <stddef.h>

/* When running as root, become USER (its uid, primary gid and
 * supplementary groups) irrevocably, and check that root cannot be
 * regained. Not root: nothing changes. Returns 0, or -1 with a message in
 * ERROR (an unknown user, or a failed system call). */
int privilege_drop(const char *user, char *error, size_t error_size);

#endif

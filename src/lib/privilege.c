/* privilege: drop root. Must never return success while any of the real,
 * effective or saved ids is still 0. */
#define _GNU_SOURCE 1
#include "privilege.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int privilege_drop(const char *user, char *error, size_t error_size)
{
	struct passwd *pw;

	if (geteuid() != 0 && getuid() != 0)
		return 0;
	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		snprintf(error, error_size, "unknown user %s%s%s", user,
			 errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(error, error_size, "user %s is root; name an unprivileged user",
			 user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) < 0
	    || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0
	    || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		snprintf(error, error_size, "cannot become %s: %s", user,
			 strerror(errno));
		return -1;
	}
	return privilege_check_dropped(error, error_size);
}

int privilege_drop_ids(uid_t uid, gid_t gid, char *error, size_t error_size)
{
	if (geteuid() != 0 && getuid() != 0)
		return 0;
	if (uid == 0 || gid == 0) {
		snprintf(error, error_size, "refusing to run as uid %lu gid %lu",
			 (unsigned long)uid, (unsigned long)gid);
		return -1;
	}
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0
	    || setresuid(uid, uid, uid) < 0) {
		snprintf(error, error_size, "cannot become uid %lu gid %lu: %s",
			 (unsigned long)uid, (unsigned long)gid, strerror(errno));
		return -1;
	}
	return privilege_check_dropped(error, error_size);
}

int privilege_check_dropped(char *error, size_t error_size)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0
	    || ruid == 0 || euid == 0 || suid == 0 || rgid == 0 || egid == 0
	    || sgid == 0 || setuid(0) == 0) {
		snprintf(error, error_size, "root privileges not fully dropped");
		return -1;
	}
	return 0;
}

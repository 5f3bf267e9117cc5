/* directory_sync: fsync the directory holding a path, so that a rename
 * into it survives a crash. */
#include "directory_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <unistd.h>

int directory_sync(const char *path)
{
	char dir[4096];
	int dir_fd, err = 0;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return ENAMETOOLONG;
	dir_fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return errno;
	if (fsync(dir_fd) < 0)
		err = errno;
	close(dir_fd);
	return err;
}

#ifndef RELAYGATE_PAGE_COMMIT_H
#define RELAYGATE_PAGE_COMMIT_H
/* page_commit: make Berkeley DB's in-place page writes to one file atomic
 * against the death of the writing process. While a capture is active,
 * pages that libdb writes to the target file are kept in memory (and
 * served back to libdb's reads); page_commit_finish() then writes them:
 * a one-page change in place; a change that grows or shrinks the file as
 * a new file renamed over the old one; anything else from a commit process
 * that inherits the locked descriptor and so finishes even if we are
 * killed. */
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Install the libdb I/O hooks (once per process, before any DB->open). */
void page_commit_install(void);

/* Start capturing writes to the file open on LOCKED_FD (its inode), whose
 * name is PATH: a commit that changes the file's size writes a new file
 * and renames it to PATH. */
int page_commit_begin(int locked_fd, const char *path);

/* Declare that the update's changes are independent records, each
 * complete on its own (IPv4 grants: one key each). A commit that changes
 * several data pages, each of which only gained or changed records of its
 * own, is then written page by page instead of by a commit process: a
 * writer killed in the middle leaves some of the records written and the
 * others not, never a torn page nor a record half-moved. Reset by
 * page_commit_begin(). */
void page_commit_allow_partial(bool allow);

/* Number of pages captured so far. */
size_t page_commit_pending(void);

/* Write the captured pages to LOCKED_FD and stop capturing; fdatasync
 * when FSYNC. libdb's own fsync of the file stays suppressed until
 * page_commit_end(). Returns 0, or -1 with a message in ERROR. */
int page_commit_finish(int locked_fd, bool fsync, char *error,
		       size_t error_size);

/* After page_commit_finish() returned 0: 1 when the update wrote in place
 * and stamped the file's modification time (nanoseconds no other update
 * leaves, see page_commit.c), 0 when it wrote nothing; *ST_R is then the
 * status of the file on LOCKED_FD. A writer that keeps libdb's cache
 * between updates may reuse it while the file still has exactly these
 * times, size and inode. -1 after a replacement, or where the filesystem
 * keeps coarser times. */
int page_commit_stamped(int locked_fd, struct stat *st_r);

/* Finish the update after libdb closed the file (or, for a kept cache,
 * after page_commit_finish). */
void page_commit_end(void);

/* For a long-lived writer: start the commit helper, a process that
 * writes the plans of later commits instead of a commit process forked
 * for each (same guarantee: the lock stays held until every page is
 * written, even if the writer is killed). Call it before opening
 * descriptors the helper must not keep (listening sockets). Returns 0,
 * or -1 with errno set (commits then fork as before). */
int page_commit_helper_start(void);

/* End the helper (after the last commit). */
void page_commit_helper_stop(void);

/* Commits the helper has written. */
unsigned long page_commit_helper_commits(void);

/* Drop the captured pages and stop capturing; the file stays as it was. */
void page_commit_discard(void);

#endif

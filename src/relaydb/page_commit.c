/* page_commit: deferred page writes for the relayers.db hash file.
 *
 * Berkeley DB without a transactional environment writes dirty pages to
 * the file in place; a writer killed between two page writes (a bucket
 * split touches several pages) leaves a torn file that sendmail and
 * Postfix would read. Here libdb's pwrite/pread/fsync/ftruncate on the
 * target inode are redirected to an in-memory page table during an
 * update. At commit:
 *  - one data page, plus the meta page differing only in its advisory
 *    element count, is written in place, data page first (each aligned
 *    single-page write completes or does not happen when the process dies);
 *  - anything else is written by a forked commit process that shares the
 *    locked open file description: the flock stays held until that process
 *    has written every page, even if the writer itself is killed.
 * This module never interprets records, only whole pages; it must never
 * write to any file but the target. Single-threaded use only. */
#define _GNU_SOURCE 1
#include "page_commit.h"

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Hash meta page (Berkeley DB 5.3 HMETA): bytes that may change on a
 * simple put or delete without a structural change. */
#define HMETA_LSN_OFFSET 0
#define HMETA_LSN_SIZE 8
#define HMETA_NELEM_OFFSET 88
#define HMETA_NELEM_SIZE 4
#define HMETA_MIN_SIZE 512

struct captured_page {
	off_t offset;
	size_t size;
	unsigned char *data;
	bool used;
};

static struct {
	bool active;		/* capturing libdb's writes */
	bool committed;		/* written; libdb may still close/fsync */
	dev_t dev;
	ino_t ino;
	struct captured_page *slots;	/* open addressing by offset */
	size_t slot_count;		/* power of two or 0 */
	size_t used;
	bool truncated;
	off_t truncate_length;
	/* Descriptors already classified during this update (libdb keeps its
	 * descriptors open for the whole update, so numbers are stable). */
	int known_fd[8];
	bool known_target[8];
	unsigned known_count;
} capture;

static bool page_commit_is_target(int fd)
{
	struct stat st;
	unsigned i;
	bool target;

	if (!capture.active && !capture.committed)
		return false;
	for (i = 0; i < capture.known_count; i++) {
		if (capture.known_fd[i] == fd)
			return capture.known_target[i];
	}
	if (fstat(fd, &st) < 0)
		return false;
	target = st.st_dev == capture.dev && st.st_ino == capture.ino;
	if (capture.known_count < sizeof(capture.known_fd) / sizeof(int)) {
		capture.known_fd[capture.known_count] = fd;
		capture.known_target[capture.known_count++] = target;
	}
	return target;
}

static size_t page_slot_index(off_t offset, size_t slot_count)
{
	uint64_t h = (uint64_t)offset * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 20) & (slot_count - 1);
}

static struct captured_page *page_find(off_t offset)
{
	size_t i;

	if (capture.slot_count == 0)
		return NULL;
	i = page_slot_index(offset, capture.slot_count);
	while (capture.slots[i].used) {
		if (capture.slots[i].offset == offset)
			return &capture.slots[i];
		i = (i + 1) & (capture.slot_count - 1);
	}
	return NULL;
}

static int page_table_grow(void)
{
	size_t new_count = capture.slot_count == 0 ? 16 : capture.slot_count * 2;
	struct captured_page *slots = calloc(new_count, sizeof(*slots));
	size_t i;

	if (slots == NULL)
		return -1;
	for (i = 0; i < capture.slot_count; i++) {
		struct captured_page *old = &capture.slots[i];
		size_t j;

		if (!old->used)
			continue;
		j = page_slot_index(old->offset, new_count);
		while (slots[j].used)
			j = (j + 1) & (new_count - 1);
		slots[j] = *old;
	}
	free(capture.slots);
	capture.slots = slots;
	capture.slot_count = new_count;
	return 0;
}

static int page_store(off_t offset, const void *buf, size_t size)
{
	struct captured_page *page = page_find(offset);
	size_t i;

	if (page != NULL) {
		if (page->size != size) {
			unsigned char *data = realloc(page->data, size);

			if (data == NULL)
				return -1;
			page->data = data;
			page->size = size;
		}
		memcpy(page->data, buf, size);
		return 0;
	}
	if ((capture.used + 1) * 2 > capture.slot_count
	    && page_table_grow() < 0)
		return -1;
	i = page_slot_index(offset, capture.slot_count);
	while (capture.slots[i].used)
		i = (i + 1) & (capture.slot_count - 1);
	page = &capture.slots[i];
	page->data = malloc(size);
	if (page->data == NULL)
		return -1;
	memcpy(page->data, buf, size);
	page->offset = offset;
	page->size = size;
	page->used = true;
	capture.used++;
	return 0;
}

static ssize_t page_commit_pwrite(int fd, const void *buf, size_t size,
				  off_t offset)
{
	if (!capture.active || !page_commit_is_target(fd))
		return pwrite(fd, buf, size, offset);
	if (page_store(offset, buf, size) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return (ssize_t)size;
}

static ssize_t page_commit_pread(int fd, void *buf, size_t size, off_t offset)
{
	const struct captured_page *page;
	ssize_t got;

	if (!capture.active || capture.used == 0 || !page_commit_is_target(fd))
		return pread(fd, buf, size, offset);
	/* libdb reads and writes whole pages at page-aligned offsets, so a
	 * captured page is found by its offset alone. */
	page = page_find(offset);
	if (page != NULL && page->size >= size) {
		memcpy(buf, page->data, size);
		return (ssize_t)size;
	}
	got = pread(fd, buf, size, offset);
	if (got > 0 && capture.truncated
	    && offset + got > capture.truncate_length)
		got = capture.truncate_length > offset
		    ? (ssize_t)(capture.truncate_length - offset) : 0;
	return got;
}

static int page_commit_fsync(int fd)
{
	/* Before the commit nothing of ours reached the file; after it,
	 * page_commit_finish() has synced if the configuration asks for it. */
	if (page_commit_is_target(fd))
		return 0;
	return fsync(fd);
}

static int page_commit_ftruncate(int fd, off_t length)
{
	if (!capture.active || !page_commit_is_target(fd))
		return ftruncate(fd, length);
	capture.truncated = true;
	capture.truncate_length = length;
	return 0;
}

static int page_commit_close(int fd)
{
	unsigned i;

	for (i = 0; i < capture.known_count; i++) {
		if (capture.known_fd[i] == fd) {
			capture.known_fd[i] = capture.known_fd[--capture.known_count];
			capture.known_target[i] = capture.known_target[capture.known_count];
			break;
		}
	}
	return close(fd);
}

void page_commit_install(void)
{
	static bool installed;

	if (installed)
		return;
	installed = true;
	db_env_set_func_pwrite(page_commit_pwrite);
	db_env_set_func_pread(page_commit_pread);
	db_env_set_func_fsync(page_commit_fsync);
	db_env_set_func_ftruncate(page_commit_ftruncate);
	db_env_set_func_close(page_commit_close);
}

int page_commit_begin(int locked_fd)
{
	struct stat st;

	page_commit_discard();
	if (fstat(locked_fd, &st) < 0)
		return -1;
	capture.dev = st.st_dev;
	capture.ino = st.st_ino;
	capture.active = true;
	return 0;
}

size_t page_commit_pending(void)
{
	return capture.used;
}

/* Free every captured page. */
static void page_table_free(void)
{
	size_t i;

	for (i = 0; i < capture.slot_count; i++)
		free(capture.slots[i].data);
	free(capture.slots);
	capture.slots = NULL;
	capture.slot_count = 0;
	capture.used = 0;
}

void page_commit_discard(void)
{
	page_table_free();
	capture.active = false;
	capture.committed = false;
	capture.truncated = false;
	capture.known_count = 0;
}

void page_commit_end(void)
{
	page_commit_discard();
}

static int page_compare_offset(const void *a, const void *b)
{
	const struct captured_page *pa = *(const struct captured_page *const *)a;
	const struct captured_page *pb = *(const struct captured_page *const *)b;

	return pa->offset < pb->offset ? -1 : pa->offset > pb->offset;
}

static int page_write_all(int fd, const struct captured_page *page)
{
	size_t done = 0;

	while (done < page->size) {
		ssize_t n = pwrite(fd, page->data + done, page->size - done,
				   page->offset + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Put back the BEFORE images of the pages that existed, and cut the file
 * to OLD_SIZE: the file is as it was before page_write_sequence(). */
static void page_undo(int fd, struct captured_page **pages, size_t count,
		      unsigned char **before, off_t old_size)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct captured_page old;

		if (before[i] == NULL)
			continue;
		old = *pages[i];
		old.data = before[i];
		(void)page_write_all(fd, &old);
	}
	if (ftruncate(fd, old_size) < 0) {
		/* nothing more can be done; the caller reports the error */
	}
}

/* Write PAGES: first those past the end of the file (nothing refers to
 * them yet), then the existing data pages, then the meta page; truncate if
 * libdb asked for it, and optionally sync. On a write error (disk full, a
 * file size limit) the file is put back as it was. Returns 0 or an errno
 * value. */
static int page_write_sequence(int fd, struct captured_page **pages,
			       size_t count, bool do_fsync)
{
	unsigned char **before;
	struct stat st;
	off_t old_size;
	size_t i, pass;
	int err = 0;

	if (fstat(fd, &st) < 0)
		return errno;
	old_size = st.st_size;
	before = calloc(count + 1, sizeof(*before));
	if (before == NULL)
		return ENOMEM;
	for (i = 0; i < count && err == 0; i++) {
		if (pages[i]->offset + (off_t)pages[i]->size <= old_size) {
			before[i] = malloc(pages[i]->size);
			if (before[i] == NULL)
				err = ENOMEM;
			else if (pread(fd, before[i], pages[i]->size,
				       pages[i]->offset)
				 != (ssize_t)pages[i]->size) {
				err = EIO;
				free(before[i]);
				before[i] = NULL;
			}
		}
	}
	/* pass 0: new pages; pass 1: existing data pages; pass 2: meta */
	for (pass = 0; pass < 3 && err == 0; pass++) {
		for (i = 0; i < count && err == 0; i++) {
			size_t page_pass = before[i] == NULL ? 0
			    : pages[i]->offset != 0 ? 1 : 2;

			if (page_pass == pass && page_write_all(fd, pages[i]) < 0)
				err = errno;
		}
	}
	if (err == 0 && capture.truncated
	    && ftruncate(fd, capture.truncate_length) < 0)
		err = errno;
	if (err != 0)
		page_undo(fd, pages, count, before, old_size);
	for (i = 0; i < count; i++)
		free(before[i]);
	free(before);
	if (err == 0 && do_fsync && fdatasync(fd) < 0)
		err = errno;
	return err;
}

/* Remove from PAGES those identical to what the file holds (libdb marks
 * pages dirty that it only visited). Returns the new count. */
static size_t page_drop_unchanged(int fd, struct captured_page **pages,
				  size_t count)
{
	unsigned char *disk = NULL;
	size_t disk_size = 0, i, kept = 0;

	for (i = 0; i < count; i++) {
		struct captured_page *page = pages[i];
		bool same = false;

		if (disk_size < page->size) {
			unsigned char *grown = realloc(disk, page->size);

			if (grown != NULL) {
				disk = grown;
				disk_size = page->size;
			}
		}
		if (disk_size >= page->size) {
			ssize_t got = pread(fd, disk, page->size, page->offset);

			same = got == (ssize_t)page->size
			    && memcmp(disk, page->data, page->size) == 0;
		}
		if (!same)
			pages[kept++] = page;
	}
	free(disk);
	return kept;
}

/* True when the update can be written in place page by page: at most one
 * page besides the meta page, inside the current file, and a meta page
 * that differs from the one on disk only in LSN and element count. */
static bool page_update_is_simple(int fd, struct captured_page **pages,
				  size_t count)
{
	struct captured_page *meta = NULL;
	size_t i, data_pages = 0;
	struct stat st;

	if (capture.truncated || fstat(fd, &st) < 0)
		return false;
	for (i = 0; i < count; i++) {
		if (pages[i]->offset == 0)
			meta = pages[i];
		else {
			data_pages++;
			if (pages[i]->offset + (off_t)pages[i]->size > st.st_size)
				return false;
		}
	}
	if (data_pages > 1)
		return false;
	if (meta != NULL) {
		unsigned char *disk;
		ssize_t got;
		bool same;

		if (meta->size < HMETA_MIN_SIZE)
			return false;
		disk = malloc(meta->size);
		if (disk == NULL)
			return false;
		got = pread(fd, disk, meta->size, 0);
		same = got == (ssize_t)meta->size;
		if (same) {
			memcpy(disk + HMETA_LSN_OFFSET,
			       meta->data + HMETA_LSN_OFFSET, HMETA_LSN_SIZE);
			memcpy(disk + HMETA_NELEM_OFFSET,
			       meta->data + HMETA_NELEM_OFFSET, HMETA_NELEM_SIZE);
			same = memcmp(disk, meta->data, meta->size) == 0;
		}
		free(disk);
		if (!same)
			return false;
	}
	return true;
}

/* Run the write in a child that shares FD's locked open file description.
 * The child reports through a pipe, so a caller that reaps children itself
 * (a SIGCHLD handler calling waitpid(-1)) cannot hide the result. */
static int page_write_detached(int fd, struct captured_page **pages,
			       size_t count, bool do_fsync)
{
	int report[2], err, status = 0;
	ssize_t got;
	pid_t pid;

	if (pipe2(report, O_CLOEXEC) < 0)
		return page_write_sequence(fd, pages, count, do_fsync);
	pid = fork();
	if (pid < 0) {
		close(report[0]);
		close(report[1]);
		return page_write_sequence(fd, pages, count, do_fsync);
	}
	if (pid == 0) {
		/* Commit process: finish the write whatever happens to our
		 * parent; only SIGKILL can stop us. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(report[0]);
		status = page_write_sequence(fd, pages, count, do_fsync);
		/* The parent may be gone (EPIPE): the write is done anyway. */
		(void)!write(report[1], &status, sizeof(status));
		_exit(status == 0 ? 0 : 1);
	}
	close(report[1]);
	do {
		got = read(report[0], &status, sizeof(status));
	} while (got < 0 && errno == EINTR);
	err = errno;
	close(report[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(status))
		return status;
	return got < 0 ? err : EIO;
}

int page_commit_finish(int locked_fd, bool do_fsync, char *error,
		       size_t error_size)
{
	struct captured_page **pages;
	size_t i, n = 0;
	int err;

	if (capture.used == 0 && !capture.truncated) {
		page_commit_discard();
		return 0;
	}
	pages = calloc(capture.used + 1, sizeof(*pages));
	if (pages == NULL) {
		snprintf(error, error_size, "out of memory at commit");
		page_commit_discard();
		return -1;
	}
	for (i = 0; i < capture.slot_count; i++) {
		if (capture.slots[i].used)
			pages[n++] = &capture.slots[i];
	}
	n = page_drop_unchanged(locked_fd, pages, n);
	qsort(pages, n, sizeof(*pages), page_compare_offset);
	capture.active = false;	/* from here on, writes are real */
	capture.committed = true;
	if (page_update_is_simple(locked_fd, pages, n))
		err = page_write_sequence(locked_fd, pages, n, do_fsync);
	else
		err = page_write_detached(locked_fd, pages, n, do_fsync);
	free(pages);
	page_table_free();
	if (err != 0) {
		snprintf(error, error_size, "write error: %s", strerror(err));
		return -1;
	}
	return 0;
}

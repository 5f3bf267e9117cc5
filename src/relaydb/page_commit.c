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
 *    so are several hash pages each of which only gained or changed
 *    key/data pairs of its own, when the caller says its records are
 *    independent (page_commit_allow_partial: IPv4 grants);
 *  - a change of the file's size (new pages, or libdb's truncation when it
 *    frees the last page) goes to a copy of the file renamed over it; a
 *    truncation is replayed in order with the writes around it, as libdb
 *    may grow the file again over the same offsets in the same update;
 *  - anything else is written by a forked commit process that shares the
 *    locked open file description: the flock stays held until that process
 *    has written every page, even if the writer itself is killed. A
 *    long-lived writer (relaygate-recorder) keeps one such process, the
 *    commit helper, and hands it the locked descriptor and the whole plan
 *    for each commit instead of forking one (page_commit_helper_start).
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "directory_sync.h"
#include "page_arena.h"

/* Hash meta page (Berkeley DB 5.3 HMETA): bytes that may change on a
 * simple put or delete without a structural change. */
#define HMETA_LSN_OFFSET 0
#define HMETA_LSN_SIZE 8
#define HMETA_NELEM_OFFSET 88
#define HMETA_NELEM_SIZE 4
#define HMETA_MIN_SIZE 512
#define HMETA_MAGIC_OFFSET 12
#define HMETA_MAGIC 0x061561u	/* DB_HASHMAGIC, in the host's order */

/* Berkeley DB 5.3 page header (db_page.h, PAGE): the fields that tie a
 * page to others, and the item index that follows the header. */
#define PAGE_LINKS_OFFSET 8	/* pgno, prev_pgno, next_pgno */
#define PAGE_LINKS_SIZE 12
#define PAGE_ENTRIES_OFFSET 20
#define PAGE_LEVEL_OFFSET 24
#define PAGE_TYPE_OFFSET 25
#define PAGE_HEADER_SIZE 26
#define PAGE_TYPE_HASH 13	/* P_HASH: a bucket or overflow page */
#define HASH_ITEM_KEYDATA 1	/* H_KEYDATA: bytes on the page itself */
/* At most this many data pages are checked for a partial-safe commit. */
#define PARTIAL_PAGES_MAX 64

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
	char path[4096];	/* the store's name, for replacement */
	struct captured_page *slots;	/* open addressing by offset */
	size_t slot_count;		/* power of two or 0 */
	size_t used;
	/* The file as libdb sees it: its first KEPT bytes are the target's,
	 * the rest up to SIZE zeros, both overlaid by the captured pages.
	 * KEPT is below the target's size only after libdb truncated. */
	off_t size;
	off_t kept;
	off_t real_size;	/* the target's size when the update began */
	struct stat begin_st;	/* the target when the update began (under
				 * the lock, nobody else changes it) */
	bool truncated;
	/* The file renamed over the target by this update's commit: libdb
	 * reopens it by name when it closes the map and fsyncs it. */
	bool replaced;
	/* The caller's records are independent (page_commit_allow_partial). */
	bool allow_partial;
	dev_t replaced_dev;
	ino_t replaced_ino;
	/* Descriptors already classified during this update (libdb keeps its
	 * descriptors open for the whole update, so numbers are stable). */
	int known_fd[8];
	bool known_target[8];
	unsigned known_count;
} capture;

/* The captured pages' bytes, and the before-images of a commit plan:
 * released together, after each update. */
static struct page_arena page_memory = PAGE_ARENA_INIT;
static struct page_arena before_memory = PAGE_ARENA_INIT;

/* How the last page_commit_finish() left the file (page_commit_stamped). */
static struct {
	bool set;		/* unchanged, or stamped with MTIME */
	bool unchanged;		/* nothing was written */
	struct timespec mtime;
} last_stamp;

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

/* Put PAGE (its data pointer moves along) into the table SLOTS of COUNT. */
static void page_table_place(struct captured_page *slots, size_t count,
			     const struct captured_page *page)
{
	size_t j = page_slot_index(page->offset, count);

	while (slots[j].used)
		j = (j + 1) & (count - 1);
	slots[j] = *page;
}

static int page_table_grow(void)
{
	size_t new_count = capture.slot_count == 0 ? 16 : capture.slot_count * 2;
	struct captured_page *slots = calloc(new_count, sizeof(*slots));
	size_t i;

	if (slots == NULL)
		return -1;
	for (i = 0; i < capture.slot_count; i++) {
		if (capture.slots[i].used)
			page_table_place(slots, new_count, &capture.slots[i]);
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
		if (page->size < size) {
			unsigned char *data = page_arena_alloc(&page_memory,
							       size);

			if (data == NULL)
				return -1;
			page->data = data;
		}
		page->size = size;
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
	page->data = page_arena_alloc(&page_memory, size);
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
	if (offset + (off_t)size > capture.size)
		capture.size = offset + (off_t)size;
	return (ssize_t)size;
}

static ssize_t page_commit_pread(int fd, void *buf, size_t size, off_t offset)
{
	const struct captured_page *page;
	ssize_t got = 0;

	if (!capture.active || !page_commit_is_target(fd))
		return pread(fd, buf, size, offset);
	/* libdb reads and writes whole pages at page-aligned offsets, so a
	 * captured page is found by its offset alone. */
	page = page_find(offset);
	if (page != NULL && page->size >= size) {
		memcpy(buf, page->data, size);
		return (ssize_t)size;
	}
	if (!capture.truncated)
		return pread(fd, buf, size, offset);
	/* After a truncation, bytes of the target past KEPT are gone. Never
	 * answer short where the target still has bytes: on a short pread
	 * libdb reads again with lseek and read(2) (os/os_rw.c), around this
	 * hook, and would get them. Past its last page libdb only creates
	 * pages, which it fills with zeros itself. */
	if (offset >= capture.size && offset >= capture.real_size)
		return 0;
	memset(buf, 0, size);
	if (offset < capture.kept) {
		size_t want = capture.kept - offset < (off_t)size
		    ? (size_t)(capture.kept - offset) : size;

		got = pread(fd, buf, want, offset);
		if (got < 0)
			return -1;
	}
	return (ssize_t)size;
}

static int page_commit_fsync(int fd)
{
	/* Before the commit nothing of ours reached the file; after it,
	 * page_commit_finish() has synced if the configuration asks for it. */
	struct stat st;

	if (page_commit_is_target(fd))
		return 0;
	/* Nor after a replacement: the new file was synced before it was
	 * renamed into place, and libdb's fsync of it (it reopens it by name
	 * at close) would flush it a second time. */
	if (capture.committed && capture.replaced && fstat(fd, &st) == 0
	    && st.st_dev == capture.replaced_dev
	    && st.st_ino == capture.replaced_ino)
		return 0;
	return fsync(fd);
}

/* Forget the captured bytes at and past LENGTH: libdb truncated the file
 * there (it does when it frees the last page) and may grow it again in the
 * same update, writing new pages at the old offsets. The table is rebuilt
 * (removal would break its probe chains). */
static int page_table_cut(off_t length)
{
	struct captured_page *old = capture.slots;
	size_t old_count = capture.slot_count, i;

	if (old_count == 0)
		return 0;
	capture.slots = calloc(old_count, sizeof(*capture.slots));
	if (capture.slots == NULL) {
		capture.slots = old;
		return -1;
	}
	capture.used = 0;
	for (i = 0; i < old_count; i++) {
		struct captured_page *page = &old[i];

		if (!page->used)
			continue;
		if (page->offset >= length)
			continue;	/* its bytes go with the arena */
		if (page->offset + (off_t)page->size > length)
			memset(page->data + (length - page->offset), 0,
			       (size_t)(page->offset + (off_t)page->size
					- length));
		page_table_place(capture.slots, old_count, page);
		capture.used++;
	}
	free(old);
	return 0;
}

static int page_commit_ftruncate(int fd, off_t length)
{
	if (!capture.active || !page_commit_is_target(fd))
		return ftruncate(fd, length);
	if (page_table_cut(length) < 0) {
		errno = ENOMEM;
		return -1;
	}
	capture.truncated = true;
	capture.size = length;
	if (length < capture.kept)
		capture.kept = length;
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

int page_commit_begin(int locked_fd, const char *path)
{
	struct stat st;

	page_commit_discard();
	if (strlen(path) >= sizeof(capture.path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (fstat(locked_fd, &st) < 0)
		return -1;
	memset(&last_stamp, 0, sizeof(last_stamp));
	strcpy(capture.path, path);
	capture.begin_st = st;
	capture.dev = st.st_dev;
	capture.ino = st.st_ino;
	capture.size = capture.kept = capture.real_size = st.st_size;
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
	page_arena_reset(&page_memory);
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
	capture.replaced = false;
	capture.known_count = 0;
	capture.allow_partial = false;
}

void page_commit_end(void)
{
	page_commit_discard();
}

/* One commit: the pages to write, in offset order, with the file's current
 * content of each page that already exists (NULL for new pages, and for
 * every page past a truncation). Built by the writer; executing it needs
 * system calls only, so the commit process can run it after vfork(). */
struct commit_plan {
	struct captured_page **pages;
	unsigned char **before;
	size_t count;
	off_t old_size;
	bool truncate;		/* libdb truncated: the new file is built of */
	off_t kept;		/* this many bytes of the old one, the pages, */
	off_t new_size;		/* and zeros up to this size */
	bool fsync;
};

static void commit_plan_free(struct commit_plan *plan)
{
	page_arena_reset(&before_memory);
	free(plan->before);
	free(plan->pages);
	plan->before = NULL;
	plan->pages = NULL;
}

struct plan_entry {
	struct captured_page *page;
	unsigned char *before;
};

static int plan_entry_compare(const void *a, const void *b)
{
	const struct plan_entry *ea = a, *eb = b;

	return ea->page->offset < eb->page->offset ? -1
	    : ea->page->offset > eb->page->offset;
}

/* Put PLAN's pages, and their before-images with them, in offset order
 * (an expire changes most pages of a large store: some 30,000 for
 * 1,000,000 entries). Returns 0 or ENOMEM. */
static int commit_plan_sort(struct commit_plan *plan)
{
	struct plan_entry *entries;
	size_t i;

	if (plan->count < 2)
		return 0;
	if ((entries = calloc(plan->count, sizeof(*entries))) == NULL)
		return ENOMEM;
	for (i = 0; i < plan->count; i++) {
		entries[i].page = plan->pages[i];
		entries[i].before = plan->before[i];
	}
	qsort(entries, plan->count, sizeof(*entries), plan_entry_compare);
	for (i = 0; i < plan->count; i++) {
		plan->pages[i] = entries[i].page;
		plan->before[i] = entries[i].before;
	}
	free(entries);
	return 0;
}

/* Collect the captured pages that differ from the file (libdb also marks
 * pages dirty that it only visited), reading each existing page once. */
static int commit_plan_build(int fd, bool do_fsync, struct commit_plan *plan)
{
	unsigned char *spare = NULL;
	size_t i, n = 0, spare_size = 0;

	memset(plan, 0, sizeof(*plan));
	plan->old_size = capture.real_size;
	plan->truncate = capture.truncated;
	plan->kept = capture.kept < plan->old_size ? capture.kept
	    : plan->old_size;
	plan->new_size = capture.size;
	plan->fsync = do_fsync;
	plan->pages = calloc(capture.used + 1, sizeof(*plan->pages));
	plan->before = calloc(capture.used + 1, sizeof(*plan->before));
	if (plan->pages == NULL || plan->before == NULL) {
		commit_plan_free(plan);
		return ENOMEM;
	}
	for (i = 0; i < capture.slot_count; i++) {
		struct captured_page *page = &capture.slots[i];
		unsigned char *disk = NULL;

		if (!page->used)
			continue;
		/* A page past a truncation is written whatever the old file
		 * held there: those bytes are not copied. */
		if (page->offset + (off_t)page->size <= plan->old_size
		    && (!plan->truncate
			|| page->offset + (off_t)page->size <= plan->kept)) {
			/* the block of an unchanged page is used again */
			if (spare != NULL && spare_size >= page->size)
				disk = spare;
			else
				disk = page_arena_alloc(&before_memory,
							page->size);
			spare = NULL;
			if (disk == NULL) {
				commit_plan_free(plan);
				return ENOMEM;
			}
			if (pread(fd, disk, page->size, page->offset)
			    != (ssize_t)page->size) {
				commit_plan_free(plan);
				return EIO;
			}
			if (memcmp(disk, page->data, page->size) == 0) {
				spare = disk;
				spare_size = page->size;
				continue;	/* unchanged */
			}
		}
		plan->pages[n] = page;
		plan->before[n] = disk;
		n++;
	}
	plan->count = n;
	if (commit_plan_sort(plan) != 0) {
		commit_plan_free(plan);
		return ENOMEM;
	}
	return 0;
}

void page_commit_allow_partial(bool allow)
{
	capture.allow_partial = allow;
}

/* Item I of the hash page PAGE (SIZE bytes, ENTRIES items): an item lies
 * between its index entry and the previous item (LEN_HITEM). False unless
 * it is in bounds and holds its bytes on the page (H_KEYDATA). */
static bool hash_page_item(const unsigned char *page, size_t size,
			   unsigned entries, unsigned i,
			   const unsigned char **data_r, size_t *len_r)
{
	uint16_t index;
	size_t at, end = size;

	memcpy(&index, page + PAGE_HEADER_SIZE + 2 * i, sizeof(index));
	at = index;
	if (i > 0) {
		memcpy(&index, page + PAGE_HEADER_SIZE + 2 * (i - 1),
		       sizeof(index));
		end = index;
	}
	if (at < PAGE_HEADER_SIZE + 2 * (size_t)entries || at >= end
	    || end > size || page[at] != HASH_ITEM_KEYDATA)
		return false;
	*data_r = page + at + 1;
	*len_r = (size_t)(end - at - 1);
	return true;
}

/* The number of items of hash page PAGE, or -1 when it is not a hash page
 * whose items are all key/data pairs held on the page. */
static int hash_page_entries(const unsigned char *page, size_t size)
{
	uint16_t entries;
	const unsigned char *data;
	size_t len;
	unsigned i;

	if (size <= PAGE_HEADER_SIZE || size > UINT16_MAX + 1u
	    || page[PAGE_TYPE_OFFSET] != PAGE_TYPE_HASH)
		return -1;
	memcpy(&entries, page + PAGE_ENTRIES_OFFSET, sizeof(entries));
	if (entries % 2 != 0 || PAGE_HEADER_SIZE + 2 * (size_t)entries > size)
		return -1;
	for (i = 0; i < entries; i++) {
		if (!hash_page_item(page, size, entries, i, &data, &len))
			return -1;
	}
	return entries;
}

/* True when the hash page went from BEFORE to AFTER by adding key/data
 * pairs and changing data, keeping every key it had and its links to
 * other pages: a change complete in itself, whatever happens to the other
 * pages of the update. (A pair that moved to another page, a deletion, a
 * record on overflow pages, a split: false.) */
static bool hash_page_only_gains(const unsigned char *before,
				 const unsigned char *after, size_t size)
{
	int old_entries = hash_page_entries(before, size);
	int new_entries = hash_page_entries(after, size);
	int i, j, n, start = 0;

	if (old_entries < 0 || new_entries < old_entries
	    || memcmp(before + PAGE_LINKS_OFFSET, after + PAGE_LINKS_OFFSET,
		      PAGE_LINKS_SIZE) != 0
	    || before[PAGE_LEVEL_OFFSET] != after[PAGE_LEVEL_OFFSET])
		return false;
	for (i = 0; i < old_entries; i += 2) {
		const unsigned char *key, *other;
		size_t key_len, other_len;
		bool kept = false;

		(void)hash_page_item(before, size, (unsigned)old_entries,
				     (unsigned)i, &key, &key_len);
		/* Berkeley DB keeps a page's pairs sorted and an insertion
		 * keeps their order: look from after the previous key on,
		 * so a page costs one pass (any order is still found). */
		for (n = 0, j = start; n < new_entries && !kept; n += 2) {
			j = (start + n) % new_entries;
			(void)hash_page_item(after, size, (unsigned)new_entries,
					     (unsigned)j, &other, &other_len);
			kept = other_len == key_len
			    && memcmp(other, key, key_len) == 0;
		}
		if (!kept)
			return false;
		start = (j + 2) % new_entries;
	}
	return true;
}

/* True when PLAN can be written in place page by page: at most one
 * existing data page, no new page, no truncation, and a meta page that
 * differs from the file only in LSN and element count (advisory). */
static bool commit_plan_is_simple(int fd, const struct commit_plan *plan)
{
	size_t i, data_pages = 0;
	uint32_t magic = 0;
	bool have_magic = false;

	if (plan->truncate)
		return false;
	for (i = 0; i < plan->count; i++) {
		const struct captured_page *page = plan->pages[i];
		const unsigned char *disk = plan->before[i];
		size_t b;

		if (disk == NULL)
			return false;	/* a new page: the file grows */
		if (page->offset != 0) {
			data_pages++;
			continue;
		}
		if (page->size < HMETA_MIN_SIZE)
			return false;
		memcpy(&magic, disk + HMETA_MAGIC_OFFSET, sizeof(magic));
		have_magic = true;
		for (b = 0; b < page->size; b++) {
			if (disk[b] == page->data[b])
				continue;
			if (b < HMETA_LSN_OFFSET + HMETA_LSN_SIZE)
				continue;	/* the LSN opens the page */
			if (b >= HMETA_NELEM_OFFSET
			    && b < HMETA_NELEM_OFFSET + HMETA_NELEM_SIZE)
				continue;
			return false;
		}
	}
	if (data_pages <= 1)
		return true;
	/* Several data pages are written one by one only for independent
	 * records (page_commit_allow_partial), in a file in the host's byte
	 * order, when each page only gained or changed records of its own. */
	if (!capture.allow_partial || data_pages > PARTIAL_PAGES_MAX)
		return false;
	if (!have_magic
	    && pread(fd, &magic, sizeof(magic), HMETA_MAGIC_OFFSET)
	    != (ssize_t)sizeof(magic))
		return false;
	if (magic != HMETA_MAGIC)
		return false;
	for (i = 0; i < plan->count; i++) {
		const struct captured_page *page = plan->pages[i];

		if (page->offset != 0
		    && !hash_page_only_gains(plan->before[i], page->data,
					     page->size))
			return false;
	}
	return true;
}

static int page_write_all(int fd, const unsigned char *data, size_t size,
			  off_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = pwrite(fd, data + done, size - done,
				   offset + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* True when the SIZE bytes at DATA are all zero: a page nothing refers
 * to yet (an unused page of a hash bucket range). */
static bool page_is_unused(const unsigned char *data, size_t size)
{
	size_t i;

	for (i = 0; i < size; i++) {
		if (data[i] != 0)
			return false;
	}
	return true;
}

/* Write PLAN: first the pages nothing refers to yet (past the end of the
 * file, or still all zeros in it), then the other data pages, then the
 * meta page; truncate if libdb asked for it; sync if configured. On a
 * write error (disk full, a file size limit) the before-images are put
 * back and the file is cut to its old size, so it is as it was. System
 * calls only (runs after vfork). Returns 0 or an errno value. */
static int commit_plan_execute(int fd, const struct commit_plan *plan)
{
	size_t i, pass;
	int err = 0;

	/* pass 0: unused pages; pass 1: other data pages; pass 2: meta */
	for (pass = 0; pass < 3 && err == 0; pass++) {
		for (i = 0; i < plan->count && err == 0; i++) {
			const struct captured_page *page = plan->pages[i];
			size_t page_pass = page->offset == 0 ? 2
			    : plan->before[i] == NULL
			      || page_is_unused(plan->before[i], page->size) ? 0
			    : 1;

			if (page_pass == pass
			    && page_write_all(fd, page->data, page->size,
					      page->offset) < 0)
				err = errno;
		}
	}
	if (err == 0 && plan->truncate && ftruncate(fd, plan->new_size) < 0)
		err = errno;
	if (err != 0) {
		for (i = 0; i < plan->count; i++) {
			if (plan->before[i] != NULL)
				(void)page_write_all(fd, plan->before[i],
						     plan->pages[i]->size,
						     plan->pages[i]->offset);
		}
		if (ftruncate(fd, plan->old_size) < 0) {
			/* nothing more can be done; the error is reported */
		}
		return err;
	}
	if (plan->fsync && fdatasync(fd) < 0)
		return errno;
	return 0;
}

/* True when PLAN changes the file's size. A reader that opened the file
 * before and looks up a key afterwards (Postfix's dict_db releases its
 * lock between DB->open and DB->get; sendmail notices changes only by
 * whole-second mtime) may follow a fresh page's link to a page past the
 * end it saw at open. libdb then creates that page empty in the reader's
 * cache, marks it dirty, and at DB->close writes it back -- reopening the
 * file read-write by name, without any lock -- over the page we wrote.
 * Seen with postmap -q as root in tests/relaydb/test-concurrency. So an
 * inode's size never changes once readers may have it open: growth goes
 * to a new file that replaces the old one. */
static bool commit_plan_changes_size(const struct commit_plan *plan)
{
	size_t i;

	if (plan->truncate)
		return true;
	for (i = 0; i < plan->count; i++) {
		if (plan->before[i] == NULL)
			return true;
	}
	return false;
}

/* Copy the bytes [IN, END) of FROM to the same offsets of TO. Returns 0
 * or an errno value. */
static int file_copy_range(int from, int to, off_t in, off_t end)
{
	off_t out = in;
	char buf[65536];

	while (in < end) {
		ssize_t n = copy_file_range(from, &in, to, &out,
					    (size_t)(end - in), 0);

		if (n > 0)
			continue;
		if (n == 0)
			return EIO;	/* the file shrank under our lock */
		if (errno == EINTR)
			continue;
		if (errno != ENOSYS && errno != EXDEV && errno != EINVAL
		    && errno != EOPNOTSUPP)
			return errno;
		break;	/* no copy_file_range here: copy by hand */
	}
	while (in < end) {
		size_t want = end - in < (off_t)sizeof(buf)
		    ? (size_t)(end - in) : sizeof(buf);
		ssize_t n = pread(from, buf, want, in);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		if (page_write_all(to, (const unsigned char *)buf, (size_t)n,
				   in) < 0)
			return errno;
		in += n;
	}
	return 0;
}

/* Make TO a copy of the first SIZE bytes of FROM. TO is new and empty:
 * only FROM's data is copied and its holes stay holes (the pages of
 * buckets Berkeley DB has sized the table for but not yet used, as in a
 * new store), so that a copy writes and syncs only real pages. Returns 0
 * or an errno value. */
static int file_copy(int from, int to, off_t size)
{
	off_t data = 0, hole;
	int err;

	if (ftruncate(to, size) < 0)
		return errno;
	while (data < size) {
		data = lseek(from, data, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;	/* only holes from here on */
		if (data < 0)	/* no SEEK_DATA here: copy it all */
			return file_copy_range(from, to, 0, size);
		if (data >= size)
			return 0;
		hole = lseek(from, data, SEEK_HOLE);
		if (hole < 0)
			return file_copy_range(from, to, 0, size);
		if (hole > size)
			hole = size;
		err = file_copy_range(from, to, data, hole);
		if (err != 0)
			return err;
		data = hole;
	}
	return 0;
}

/* No room for growth is reserved at the end of a replacement file
 * (zero pages past libdb's last page, so that growth would stay in
 * place): tried on 2026-12-01, it made test-concurrency lose grants and
 * panic libdb in about 4% of runs under load (13 of 300), against 0 of
 * 213 without it. Until that is understood, every growth replaces. */

/* Write PLAN as a new file that replaces the store: copy the file, apply
 * the pages, give it the old owner and mode, sync if configured, rename it
 * over the store. The lock stays on the old inode, whose waiters notice the
 * replacement when they get it. A writer killed meanwhile leaves the store
 * as it was (and a temporary file). Returns 0 or an errno value. */
static int commit_plan_execute_replace(int fd, const struct commit_plan *plan)
{
	char tmp[sizeof(capture.path) + 32];
	struct stat st, new_st;
	int tmp_fd, err = 0;
	off_t copied;
	size_t i;

	if (snprintf(tmp, sizeof(tmp), "%s.grow.%ld", capture.path,
		     (long)getpid()) >= (int)sizeof(tmp))
		return ENAMETOOLONG;
	if (fstat(fd, &st) < 0)
		return errno;
	(void)unlink(tmp);	/* left by a killed writer with our pid */
	tmp_fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (tmp_fd < 0)
		return errno;
	/* After a truncation only the bytes before it are the old file's;
	 * the pages libdb wrote past it (when it freed the last page and then
	 * grew the file again) follow, and the size is libdb's last one. */
	copied = plan->truncate ? plan->kept : plan->old_size;
	err = file_copy(fd, tmp_fd, copied);
	for (i = 0; i < plan->count && err == 0; i++) {
		if (page_write_all(tmp_fd, plan->pages[i]->data,
				   plan->pages[i]->size,
				   plan->pages[i]->offset) < 0)
			err = errno;
	}
	if (err == 0 && ftruncate(tmp_fd, plan->new_size) < 0)
		err = errno;
	/* The old owner if we may (root); else at least the group. */
	if (err == 0 && fchown(tmp_fd, st.st_uid, st.st_gid) < 0
	    && fchown(tmp_fd, (uid_t)-1, st.st_gid) < 0
	    && errno != EPERM)
		err = errno;
	if (err == 0 && fchmod(tmp_fd, st.st_mode & 07777) < 0)
		err = errno;
	/* Always on disk before the rename, whatever relay_db_fsync says:
	 * replacements are rare (growth, truncation), and without this a
	 * power failure could leave an empty or partial file under the
	 * store's name on a file system that does not flush a file renamed
	 * over another (ext4's auto_da_alloc does; others need not). */
	if (err == 0 && fdatasync(tmp_fd) < 0)
		err = errno;
	if (err == 0 && fstat(tmp_fd, &new_st) == 0) {
		capture.replaced = true;
		capture.replaced_dev = new_st.st_dev;
		capture.replaced_ino = new_st.st_ino;
	}
	if (close(tmp_fd) < 0 && err == 0)
		err = errno;
	if (err == 0 && rename(tmp, capture.path) < 0)
		err = errno;
	if (err != 0) {
		(void)unlink(tmp);
		return err;
	}
	if (plan->fsync)
		err = directory_sync(capture.path);
	return err;
}

/* ---- the commit helper of a long-lived writer ----------------------------
 * Per commit the writer sends, on a stream socketpair: a header carrying
 * the locked descriptor (SCM_RIGHTS), then every page with its
 * before-image. The helper writes nothing before it has the whole plan
 * (a writer killed while sending leaves the file as it was), executes it
 * as the commit process would, closes its copy of the descriptor and
 * answers with the result. It ignores the usual termination signals and
 * ends when the writer's end of the socket closes. */

#define HELPER_MAGIC 0x72676331u	/* "rgc1" */

struct helper_header {
	uint32_t magic;
	uint32_t count;
	uint32_t fsync;
	uint32_t pad;
	int64_t old_size;
	uint64_t payload;	/* bytes that follow */
};

struct helper_page {
	int64_t offset;
	uint32_t size;
	uint32_t has_before;
};

static struct {
	int fd;			/* writer's end, or -1 */
	pid_t pid;
	unsigned long commits;
} helper = { -1, 0, 0 };

/* Read exactly LEN bytes; false at EOF or on an error. */
static bool helper_read_all(int fd, void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static bool helper_write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static int commit_plan_execute(int fd, const struct commit_plan *plan);

/* Receive one commit: its header and locked descriptor. */
static bool helper_receive_header(int sock, struct helper_header *h, int *fd_r)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr msg;
	struct cmsghdr *cmsg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	*fd_r = -1;
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return false;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	     cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET
		    && cmsg->cmsg_type == SCM_RIGHTS)
			memcpy(fd_r, CMSG_DATA(cmsg), sizeof(int));
	}
	if (*fd_r < 0)
		return false;
	if ((size_t)n < sizeof(*h)
	    && !helper_read_all(sock, (char *)h + n, sizeof(*h) - (size_t)n))
		return false;
	return h->magic == HELPER_MAGIC && h->count > 0
	    && h->count < (1u << 20) && h->payload < ((uint64_t)1 << 32);
}

/* The helper's loop: one plan at a time until the writer goes away. */
static void helper_run(int sock) __attribute__((noreturn));
static void helper_run(int sock)
{
	struct sigaction ignore;

	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ignore, NULL);
	sigaction(SIGTERM, &ignore, NULL);
	sigaction(SIGHUP, &ignore, NULL);
	sigaction(SIGQUIT, &ignore, NULL);
	sigaction(SIGPIPE, &ignore, NULL);
	for (;;) {
		struct helper_header h;
		struct commit_plan plan;
		struct captured_page *pages = NULL;
		unsigned char *payload = NULL, *p;
		int fd, err = EPROTO;
		uint32_t i;

		if (!helper_receive_header(sock, &h, &fd)) {
			if (fd >= 0)
				close(fd);
			_exit(0);	/* the writer is gone: nothing half done */
		}
		payload = malloc(h.payload + 1);
		if (payload == NULL || !helper_read_all(sock, payload, h.payload)) {
			close(fd);
			_exit(0);
		}
		memset(&plan, 0, sizeof(plan));
		plan.count = h.count;
		plan.old_size = h.old_size;
		plan.fsync = h.fsync != 0;
		pages = calloc(h.count, sizeof(*pages));
		plan.pages = calloc(h.count, sizeof(*plan.pages));
		plan.before = calloc(h.count, sizeof(*plan.before));
		p = payload;
		for (i = 0; pages != NULL && plan.pages != NULL
		     && plan.before != NULL && i < h.count; i++) {
			struct helper_page hp;
			size_t need;

			if ((size_t)(payload + h.payload - p) < sizeof(hp))
				break;
			memcpy(&hp, p, sizeof(hp));
			p += sizeof(hp);
			need = (size_t)hp.size * (hp.has_before ? 2 : 1);
			if (hp.size == 0 || (size_t)(payload + h.payload - p) < need)
				break;
			pages[i].offset = (off_t)hp.offset;
			pages[i].size = hp.size;
			pages[i].data = p;
			pages[i].used = true;
			plan.pages[i] = &pages[i];
			plan.before[i] = hp.has_before ? p + hp.size : NULL;
			p += need;
		}
		if (pages != NULL && plan.pages != NULL && plan.before != NULL
		    && i == h.count && p == payload + h.payload)
			err = commit_plan_execute(fd, &plan);
		close(fd);	/* our share of the lock */
		free(plan.before);
		free(plan.pages);
		free(pages);
		free(payload);
		if (!helper_write_all(sock, &err, sizeof(err)))
			_exit(0);
	}
}

int page_commit_helper_start(void)
{
	int pair[2];
	pid_t pid;

	if (helper.fd >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pair[0]);
		close(pair[1]);
		return -1;
	}
	if (pid == 0) {
		close(pair[0]);
		helper_run(pair[1]);
	}
	close(pair[1]);
	helper.fd = pair[0];
	helper.pid = pid;
	return 0;
}

void page_commit_helper_stop(void)
{
	if (helper.fd < 0)
		return;
	close(helper.fd);	/* the helper sees EOF and exits */
	helper.fd = -1;
	while (waitpid(helper.pid, NULL, 0) < 0 && errno == EINTR)
		;
	helper.pid = 0;
}

unsigned long page_commit_helper_commits(void)
{
	return helper.commits;
}

/* Hand PLAN and the locked FD to the helper. Returns 0 or an errno value
 * from executing it; -1 when the helper could not be used (then nothing
 * was written if it never had the whole plan, or the plan may be half
 * written if it died executing it: the caller writes the whole plan
 * again, which repairs either). */
static int commit_plan_execute_helper(int fd, const struct commit_plan *plan)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct helper_header h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr msg;
	struct cmsghdr *cmsg;
	unsigned char *payload, *p;
	size_t i, total = 0;
	int result;
	ssize_t n;

	for (i = 0; i < plan->count; i++)
		total += sizeof(struct helper_page)
		    + plan->pages[i]->size * (plan->before[i] != NULL ? 2 : 1);
	payload = malloc(total + 1);
	if (payload == NULL)
		return -1;
	p = payload;
	for (i = 0; i < plan->count; i++) {
		struct helper_page hp;

		memset(&hp, 0, sizeof(hp));
		hp.offset = (int64_t)plan->pages[i]->offset;
		hp.size = (uint32_t)plan->pages[i]->size;
		hp.has_before = plan->before[i] != NULL;
		memcpy(p, &hp, sizeof(hp));
		p += sizeof(hp);
		memcpy(p, plan->pages[i]->data, hp.size);
		p += hp.size;
		if (hp.has_before) {
			memcpy(p, plan->before[i], hp.size);
			p += hp.size;
		}
	}
	memset(&h, 0, sizeof(h));
	h.magic = HELPER_MAGIC;
	h.count = (uint32_t)plan->count;
	h.fsync = plan->fsync;
	h.old_size = (int64_t)plan->old_size;
	h.payload = total;
	memset(&msg, 0, sizeof(msg));
	memset(&control, 0, sizeof(control));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	do
		n = sendmsg(helper.fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (n < (ssize_t)sizeof(h)
		      && !helper_write_all(helper.fd, (char *)&h + n,
					   sizeof(h) - (size_t)n))
	    || !helper_write_all(helper.fd, payload, total)
	    || !helper_read_all(helper.fd, &result, sizeof(result))) {
		free(payload);
		/* The helper is gone: forget it, fork commit processes. */
		close(helper.fd);
		helper.fd = -1;
		(void)waitpid(helper.pid, NULL, 0);
		return -1;
	}
	free(payload);
	helper.commits++;
	return result;
}

/* Result of the commit process, read by the writer when vfork() returns. */
static volatile int commit_process_status;

/* Execute PLAN in a commit process that shares FD's locked open file
 * description: if the writer is killed meanwhile, the commit process still
 * finishes, and the lock is released only when it exits. vfork() suspends
 * the writer until then and shares its memory, so the process costs little
 * whatever the writer's size; the child makes system calls only. */
static int commit_plan_execute_detached(int fd, const struct commit_plan *plan)
{
	pid_t pid;

	if (helper.fd >= 0) {
		int err = commit_plan_execute_helper(fd, plan);

		if (err >= 0)
			return err;
		/* Helper lost: write the whole plan again below. */
	}
	commit_process_status = EIO;
	pid = vfork();
	if (pid < 0)
		return commit_plan_execute(fd, plan);
	if (pid == 0) {
		/* Commit process: only SIGKILL can stop it. Dispositions are
		 * its own (vfork does not share them). */
		struct sigaction ignore;

		memset(&ignore, 0, sizeof(ignore));
		ignore.sa_handler = SIG_IGN;
		sigaction(SIGINT, &ignore, NULL);
		sigaction(SIGTERM, &ignore, NULL);
		sigaction(SIGHUP, &ignore, NULL);
		sigaction(SIGQUIT, &ignore, NULL);
		sigaction(SIGPIPE, &ignore, NULL);
		commit_process_status = commit_plan_execute(fd, plan);
		_exit(commit_process_status == 0 ? 0 : 1);
	}
	/* A caller's SIGCHLD handler may reap the child first: the status
	 * travels through memory, not through waitpid(). */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return commit_process_status;
}

/* How far ahead of the clock an in-place update may set the file's
 * modification time (see page_commit_mark_changed). */
#define COMMIT_MTIME_LEAD_MAX 2
#define COMMIT_NSEC 1000000000L


/* After an update in place, make sure the file's modification time, in
 * whole seconds, is later than BEFORE's: sendmail reopens a map only when
 * st_mtime grew (map.c), Postfix only when it differs (dict.c), so a
 * second update within the same second would go unnoticed by a process
 * that opened the map after the first one -- a deleted or expired grant
 * would keep relaying. The time is moved at most COMMIT_MTIME_LEAD_MAX
 * seconds ahead of the clock; past that (more updates per second than
 * that), the next update in a later second is what readers notice.
 *
 * The nanoseconds are a stamp: BEFORE's plus one (1 to 999,999,999, never
 * BEFORE's). Successive relaygate updates thus never leave the same
 * modification time, and a write by any other program gets the kernel's
 * clock, which does not step by one nanosecond, so a writer that keeps
 * libdb's cache between updates (page_commit_stamped) can tell that the
 * file is still exactly as it left it. Runs under the lock, before
 * readers can look. */
static void page_commit_mark_changed(int fd, const struct stat *before)
{
	struct timespec times[2];
	time_t now = time(NULL);	/* the clock the kernel stamps with */

	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	if (now > before->st_mtim.tv_sec)
		times[1].tv_sec = now;
	else if (before->st_mtim.tv_sec + 1 <= now + COMMIT_MTIME_LEAD_MAX)
		times[1].tv_sec = before->st_mtim.tv_sec + 1;
	else
		times[1].tv_sec = before->st_mtim.tv_sec; /* never backwards */
	times[1].tv_nsec = before->st_mtim.tv_nsec % (COMMIT_NSEC - 1) + 1;
	if (futimens(fd, times) == 0) {
		last_stamp.set = true;
		last_stamp.mtime = times[1];
	}
}

int page_commit_stamped(int locked_fd, struct stat *st_r)
{
	if (!last_stamp.set || fstat(locked_fd, st_r) < 0)
		return -1;
	if (last_stamp.unchanged)
		return 0;
	/* A filesystem with coarser times keeps no stamp. */
	return st_r->st_mtim.tv_sec == last_stamp.mtime.tv_sec
	    && st_r->st_mtim.tv_nsec == last_stamp.mtime.tv_nsec ? 1 : -1;
}

int page_commit_finish(int locked_fd, bool do_fsync, char *error,
		       size_t error_size)
{
	struct commit_plan plan;
	const struct stat *before = &capture.begin_st;
	bool in_place = false;
	int err;

	memset(&last_stamp, 0, sizeof(last_stamp));
	if (capture.used == 0 && !capture.truncated) {
		page_commit_discard();
		last_stamp.set = last_stamp.unchanged = true;
		return 0;
	}
	err = commit_plan_build(locked_fd, do_fsync, &plan);
	capture.active = false;	/* from here on, writes are real */
	capture.committed = true;
	if (err == 0) {
		if (plan.count == 0 && !plan.truncate)
			last_stamp.set = last_stamp.unchanged = true;
		else if (commit_plan_changes_size(&plan))
			err = commit_plan_execute_replace(locked_fd, &plan);
		else if (commit_plan_is_simple(locked_fd, &plan)) {
			err = commit_plan_execute(locked_fd, &plan);
			in_place = true;
		} else {
			err = commit_plan_execute_detached(locked_fd, &plan);
			in_place = true;
		}
		commit_plan_free(&plan);
	}
	if (err == 0 && in_place)
		page_commit_mark_changed(locked_fd, before);
	page_table_free();
	if (err != 0) {
		memset(&last_stamp, 0, sizeof(last_stamp));
		snprintf(error, error_size, "write error: %s", strerror(err));
		return -1;
	}
	return 0;
}

/* maildir: snapshot, reading and deletion for one POP3 session on a
 * Maildir that other programs use at the same time. Must never copy a
 * message, overwrite a file by renaming onto it (its own size cache
 * aside), or delete a file that is not a marked message of the snapshot;
 * must never trust the size cache for a message it cannot tie to the
 * cache's entry (base name, and ",S=" or the size on disk); must never
 * create, truncate or replace the Maildir++ maildirsize file, only append
 * one line to it per commit. */
#define _GNU_SOURCE 1	/* renameat2 */
#include "maildir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "maildir_size_cache.h"
#include "message_crlf.h"

#define MAILDIR_ERROR_MAX 512
#define MAILDIR_READ_CHUNK 65536
/* A file renamed again between finding it and opening it: try this often. */
#define MAILDIR_RESOLVE_TRIES 3

struct maildir {
	char *path;
	char *quota_dir;	/* where maildirsize is: PATH or CONTROL= */
	int dir_fd, cur_fd, new_fd;
	int lock_fd;
	struct maildir_options options;
	struct maildir_message *messages;
	size_t count;
	char error[MAILDIR_ERROR_MAX];
	char quota_error[MAILDIR_ERROR_MAX];	/* of the last commit */
};

/* The messages one commit unlinked, for maildirsize. */
struct maildir_quota_tally {
	int fd;			/* maildirsize, open for appending */
	size_t count;
	uint64_t bytes;
	bool size_unknown;	/* a size was not found: md->quota_error */
};

struct maildir_reader {
	int fd;
	bool eof;
	uint64_t unread;	/* bytes left by the size at open: no read()
				 * just to see the end of a file */
	struct message_crlf conv;
	size_t in_pos, in_len;
	unsigned char in[8192];
};

static char maildir_open_error[MAILDIR_ERROR_MAX];

static void maildir_set_error(struct maildir *md, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void maildir_set_error(struct maildir *md, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(md->error, sizeof(md->error), fmt, ap);
	va_end(ap);
}

static void maildir_set_quota_error(struct maildir *md, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void maildir_set_quota_error(struct maildir *md, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(md->quota_error, sizeof(md->quota_error), fmt, ap);
	va_end(ap);
}

void maildir_options_init(struct maildir_options *options)
{
	options->max_messages = MAILDIR_DEFAULT_MAX_MESSAGES;
	options->max_name_len = MAILDIR_DEFAULT_MAX_NAME_LEN;
	options->use_size_cache = true;
	options->quota_dir = NULL;
}

/* Open the subdirectory NAME of DIR_FD; -1 with a message in ERROR. */
static int maildir_open_subdir(int dir_fd, const char *path, const char *name,
			       char *error, size_t error_size)
{
	int fd;

	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(error, error_size, "not a Maildir: %s/%s: %s", path,
			 name, strerror(errno));
	return fd;
}

int maildir_open(const char *path, const struct maildir_options *options,
		 struct maildir **maildir_r, const char **error_r)
{
	struct maildir *md;
	int tmp_fd;

	*maildir_r = NULL;
	*error_r = maildir_open_error;
	md = calloc(1, sizeof(*md));
	if (md == NULL || (md->path = strdup(path)) == NULL) {
		free(md);
		snprintf(maildir_open_error, sizeof(maildir_open_error),
			 "%s: out of memory", path);
		return -1;
	}
	md->cur_fd = md->new_fd = md->lock_fd = -1;
	if (options != NULL)
		md->options = *options;
	else
		maildir_options_init(&md->options);
	md->quota_dir = strdup(md->options.quota_dir != NULL
			       ? md->options.quota_dir : path);
	md->options.quota_dir = NULL;	/* the caller's string */
	if (md->quota_dir == NULL) {
		snprintf(maildir_open_error, sizeof(maildir_open_error),
			 "%s: out of memory", path);
		maildir_close(&md);
		return -1;
	}
	md->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (md->dir_fd < 0) {
		snprintf(maildir_open_error, sizeof(maildir_open_error),
			 "cannot open Maildir %s: %s", path, strerror(errno));
		maildir_close(&md);
		return -1;
	}
	md->cur_fd = maildir_open_subdir(md->dir_fd, path, "cur",
					 maildir_open_error,
					 sizeof(maildir_open_error));
	if (md->cur_fd >= 0)
		md->new_fd = maildir_open_subdir(md->dir_fd, path, "new",
						 maildir_open_error,
						 sizeof(maildir_open_error));
	tmp_fd = md->new_fd < 0 ? -1
		 : maildir_open_subdir(md->dir_fd, path, "tmp",
				       maildir_open_error,
				       sizeof(maildir_open_error));
	if (tmp_fd < 0) {
		maildir_close(&md);
		return -1;
	}
	close(tmp_fd);
	*maildir_r = md;
	return 0;
}

enum maildir_lock_result maildir_lock(struct maildir *md,
				      const char **error_r)
{
	bool in_use;

	*error_r = md->error;
	if (md->lock_fd >= 0)
		return MAILDIR_LOCK_OK;
	md->lock_fd = openat(md->dir_fd, MAILDIR_LOCK_NAME,
			     O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (md->lock_fd < 0) {
		maildir_set_error(md, "cannot open %s/%s: %s", md->path,
				  MAILDIR_LOCK_NAME, strerror(errno));
		return MAILDIR_LOCK_ERROR;
	}
	if (flock(md->lock_fd, LOCK_EX | LOCK_NB) == 0)
		return MAILDIR_LOCK_OK;
	in_use = errno == EWOULDBLOCK;
	if (in_use)
		maildir_set_error(md, "%s: another POP3 session is using it",
				  md->path);
	else
		maildir_set_error(md, "cannot lock %s/%s: %s", md->path,
				  MAILDIR_LOCK_NAME, strerror(errno));
	close(md->lock_fd);
	md->lock_fd = -1;
	return in_use ? MAILDIR_LOCK_IN_USE : MAILDIR_LOCK_ERROR;
}

/* Free the messages of the snapshot. */
static void maildir_free_messages(struct maildir *md)
{
	size_t i;

	for (i = 0; i < md->count; i++)
		free(md->messages[i].name);
	free(md->messages);
	md->messages = NULL;
	md->count = 0;
}

void maildir_close(struct maildir **mdp)
{
	struct maildir *md = *mdp;

	if (md == NULL)
		return;
	maildir_free_messages(md);
	if (md->lock_fd >= 0)
		close(md->lock_fd);	/* releases the flock */
	if (md->new_fd >= 0)
		close(md->new_fd);
	if (md->cur_fd >= 0)
		close(md->cur_fd);
	if (md->dir_fd >= 0)
		close(md->dir_fd);
	free(md->path);
	free(md->quota_dir);
	free(md);
	*mdp = NULL;
}

/* A DIR stream for the directory DIR_FD (which stays open), or NULL. */
static DIR *maildir_opendir(int dir_fd)
{
	DIR *dir;
	int fd;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (dir == NULL)
		close(fd);
	return dir;
}

/* True when the entry ENT of DIR_FD is a regular file (symbolic links,
 * directories, FIFOs and the like are not messages). */
static bool maildir_entry_is_file(int dir_fd, const struct dirent *ent)
{
	struct stat st;

	if (ent->d_type == DT_REG)
		return true;
	if (ent->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dir_fd, ent->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
	       && S_ISREG(st.st_mode);
}

/* Rename FROM in FROM_FD to TO in TO_FD, failing with EEXIST rather than
 * replacing an existing TO. */
static int maildir_rename_noreplace(int from_fd, const char *from, int to_fd,
				    const char *to)
{
	if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* A file system without RENAME_NOREPLACE: link, then unlink. */
	if (linkat(from_fd, from, to_fd, to, 0) < 0)
		return -1;
	if (unlinkat(from_fd, from, 0) < 0 && errno != ENOENT) {
		/* two names for one file: keep the one in cur/ */
		return -1;
	}
	return 0;
}

/* Move every message in new/ to cur/, as Dovecot and Courier do. */
static int maildir_move_new(struct maildir *md,
			    struct maildir_snapshot_stats *stats)
{
	struct maildir_name parsed;
	struct dirent *ent;
	const char *error;
	char target[NAME_MAX + 1], safe[128];
	size_t len;
	DIR *dir;

	dir = maildir_opendir(md->new_fd);
	if (dir == NULL) {
		maildir_set_error(md, "cannot read %s/new: %s", md->path,
				  strerror(errno));
		return -1;
	}
	while ((errno = 0, ent = readdir(dir)) != NULL) {
		len = strlen(ent->d_name);
		if (maildir_name_parse(ent->d_name, len,
				       md->options.max_name_len, &parsed,
				       &error) < 0
		    || !maildir_entry_is_file(md->new_fd, ent))
			continue;
		if (parsed.base_len == len) {
			if (len + 3 >= sizeof(target)
			    || len + 3 > md->options.max_name_len)
				continue;
			memcpy(target, ent->d_name, len);
			memcpy(target + len, ":2,", 4);
		} else {
			memcpy(target, ent->d_name, len + 1);
		}
		if (maildir_rename_noreplace(md->new_fd, ent->d_name,
					     md->cur_fd, target) == 0) {
			stats->moved++;
		} else if (errno != ENOENT) {
			/* ENOENT: another program moved it first */
			log_warn("maildir: cannot move new/ to cur/ "
				 "maildir=%s file=\"%s\": %s", md->path,
				 log_sanitize(ent->d_name, safe, sizeof(safe)),
				 strerror(errno));
		}
	}
	if (errno != 0) {
		maildir_set_error(md, "cannot read %s/new: %s", md->path,
				  strerror(errno));
		closedir(dir);
		return -1;
	}
	closedir(dir);
	return 0;
}

/* Snapshot order: delivery time (names without one last), base name,
 * whole name. Renaming for flags does not change a message's place. */
static int maildir_message_cmp(const struct maildir_message *a,
			       const struct maildir_message *b)
{
	size_t len;
	int ret;

	if (a->has_time != b->has_time)
		return a->has_time ? -1 : 1;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	len = a->base_len < b->base_len ? a->base_len : b->base_len;
	ret = memcmp(a->name, b->name, len);
	if (ret != 0)
		return ret;
	if (a->base_len != b->base_len)
		return a->base_len < b->base_len ? -1 : 1;
	return strcmp(a->name, b->name);
}

static int maildir_message_qsort_cmp(const void *a, const void *b)
{
	return maildir_message_cmp(a, b);
}

/* Restore the max-heap property of HEAP[0..COUNT) below index I. */
static void maildir_heap_down(struct maildir_message *heap, size_t count,
			      size_t i)
{
	struct maildir_message tmp;
	size_t child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= count)
			return;
		if (child + 1 < count
		    && maildir_message_cmp(&heap[child + 1], &heap[child]) > 0)
			child++;
		if (maildir_message_cmp(&heap[child], &heap[i]) <= 0)
			return;
		tmp = heap[i];
		heap[i] = heap[child];
		heap[child] = tmp;
		i = child;
	}
}

/* List cur/ into md->messages: at most max_messages, the first ones in
 * snapshot order (a max-heap keeps them once the cap is reached). */
static int maildir_list_cur(struct maildir *md,
			    struct maildir_snapshot_stats *stats)
{
	struct maildir_message msg, *grown;
	struct maildir_name parsed;
	struct dirent *ent;
	const char *error;
	size_t alloc = 0, len, i, max = md->options.max_messages;
	bool heap = false;
	DIR *dir;

	dir = maildir_opendir(md->cur_fd);
	if (dir == NULL) {
		maildir_set_error(md, "cannot read %s/cur: %s", md->path,
				  strerror(errno));
		return -1;
	}
	while ((errno = 0, ent = readdir(dir)) != NULL) {
		len = strlen(ent->d_name);
		if (strcmp(ent->d_name, ".") == 0
		    || strcmp(ent->d_name, "..") == 0)
			continue;
		if (maildir_name_parse(ent->d_name, len,
				       md->options.max_name_len, &parsed,
				       &error) < 0
		    || !maildir_entry_is_file(md->cur_fd, ent)) {
			stats->skipped++;
			continue;
		}
		memset(&msg, 0, sizeof(msg));
		msg.base_len = parsed.base_len;
		msg.time = parsed.time;
		msg.has_time = parsed.has_time;
		msg.name = ent->d_name;	/* copied only if it is kept */
		if (md->count == max) {
			stats->over_limit++;
			if (max == 0)
				continue;
			if (!heap) {
				for (i = max / 2; i-- > 0;)
					maildir_heap_down(md->messages, max, i);
				heap = true;
			}
			if (maildir_message_cmp(&msg, &md->messages[0]) >= 0)
				continue;
			if ((msg.name = strdup(ent->d_name)) == NULL)
				goto nomem;
			free(md->messages[0].name);
			md->messages[0] = msg;
			maildir_heap_down(md->messages, max, 0);
			continue;
		}
		if (md->count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			if (alloc > max)
				alloc = max;
			grown = reallocarray(md->messages, alloc, sizeof(*grown));
			if (grown == NULL)
				goto nomem;
			md->messages = grown;
		}
		if ((msg.name = strdup(ent->d_name)) == NULL)
			goto nomem;
		md->messages[md->count++] = msg;
	}
	if (errno != 0) {
		maildir_set_error(md, "cannot read %s/cur: %s", md->path,
				  strerror(errno));
		closedir(dir);
		return -1;
	}
	closedir(dir);
	if (md->count > 1)
		qsort(md->messages, md->count, sizeof(*md->messages),
		      maildir_message_qsort_cmp);
	return 0;
nomem:
	maildir_set_error(md, "%s: out of memory listing cur/", md->path);
	closedir(dir);
	return -1;
}

/* Find MSG again by its base name in cur/, then new/, after another
 * program renamed it. Returns 1 (MSG updated), 0 (gone) or -1. */
static int maildir_resolve(struct maildir *md, struct maildir_message *msg)
{
	int fds[2] = { md->cur_fd, md->new_fd };
	struct dirent *ent;
	char *name;
	unsigned i;
	DIR *dir;

	for (i = 0; i < 2; i++) {
		dir = maildir_opendir(fds[i]);
		if (dir == NULL) {
			maildir_set_error(md, "cannot read %s/%s: %s",
					  md->path, i == 0 ? "cur" : "new",
					  strerror(errno));
			return -1;
		}
		while ((errno = 0, ent = readdir(dir)) != NULL) {
			if (!maildir_name_has_base(ent->d_name,
						   strlen(ent->d_name),
						   msg->name, msg->base_len))
				continue;
			if ((name = strdup(ent->d_name)) == NULL) {
				maildir_set_error(md, "out of memory");
				closedir(dir);
				return -1;
			}
			closedir(dir);
			free(msg->name);
			msg->name = name;
			msg->in_new = i == 1;
			return 1;
		}
		if (errno != 0) {
			maildir_set_error(md, "cannot read %s/%s: %s",
					  md->path, i == 0 ? "cur" : "new",
					  strerror(errno));
			closedir(dir);
			return -1;
		}
		closedir(dir);
	}
	return 0;
}

/* Open MSG for reading, finding it again if it was renamed; its fstat in
 * *ST_R. */
/* Whether the ",W=" size of MSG's name can be true: the file's size on
 * disk (one fstatat) matches ",S=" if given, and the CRLF size lies
 * between it and twice it. A name that lies is measured instead. */
static bool maildir_vsize_plausible(struct maildir *md,
				    const struct maildir_message *msg,
				    const struct maildir_name *parsed)
{
	struct stat st;
	uint64_t disk;

	if (fstatat(msg->in_new ? md->new_fd : md->cur_fd, msg->name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return false;
	disk = (uint64_t)st.st_size;
	if (parsed->has_disk_size && parsed->disk_size != disk)
		return false;
	return parsed->vsize >= disk && parsed->vsize - disk <= disk;
}

static enum maildir_read_result maildir_open_file(struct maildir *md,
						  struct maildir_message *msg,
						  int *fd_r, struct stat *st_r)
{
	struct stat st;
	unsigned tries;
	int fd, ret;

	for (tries = 0; tries < MAILDIR_RESOLVE_TRIES; tries++) {
		fd = openat(msg->in_new ? md->new_fd : md->cur_fd, msg->name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
				maildir_set_error(md, "%s: %s is not a file",
						  md->path, msg->uidl);
				close(fd);
				return MAILDIR_READ_ERROR;
			}
			*fd_r = fd;
			*st_r = st;
			return MAILDIR_READ_OK;
		}
		if (errno != ENOENT) {
			maildir_set_error(md, "cannot open message %s in %s: "
					  "%s", msg->uidl, md->path,
					  strerror(errno));
			return MAILDIR_READ_ERROR;
		}
		ret = maildir_resolve(md, msg);
		if (ret < 0)
			return MAILDIR_READ_ERROR;
		if (ret == 0)
			break;
	}
	maildir_set_error(md, "message %s in %s is gone", msg->uidl, md->path);
	return MAILDIR_READ_GONE;
}

/* The CRLF octets of FD read to its end in *SIZE_R, the bytes read in
 * *DISK_SIZE_R. */
static int maildir_file_measure(int fd, uint64_t *size_r,
				uint64_t *disk_size_r, const char **error_r)
{
	unsigned char buf[MAILDIR_READ_CHUNK];
	uint64_t size = 0, disk_size = 0;
	bool prev_cr = false;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = strerror(errno);
			return -1;
		}
		if (n == 0)
			break;
		disk_size += (uint64_t)n;
		size += message_crlf_size(buf, (size_t)n, &prev_cr);
	}
	*size_r = size;
	*disk_size_r = disk_size;
	return 0;
}

int maildir_file_size(int fd, uint64_t *size_r, const char **error_r)
{
	uint64_t disk_size;

	return maildir_file_measure(fd, size_r, &disk_size, error_r);
}

/* The size cache of one scan: the file as read, and the entries of the
 * one to write (pointing into the names of the snapshot). */
struct maildir_scan_cache {
	bool enabled;
	struct maildir_size_cache old;
	size_t reused;		/* entries of OLD taken as they were */
	struct maildir_size_cache_entry *entries;
	size_t count;
	size_t added;		/* entries measured this time */
};

/* Read the cache of MD into CACHE (an empty one if there is none or it is
 * refused). */
static void maildir_scan_cache_init(struct maildir *md,
				    struct maildir_scan_cache *cache,
				    struct maildir_snapshot_stats *stats)
{
	const char *error;

	memset(cache, 0, sizeof(*cache));
	if (!md->options.use_size_cache || md->count == 0)
		return;
	if (maildir_size_cache_read(md->dir_fd, md->options.max_messages,
				    &cache->old, &error) < 0) {
		log_warn("maildir: size cache refused, rebuilding it "
			 "maildir=%s file=%s: %s", md->path,
			 MAILDIR_SIZE_CACHE_NAME, error);
		stats->cache_rejected = 1;
	}
	/* without room for the new one, do without */
	cache->entries = calloc(md->count, sizeof(*cache->entries));
	cache->enabled = cache->entries != NULL;
}

/* Add MSG with its sizes to the cache to write, if it can hold it
 * (CHECKED: the parser already found the entry valid). */
static bool maildir_scan_cache_add(struct maildir_scan_cache *cache,
				   const struct maildir_message *msg,
				   uint64_t disk_size, bool checked)
{
	struct maildir_size_cache_entry *entry;

	if (!cache->enabled
	    || (!checked
		&& !maildir_size_cache_entry_valid(msg->name, msg->base_len,
						   disk_size, msg->size)))
		return false;
	entry = &cache->entries[cache->count++];
	entry->base = msg->name;
	entry->base_len = msg->base_len;
	entry->disk_size = disk_size;
	entry->size = msg->size;
	return true;
}

/* The size of MSG (named as in PARSED) from the cache: trusted as it is
 * when the name has ",S=" (the parser checked it against the entry), else
 * when the file's size on disk is the entry's. */
static bool maildir_scan_cache_lookup(struct maildir *md,
				      struct maildir_scan_cache *cache,
				      struct maildir_message *msg,
				      const struct maildir_name *parsed)
{
	const struct maildir_size_cache_entry *entry;
	struct stat st;

	if (!cache->enabled || cache->old.count == 0)
		return false;
	entry = maildir_size_cache_find(&cache->old, msg->name,
					msg->base_len);
	if (entry == NULL)
		return false;
	if (!parsed->has_disk_size
	    && (fstatat(md->cur_fd, msg->name, &st, AT_SYMLINK_NOFOLLOW) < 0
		|| !S_ISREG(st.st_mode)
		|| (uint64_t)st.st_size != entry->disk_size))
		return false;
	msg->size = entry->size;
	if (maildir_scan_cache_add(cache, msg, entry->disk_size, true))
		cache->reused++;
	return true;
}

/* Replace the cache file when it differs from the snapshot's sizes and
 * this session holds the lock; then free CACHE. */
static void maildir_scan_cache_finish(struct maildir *md,
				      struct maildir_scan_cache *cache,
				      struct maildir_snapshot_stats *stats,
				      bool write)
{
	const char *error;

	if (write && cache->enabled && md->lock_fd >= 0
	    && (cache->added > 0 || cache->reused != cache->old.count
		|| stats->cache_rejected > 0)) {
		maildir_size_cache_sort(cache->entries, cache->count);
		if (maildir_size_cache_write(md->dir_fd, cache->entries,
					     cache->count, &error) < 0)
			log_warn("maildir: size cache not saved maildir=%s: "
				 "%s: %s", md->path, error, strerror(errno));
		else
			stats->cache_written = 1;
	}
	maildir_size_cache_free(&cache->old);
	free(cache->entries);
	memset(cache, 0, sizeof(*cache));
}

/* Give every listed message its size (from ",W=", the size cache or by
 * reading it once) and UIDL; drop duplicates of a base name and files gone
 * meanwhile. */
static int maildir_measure(struct maildir *md,
			   struct maildir_snapshot_stats *stats)
{
	struct maildir_scan_cache cache;
	struct maildir_message *msg;
	struct maildir_name parsed;
	const char *error;
	char safe[128];
	size_t i, kept = 0;
	uint64_t disk_size;
	struct stat st;
	int fd;

	maildir_scan_cache_init(md, &cache, stats);

	for (i = 0; i < md->count; i++) {
		msg = &md->messages[i];
		if (kept > 0 && md->messages[kept - 1].base_len == msg->base_len
		    && memcmp(md->messages[kept - 1].name, msg->name,
			      msg->base_len) == 0) {
			log_warn("maildir: duplicate base name, left out "
				 "maildir=%s file=\"%s\"", md->path,
				 log_sanitize(msg->name, safe, sizeof(safe)));
			stats->duplicates++;
			free(msg->name);
			continue;
		}
		maildir_name_uidl(msg->name, msg->base_len, msg->uidl);
		if (maildir_name_parse(msg->name, strlen(msg->name),
				       SIZE_MAX, &parsed, &error) == 0
		    && parsed.has_vsize
		    && maildir_vsize_plausible(md, msg, &parsed)) {
			msg->size = parsed.vsize;
			stats->sized_by_name++;
		} else if (maildir_scan_cache_lookup(md, &cache, msg,
						     &parsed)) {
			stats->sized_by_cache++;
		} else {
			switch (maildir_open_file(md, msg, &fd, &st)) {
			case MAILDIR_READ_OK:
				break;
			case MAILDIR_READ_GONE:
				stats->vanished++;
				free(msg->name);
				continue;
			case MAILDIR_READ_ERROR:
				/* one unreadable file (an MDA's, mode 0600 for
				 * root) must not lock the owner out of the
				 * rest: it is left out of this snapshot */
				log_warn("maildir: message left out maildir=%s "
					 "file=\"%s\": %s", md->path,
					 log_sanitize(msg->name, safe, sizeof(safe)),
					 md->error);
				stats->skipped++;
				free(msg->name);
				continue;
			}
			if (maildir_file_measure(fd, &msg->size, &disk_size,
						 &error) < 0) {
				log_warn("maildir: message left out maildir=%s "
					 "file=\"%s\": cannot read it: %s",
					 md->path, log_sanitize(msg->name, safe,
								sizeof(safe)), error);
				close(fd);
				stats->skipped++;
				free(msg->name);
				continue;
			}
			close(fd);
			stats->measured++;
			/* a file that changed while read is not cached */
			if ((uint64_t)st.st_size == disk_size
			    && maildir_scan_cache_add(&cache, msg, disk_size,
						      false))
				cache.added++;
		}
		md->messages[kept++] = *msg;
	}
	md->count = kept;
	maildir_scan_cache_finish(md, &cache, stats, true);
	return 0;
}

int maildir_scan(struct maildir *md, struct maildir_snapshot_stats *stats_r,
		 const char **error_r)
{
	struct maildir_snapshot_stats stats;

	*error_r = md->error;
	memset(&stats, 0, sizeof(stats));
	maildir_free_messages(md);
	if (maildir_move_new(md, &stats) < 0 || maildir_list_cur(md, &stats) < 0
	    || maildir_measure(md, &stats) < 0) {
		maildir_free_messages(md);
		return -1;
	}
	if (stats.over_limit > 0)
		log_warn("maildir: more messages than max_messages=%zu, "
			 "the newest %zu left out maildir=%s",
			 md->options.max_messages, stats.over_limit, md->path);
	if (stats_r != NULL)
		*stats_r = stats;
	return 0;
}

size_t maildir_count(const struct maildir *md)
{
	return md->count;
}

const struct maildir_message *maildir_message(const struct maildir *md,
					      size_t index)
{
	return index < md->count ? &md->messages[index] : NULL;
}

void maildir_stat(const struct maildir *md, size_t *count_r,
		  uint64_t *size_r)
{
	size_t i, count = 0;
	uint64_t size = 0;

	for (i = 0; i < md->count; i++) {
		if (md->messages[i].deleted)
			continue;
		count++;
		size += md->messages[i].size;
	}
	*count_r = count;
	*size_r = size;
}

int maildir_mark_deleted(struct maildir *md, size_t index)
{
	if (index >= md->count || md->messages[index].deleted)
		return -1;
	md->messages[index].deleted = true;
	return 0;
}

void maildir_unmark_all(struct maildir *md)
{
	size_t i;

	for (i = 0; i < md->count; i++)
		md->messages[i].deleted = false;
}

/* The Maildir++ size of MSG into *SIZE_R: the ",S=" of its name, else its
 * size on disk (Dovecot's quota backend "maildir" and Courier count it
 * so). Returns 0, or -1 with md->quota_error. */
static int maildir_quota_size(struct maildir *md,
			      const struct maildir_message *msg,
			      uint64_t *size_r)
{
	struct maildir_name parsed;
	const char *error;
	struct stat st;

	if (maildir_name_parse(msg->name, strlen(msg->name), SIZE_MAX, &parsed,
			       &error) == 0 && parsed.has_disk_size) {
		*size_r = parsed.disk_size;
		return 0;
	}
	if (fstatat(msg->in_new ? md->new_fd : md->cur_fd, msg->name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0) {
		maildir_set_quota_error(md, "cannot find the size of message "
					"%s in %s: %s", msg->uidl, md->path,
					strerror(errno));
		return -1;
	}
	*size_r = (uint64_t)st.st_size;
	return 0;
}

/* Unlink MSG, finding it again if it was renamed; with TALLY, count it
 * there once removed. Returns 1 (removed), 0 (already gone) or -1. */
static int maildir_unlink_message(struct maildir *md,
				  struct maildir_message *msg,
				  struct maildir_quota_tally *tally)
{
	uint64_t size = 0;
	unsigned tries;
	int ret, sized = 0;

	for (tries = 0; tries < MAILDIR_RESOLVE_TRIES; tries++) {
		/* measured under the name about to be unlinked */
		if (tally != NULL)
			sized = maildir_quota_size(md, msg, &size);
		if (unlinkat(msg->in_new ? md->new_fd : md->cur_fd, msg->name,
			     0) == 0) {
			if (tally == NULL)
				return 1;
			tally->count++;
			if (sized == 0 && size > UINT64_MAX - tally->bytes) {
				maildir_set_quota_error(md, "%s: the sizes of "
							"the deleted messages "
							"add up to more than "
							"64 bits", md->path);
				sized = -1;
			}
			if (sized < 0)
				tally->size_unknown = true;
			else
				tally->bytes += size;
			return 1;
		}
		if (errno != ENOENT) {
			maildir_set_error(md, "cannot delete message %s in %s:"
					  " %s", msg->uidl, md->path,
					  strerror(errno));
			return -1;
		}
		ret = maildir_resolve(md, msg);
		if (ret <= 0)
			return ret;
	}
	return 0;
}

/* Open MD's maildirsize for appending into *FD_R. Returns 1, 0 when there
 * is none, or -1 with md->quota_error. */
static int maildir_quota_open(struct maildir *md, int *fd_r)
{
	char path[MAILDIR_ERROR_MAX];
	struct stat st;
	int fd, flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK
	    | O_CLOEXEC;

	*fd_r = -1;
	/* no O_CREAT: a new file would lack the quota definition */
	if (strcmp(md->quota_dir, md->path) == 0)
		fd = openat(md->dir_fd, MAILDIR_QUOTA_NAME, flags);
	else if ((size_t)snprintf(path, sizeof(path), "%s/%s", md->quota_dir,
				  MAILDIR_QUOTA_NAME) >= sizeof(path)) {
		maildir_set_quota_error(md, "%s/%s: path too long",
					md->quota_dir, MAILDIR_QUOTA_NAME);
		return -1;
	} else
		fd = open(path, flags);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		maildir_set_quota_error(md, "cannot open %s/%s: %s",
					md->quota_dir, MAILDIR_QUOTA_NAME,
					errno == ELOOP ? "a symbolic link"
					: strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		maildir_set_quota_error(md, "%s/%s is not a regular file",
					md->quota_dir, MAILDIR_QUOTA_NAME);
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 1;
}

/* Append the line that subtracts TALLY to maildirsize: one write(2), so
 * that, with O_APPEND, another program's line cannot come between its
 * bytes. Returns 0, or -1 with md->quota_error. */
static int maildir_quota_append(struct maildir *md,
				const struct maildir_quota_tally *tally)
{
	char line[64];
	ssize_t done;
	int len;

	if (tally->size_unknown)
		return -1;	/* md->quota_error says why */
	/* Dovecot reads the count as an int and the bytes as a long long */
	if (tally->count > INT_MAX || tally->bytes > INT64_MAX) {
		maildir_set_quota_error(md, "%s/%s: %zu messages of %" PRIu64
					" bytes are more than a line can hold",
					md->quota_dir, MAILDIR_QUOTA_NAME,
					tally->count, tally->bytes);
		return -1;
	}
	len = snprintf(line, sizeof(line), "%" PRId64 " -%zu\n",
		       -(int64_t)tally->bytes, tally->count);
	do {
		done = write(tally->fd, line, (size_t)len);
	} while (done < 0 && errno == EINTR);
	if (done < 0) {
		maildir_set_quota_error(md, "cannot append to %s/%s: %s",
					md->quota_dir, MAILDIR_QUOTA_NAME,
					strerror(errno));
		return -1;
	}
	if (done != len) {
		maildir_set_quota_error(md, "cannot append to %s/%s: %zd of "
					"%d bytes written", md->quota_dir,
					MAILDIR_QUOTA_NAME, done, len);
		return -1;
	}
	return 0;
}

int maildir_commit(struct maildir *md, struct maildir_commit_result *result_r,
		   const char **error_r)
{
	struct maildir_quota_tally tally = { .fd = -1 };
	size_t i, marked = 0;
	int ret, status = 0, quota;

	*error_r = md->error;
	memset(result_r, 0, sizeof(*result_r));
	result_r->quota = MAILDIR_QUOTA_UNTOUCHED;
	result_r->quota_error = md->quota_error;
	md->quota_error[0] = '\0';
	for (i = 0; i < md->count; i++)
		marked += md->messages[i].deleted ? 1 : 0;
	/* opened first: without the file no message needs measuring */
	quota = marked > 0 ? maildir_quota_open(md, &tally.fd) : 0;
	for (i = 0; i < md->count; i++) {
		if (!md->messages[i].deleted)
			continue;
		ret = maildir_unlink_message(md, &md->messages[i],
					     quota > 0 ? &tally : NULL);
		if (ret > 0)
			result_r->deleted++;
		else if (ret == 0)
			result_r->gone++;
		else
			status = -1;	/* the error of the last failure */
	}
	if (quota < 0 && result_r->deleted > 0)
		result_r->quota = MAILDIR_QUOTA_FAILED;
	else if (quota > 0 && tally.count > 0)
		result_r->quota = maildir_quota_append(md, &tally) == 0 ?
		    MAILDIR_QUOTA_UPDATED : MAILDIR_QUOTA_FAILED;
	if (tally.fd >= 0)
		close(tally.fd);
	return status;
}

enum maildir_read_result maildir_reader_open(struct maildir *md, size_t index,
					     long long top_lines,
					     struct maildir_reader **reader_r,
					     const char **error_r)
{
	struct maildir_reader *reader;
	enum maildir_read_result ret;
	struct stat st;
	int fd;

	*reader_r = NULL;
	*error_r = md->error;
	if (index >= md->count) {
		maildir_set_error(md, "no message %zu", index + 1);
		return MAILDIR_READ_ERROR;
	}
	ret = maildir_open_file(md, &md->messages[index], &fd, &st);
	if (ret != MAILDIR_READ_OK)
		return ret;
	reader = calloc(1, sizeof(*reader));
	if (reader == NULL) {
		maildir_set_error(md, "out of memory");
		close(fd);
		return MAILDIR_READ_ERROR;
	}
	reader->fd = fd;
	reader->unread = (uint64_t)st.st_size;
	if (top_lines < 0)
		message_crlf_init(&reader->conv);
	else
		message_crlf_init_top(&reader->conv, (uint64_t)top_lines);
	*reader_r = reader;
	return MAILDIR_READ_OK;
}

/* Read the next block of the file into the empty input buffer (at end
 * of file, or once the size is reached, the buffer stays empty). */
static int maildir_reader_fill(struct maildir_reader *reader,
			       const char **error_r)
{
	ssize_t got;

	do {
		got = read(reader->fd, reader->in, sizeof(reader->in));
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	reader->in_pos = 0;
	reader->in_len = (size_t)got;
	reader->eof = got == 0;
	reader->unread = (uint64_t)got < reader->unread ?
	    reader->unread - (uint64_t)got : 0;
	return 0;
}

ssize_t maildir_reader_read(struct maildir_reader *reader, unsigned char *buf,
			    size_t size, const char **error_r)
{
	size_t avail, consumed, n;

	if (size < 2) {
		*error_r = "read buffer too small";
		return -1;
	}
	for (;;) {
		if (message_crlf_done(&reader->conv))
			return 0;
		if (reader->in_pos < reader->in_len)
			break;
		if (reader->eof || reader->unread == 0)
			return 0;
		if (maildir_reader_fill(reader, error_r) < 0)
			return -1;
	}
	avail = reader->in_len - reader->in_pos;
	if (avail > size / 2)
		avail = size / 2;
	n = message_crlf_convert(&reader->conv, reader->in + reader->in_pos,
				 avail, buf, &consumed);
	reader->in_pos += consumed;
	return (ssize_t)n;
}

int maildir_reader_prefill(struct maildir_reader *reader, const char **error_r)
{
	if (reader->in_pos < reader->in_len || reader->eof || reader->unread == 0)
		return 0;
	return maildir_reader_fill(reader, error_r);
}

const char *maildir_reader_terminator(const struct maildir_reader *reader)
{
	return message_crlf_terminator(&reader->conv);
}

void maildir_reader_close(struct maildir_reader **readerp)
{
	struct maildir_reader *reader = *readerp;

	if (reader == NULL)
		return;
	close(reader->fd);
	free(reader);
	*readerp = NULL;
}

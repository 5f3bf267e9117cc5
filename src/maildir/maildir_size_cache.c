/* maildir_size_cache: parse, look up, format, read and write a Maildir's
 * POP3 size cache. The parser takes any bytes: it must never read past the
 * length it is given, allocate more than one entry per line of an already
 * bounded file, or accept a file it would not write itself. Writing never
 * touches anything but its own two files. */
#define _GNU_SOURCE 1	/* memrchr */
#include "maildir_size_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>	/* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maildir_name.h"

#define CACHE_HEADER_LEN (sizeof(MAILDIR_SIZE_CACHE_HEADER) - 1)
#define CACHE_NUMBER_MAX_DIGITS 20

/* Byte order of base names: memcmp, then the shorter first. */
static int cache_base_cmp(const char *a, size_t a_len, const char *b,
			  size_t b_len)
{
	size_t len = a_len < b_len ? a_len : b_len;
	int ret = len == 0 ? 0 : memcmp(a, b, len);

	if (ret != 0)
		return ret;
	if (a_len != b_len)
		return a_len < b_len ? -1 : 1;
	return 0;
}

/* TEXT (LEN bytes) as a canonical decimal number: digits only, no leading
 * zero unless it is "0", no overflow. */
static bool cache_parse_number(const char *text, size_t len, uint64_t *value_r)
{
	uint64_t value = 0;
	unsigned digit;
	size_t i;

	if (len == 0 || len > CACHE_NUMBER_MAX_DIGITS
	    || (text[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		digit = (unsigned)(text[i] - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*value_r = value;
	return true;
}

bool maildir_size_cache_entry_valid(const char *base, size_t base_len,
				    uint64_t disk_size, uint64_t size)
{
	struct maildir_name parsed;
	const char *error;

	if (base_len == 0 || base_len > MAILDIR_SIZE_CACHE_BASE_MAX
	    || memchr(base, '\n', base_len) != NULL
	    || memchr(base, ':', base_len) != NULL)
		return false;
	/* refuses a leading '.', '/' and NUL */
	if (maildir_name_parse(base, base_len, MAILDIR_SIZE_CACHE_BASE_MAX,
			       &parsed, &error) < 0)
		return false;
	if (size < disk_size || size - disk_size > disk_size)
		return false;
	return !parsed.has_disk_size || parsed.disk_size == disk_size;
}

int maildir_size_cache_parse(const char *data, size_t len, size_t max_entries,
			     struct maildir_size_cache_entry **entries_r,
			     size_t *count_r, const char **error_r)
{
	struct maildir_size_cache_entry *entries, *entry;
	const char *line, *end, *nl, *blank1, *blank2;
	size_t count = 0, n = 0, pos;

	*entries_r = NULL;
	*count_r = 0;
	if (len > MAILDIR_SIZE_CACHE_FILE_MAX) {
		*error_r = "file too large";
		return -1;
	}
	if (len < CACHE_HEADER_LEN
	    || memcmp(data, MAILDIR_SIZE_CACHE_HEADER, CACHE_HEADER_LEN) != 0) {
		*error_r = "unknown header";
		return -1;
	}
	if (len > CACHE_HEADER_LEN && data[len - 1] != '\n') {
		*error_r = "last line not ended";
		return -1;
	}
	/* one entry per line: count before allocating */
	for (pos = CACHE_HEADER_LEN; pos < len; pos = (size_t)(nl - data) + 1) {
		nl = memchr(data + pos, '\n', len - pos);
		if ((size_t)(nl - (data + pos)) >= MAILDIR_SIZE_CACHE_LINE_MAX) {
			*error_r = "line too long";
			return -1;
		}
		if (++count > max_entries) {
			*error_r = "more entries than messages allowed";
			return -1;
		}
	}
	if (count == 0) {
		*error_r = NULL;
		return 0;
	}
	entries = calloc(count, sizeof(*entries));
	if (entries == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (line = data + CACHE_HEADER_LEN; n < count; line = nl + 1) {
		end = data + len;
		nl = memchr(line, '\n', (size_t)(end - line));
		entry = &entries[n];
		blank2 = memrchr(line, ' ', (size_t)(nl - line));
		blank1 = blank2 == NULL ? NULL
			 : memrchr(line, ' ', (size_t)(blank2 - line));
		if (blank1 == NULL) {
			*error_r = "not three fields";
			goto fail;
		}
		entry->base = line;
		entry->base_len = (size_t)(blank1 - line);
		if (!cache_parse_number(blank1 + 1,
					(size_t)(blank2 - blank1 - 1),
					&entry->disk_size)
		    || !cache_parse_number(blank2 + 1,
					   (size_t)(nl - blank2 - 1),
					   &entry->size)) {
			*error_r = "bad number";
			goto fail;
		}
		if (!maildir_size_cache_entry_valid(entry->base,
						    entry->base_len,
						    entry->disk_size,
						    entry->size)) {
			*error_r = "bad base name or sizes";
			goto fail;
		}
		if (n > 0 && cache_base_cmp(entries[n - 1].base,
					    entries[n - 1].base_len,
					    entry->base, entry->base_len) >= 0) {
			*error_r = "base names out of order or repeated";
			goto fail;
		}
		n++;
	}
	*entries_r = entries;
	*count_r = count;
	*error_r = NULL;
	return 0;
fail:
	free(entries);
	return -1;
}

static int cache_entry_qsort_cmp(const void *a, const void *b)
{
	const struct maildir_size_cache_entry *ea = a, *eb = b;

	return cache_base_cmp(ea->base, ea->base_len, eb->base, eb->base_len);
}

void maildir_size_cache_sort(struct maildir_size_cache_entry *entries,
			     size_t count)
{
	if (count > 1)
		qsort(entries, count, sizeof(*entries), cache_entry_qsort_cmp);
}

const struct maildir_size_cache_entry *
maildir_size_cache_find(const struct maildir_size_cache *cache,
			const char *base, size_t base_len)
{
	const struct maildir_size_cache_entry *entry;
	size_t low = 0, high = cache->count, mid;
	int ret;

	while (low < high) {
		mid = low + (high - low) / 2;
		entry = &cache->entries[mid];
		ret = cache_base_cmp(base, base_len, entry->base,
				     entry->base_len);
		if (ret == 0)
			return entry;
		if (ret < 0)
			high = mid;
		else
			low = mid + 1;
	}
	return NULL;
}

/* VALUE in decimal into OUT (room for 20 digits); returns the length. */
static size_t cache_format_number(uint64_t value, char *out)
{
	char digits[CACHE_NUMBER_MAX_DIGITS];
	size_t len = 0, i;

	do {
		digits[len++] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	for (i = 0; i < len; i++)
		out[i] = digits[len - 1 - i];
	return len;
}

size_t maildir_size_cache_format(const struct maildir_size_cache_entry *entries,
				 size_t count, char *buf, size_t buf_size)
{
	char number[CACHE_NUMBER_MAX_DIGITS];
	size_t need = CACHE_HEADER_LEN, pos, i;

	for (i = 0; i < count; i++)
		need += entries[i].base_len + 3
			+ cache_format_number(entries[i].disk_size, number)
			+ cache_format_number(entries[i].size, number);
	if (need > buf_size)
		return need;
	memcpy(buf, MAILDIR_SIZE_CACHE_HEADER, CACHE_HEADER_LEN);
	pos = CACHE_HEADER_LEN;
	for (i = 0; i < count; i++) {
		memcpy(buf + pos, entries[i].base, entries[i].base_len);
		pos += entries[i].base_len;
		buf[pos++] = ' ';
		pos += cache_format_number(entries[i].disk_size, buf + pos);
		buf[pos++] = ' ';
		pos += cache_format_number(entries[i].size, buf + pos);
		buf[pos++] = '\n';
	}
	return pos;
}

int maildir_size_cache_read(int dir_fd, size_t max_entries,
			    struct maildir_size_cache *cache_r,
			    const char **error_r)
{
	uint64_t limit;
	struct stat st;
	size_t want, got = 0;
	ssize_t n;
	char *data;
	int fd, saved_errno;

	memset(cache_r, 0, sizeof(*cache_r));
	fd = openat(dir_fd, MAILDIR_SIZE_CACHE_NAME,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = strerror(errno);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved_errno = errno;
		close(fd);
		*error_r = strerror(saved_errno);
		return -1;
	}
	/* the header and MAX_ENTRIES lines of the longest kind at most */
	limit = CACHE_HEADER_LEN;
	if (max_entries > (MAILDIR_SIZE_CACHE_FILE_MAX - limit)
			  / MAILDIR_SIZE_CACHE_LINE_MAX)
		limit = MAILDIR_SIZE_CACHE_FILE_MAX;
	else
		limit += (uint64_t)max_entries * MAILDIR_SIZE_CACHE_LINE_MAX;
	if (!S_ISREG(st.st_mode) || st.st_size < 0
	    || (uint64_t)st.st_size > limit) {
		close(fd);
		*error_r = S_ISREG(st.st_mode) ? "file too large"
			   : "not a regular file";
		return -1;
	}
	/* one byte more than fstat said, to see a file that grew */
	want = (size_t)st.st_size + 1;
	if ((data = malloc(want)) == NULL) {
		close(fd);
		*error_r = "out of memory";
		return -1;
	}
	while (got < want) {
		n = read(fd, data + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved_errno = errno;
			close(fd);
			free(data);
			*error_r = strerror(saved_errno);
			return -1;
		}
		got += (size_t)n;
		/* a short read of a regular file is its end */
		if (n == 0 || got < want)
			break;
	}
	close(fd);
	if (got == want) {
		free(data);
		*error_r = "file changed while read";
		return -1;
	}
	if (maildir_size_cache_parse(data, got, max_entries, &cache_r->entries,
				     &cache_r->count, error_r) < 0) {
		free(data);
		return -1;
	}
	cache_r->data = data;
	return 1;
}

/* Write LEN bytes of BUF to FD. */
static int cache_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int maildir_size_cache_write(int dir_fd,
			     const struct maildir_size_cache_entry *entries,
			     size_t count, const char **error_r)
{
	size_t len;
	char *buf;
	int fd, saved_errno;

	len = maildir_size_cache_format(entries, count, NULL, 0);
	if ((buf = malloc(len)) == NULL) {
		*error_r = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	maildir_size_cache_format(entries, count, buf, len);
	fd = openat(dir_fd, MAILDIR_SIZE_CACHE_TEMP_NAME,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* left by a session that died; we hold the lock now */
		if (unlinkat(dir_fd, MAILDIR_SIZE_CACHE_TEMP_NAME, 0) == 0)
			fd = openat(dir_fd, MAILDIR_SIZE_CACHE_TEMP_NAME,
				    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
				    | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		saved_errno = errno;
		free(buf);
		*error_r = "cannot create " MAILDIR_SIZE_CACHE_TEMP_NAME;
		errno = saved_errno;
		return -1;
	}
	if (cache_write_all(fd, buf, len) < 0) {
		*error_r = "cannot write " MAILDIR_SIZE_CACHE_TEMP_NAME;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		*error_r = "cannot write " MAILDIR_SIZE_CACHE_TEMP_NAME;
		goto fail;
	}
	fd = -1;
	if (renameat(dir_fd, MAILDIR_SIZE_CACHE_TEMP_NAME, dir_fd,
		     MAILDIR_SIZE_CACHE_NAME) < 0) {
		*error_r = "cannot rename " MAILDIR_SIZE_CACHE_TEMP_NAME;
		goto fail;
	}
	free(buf);
	return 0;
fail:
	saved_errno = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dir_fd, MAILDIR_SIZE_CACHE_TEMP_NAME, 0);
	free(buf);
	errno = saved_errno;
	return -1;
}

void maildir_size_cache_free(struct maildir_size_cache *cache)
{
	free(cache->entries);
	free(cache->data);
	memset(cache, 0, sizeof(*cache));
}

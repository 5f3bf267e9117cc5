/* passwd_file: load, check and look up a Dovecot passwd-file. The parse
 * is strict: the first bad line stops it and the error names file:line.
 * It must never put a password, or any part of one, into an error text. */
#include "passwd_file.h"

#include "log.h"
#include "strnum.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fields before extra_fields: user password uid gid gecos home shell. */
#define PASSWD_FILE_FIELDS 7

/* Write "NAME:LINE: " + the formatted message into ERROR (LINE 0: none). */
static void passwd_file_error(char *error, size_t error_size, const char *name,
			      unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void passwd_file_error(char *error, size_t error_size, const char *name,
			      unsigned line, const char *fmt, ...)
{
	int prefix;
	va_list args;

	if (error_size == 0)
		return;
	if (line > 0)
		prefix = snprintf(error, error_size, "%s:%u: ", name, line);
	else
		prefix = snprintf(error, error_size, "%s: ", name);
	if (prefix < 0 || (size_t)prefix >= error_size)
		return;
	va_start(args, fmt);
	vsnprintf(error + prefix, error_size - (size_t)prefix, fmt, args);
	va_end(args);
}

/* Quote untrusted TEXT for an error message, shortened to 64 bytes. */
static const char *passwd_file_shown(const char *text, char *buf, size_t size)
{
	char shown[80];

	log_sanitize(text, shown, sizeof(shown));
	snprintf(buf, size, "\"%.64s%s\"", shown,
		 strlen(shown) > 64 ? "..." : "");
	return buf;
}

/* Check a user name: not empty, not too long, no byte order mark (a
 * Windows editor's), no blank or control byte. */
static const char *passwd_file_user_problem(const char *user)
{
	const unsigned char *p;

	if (*user == '\0')
		return "empty user name";
	if (strlen(user) > PASSWD_FILE_USER_MAX)
		return "user name too long (more than 255 bytes)";
	if (strncmp(user, "\xef\xbb\xbf", 3) == 0)
		return "user name starts with a UTF-8 byte order mark "
		       "(save the file without BOM)";
	for (p = (const unsigned char *)user; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return "user name contains a control character";
		if (*p == ' ')
			return "user name contains a blank";
	}
	return NULL;
}

/* Parse a uid/gid field: empty (not set) or a number from 1 to 2^32-2
 * (0 is root, Dovecot refuses it too; 2^32-1 is (uid_t)-1). */
static int passwd_file_id(const char *text, bool *has_r, uint64_t *id_r,
			  const char **error_r)
{
	*has_r = false;
	*id_r = 0;
	if (*text == '\0')
		return 0;
	if (strnum_parse_u64(text, UINT32_MAX - 1, id_r, error_r) < 0)
		return -1;
	if (*id_r == 0) {
		*error_r = "0 (root) is not allowed";
		return -1;
	}
	*has_r = true;
	return 0;
}

/* Parse one non-comment LINE (NUL-terminated, cut in place) into ENTRY. */
static int passwd_file_line(char *line, unsigned number, const char *name,
			    struct passwd_entry *entry, char *error,
			    size_t error_size)
{
	char *fields[PASSWD_FILE_FIELDS + 1], *p = line, shown[96];
	char *end = line + strlen(line);	/* "" for missing fields */
	const char *problem;
	uint64_t id;
	size_t count = 0, i;

	/* the last field, extra_fields, keeps its colons */
	while (count < PASSWD_FILE_FIELDS) {
		fields[count++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			break;
		*p++ = '\0';
	}
	if (p != NULL)
		fields[count++] = p;
	for (i = count; i <= PASSWD_FILE_FIELDS; i++)
		fields[i] = end;

	memset(entry, 0, sizeof(*entry));
	entry->line = number;
	entry->user = fields[0];
	problem = passwd_file_user_problem(fields[0]);
	if (problem != NULL) {
		passwd_file_error(error, error_size, name, number, "%s",
				  problem);
		return -1;
	}
	if (count < 2) {
		passwd_file_error(error, error_size, name, number,
				  "user %s: missing password field (expected "
				  "user:password[:uid:gid:gecos:home:shell:"
				  "extra_fields])",
				  passwd_file_shown(fields[0], shown,
						    sizeof(shown)));
		return -1;
	}
	if (password_field_parse(fields[1], &entry->scheme, &entry->password,
				 &entry->locked, &problem) < 0) {
		passwd_file_error(error, error_size, name, number,
				  "user %s: bad password field: %s",
				  passwd_file_shown(fields[0], shown,
						    sizeof(shown)), problem);
		return -1;
	}
	if (passwd_file_id(fields[2], &entry->has_uid, &id, &problem) < 0) {
		char value[96];

		passwd_file_error(error, error_size, name, number,
				  "user %s: bad uid %s: %s",
				  passwd_file_shown(fields[0], shown,
						    sizeof(shown)),
				  passwd_file_shown(fields[2], value,
						    sizeof(value)), problem);
		return -1;
	}
	entry->uid = (uid_t)id;
	if (passwd_file_id(fields[3], &entry->has_gid, &id, &problem) < 0) {
		char value[96];

		passwd_file_error(error, error_size, name, number,
				  "user %s: bad gid %s: %s",
				  passwd_file_shown(fields[0], shown,
						    sizeof(shown)),
				  passwd_file_shown(fields[3], value,
						    sizeof(value)), problem);
		return -1;
	}
	entry->gid = (gid_t)id;
	entry->home = fields[5];
	if (*entry->home != '\0' && *entry->home != '/') {
		char value[96];

		passwd_file_error(error, error_size, name, number,
				  "user %s: home %s is not an absolute path",
				  passwd_file_shown(fields[0], shown,
						    sizeof(shown)),
				  passwd_file_shown(fields[5], value,
						    sizeof(value)));
		return -1;
	}
	entry->extra_fields = fields[PASSWD_FILE_FIELDS];
	return 0;
}

static int passwd_entry_compare(const void *a, const void *b)
{
	const struct passwd_entry *ea = a, *eb = b;
	int cmp = strcmp(ea->user, eb->user);

	if (cmp != 0)
		return cmp;
	return ea->line < eb->line ? -1 : ea->line > eb->line;
}

/* Cost of verifying ENTRY, for choosing the dummy: the scheme (by its hash
 * prefix) first, then the cost parameter where it is easy to read (bcrypt
 * cost, SHA-crypt rounds); -1 for a locked entry. */
static int64_t passwd_entry_cost(const struct passwd_entry *entry)
{
	const char *hash = entry->password;
	int64_t rank, cost = 0;

	if (entry->locked)
		return -1;
	if (entry->scheme == PASSWORD_SCHEME_PLAIN)
		return 0;
	if (strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$gy$", 4) == 0
	    || strncmp(hash, "$7$", 3) == 0) {
		rank = 60;
	} else if (hash[0] == '$' && hash[1] == '2' && hash[2] != '\0'
		   && hash[3] == '$') {
		rank = 50;
		cost = strtol(hash + 4, NULL, 10);
	} else if (strncmp(hash, "$6$", 3) == 0
		   || strncmp(hash, "$5$", 3) == 0) {
		rank = hash[1] == '6' ? 40 : 30;
		cost = 5000;
		if (strncmp(hash + 3, "rounds=", 7) == 0)
			cost = strtol(hash + 10, NULL, 10);
	} else if (strncmp(hash, "$1$", 3) == 0) {
		rank = 10;
	} else {
		rank = 20;	/* other libcrypt methods */
	}
	if (cost < 0 || cost > UINT32_MAX)
		cost = 0;
	return rank << 32 | cost;
}

struct passwd_file *passwd_file_parse(const char *name, const char *text,
				      size_t len, char *error,
				      size_t error_size)
{
	struct passwd_file *file;
	size_t pos = 0, capacity = 0, i;
	unsigned number = 0;
	int64_t best = -1;

	if (len > PASSWD_FILE_SIZE_MAX) {
		passwd_file_error(error, error_size, name, 0,
				  "file too large (more than %d bytes)",
				  PASSWD_FILE_SIZE_MAX);
		return NULL;
	}
	file = calloc(1, sizeof(*file));
	if (file != NULL) {
		/* a mapping of its own: a forked child can drop it without
		 * copying (passwd_file_forget), and core dumps leave it out */
		file->text_map_len = len + 1;
		file->text = mmap(NULL, file->text_map_len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (file->text == MAP_FAILED)
			file->text = NULL;
		else
			(void)madvise(file->text, file->text_map_len, MADV_DONTDUMP);
	}
	if (file == NULL || file->text == NULL) {
		free(file);
		passwd_file_error(error, error_size, name, 0, "out of memory");
		return NULL;
	}
	memcpy(file->text, text, len);
	file->text_len = len;
	file->text[len] = '\0';

	while (pos < len) {
		char *line = file->text + pos, *nl, *p;
		size_t line_len;

		nl = memchr(line, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - line) : len - pos;
		pos += line_len + (nl != NULL ? 1 : 0);
		number++;
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (line_len > PASSWD_FILE_LINE_MAX) {
			passwd_file_error(error, error_size, name, number,
					  "line too long (more than %d bytes)",
					  PASSWD_FILE_LINE_MAX);
			goto fail;
		}
		if (memchr(line, '\0', line_len) != NULL) {
			passwd_file_error(error, error_size, name, number,
					  "NUL byte in line");
			goto fail;
		}
		line[line_len] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		if (file->count == capacity) {
			size_t new_capacity = capacity == 0 ? 16 : capacity * 2;
			struct passwd_entry *grown = realloc(file->entries,
				new_capacity * sizeof(*grown));

			if (grown == NULL) {
				passwd_file_error(error, error_size, name,
						  number, "out of memory");
				goto fail;
			}
			file->entries = grown;
			capacity = new_capacity;
		}
		if (passwd_file_line(line, number, name,
				     &file->entries[file->count], error,
				     error_size) < 0)
			goto fail;
		file->count++;
	}
	if (file->count > 0)
		qsort(file->entries, file->count, sizeof(*file->entries),
		      passwd_entry_compare);
	for (i = 0; i < file->count; i++) {
		const struct passwd_entry *entry = &file->entries[i];
		int64_t cost;

		if (i > 0 && strcmp(entry->user, entry[-1].user) == 0) {
			char shown[96];

			passwd_file_error(error, error_size, name, entry->line,
					  "duplicate user %s (first on line %u)",
					  passwd_file_shown(entry->user, shown,
							    sizeof(shown)),
					  entry[-1].line);
			goto fail;
		}
		cost = passwd_entry_cost(entry);
		if (cost > best) {
			best = cost;
			file->dummy = entry;
		}
	}
	return file;
fail:
	passwd_file_free(&file);
	return NULL;
}

/* Read the open regular file FD (ST from fstat) into a new buffer. */
static char *passwd_file_read(int fd, const struct stat *st, const char *path,
			      size_t *len_r, char *error, size_t error_size)
{
	size_t size = (size_t)st->st_size, len = 0;
	char *buf;

	/* one byte more to notice a file that grew since fstat */
	buf = malloc(size + 1);
	if (buf == NULL) {
		passwd_file_error(error, error_size, path, 0, "out of memory");
		return NULL;
	}
	while (len <= size) {
		ssize_t got = read(fd, buf + len, size + 1 - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			passwd_file_error(error, error_size, path, 0,
					  "read: %s", strerror(errno));
			explicit_bzero(buf, len);
			free(buf);
			return NULL;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}
	if (len > size) {
		passwd_file_error(error, error_size, path, 0,
				  "file changed while being read");
		explicit_bzero(buf, len);
		free(buf);
		return NULL;
	}
	*len_r = len;
	return buf;
}

struct passwd_file *passwd_file_load(const char *path, char *error,
				     size_t error_size)
{
	struct passwd_file *file;
	struct stat st;
	size_t len = 0;
	char *text;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		passwd_file_error(error, error_size, path, 0, "open: %s",
				  strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		passwd_file_error(error, error_size, path, 0, "fstat: %s",
				  strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		passwd_file_error(error, error_size, path, 0,
				  "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_size > PASSWD_FILE_SIZE_MAX) {
		passwd_file_error(error, error_size, path, 0,
				  "file too large (more than %d bytes)",
				  PASSWD_FILE_SIZE_MAX);
		close(fd);
		return NULL;
	}
	text = passwd_file_read(fd, &st, path, &len, error, error_size);
	close(fd);
	if (text == NULL)
		return NULL;
	file = passwd_file_parse(path, text, len, error, error_size);
	explicit_bzero(text, len);
	free(text);
	if (file == NULL)
		return NULL;
	file->path = strdup(path);
	if (file->path == NULL) {
		passwd_file_free(&file);
		passwd_file_error(error, error_size, path, 0, "out of memory");
		return NULL;
	}
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->size = st.st_size;
	file->mtime = st.st_mtim;
	file->ctime = st.st_ctim;
	return file;
}

int passwd_file_refresh(struct passwd_file *file, char *error,
			size_t error_size)
{
	struct passwd_file *fresh, old;
	struct stat st;

	if (file->path == NULL)
		return 0;
	if (stat(file->path, &st) < 0) {
		passwd_file_error(error, error_size, file->path, 0,
				  "stat: %s", strerror(errno));
		return -1;
	}
	if (st.st_dev == file->dev && st.st_ino == file->ino
	    && st.st_size == file->size
	    && st.st_mtim.tv_sec == file->mtime.tv_sec
	    && st.st_mtim.tv_nsec == file->mtime.tv_nsec
	    && st.st_ctim.tv_sec == file->ctime.tv_sec
	    && st.st_ctim.tv_nsec == file->ctime.tv_nsec)
		return 0;
	fresh = passwd_file_load(file->path, error, error_size);
	if (fresh == NULL)
		return -1;
	/* swap the contents, so the caller's pointer stays valid */
	old = *file;
	*file = *fresh;
	*fresh = old;
	passwd_file_free(&fresh);
	return 1;
}

static int passwd_lookup_compare(const void *key, const void *member)
{
	const struct passwd_entry *entry = member;

	return strcmp(key, entry->user);
}

const struct passwd_entry *passwd_file_lookup(const struct passwd_file *file,
					      const char *user)
{
	if (file == NULL || file->count == 0)
		return NULL;
	return bsearch(user, file->entries, file->count,
		       sizeof(*file->entries), passwd_lookup_compare);
}

void passwd_file_free(struct passwd_file **file)
{
	struct passwd_file *f = *file;

	if (f == NULL)
		return;
	if (f->text != NULL) {
		/* the buffer holds hashes and {PLAIN} passwords */
		explicit_bzero(f->text, f->text_len);
		munmap(f->text, f->text_map_len);
	}
	free(f->entries);
	free(f->path);
	free(f);
	*file = NULL;
}

void passwd_file_forget(struct passwd_file *file)
{
	if (file == NULL || file->text == NULL)
		return;
	(void)munmap(file->text, file->text_map_len);
	file->text = NULL;
	file->text_len = 0;
	file->count = 0;
	file->dummy = NULL;
}

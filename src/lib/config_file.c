/* config_file: parse "key = value" files strictly. Every rejection names
 * the file, the line and what was expected; nothing here allocates
 * per-line memory beyond one bounded logical line. */
#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct config_line {
	char text[CONFIG_LINE_MAX + 1];
	size_t len;
	unsigned number;	/* line number where the setting starts */
	bool active;
};

static bool config_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int config_flush(const char *name, struct config_line *line,
			config_file_handler *handler, void *context,
			char *error, size_t error_size)
{
	char *key, *value, *equals, *end;
	const char *handler_error = NULL;
	size_t i;

	if (!line->active)
		return 0;
	line->active = false;
	line->text[line->len] = '\0';
	key = line->text;
	equals = strchr(key, '=');
	if (equals == NULL) {
		snprintf(error, error_size,
			 "%s:%u: expected \"key = value\", found no '='",
			 name, line->number);
		return -1;
	}
	end = equals;
	while (end > key && config_is_blank(end[-1]))
		end--;
	*end = '\0';
	if (*key == '\0') {
		snprintf(error, error_size, "%s:%u: missing key before '='",
			 name, line->number);
		return -1;
	}
	for (i = 0; key[i] != '\0'; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		      || c == '_')) {
			snprintf(error, error_size,
				 "%s:%u: bad key \"%.64s\": expected lower-case "
				 "letters, digits and '_'", name, line->number, key);
			return -1;
		}
	}
	value = equals + 1;
	while (config_is_blank(*value))
		value++;
	end = value + strlen(value);
	while (end > value && config_is_blank(end[-1]))
		end--;
	*end = '\0';
	if (handler(context, key, value, &handler_error) < 0) {
		snprintf(error, error_size, "%s:%u: %s: %s", name, line->number,
			 key, handler_error != NULL ? handler_error : "bad value");
		return -1;
	}
	return 0;
}

int config_file_parse_text(const char *name, const char *text, size_t len,
			   config_file_handler *handler, void *context,
			   char *error, size_t error_size)
{
	struct config_line *line;
	unsigned number = 0;
	size_t pos = 0;
	int ret = 0;

	line = calloc(1, sizeof(*line));
	if (line == NULL) {
		snprintf(error, error_size, "%s: out of memory", name);
		return -1;
	}
	while (pos < len && ret == 0) {
		const char *start = text + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t line_len = nl != NULL ? (size_t)(nl - start) : len - pos;
		size_t skip = 0;

		pos += line_len + (nl != NULL ? 1 : 0);
		number++;
		if (memchr(start, '\0', line_len) != NULL) {
			snprintf(error, error_size, "%s:%u: NUL byte in line",
				 name, number);
			ret = -1;
			break;
		}
		while (skip < line_len && config_is_blank(start[skip]))
			skip++;
		if (skip == line_len || start[skip] == '#')
			continue;	/* blank or comment line */
		if (skip > 0) {
			/* continuation of the previous setting */
			if (!line->active) {
				snprintf(error, error_size,
					 "%s:%u: line starts with blanks but "
					 "continues no setting", name, number);
				ret = -1;
				break;
			}
			if (line->len + 1 + (line_len - skip) > CONFIG_LINE_MAX) {
				snprintf(error, error_size,
					 "%s:%u: setting longer than %d bytes",
					 name, number, CONFIG_LINE_MAX);
				ret = -1;
				break;
			}
			line->text[line->len++] = ' ';
			memcpy(line->text + line->len, start + skip,
			       line_len - skip);
			line->len += line_len - skip;
			continue;
		}
		ret = config_flush(name, line, handler, context, error,
				   error_size);
		if (ret < 0)
			break;
		if (line_len > CONFIG_LINE_MAX) {
			snprintf(error, error_size,
				 "%s:%u: line longer than %d bytes", name,
				 number, CONFIG_LINE_MAX);
			ret = -1;
			break;
		}
		memcpy(line->text, start, line_len);
		line->len = line_len;
		line->number = number;
		line->active = true;
	}
	if (ret == 0)
		ret = config_flush(name, line, handler, context, error,
				   error_size);
	free(line);
	return ret;
}

int config_file_read(const char *path, config_file_handler *handler,
		     void *context, char *error, size_t error_size)
{
	struct stat st;
	char *text;
	ssize_t got;
	size_t total = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(error, error_size, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(error, error_size, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		snprintf(error, error_size, "%s: larger than %d bytes", path,
			 CONFIG_FILE_MAX);
		close(fd);
		return -1;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL) {
		snprintf(error, error_size, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (total < (size_t)st.st_size) {
		got = read(fd, text + total, (size_t)st.st_size - total);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			snprintf(error, error_size, "%s: read error: %s", path,
				 got < 0 ? strerror(errno) : "file shrank");
			free(text);
			close(fd);
			return -1;
		}
		total += (size_t)got;
	}
	close(fd);
	ret = config_file_parse_text(path, text, total, handler, context,
				     error, error_size);
	free(text);
	return ret;
}

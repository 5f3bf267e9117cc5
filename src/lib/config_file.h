#ifndef RELAYGATE_CONFIG_FILE_H
#define RELAYGATE_CONFIG_FILE_H
/* config_file: the "key = value" file syntax shared by every program.
 * Knows nothing of which keys exist; the caller's handler decides. */
#include <stddef.h>

/* Longest logical line (continuations included) and largest file. */
#define CONFIG_LINE_MAX 4096
#define CONFIG_FILE_MAX (1024 * 1024)

/* Called once per setting; returns 0, or -1 with a static or caller-owned
 * description of what was expected in *error_r. */
typedef int config_file_handler(void *context, const char *key,
				const char *value, const char **error_r);

/* Parse TEXT (LEN bytes) named NAME: "#" comment lines, blank lines,
 * "key = value" lines, and lines starting with blanks that continue the
 * previous value. Returns 0, or -1 with "NAME:LINE: problem" in ERROR. */
int config_file_parse_text(const char *name, const char *text, size_t len,
			   config_file_handler *handler, void *context,
			   char *error, size_t error_size);

/* Read and parse the file at PATH, as config_file_parse_text(). */
int config_file_read(const char *path, config_file_handler *handler,
		     void *context, char *error, size_t error_size);

#endif

/* pop3_command: the one place that splits client command lines. It never
 * looks beyond LEN and never copies an argument into a fixed buffer. */
#include "pop3_command.h"

#include <limits.h>
#include <string.h>

#define POP3_ARGUMENT_MAX 255

int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r,
		       const char **error_r)
{
	struct pop3_command *cmd = cmd_r;
	size_t i, keyword_len;
	char *p;

	memset(cmd, 0, sizeof(*cmd));
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL byte in command.";
		return -1;
	}
	for (keyword_len = 0; keyword_len < len && line[keyword_len] != ' ';
	     keyword_len++) {
		char c = line[keyword_len];

		if (keyword_len >= 4
		    || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
			*error_r = "Unknown command.";
			return -1;
		}
		cmd->name[keyword_len] = (char)(c & ~0x20);
	}
	if (keyword_len == 0) {
		*error_r = "Unknown command.";
		return -1;
	}
	cmd->name[keyword_len] = '\0';
	p = keyword_len < len ? line + keyword_len + 1 : line + len;
	cmd->rest = p;
	for (;;) {
		char *end;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > POP3_ARGUMENT_MAX
		    && strcmp(cmd->name, "PASS") != 0
		    && strcmp(cmd->name, "AUTH") != 0) {
			*error_r = "Argument too long.";
			return -1;
		}
		if (cmd->argc < POP3_COMMAND_ARGS_MAX)
			cmd->args[cmd->argc] = p;
		cmd->argc++;
		if (*end == '\0')
			break;
		/* cut the argument; PASS keeps its line in rest */
		if (strcmp(cmd->name, "PASS") == 0)
			break;
		*end = '\0';
		p = end + 1;
	}
	for (i = 0; i < len; i++) {
		/* control characters other than TAB in arguments: refused */
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t'
		    && line[i] != '\0') {
			*error_r = "Control character in command.";
			return -1;
		}
	}
	return 0;
}

int pop3_command_number(const char *text, unsigned long *value_r)
{
	unsigned long value = 0, digit;
	size_t i;

	if (*text == '\0')
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		digit = (unsigned long)(text[i] - '0');
		/* saturate: the digits are still all checked */
		if (value > (ULONG_MAX - digit) / 10)
			value = ULONG_MAX;
		else
			value = value * 10 + digit;
	}
	*value_r = value;
	return 0;
}

#ifndef RELAYGATE_POP3_COMMAND_H
#define RELAYGATE_POP3_COMMAND_H
/* pop3_command: split one POP3 command line (RFC 1939 section 3) into its
 * keyword and arguments, and parse message numbers, strictly. Pure code
 * with no I/O: the login and session processes and the fuzzer share it. */
#include <stdbool.h>
#include <stddef.h>

/* Longest command line accepted (without CRLF). RFC 2449 allows 255
 * octets; long passwords need more. */
#define POP3_COMMAND_LINE_MAX 1024
/* Longest SASL line (without CRLF): a response, or an AUTH command with
 * its initial response. RFC 5034 section 4 asks clients to keep AUTH
 * within 255 octets, but a server must take the longest response its
 * mechanisms make, and clients that send it anyway are common. */
#define POP3_SASL_LINE_MAX 4096
/* Arguments kept (more are counted in argc). */
#define POP3_COMMAND_ARGS_MAX 3

struct pop3_command {
	char name[5];		/* keyword in upper case, 1 to 4 letters */
	const char *args[POP3_COMMAND_ARGS_MAX];	/* point into the line */
	unsigned argc;		/* arguments found (may exceed the kept ones) */
	const char *rest;	/* everything after the keyword and one space
				 * (PASS: the password, spaces included) */
};

/* Parse LINE (LEN bytes, NUL-terminated, modified in place). Returns 0,
 * or -1 with a reply text for "-ERR " in *error_r (no NUL bytes, a
 * keyword of 1 to 4 letters, arguments of at most 255 octets but for
 * PASS's password and AUTH's initial response). */
int pop3_command_parse(char *line, size_t len, struct pop3_command *cmd_r,
		       const char **error_r);

/* A message number or line count: decimal digits only, no sign. A value
 * beyond ULONG_MAX is ULONG_MAX (RFC 1939: a TOP count beyond the body
 * sends all of it; no mailbox has that many messages). Returns 0 or -1. */
int pop3_command_number(const char *text, unsigned long *value_r);

#endif

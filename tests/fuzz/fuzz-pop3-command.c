/* fuzz-pop3-command: one client line split as the login and mail
 * processes of relaygate-pop3d split it. Invariants: the keyword is 1 to 4
 * upper-case letters, every argument lies inside the line and is at most
 * 255 bytes (PASS: the rest of the line; AUTH: as long as the line), and
 * message numbers parse only from decimal digits (saturated, never
 * wrapped). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "pop3_command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[POP3_SASL_LINE_MAX + 1];
	struct pop3_command cmd;
	const char *error = NULL;
	unsigned long number;
	size_t len = size > POP3_SASL_LINE_MAX ? POP3_SASL_LINE_MAX : size;
	size_t i;

	memcpy(line, data, len);
	line[len] = '\0';
	if (pop3_command_parse(line, len, &cmd, &error) < 0) {
		FUZZ_CHECK(error != NULL && *error != '\0');
		return 0;
	}
	FUZZ_CHECK(strlen(cmd.name) >= 1 && strlen(cmd.name) <= 4);
	for (i = 0; cmd.name[i] != '\0'; i++)
		FUZZ_CHECK(cmd.name[i] >= 'A' && cmd.name[i] <= 'Z');
	FUZZ_CHECK(cmd.rest >= line && cmd.rest <= line + len);
	for (i = 0; i < cmd.argc && i < POP3_COMMAND_ARGS_MAX; i++) {
		size_t arg_len = strlen(cmd.args[i]);

		FUZZ_CHECK(cmd.args[i] >= line && cmd.args[i] + arg_len <= line + len);
		FUZZ_CHECK(arg_len > 0);
		if (strcmp(cmd.name, "PASS") != 0)
			FUZZ_CHECK(strchr(cmd.args[i], ' ') == NULL);
		if (strcmp(cmd.name, "PASS") != 0 && strcmp(cmd.name, "AUTH") != 0)
			FUZZ_CHECK(arg_len <= 255);
		if (pop3_command_number(cmd.args[i], &number) == 0) {
			FUZZ_CHECK(strspn(cmd.args[i], "0123456789") == arg_len);
			/* saturated, never wrapped: 21 significant digits
			 * are more than any unsigned long holds */
			FUZZ_CHECK(strspn(cmd.args[i], "0") + 21 > arg_len
				   || number == ULONG_MAX);
		}
	}
	return 0;
}

/* test-pop3-command: POP3 command lines are split per RFC 1939: keywords
 * of 1 to 4 letters in any case, single-space separated arguments (PASS
 * keeps spaces), arguments up to 255 octets (PASS and AUTH: longer), NUL
 * and control bytes refused, and message numbers only from plain decimal
 * digits, saturated. */
#include "pop3_command.h"

#include <limits.h>
#include <string.h>

#include "test-common.h"

static int parse(const char *text, struct pop3_command *cmd, const char **error_r)
{
	static char line[POP3_SASL_LINE_MAX + 1];
	size_t len = strlen(text);

	memcpy(line, text, len + 1);
	return pop3_command_parse(line, len, cmd, error_r);
}

static void test_pop3_command_split(void)
{
	struct pop3_command cmd;
	const char *error;

	test_begin("pop3 command: keyword and arguments");
	test_assert(parse("stat", &cmd, &error) == 0);
	test_assert_strcmp(cmd.name, "STAT");
	test_assert(cmd.argc == 0);
	test_assert(parse("Top 3 10", &cmd, &error) == 0);
	test_assert_strcmp(cmd.name, "TOP");
	test_assert(cmd.argc == 2);
	test_assert_strcmp(cmd.args[0], "3");
	test_assert_strcmp(cmd.args[1], "10");
	test_assert(parse("PASS  two  spaces ", &cmd, &error) == 0);
	test_assert_strcmp(cmd.rest, " two  spaces ");
	test_assert(parse("LIST 1 2 3 4", &cmd, &error) == 0);
	test_assert(cmd.argc == 4);
	test_end();
}

static void test_pop3_command_refused(void)
{
	static const char nul_line[] = "STAT\0x";
	char line[16];
	struct pop3_command cmd;
	const char *error;
	char long_arg[300];

	test_begin("pop3 command: refused lines");
	test_assert(parse("", &cmd, &error) < 0);
	test_assert(parse(" STAT", &cmd, &error) < 0);
	test_assert(parse("STATS", &cmd, &error) < 0);
	test_assert(parse("ST1T", &cmd, &error) < 0);
	test_assert(parse("NOOP\x01", &cmd, &error) < 0);
	test_assert(parse("USER a\x1b[31m", &cmd, &error) < 0);
	memcpy(line, nul_line, sizeof(nul_line));
	test_assert(pop3_command_parse(line, sizeof(nul_line) - 1, &cmd, &error) < 0);
	test_assert_strcmp(error, "NUL byte in command.");
	memcpy(long_arg, "USER ", 5);
	memset(long_arg + 5, 'a', 256);
	long_arg[261] = '\0';
	test_assert(parse(long_arg, &cmd, &error) < 0);
	test_end();
}

static void test_pop3_command_long_arguments(void)
{
	static char line[POP3_SASL_LINE_MAX + 1];
	struct pop3_command cmd;
	const char *error;

	/* RFC 5034 section 4: an initial response may pass 255 octets */
	test_begin("pop3 command: AUTH and PASS take long arguments");
	memcpy(line, "auth PLAIN ", 11);
	memset(line + 11, 'A', 2000);
	line[2011] = '\0';
	test_assert(parse(line, &cmd, &error) == 0);
	test_assert_strcmp(cmd.name, "AUTH");
	test_assert(cmd.argc == 2 && strlen(cmd.args[1]) == 2000);
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'p', 600);
	line[605] = '\0';
	test_assert(parse(line, &cmd, &error) == 0);
	test_assert(strlen(cmd.rest) == 600);
	memcpy(line, "LIST ", 5);
	test_assert(parse(line, &cmd, &error) < 0);
	test_assert_strcmp(error, "Argument too long.");
	test_end();
}

static void test_pop3_command_number(void)
{
	unsigned long n;

	test_begin("pop3 command: message numbers");
	test_assert(pop3_command_number("1", &n) == 0 && n == 1);
	test_assert(pop3_command_number("0", &n) == 0 && n == 0);
	test_assert(pop3_command_number("4294967295", &n) == 0 && n == 4294967295ul);
	test_assert(pop3_command_number("12345678901", &n) == 0
		    && n == 12345678901ul);
	test_assert(pop3_command_number("0001", &n) == 0 && n == 1);
	/* beyond ULONG_MAX: saturated, not wrapped */
	test_assert(pop3_command_number("18446744073709551616", &n) == 0
		    && n == ULONG_MAX);
	test_assert(pop3_command_number("99999999999999999999999999999999999",
					&n) == 0 && n == ULONG_MAX);
	test_assert(pop3_command_number("99999999999999999999x", &n) < 0);
	test_assert(pop3_command_number("", &n) < 0);
	test_assert(pop3_command_number("+1", &n) < 0);
	test_assert(pop3_command_number("-1", &n) < 0);
	test_assert(pop3_command_number("1x", &n) < 0);
	test_end();
}

int main(void)
{
	test_pop3_command_split();
	test_pop3_command_refused();
	test_pop3_command_long_arguments();
	test_pop3_command_number();
	return test_exit();
}

/* test-message-crlf: LF to CRLF, byte-stuffing, TOP limits and sizes. */
#include "message_crlf.h"

#include <string.h>

#include "test-common.h"

struct crlf_case {
	const char *in;
	const char *out;	/* stuffed CRLF form */
	const char *terminator;
	uint64_t size;		/* RFC 1939 octets */
};

static const struct crlf_case crlf_cases[] = {
	{ "", "", ".\r\n", 0 },
	{ "a\n", "a\r\n", ".\r\n", 3 },
	{ "a\r\n", "a\r\n", ".\r\n", 3 },
	{ "a", "a", "\r\n.\r\n", 1 },
	{ "a\nb", "a\r\nb", "\r\n.\r\n", 4 },
	{ ".\n", "..\r\n", ".\r\n", 3 },
	{ "a\n.b\n..\n", "a\r\n..b\r\n...\r\n", ".\r\n", 11 },
	{ ".", "..", "\r\n.\r\n", 1 },
	{ "a.\n", "a.\r\n", ".\r\n", 4 },
	{ "\r", "\r", "\r\n.\r\n", 1 },
	{ "a\rb\n", "a\rb\r\n", ".\r\n", 5 },
	{ "\r.\n", "\r.\r\n", ".\r\n", 4 },
	{ "\r\r\n", "\r\r\n", ".\r\n", 3 },
	{ "\n\n", "\r\n\r\n", ".\r\n", 4 },
	{ "x\r\n.\r\n", "x\r\n..\r\n", ".\r\n", 6 },
};

/* Convert IN in pieces of STEP bytes into OUT; returns the length. */
static size_t convert_steps(struct message_crlf *conv, const char *in,
			    size_t step, char *out)
{
	size_t len = strlen(in), pos = 0, n = 0, chunk, consumed;

	while (pos < len && !message_crlf_done(conv)) {
		chunk = len - pos < step ? len - pos : step;
		n += message_crlf_convert(conv, (const unsigned char *)in + pos,
					  chunk, (unsigned char *)out + n,
					  &consumed);
		pos += consumed;
	}
	out[n] = '\0';
	return n;
}

static void test_message_crlf_cases(void)
{
	struct message_crlf conv;
	char out[64];
	size_t i, step, n;
	bool prev_cr;

	test_begin("message_crlf: LF to CRLF, dot-stuffing, sizes, any split");
	for (i = 0; i < sizeof(crlf_cases) / sizeof(crlf_cases[0]); i++) {
		const struct crlf_case *c = &crlf_cases[i];

		for (step = 1; step <= 8; step++) {
			message_crlf_init(&conv);
			n = convert_steps(&conv, c->in, step, out);
			test_assert_idx(n == strlen(c->out), i);
			test_assert_idx(strcmp(out, c->out) == 0, i);
			test_assert_idx(strcmp(message_crlf_terminator(&conv),
					       c->terminator) == 0, i);
			test_assert_idx(conv.size == c->size, i);
			test_assert_idx(conv.size + conv.stuffed == n, i);
		}
		prev_cr = false;
		test_assert_idx(message_crlf_size((const unsigned char *)c->in,
						  strlen(c->in), &prev_cr)
				== c->size, i);
	}
	test_end();
}

static void test_message_crlf_size_split_crlf(void)
{
	bool prev_cr = false;
	uint64_t size;

	test_begin("message_crlf_size: a CRLF split between two reads counts 2, a bare LF 2");
	size = message_crlf_size((const unsigned char *)"ab\r", 3, &prev_cr);
	size += message_crlf_size((const unsigned char *)"\n\n", 2, &prev_cr);
	test_assert_int_eq(size, 6);
	test_end();
}

struct top_case {
	const char *in;
	uint64_t lines;
	const char *out;
	const char *terminator;
};

static const struct top_case top_cases[] = {
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 0, "H: 1\r\nH: 2\r\n\r\n", ".\r\n" },
	{ "H: 1\nH: 2\n\nb1\nb2\nb3\n", 1, "H: 1\r\nH: 2\r\n\r\nb1\r\n",
	  ".\r\n" },
	{ "H: 1\r\n\r\n.b1\r\nb2", 2, "H: 1\r\n\r\n..b1\r\nb2",
	  "\r\n.\r\n" },
	{ "H: 1\n\nb1\n", 10, "H: 1\r\n\r\nb1\r\n", ".\r\n" },
	{ "H: 1\nH: 2\n", 0, "H: 1\r\nH: 2\r\n", ".\r\n" },
	{ "H: 1", 0, "H: 1", "\r\n.\r\n" },
	{ "\nb1\nb2\n", 1, "\r\nb1\r\n", ".\r\n" },
	{ "H: 1\n\r\n\nb2\n", 1, "H: 1\r\n\r\n\r\n", ".\r\n" },
	/* "\r\r\n" is not an empty line */
	{ "H: 1\n\r\r\nH: 2\n\nb\n", 0, "H: 1\r\n\r\r\nH: 2\r\n\r\n",
	  ".\r\n" },
};

static void test_message_crlf_top(void)
{
	struct message_crlf conv;
	char out[64];
	size_t i, step;

	test_begin("message_crlf_init_top: header, empty line, N body lines");
	for (i = 0; i < sizeof(top_cases) / sizeof(top_cases[0]); i++) {
		const struct top_case *c = &top_cases[i];

		for (step = 1; step <= 5; step++) {
			message_crlf_init_top(&conv, c->lines);
			convert_steps(&conv, c->in, step, out);
			test_assert_idx(strcmp(out, c->out) == 0, i);
			test_assert_idx(strcmp(message_crlf_terminator(&conv),
					       c->terminator) == 0, i);
		}
	}
	test_end();
}

int main(void)
{
	test_message_crlf_cases();
	test_message_crlf_size_split_crlf();
	test_message_crlf_top();
	return test_exit();
}

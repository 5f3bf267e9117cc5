/* fuzz-message-crlf: the CRLF and byte-stuffing converter on any bytes,
 * fed in two pieces split at a point the input chooses. Invariants: every
 * LF in the output follows a CR; no line begins with a lone '.'; the
 * output is the size plus the stuffed dots, and the size is what
 * message_crlf_size() counts; removing the stuffing gives the input with
 * each bare LF made CRLF; the output does not depend on the split; TOP
 * output is a prefix of the whole message; the terminator fits. */
#include "message_crlf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The converter as it was first written, a byte at a time: the fast one
 * must give the same bytes and the same state. */
struct reference {
	bool line_start, prev_cr, line_empty, in_header, limited, done;
	uint64_t body_lines_left, size, stuffed;
};

static void reference_init(struct reference *r, bool limited, uint64_t lines)
{
	memset(r, 0, sizeof(*r));
	r->line_start = r->line_empty = r->in_header = true;
	r->limited = limited;
	r->body_lines_left = lines;
}

static size_t reference_convert(struct reference *r, const uint8_t *in,
				size_t len, unsigned char *out,
				size_t *consumed_r)
{
	size_t i, n = 0, stuffed = 0;

	for (i = 0; i < len && !r->done; i++) {
		unsigned char c = in[i];

		if (c == '\n') {
			if (!r->prev_cr)
				out[n++] = '\r';
			out[n++] = '\n';
			r->prev_cr = false;
			r->line_start = true;
			if (r->in_header) {
				if (r->line_empty) {
					r->in_header = false;
					if (r->limited && r->body_lines_left == 0)
						r->done = true;
				}
			} else if (r->limited && --r->body_lines_left == 0) {
				r->done = true;
			}
			r->line_empty = true;
			continue;
		}
		if (r->line_start && c == '.') {
			out[n++] = '.';
			stuffed++;
		}
		out[n++] = c;
		r->line_empty = r->line_start && c == '\r';
		r->line_start = false;
		r->prev_cr = c == '\r';
	}
	*consumed_r = i;
	r->size += n - stuffed;
	r->stuffed += stuffed;
	return n;
}

/* Both converters on the same pieces give the same bytes and state. */
static void fuzz_compare(const uint8_t *in, size_t len, size_t split,
			 bool limited, uint64_t lines)
{
	struct message_crlf conv;
	struct reference ref;
	unsigned char *a = malloc(2 * len + 1), *b = malloc(2 * len + 1);
	size_t na, nb, ca, cb, at = 0;
	int piece;

	FUZZ_CHECK(a != NULL && b != NULL);
	if (limited)
		message_crlf_init_top(&conv, lines);
	else
		message_crlf_init(&conv);
	reference_init(&ref, limited, lines);
	for (piece = 0; piece < 2; piece++) {
		size_t end = piece == 0 ? split : len;

		na = message_crlf_convert(&conv, in + at, end - at, a, &ca);
		nb = reference_convert(&ref, in + at, end - at, b, &cb);
		FUZZ_CHECK(na == nb && ca == cb && memcmp(a, b, na) == 0);
		FUZZ_CHECK(conv.line_start == ref.line_start
			   && conv.prev_cr == ref.prev_cr
			   && conv.line_empty == ref.line_empty
			   && conv.in_header == ref.in_header
			   && conv.done == ref.done
			   && conv.body_lines_left == ref.body_lines_left
			   && conv.size == ref.size
			   && conv.stuffed == ref.stuffed);
		if (ca < end - at)
			break;
		at = end;
	}
	free(a);
	free(b);
}

/* Convert IN in two pieces split at SPLIT into OUT (2 * LEN bytes). */
static size_t fuzz_convert(struct message_crlf *conv, const uint8_t *in,
			   size_t len, size_t split, unsigned char *out)
{
	size_t n, consumed, consumed2;

	n = message_crlf_convert(conv, in, split, out, &consumed);
	FUZZ_CHECK(n <= 2 * consumed);
	if (consumed < split) {
		FUZZ_CHECK(message_crlf_done(conv));
		return n;
	}
	n += message_crlf_convert(conv, in + split, len - split, out + n,
				  &consumed2);
	FUZZ_CHECK(consumed2 == len - split || message_crlf_done(conv));
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message_crlf conv, conv1, top;
	unsigned char *out, *out1, *out_top, *plain, *expect;
	size_t n, n1, n_top, split, i, p, e, lines;
	bool line_start, prev_cr = false;
	const char *term;

	if (size < 2)
		return 0;
	split = data[0] % (size - 1);
	lines = data[1] % 8;
	data += 2;
	size -= 2;
	if (split > size)
		split = size;
	fuzz_compare(data, size, split, false, 0);
	fuzz_compare(data, size, split, true, lines);
	out = malloc(2 * size + 1);
	out1 = malloc(2 * size + 1);
	out_top = malloc(2 * size + 1);
	plain = malloc(2 * size + 1);
	expect = malloc(2 * size + 1);
	FUZZ_CHECK(out && out1 && out_top && plain && expect);

	message_crlf_init(&conv);
	n = fuzz_convert(&conv, data, size, split, out);
	FUZZ_CHECK(!message_crlf_done(&conv));
	FUZZ_CHECK(conv.size + conv.stuffed == n);
	FUZZ_CHECK(conv.size == message_crlf_size(data, size, &prev_cr));

	/* the split does not matter */
	message_crlf_init(&conv1);
	n1 = fuzz_convert(&conv1, data, size, size, out1);
	FUZZ_CHECK(n1 == n && memcmp(out, out1, n) == 0);
	FUZZ_CHECK(conv1.size == conv.size && conv1.stuffed == conv.stuffed);

	/* line ends are CRLF, and no line starts with a lone '.' */
	line_start = true;
	for (i = 0; i < n; i++) {
		if (out[i] == '\n')
			FUZZ_CHECK(i > 0 && out[i - 1] == '\r');
		if (line_start && out[i] == '.')
			FUZZ_CHECK(i + 1 < n && out[i + 1] == '.');
		if (line_start && out[i] == '.')
			i++;	/* the stuffed pair */
		line_start = out[i] == '\n';
	}

	/* un-stuffing gives the input with bare LF made CRLF */
	line_start = true;
	for (i = p = 0; i < n; i++) {
		if (line_start && out[i] == '.')
			i++;
		plain[p++] = out[i];
		line_start = out[i] == '\n';
	}
	for (i = e = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			expect[e++] = '\r';
		expect[e++] = data[i];
	}
	FUZZ_CHECK(p == e && p == conv.size && memcmp(plain, expect, e) == 0);

	/* the terminator makes the end of the response */
	term = message_crlf_terminator(&conv);
	if (n == 0 || out[n - 1] == '\n')
		FUZZ_CHECK(strcmp(term, ".\r\n") == 0);
	else
		FUZZ_CHECK(strcmp(term, "\r\n.\r\n") == 0);

	/* TOP is a prefix of the whole message ending at a line end or the
	 * end of the message */
	message_crlf_init_top(&top, lines);
	n_top = fuzz_convert(&top, data, size, split, out_top);
	FUZZ_CHECK(n_top <= n && memcmp(out_top, out, n_top) == 0);
	if (n_top < n)
		FUZZ_CHECK(n_top > 0 && out_top[n_top - 1] == '\n'
			   && message_crlf_done(&top));

	free(out);
	free(out1);
	free(out_top);
	free(plain);
	free(expect);
	return 0;
}

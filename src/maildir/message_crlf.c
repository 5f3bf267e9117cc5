/* message_crlf: LF to CRLF conversion and POP3 byte-stuffing, a line at a
 * time (memchr, memcpy) through a small state machine. Must never write
 * more than twice its input, and never look ahead (a chunk may end
 * anywhere). */
#include "message_crlf.h"

#include <string.h>

static const char message_crlf_end_line[] = ".\r\n";
static const char message_crlf_end_partial[] = "\r\n.\r\n";

void message_crlf_init(struct message_crlf *conv)
{
	conv->line_start = true;
	conv->prev_cr = false;
	conv->line_empty = true;
	conv->in_header = true;
	conv->limited = false;
	conv->done = false;
	conv->body_lines_left = 0;
	conv->size = 0;
	conv->stuffed = 0;
}

void message_crlf_init_top(struct message_crlf *conv, uint64_t body_lines)
{
	message_crlf_init(conv);
	conv->limited = true;
	conv->body_lines_left = body_lines;
}

/* A line has just ended: count it against a TOP limit. */
static void message_crlf_line_ended(struct message_crlf *conv, bool empty)
{
	if (conv->in_header) {
		if (empty) {
			conv->in_header = false;
			if (conv->limited && conv->body_lines_left == 0)
				conv->done = true;
		}
		return;
	}
	if (conv->limited && --conv->body_lines_left == 0)
		conv->done = true;
}

size_t message_crlf_convert(struct message_crlf *conv, const unsigned char *in,
			    size_t in_len, unsigned char *out,
			    size_t *consumed_r)
{
	size_t i = 0, n = 0, stuffed = 0;

	/* A line at a time: copy the bytes up to the next LF, then end the
	 * line (the state carries a line split across calls). */
	while (i < in_len && !conv->done) {
		const unsigned char *lf = memchr(in + i, '\n', in_len - i);
		size_t len = (lf != NULL ? (size_t)(lf - in) : in_len) - i;

		if (len > 0) {
			if (conv->line_start && in[i] == '.') {
				out[n++] = '.';
				stuffed++;
			}
			memcpy(out + n, in + i, len);
			n += len;
			/* "\r" alone may still be an empty line ending in
			 * "\r\n" */
			conv->line_empty = conv->line_start && len == 1
			    && in[i] == '\r';
			conv->line_start = false;
			conv->prev_cr = in[i + len - 1] == '\r';
			i += len;
		}
		if (lf == NULL)
			break;
		if (!conv->prev_cr)
			out[n++] = '\r';
		out[n++] = '\n';
		i++;
		conv->prev_cr = false;
		conv->line_start = true;
		message_crlf_line_ended(conv, conv->line_empty);
		conv->line_empty = true;
	}
	*consumed_r = i;
	conv->size += n - stuffed;
	conv->stuffed += stuffed;
	return n;
}

const char *message_crlf_terminator(const struct message_crlf *conv)
{
	return conv->line_start ? message_crlf_end_line
				: message_crlf_end_partial;
}

uint64_t message_crlf_size(const unsigned char *in, size_t in_len,
			   bool *prev_cr)
{
	uint64_t size = in_len;
	bool cr = *prev_cr;
	size_t i;

	for (i = 0; i < in_len; i++) {
		if (in[i] == '\n' && !cr)
			size++;
		cr = in[i] == '\r';
	}
	*prev_cr = cr;
	return size;
}

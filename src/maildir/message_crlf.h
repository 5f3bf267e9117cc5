#ifndef RELAYGATE_MESSAGE_CRLF_H
#define RELAYGATE_MESSAGE_CRLF_H
/* message_crlf: a stored message as a POP3 client receives it. Every LF
 * not preceded by CR becomes CRLF (a CR alone stays as it is, as in
 * Dovecot); a line that starts with "." gets another "." (RFC 1939
 * byte-stuffing); TOP stops after the header, the empty line and N body
 * lines. Streaming: input may be split anywhere.
 *
 * Sizes: the RFC 1939 octet count (LIST, STAT) is the CRLF form without
 * the stuffed dots and without the CRLF that the terminator adds after a
 * final line that has no newline. That is Dovecot's virtual size (its
 * ",W=" file name field), so a count taken from the name and one computed
 * here agree. The byte-stuffed stream a client receives is therefore
 * size + stuffed dots; message_crlf_terminator() closes it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct message_crlf {
	bool line_start;	/* the next input byte begins a line */
	bool prev_cr;		/* the last input byte was CR */
	bool line_empty;	/* the current line so far is at most one CR */
	bool in_header;		/* no empty line seen yet */
	bool limited;		/* TOP: stop after body_lines_left lines */
	bool done;		/* TOP limit reached: consume nothing more */
	uint64_t body_lines_left;
	uint64_t size;		/* output bytes without stuffed dots */
	uint64_t stuffed;	/* dots added */
};

/* Start converting a whole message. */
void message_crlf_init(struct message_crlf *conv);

/* Start converting for TOP: the header, the empty line, then at most
 * BODY_LINES lines of the body. */
void message_crlf_init_top(struct message_crlf *conv, uint64_t body_lines);

/* Convert up to IN_LEN bytes of IN into OUT, which must have room for
 * 2 * IN_LEN bytes. Sets *consumed_r (less than IN_LEN only when a TOP
 * limit was reached) and returns the number of bytes written. */
size_t message_crlf_convert(struct message_crlf *conv, const unsigned char *in,
			    size_t in_len, unsigned char *out,
			    size_t *consumed_r);

/* True once a TOP limit has been reached (the rest of the input is
 * not needed). */
static inline bool message_crlf_done(const struct message_crlf *conv)
{
	return conv->done;
}

/* What ends the multi-line response after the converted bytes:
 * ".\r\n" when they end with a line end (or are empty), else "\r\n.\r\n". */
const char *message_crlf_terminator(const struct message_crlf *conv);

/* Count the octets of IN in the CRLF form (no stuffing), carrying the
 * state in *PREV_CR across calls (start with false): every LF not
 * preceded by CR counts 2, every other byte 1. */
uint64_t message_crlf_size(const unsigned char *in, size_t in_len,
			   bool *prev_cr);

#endif

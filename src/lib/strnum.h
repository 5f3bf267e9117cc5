#ifndef RELAYGATE_STRNUM_H
#define RELAYGATE_STRNUM_H
/* strnum: the one strict parser for unsigned decimal numbers. */
#include <stdint.h>

/* Parse TEXT as an unsigned decimal number no larger than MAX: digits
 * only (no sign, no spaces, no leading zeros unless the number is "0"),
 * the whole string, overflow-checked. Returns 0, or -1 with *error_r set
 * to a static description ("not a number", "too large", ...). */
int strnum_parse_u64(const char *text, uint64_t max, uint64_t *value_r,
		     const char **error_r);

#endif

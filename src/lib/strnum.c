/* strnum: strict unsigned decimal parsing. Never accepts a sign, blanks,
 * leading zeros, trailing garbage or a value above the caller's limit. */
#include "strnum.h"

#include <stddef.h>

int strnum_parse_u64(const char *text, uint64_t max, uint64_t *value_r,
		     const char **error_r)
{
	uint64_t value = 0;
	const char *p;

	if (text == NULL || *text == '\0') {
		*error_r = "empty number";
		return -1;
	}
	if (*text == '-') {
		*error_r = "negative number";
		return -1;
	}
	for (p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*error_r = "not a decimal number";
			return -1;
		}
	}
	if (text[0] == '0' && text[1] != '\0') {
		*error_r = "leading zero in number";
		return -1;
	}
	for (p = text; *p != '\0'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (digit > max || value > (max - digit) / 10) {
			*error_r = "number too large";
			return -1;
		}
		value = value * 10 + digit;
	}
	*value_r = value;
	return 0;
}

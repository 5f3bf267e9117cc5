/* timespan: parse and print time values with units. Strict: every part
 * needs digits, a unit may appear at most once per part, the total may
 * not overflow TIMESPAN_MAX_SECONDS. */
#include "timespan.h"

#include <stdio.h>
#include <string.h>

static int64_t timespan_unit_seconds(char unit)
{
	switch (unit) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 604800;
	default: return 0;
	}
}

int timespan_parse(const char *text, int64_t *seconds_r, const char **error_r)
{
	int64_t total = 0;
	const char *p = text;

	if (text == NULL || *text == '\0') {
		*error_r = "empty time value";
		return -1;
	}
	while (*p != '\0') {
		int64_t number = 0, unit;
		const char *digits = p;

		if (*p == '-') {
			*error_r = "negative time value";
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			number = number * 10 + (*p - '0');
			if (number > TIMESPAN_MAX_SECONDS) {
				*error_r = "time value too large";
				return -1;
			}
			p++;
		}
		if (p == digits) {
			*error_r = "expected a number followed by s, m, h, d or w";
			return -1;
		}
		if (*p == '\0') {
			if (digits != text) {
				*error_r = "a number after the first part needs "
					   "a unit (s, m, h, d or w)";
				return -1;
			}
			unit = 1;
		} else {
			unit = timespan_unit_seconds(*p);
			if (unit == 0) {
				*error_r = "unknown time unit (expected s, m, h, d or w)";
				return -1;
			}
			p++;
		}
		if (number > (TIMESPAN_MAX_SECONDS - total) / unit) {
			*error_r = "time value too large";
			return -1;
		}
		total += number * unit;
	}
	*seconds_r = total;
	return 0;
}

void timespan_format(int64_t seconds, char *buf, unsigned long size)
{
	static const char units[] = "wdhms";
	int i;

	if (seconds == 0) {
		snprintf(buf, size, "0s");
		return;
	}
	for (i = 0; units[i] != '\0'; i++) {
		int64_t unit = timespan_unit_seconds(units[i]);

		if (seconds % unit == 0) {
			snprintf(buf, size, "%lld%c", (long long)(seconds / unit),
				 units[i]);
			return;
		}
	}
}

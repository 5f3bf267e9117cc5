#ifndef RELAYGATE_TIMESPAN_H
#define RELAYGATE_TIMESPAN_H
/* timespan: time values of the configuration ("30m", "1h30m", "900s"). */
#include <stdint.h>

/* Largest accepted time value, in seconds (about 68 years). */
#define TIMESPAN_MAX_SECONDS ((int64_t)2147483647)

/* Parse TEXT as a time value: one or more NUMBER[UNIT] parts with UNIT
 * s (seconds, the default for a bare number), m, h, d or w. Returns 0 and
 * the total in *seconds_r, or -1 with a static description in *error_r. */
int timespan_parse(const char *text, int64_t *seconds_r, const char **error_r);

/* Format SECONDS in the largest exact unit ("30m", "90s", "2h") into BUF. */
void timespan_format(int64_t seconds, char *buf, unsigned long size);

#endif

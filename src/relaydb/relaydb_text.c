/* relaydb_text: parse the list/dump text form (what makemap also reads)
 * strictly, and format its timestamp comments. A parse either succeeds
 * completely or reports the first bad line and returns nothing. */
#include "relaydb_text.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A parsed line: the grant and where it came from. */
struct text_entry {
	struct relaydb_grant grant;
	unsigned line;
};

static int text_entry_compare(const void *a, const void *b)
{
	const struct text_entry *ea = a, *eb = b;
	int cmp;

	if (ea->grant.address.family != eb->grant.address.family)
		return ea->grant.address.family < eb->grant.address.family
		    ? -1 : 1;
	cmp = memcmp(ea->grant.address.bytes, eb->grant.address.bytes,
		     sizeof(ea->grant.address.bytes));
	if (cmp != 0)
		return cmp;
	return ea->line < eb->line ? -1 : ea->line > eb->line;
}

static int text_fail(char *error, size_t error_size, const char *name,
		     unsigned line, const char *what, const char *detail)
{
	snprintf(error, error_size, "%s:%u: %s%s%s", name, line, what,
		 detail != NULL ? ": " : "", detail != NULL ? detail : "");
	return -1;
}

/* Split LINE in place into at most MAX blank-separated fields. */
static int text_split(char *line, char **fields, int max)
{
	char *p = line;
	int count = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p != '\0') {
		if (count == max)
			return max + 1;
		fields[count++] = p;
		p += strcspn(p, " \t");
		if (*p != '\0')
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
	}
	return count;
}

int relaydb_text_parse(const char *name, const char *text, size_t len,
		       struct relaydb_text *result, char *error,
		       size_t error_size)
{
	struct text_entry *entries = NULL;
	struct relaydb_grant *grants = NULL;
	size_t count = 0, capacity = 0, pos = 0, i, out = 0;
	unsigned number = 0;

	while (pos < len) {
		char line[RELAYDB_TEXT_LINE_MAX + 1], *fields[2], *p;
		const char *start = text + pos, *nl, *problem;
		size_t line_len;
		int nfields;
		struct text_entry entry;

		nl = memchr(start, '\n', len - pos);
		line_len = nl != NULL ? (size_t)(nl - start) : len - pos;
		pos += line_len + (nl != NULL ? 1 : 0);
		number++;
		if (line_len > 0 && start[line_len - 1] == '\r')
			line_len--;
		if (line_len > RELAYDB_TEXT_LINE_MAX) {
			text_fail(error, error_size, name, number,
				  "line too long", NULL);
			goto fail;
		}
		if (memchr(start, '\0', line_len) != NULL) {
			text_fail(error, error_size, name, number,
				  "NUL byte in line", NULL);
			goto fail;
		}
		memcpy(line, start, line_len);
		line[line_len] = '\0';
		p = line + strspn(line, " \t");
		if (*p == '\0' || *p == '#')
			continue;
		nfields = text_split(line, fields, 2);
		if (nfields != 2) {
			text_fail(error, error_size, name, number, nfields < 2
				  ? "expected \"address timestamp\", found one field"
				  : "expected \"address timestamp\", found more "
				    "than two fields", NULL);
			goto fail;
		}
		if (address_parse(fields[0], &entry.grant.address, &problem) < 0) {
			char what[96], shown[64];

			log_sanitize(fields[0], shown, sizeof(shown));
			snprintf(what, sizeof(what), "bad address \"%.48s%s\"",
				 shown, strlen(shown) > 48 ? "..." : "");
			text_fail(error, error_size, name, number, what,
				  problem);
			goto fail;
		}
		if (relaydb_parse_time(fields[1], &entry.grant.when,
				       &problem) < 0) {
			char what[128], shown[40];

			log_sanitize(fields[1], shown, sizeof(shown));
			snprintf(what, sizeof(what), "bad timestamp \"%.24s%s\" "
				 "(expected seconds since the epoch, 0 to "
				 "253402300799)", shown,
				 strlen(shown) > 24 ? "..." : "");
			text_fail(error, error_size, name, number, what,
				  problem);
			goto fail;
		}
		entry.line = number;
		if (count == capacity) {
			size_t new_capacity = capacity == 0 ? 64 : capacity * 2;
			struct text_entry *grown =
			    realloc(entries, new_capacity * sizeof(*grown));

			if (grown == NULL) {
				text_fail(error, error_size, name, number,
					  "out of memory", NULL);
				goto fail;
			}
			entries = grown;
			capacity = new_capacity;
		}
		entries[count++] = entry;
	}
	/* An IPv6 address appears under both key forms: collapse entries for
	 * one address, which must agree on the time. */
	if (count > 0) {
		qsort(entries, count, sizeof(*entries), text_entry_compare);
		grants = malloc(count * sizeof(*grants));
		if (grants == NULL) {
			text_fail(error, error_size, name, number,
				  "out of memory", NULL);
			goto fail;
		}
	}
	for (i = 0; i < count; i++) {
		if (i > 0 && entries[i].grant.address.family
			     == entries[i - 1].grant.address.family
		    && memcmp(entries[i].grant.address.bytes,
			      entries[i - 1].grant.address.bytes,
			      sizeof(entries[i].grant.address.bytes)) == 0) {
			if (entries[i].grant.when != entries[i - 1].grant.when) {
				char message[96];

				snprintf(message, sizeof(message),
					 "same address as line %u with another "
					 "timestamp", entries[i - 1].line);
				text_fail(error, error_size, name,
					  entries[i].line, message, NULL);
				goto fail;
			}
			continue;
		}
		grants[out++] = entries[i].grant;
	}
	free(entries);
	result->grants = grants;
	result->count = out;
	return 0;
fail:
	free(entries);
	free(grants);
	return -1;
}

void relaydb_text_free(struct relaydb_text *result)
{
	free(result->grants);
	result->grants = NULL;
	result->count = 0;
}

const char *relaydb_text_comment(int64_t when, char *buf, size_t size)
{
	char stamp[64];
	time_t t = (time_t)when;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL
	    || strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		snprintf(stamp, sizeof(stamp), "out of range");
	snprintf(buf, size, "# timestamp (UTC): %s", stamp);
	return buf;
}

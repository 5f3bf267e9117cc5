/* maildir_name: the Maildir file name parser. Pure: no I/O, no allocation.
 * Its input is a name read from a directory that other programs fill, so
 * it must accept any bytes without reading past LEN. */
#include "maildir_name.h"

#include <string.h>

/* Parse the decimal digits at TEXT[*pos..END) into *value_r, stopping at
 * the first non-digit. Returns false if there is no digit or it overflows. */
static bool maildir_name_digits(const char *text, size_t *pos, size_t end,
				uint64_t *value_r)
{
	uint64_t value = 0;
	size_t i = *pos;
	unsigned digit;

	if (i >= end || text[i] < '0' || text[i] > '9')
		return false;
	for (; i < end && text[i] >= '0' && text[i] <= '9'; i++) {
		digit = (unsigned)(text[i] - '0');
		if (value > (UINT64_MAX - digit) / 10)
			return false;
		value = value * 10 + digit;
	}
	*pos = i;
	*value_r = value;
	return true;
}

/* The number of ",<KEY>=<digits>" at NAME[I..BASE_LEN), ended by ',' or
 * the end of the base, into *VALUE_R. */
static bool maildir_name_field_value(const char *name, size_t i,
				     size_t base_len, uint64_t *value_r)
{
	size_t pos = i + 3;

	if (!maildir_name_digits(name, &pos, base_len, value_r))
		return false;
	return pos == base_len || name[pos] == ',';
}

/* Dovecot's ",W=<digits>" and Courier's and Dovecot's ",S=<digits>" in the
 * base, in one pass; the first ",W=" and the first ",S=" decide. */
static void maildir_name_find_sizes(const char *name,
				    struct maildir_name *name_r)
{
	size_t i, base_len = name_r->base_len;
	bool seen_vsize = false, seen_disk_size = false;

	for (i = 0; i + 3 <= base_len; i++) {
		if (name[i] != ',' || name[i + 2] != '=')
			continue;
		if (name[i + 1] == 'W' && !seen_vsize) {
			seen_vsize = true;
			name_r->has_vsize = maildir_name_field_value(
				name, i, base_len, &name_r->vsize);
		} else if (name[i + 1] == 'S' && !seen_disk_size) {
			seen_disk_size = true;
			name_r->has_disk_size = maildir_name_field_value(
				name, i, base_len, &name_r->disk_size);
		}
		if (seen_vsize && seen_disk_size)
			break;
	}
	if (!name_r->has_vsize)
		name_r->vsize = 0;
	if (!name_r->has_disk_size)
		name_r->disk_size = 0;
}

int maildir_name_parse(const char *name, size_t len, size_t max_len,
		       struct maildir_name *name_r, const char **error_r)
{
	const char *colon;
	size_t pos;

	memset(name_r, 0, sizeof(*name_r));
	if (len == 0) {
		*error_r = "empty name";
		return -1;
	}
	if (len > max_len) {
		*error_r = "name too long";
		return -1;
	}
	if (name[0] == '.') {
		*error_r = "dot file";
		return -1;
	}
	if (memchr(name, '/', len) != NULL || memchr(name, '\0', len) != NULL) {
		*error_r = "'/' or NUL in name";
		return -1;
	}
	colon = memchr(name, ':', len);
	name_r->base_len = colon != NULL ? (size_t)(colon - name) : len;
	if (name_r->base_len == 0) {
		*error_r = "empty base name";
		return -1;
	}
	if (colon != NULL && len - name_r->base_len >= 3
	    && colon[1] == '2' && colon[2] == ',') {
		name_r->has_info = true;
		name_r->flags_offset = name_r->base_len + 3;
	}
	maildir_name_find_sizes(name, name_r);
	pos = 0;
	name_r->has_time = maildir_name_digits(name, &pos, name_r->base_len,
					       &name_r->time)
			   && (pos == name_r->base_len || name[pos] == '.');
	if (!name_r->has_time)
		name_r->time = 0;
	return 0;
}

bool maildir_name_has_base(const char *name, size_t len, const char *base,
			   size_t base_len)
{
	if (len < base_len || memcmp(name, base, base_len) != 0)
		return false;
	return len == base_len || name[base_len] == ':';
}

/* 64-bit FNV-1a of DATA, started from BASIS. */
static uint64_t maildir_name_fnv1a(const char *data, size_t len,
				   uint64_t basis)
{
	uint64_t hash = basis;
	size_t i;

	for (i = 0; i < len; i++) {
		hash ^= (unsigned char)data[i];
		hash *= UINT64_C(0x100000001b3);
	}
	return hash;
}

/* Write VALUE as 16 lower-case hex digits at OUT. */
static void maildir_name_hex64(uint64_t value, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = hex[value & 0xf];
		value >>= 4;
	}
}

void maildir_name_uidl(const char *base, size_t base_len,
		       char uidl[MAILDIR_UIDL_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	bool printable = base_len >= 1 && base_len <= MAILDIR_UIDL_MAX;
	size_t i;

	for (i = 0; printable && i < base_len; i++)
		printable = (unsigned char)base[i] >= 0x21
			    && (unsigned char)base[i] <= 0x7e;
	if (printable) {
		memcpy(uidl, base, base_len);
		uidl[base_len] = '\0';
		return;
	}
	if (base_len <= (MAILDIR_UIDL_MAX - 2) / 2) {
		uidl[0] = 'x';
		uidl[1] = ':';
		for (i = 0; i < base_len; i++) {
			uidl[2 + 2 * i] = hex[(unsigned char)base[i] >> 4];
			uidl[3 + 2 * i] = hex[(unsigned char)base[i] & 0xf];
		}
		uidl[2 + 2 * base_len] = '\0';
		return;
	}
	/* Two FNV-1a hashes with different bases; the mailbox owner's own
	 * delivery agents choose these names, not a remote sender. */
	uidl[0] = 'h';
	uidl[1] = ':';
	maildir_name_hex64(maildir_name_fnv1a(base, base_len,
					      UINT64_C(0xcbf29ce484222325)),
			   uidl + 2);
	maildir_name_hex64(maildir_name_fnv1a(base, base_len,
					      UINT64_C(0x84222325cbf29ce4))
			   ^ (uint64_t)base_len,
			   uidl + 18);
	uidl[34] = '\0';
}

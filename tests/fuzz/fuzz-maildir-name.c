/* fuzz-maildir-name: maildir_name_parse and maildir_name_uidl on any
 * bytes. Invariants: a parsed name has a non-empty base without ':' that
 * ends at the first ':' or the end; ":2," info is where it says; a W= size
 * is the number after the first ",W=" in the base; a flags rename (another info
 * part) keeps the base, the W= size, the time and the UIDL; the UIDL is
 * 1-70 bytes in 0x21..0x7E, the base itself when that is valid; a refused
 * name breaks one of the documented rules. */
#include "maildir_name.h"

#include <stdint.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NAME_MAX 255

/* The UIDL of BASE is valid and, when BASE is a valid UIDL, BASE. */
static void fuzz_check_uidl(const char *base, size_t base_len)
{
	char uidl[MAILDIR_UIDL_MAX + 1], again[MAILDIR_UIDL_MAX + 1];
	bool printable = base_len <= MAILDIR_UIDL_MAX;
	size_t i, len;

	maildir_name_uidl(base, base_len, uidl);
	len = strlen(uidl);
	FUZZ_CHECK(len >= 1 && len <= MAILDIR_UIDL_MAX);
	for (i = 0; i < len; i++)
		FUZZ_CHECK((unsigned char)uidl[i] >= 0x21
			   && (unsigned char)uidl[i] <= 0x7e);
	for (i = 0; printable && i < base_len; i++)
		printable = (unsigned char)base[i] >= 0x21
			    && (unsigned char)base[i] <= 0x7e;
	if (printable)
		FUZZ_CHECK(len == base_len && memcmp(uidl, base, len) == 0);
	else
		FUZZ_CHECK(len > 2 && uidl[1] == ':'
			   && (uidl[0] == 'x' || uidl[0] == 'h'));
	maildir_name_uidl(base, base_len, again);
	FUZZ_CHECK(strcmp(uidl, again) == 0);
}

static void fuzz_check_parsed(const char *name, size_t len,
			      const struct maildir_name *parsed)
{
	struct maildir_name renamed;
	const char *error = NULL;
	char other[FUZZ_NAME_MAX + 16];
	uint64_t value, digit;
	size_t i;

	FUZZ_CHECK(parsed->base_len >= 1 && parsed->base_len <= len);
	FUZZ_CHECK(memchr(name, ':', parsed->base_len) == NULL);
	FUZZ_CHECK(parsed->base_len == len || name[parsed->base_len] == ':');
	FUZZ_CHECK(name[0] != '.');
	FUZZ_CHECK(memchr(name, '/', len) == NULL);
	FUZZ_CHECK(memchr(name, '\0', len) == NULL);
	FUZZ_CHECK(maildir_name_has_base(name, len, name, parsed->base_len));
	if (parsed->has_info) {
		FUZZ_CHECK(parsed->flags_offset == parsed->base_len + 3);
		FUZZ_CHECK(parsed->flags_offset <= len);
		FUZZ_CHECK(memcmp(name + parsed->base_len, ":2,", 3) == 0);
	}
	/* the first ",W=" in the base decides; leading zeros are fine */
	for (i = 0; i + 3 <= parsed->base_len; i++)
		if (memcmp(name + i, ",W=", 3) == 0)
			break;
	if (parsed->has_vsize) {
		FUZZ_CHECK(i + 3 < parsed->base_len);
		for (i += 3, value = 0; i < parsed->base_len
		     && name[i] >= '0' && name[i] <= '9'; i++) {
			digit = (uint64_t)(name[i] - '0');
			FUZZ_CHECK(value <= (UINT64_MAX - digit) / 10);
			value = value * 10 + digit;
		}
		FUZZ_CHECK(value == parsed->vsize);
		FUZZ_CHECK(i == parsed->base_len || name[i] == ',');
	} else {
		FUZZ_CHECK(parsed->vsize == 0);
	}
	if (!parsed->has_disk_size)
		FUZZ_CHECK(parsed->disk_size == 0);
	if (parsed->has_time)
		FUZZ_CHECK(name[0] >= '0' && name[0] <= '9');
	else
		FUZZ_CHECK(parsed->time == 0);
	fuzz_check_uidl(name, parsed->base_len);

	/* another program changes the flags */
	memcpy(other, name, parsed->base_len);
	memcpy(other + parsed->base_len, ":2,FRS", 6);
	FUZZ_CHECK(maildir_name_parse(other, parsed->base_len + 6,
				      sizeof(other), &renamed, &error) == 0);
	FUZZ_CHECK(renamed.base_len == parsed->base_len);
	FUZZ_CHECK(renamed.has_info);
	FUZZ_CHECK(renamed.has_vsize == parsed->has_vsize);
	FUZZ_CHECK(renamed.vsize == parsed->vsize);
	FUZZ_CHECK(renamed.has_disk_size == parsed->has_disk_size);
	FUZZ_CHECK(renamed.disk_size == parsed->disk_size);
	FUZZ_CHECK(renamed.has_time == parsed->has_time);
	FUZZ_CHECK(renamed.time == parsed->time);
	FUZZ_CHECK(maildir_name_has_base(other, parsed->base_len + 6, name,
					 parsed->base_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct maildir_name parsed;
	const char *name = (const char *)data, *error = NULL, *colon;

	if (maildir_name_parse(name, size, FUZZ_NAME_MAX, &parsed, &error)
	    == 0) {
		FUZZ_CHECK(size <= FUZZ_NAME_MAX);
		fuzz_check_parsed(name, size, &parsed);
	} else {
		FUZZ_CHECK(error != NULL);
		colon = memchr(name, ':', size);
		FUZZ_CHECK(size == 0 || size > FUZZ_NAME_MAX || name[0] == '.'
			   || memchr(name, '/', size) != NULL
			   || memchr(name, '\0', size) != NULL
			   || colon == name);
	}
	/* any bytes as a base name give a valid UIDL */
	if (size > 0)
		fuzz_check_uidl(name, size);
	return 0;
}

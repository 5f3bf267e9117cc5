/* fuzz-passwd-file: passwd_file_parse on any bytes. Invariants: an error
 * names "fuzz.passwd:" and returns nothing; an accepted file has valid,
 * distinct, sorted users that lookup finds, checked uid/gid/home, a dummy
 * exactly when some entry can be verified, {PLAIN} entries that verify
 * their own password, and written back as lines it parses to the same
 * entries. No crypt(3) work here: a bcrypt cost of 31 would stall it. */
#include "passwd_file.h"
#include "password.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write ENTRY as a passwd-file line (CRLF) at TEXT + *LEN; false when the
 * line would be over the limit (the round trip is then skipped). */
static bool fuzz_write_entry(const struct passwd_entry *entry, char *text,
			     size_t *len, size_t size)
{
	const char *scheme = "";
	char uid[16] = "", gid[16] = "";
	int n;

	if (entry->scheme != PASSWORD_SCHEME_CRYPT || entry->password[0] == '{')
		scheme = password_scheme_name(entry->scheme);
	if (entry->has_uid)
		snprintf(uid, sizeof(uid), "%u", (unsigned)entry->uid);
	if (entry->has_gid)
		snprintf(gid, sizeof(gid), "%u", (unsigned)entry->gid);
	n = snprintf(text + *len, size - *len, "%s:%s%s%s%s:%s:%s::%s::%s\r\n",
		     entry->user, *scheme != '\0' ? "{" : "", scheme,
		     *scheme != '\0' ? "}" : "", entry->password, uid, gid,
		     entry->home, entry->extra_fields);
	FUZZ_CHECK(n > 0 && (size_t)n < size - *len);
	if ((size_t)n - 2 > PASSWD_FILE_LINE_MAX)
		return false;
	*len += (size_t)n;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct passwd_file *file, *again;
	char error[512];
	size_t i, len = 0, text_size;
	bool usable = false, round_trip = true;
	char *text;

	memset(error, 'X', sizeof(error));
	/* the text is not NUL-terminated: the parser must honour SIZE */
	file = passwd_file_parse("fuzz.passwd", (const char *)data, size,
				 error, sizeof(error));
	if (file == NULL) {
		FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL);
		FUZZ_CHECK(strncmp(error, "fuzz.passwd:", 12) == 0);
		return 0;
	}
	text_size = size + file->count * 64 + 1;
	text = malloc(text_size);
	FUZZ_CHECK(text != NULL);
	for (i = 0; i < file->count; i++) {
		const struct passwd_entry *entry = &file->entries[i];
		const unsigned char *p;
		const char *ignored;

		FUZZ_CHECK(entry->user[0] != '\0');
		FUZZ_CHECK(strlen(entry->user) <= PASSWD_FILE_USER_MAX);
		for (p = (const unsigned char *)entry->user; *p != '\0'; p++)
			FUZZ_CHECK(*p > ' ' && *p != 0x7f && *p != ':');
		FUZZ_CHECK(i == 0 || strcmp(entry[-1].user, entry->user) < 0);
		FUZZ_CHECK(passwd_file_lookup(file, entry->user) == entry);
		FUZZ_CHECK(entry->password[0] != '\0');
		FUZZ_CHECK(strchr(entry->password, ':') == NULL);
		FUZZ_CHECK(!entry->locked
			   || entry->scheme == PASSWORD_SCHEME_CRYPT);
		FUZZ_CHECK(!entry->has_uid || (entry->uid != 0
					       && entry->uid != (uid_t)-1));
		FUZZ_CHECK(!entry->has_gid || (entry->gid != 0
					       && entry->gid != (gid_t)-1));
		FUZZ_CHECK(entry->home[0] == '\0' || entry->home[0] == '/');
		FUZZ_CHECK(strchr(entry->home, ':') == NULL);
		FUZZ_CHECK(entry->line >= 1);
		if (!entry->locked)
			usable = true;
		if (entry->scheme == PASSWORD_SCHEME_PLAIN) {
			FUZZ_CHECK(password_plaintext_available(entry));
			FUZZ_CHECK(password_verify(entry, entry->password,
						   &ignored)
				   == PASSWORD_MATCH
				   || strlen(entry->password) > 1024);
		} else {
			FUZZ_CHECK(password_plaintext(entry) == NULL);
		}
		if (round_trip)
			round_trip = fuzz_write_entry(entry, text, &len,
						      text_size);
	}
	FUZZ_CHECK((file->dummy != NULL) == usable);
	FUZZ_CHECK(file->dummy == NULL || !file->dummy->locked);

	if (round_trip) {
		again = passwd_file_parse("again.passwd", text, len, error,
					  sizeof(error));
		if (again == NULL)
			fprintf(stderr, "round trip: %s\n", error);
		FUZZ_CHECK(again != NULL);
		FUZZ_CHECK(again->count == file->count);
		for (i = 0; i < again->count; i++) {
			const struct passwd_entry *a = &again->entries[i];
			const struct passwd_entry *b = &file->entries[i];

			FUZZ_CHECK(strcmp(a->user, b->user) == 0);
			FUZZ_CHECK(a->scheme == b->scheme);
			FUZZ_CHECK(strcmp(a->password, b->password) == 0);
			FUZZ_CHECK(a->locked == b->locked);
			FUZZ_CHECK(a->has_uid == b->has_uid && a->uid == b->uid);
			FUZZ_CHECK(a->has_gid == b->has_gid && a->gid == b->gid);
			FUZZ_CHECK(strcmp(a->home, b->home) == 0);
			FUZZ_CHECK(strcmp(a->extra_fields,
					  b->extra_fields) == 0);
		}
		passwd_file_free(&again);
	}
	free(text);
	passwd_file_free(&file);
	return 0;
}

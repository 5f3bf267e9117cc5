/* fuzz-mail-location: a mail_location template expanded for a user, as
 * the auth processes of the POP3 (and IMAP) server expand it. Input: one
 * byte giving the size of a small output buffer, then TEMPLATE, USER and
 * HOME separated by NUL bytes (missing parts are empty). Invariants: a
 * template mail_location_check refuses is refused by expand with the same
 * message; a success is a NUL-terminated absolute path inside the buffer;
 * the small buffer succeeds exactly when the path expanded into a large
 * one fits it, with the same bytes; a template without %, ~ is the path
 * itself; the CONTROL= directory is refused with the template, else none
 * or an absolute path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-check.h"
#include "mail_location.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char large[MAIL_LOCATION_PATH_MAX], control[MAIL_LOCATION_PATH_MAX];
	const char *control_error;
	int control_ret;
	const char *parts[3] = { "", "", "" };
	const char *check_error = NULL, *error = NULL, *small_error = NULL;
	char *text, *small, *p;
	size_t small_size, i;
	int check_ret, ret, small_ret;

	if (size < 1)
		return 0;
	small_size = data[0];
	text = malloc(size);	/* the rest and a final NUL */
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	for (i = 0, p = text; i < 3 && p < text + size; i++) {
		parts[i] = p;
		p += strlen(p) + 1;
	}

	check_ret = mail_location_check(parts[0], &check_error);
	FUZZ_CHECK(check_ret == 0 || check_ret == -1);
	FUZZ_CHECK(check_ret == 0 || check_error != NULL);

	ret = mail_location_expand(parts[0], parts[1], parts[2], large,
				   sizeof(large), &error);
	FUZZ_CHECK(ret == 0 || ret == -1);
	if (check_ret < 0)
		FUZZ_CHECK(ret < 0 && error == check_error);
	if (ret == 0) {
		FUZZ_CHECK(check_ret == 0);
		FUZZ_CHECK(memchr(large, '\0', sizeof(large)) != NULL);
		FUZZ_CHECK(large[0] == '/');
		/* without variables the result is PATH, before any option */
		if (strpbrk(parts[0], "%~") == NULL) {
			const char *path = parts[0] + strlen("maildir:");
			size_t path_len = strcspn(path, ":");

			FUZZ_CHECK(strlen(large) == path_len
				   && strncmp(large, path, path_len) == 0);
		}
	} else
		FUZZ_CHECK(error != NULL);

	/* the CONTROL= directory: refused with the template, else none or
	 * an absolute path */
	control_error = NULL;
	control_ret = mail_location_expand_control(parts[0], parts[1], parts[2],
						   control, sizeof(control),
						   &control_error);
	FUZZ_CHECK(control_ret >= -1 && control_ret <= 1);
	if (check_ret < 0)
		FUZZ_CHECK(control_ret < 0 && control_error == check_error);
	if (control_ret < 0)
		FUZZ_CHECK(control_error != NULL);
	if (control_ret == 1) {
		FUZZ_CHECK(memchr(control, '\0', sizeof(control)) != NULL);
		FUZZ_CHECK(control[0] == '/');
	}

	/* exactly the bytes asked for: ASan sees any write beyond them */
	small = malloc(small_size > 0 ? small_size : 1);
	if (small != NULL) {
		small_ret = mail_location_expand(parts[0], parts[1], parts[2],
						 small, small_size, &small_error);
		if (ret == 0 && strlen(large) < small_size) {
			FUZZ_CHECK(small_ret == 0);
			FUZZ_CHECK(strcmp(small, large) == 0);
		} else
			FUZZ_CHECK(small_ret == -1 && small_error != NULL);
		free(small);
	}
	free(text);
	return 0;
}

#ifndef RELAYGATE_PASSWORD_H
#define RELAYGATE_PASSWORD_H
/* password: password schemes of the passwd-file ("{SCHEME}data", Dovecot's
 * names) and verification of a plaintext password through libcrypt, in
 * constant time, with the same cost for unknown users. */
#include <stdbool.h>
#include <stddef.h>

struct passwd_entry;
struct passwd_file;

/* Schemes we verify. CRYPT is any hash libcrypt knows (the scheme of a
 * password without "{...}"); the named crypt schemes require their prefix. */
enum password_scheme {
	PASSWORD_SCHEME_PLAIN,		/* {PLAIN}, {CLEARTEXT} */
	PASSWORD_SCHEME_CRYPT,		/* {CRYPT} or no scheme */
	PASSWORD_SCHEME_MD5_CRYPT,	/* {MD5-CRYPT} $1$ */
	PASSWORD_SCHEME_SHA256_CRYPT,	/* {SHA256-CRYPT} $5$ */
	PASSWORD_SCHEME_SHA512_CRYPT,	/* {SHA512-CRYPT} $6$ */
	PASSWORD_SCHEME_BLF_CRYPT,	/* {BLF-CRYPT} $2a$ $2b$ $2y$ */
};

/* Result of a verification: three-valued, as every lookup. */
enum password_result {
	PASSWORD_FAILURE = -1,	/* could not verify (libcrypt, memory) */
	PASSWORD_MISMATCH = 0,	/* wrong password, unknown or locked user */
	PASSWORD_MATCH = 1,
};

/* Split the password field FIELD ("{SCHEME}data" or a bare crypt hash)
 * into its scheme and data and check the data fits the scheme (prefix,
 * libcrypt accepts the setting). A bare hash starting with '!' or '*' is a
 * locked account: accepted, *locked_r set, never verifies. Scheme names are
 * case-insensitive. Returns 0, or -1 with a static description in
 * *error_r. */
int password_field_parse(const char *field, enum password_scheme *scheme_r,
			 const char **data_r, bool *locked_r,
			 const char **error_r);

/* Dovecot's name of SCHEME ("SHA512-CRYPT"). */
const char *password_scheme_name(enum password_scheme scheme);

/* Verify PLAINTEXT for USER of FILE. An unknown user, a locked entry or a
 * NULL FILE costs a verification against the file's dummy hash (see
 * passwd_file_dummy()), so they look like a wrong password, also in time.
 * On a match *entry_r (may be NULL) is the user's entry. On
 * PASSWORD_FAILURE *error_r (static or thread-local text) says why. */
enum password_result password_verify_user(const struct passwd_file *file,
					  const char *user,
					  const char *plaintext,
					  const struct passwd_entry **entry_r,
					  const char **error_r);

/* Verify PLAINTEXT against ENTRY's password (no dummy work on mismatch). */
enum password_result password_verify(const struct passwd_entry *entry,
				     const char *plaintext,
				     const char **error_r);

/* How many verifications (real or dummy) ran to the end in this process:
 * tests check that an unknown user costs one, as a known one does. */
unsigned long password_verification_count(void);

/* True when ENTRY's stored password is the plaintext ({PLAIN}), the only
 * case where APOP or CRAM-MD5 can be offered. */
bool password_plaintext_available(const struct passwd_entry *entry);

/* The stored plaintext of ENTRY, or NULL unless password_plaintext_available. */
const char *password_plaintext(const struct passwd_entry *entry);

/* RFC 1939 APOP: check DIGEST (32 hex digits, either case) against
 * MD5(TIMESTAMP || secret) of ENTRY. ENTRY may be NULL (unknown user) or
 * without a plaintext: the digest is computed with a dummy secret and the
 * answer is PASSWORD_MISMATCH. MD5 through OpenSSL EVP. */
enum password_result password_apop_verify(const struct passwd_entry *entry,
					  const char *timestamp,
					  const char *digest,
					  const char **error_r);

#endif

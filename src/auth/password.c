/* password: verify plaintext passwords against passwd-file entries with
 * libcrypt (crypt_rn) and OpenSSL (CRYPTO_memcmp for constant-time
 * comparison, EVP for SHA-256 and MD5). It must never copy a password
 * into an error text or a log line, and wipes what it derived from one. */
#include "password.h"

#include "log.h"
#include "passwd_file.h"

#include <crypt.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longer plaintexts are refused before any lookup: SHA-crypt costs grow
 * with the length, and no POP3/IMAP line carries more. */
#define PASSWORD_PLAINTEXT_MAX 1024

/* Used when a file has no usable entry to borrow a dummy from:
 * `openssl passwd -6 -salt relaygatedummy0 dummy` (the password is
 * irrelevant; only the time spent matters). */
static const char password_fallback_dummy[] =
	"$6$relaygatedummy0$yNUXJ0i3llQL8TsVFwC.VH.Iazj3AHsp6/vNqhAA1gv7"
	"YbQ.jeW3.LfGhzBNpnMQsEG5tAH/VbmOlF3PfCXoc0";

static unsigned long password_verifications;

static const struct {
	const char *name;
	enum password_scheme scheme;
} password_schemes[] = {
	{ "PLAIN", PASSWORD_SCHEME_PLAIN },
	{ "CLEARTEXT", PASSWORD_SCHEME_PLAIN },
	{ "CRYPT", PASSWORD_SCHEME_CRYPT },
	{ "MD5-CRYPT", PASSWORD_SCHEME_MD5_CRYPT },
	{ "SHA256-CRYPT", PASSWORD_SCHEME_SHA256_CRYPT },
	{ "SHA512-CRYPT", PASSWORD_SCHEME_SHA512_CRYPT },
	{ "BLF-CRYPT", PASSWORD_SCHEME_BLF_CRYPT },
};

/* ASCII case-insensitive comparison of NAME (LEN bytes) with WANT. */
static bool password_name_equal(const char *name, size_t len, const char *want)
{
	size_t i;

	if (strlen(want) != len)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != want[i])
			return false;
	}
	return true;
}

const char *password_scheme_name(enum password_scheme scheme)
{
	switch (scheme) {
	case PASSWORD_SCHEME_PLAIN:
		return "PLAIN";
	case PASSWORD_SCHEME_CRYPT:
		return "CRYPT";
	case PASSWORD_SCHEME_MD5_CRYPT:
		return "MD5-CRYPT";
	case PASSWORD_SCHEME_SHA256_CRYPT:
		return "SHA256-CRYPT";
	case PASSWORD_SCHEME_SHA512_CRYPT:
		return "SHA512-CRYPT";
	case PASSWORD_SCHEME_BLF_CRYPT:
		return "BLF-CRYPT";
	}
	return "?";
}

/* Check a crypt(3) hash: its scheme's prefix, a length libcrypt can
 * produce, a method libcrypt knows. */
static int password_crypt_check(enum password_scheme scheme, const char *hash,
				const char **error_r)
{
	switch (scheme) {
	case PASSWORD_SCHEME_MD5_CRYPT:
		if (strncmp(hash, "$1$", 3) != 0) {
			*error_r = "{MD5-CRYPT} hash does not start with \"$1$\"";
			return -1;
		}
		break;
	case PASSWORD_SCHEME_SHA256_CRYPT:
		if (strncmp(hash, "$5$", 3) != 0) {
			*error_r = "{SHA256-CRYPT} hash does not start with "
				   "\"$5$\"";
			return -1;
		}
		break;
	case PASSWORD_SCHEME_SHA512_CRYPT:
		if (strncmp(hash, "$6$", 3) != 0) {
			*error_r = "{SHA512-CRYPT} hash does not start with "
				   "\"$6$\"";
			return -1;
		}
		break;
	case PASSWORD_SCHEME_BLF_CRYPT:
		if (strncmp(hash, "$2a$", 4) != 0 && strncmp(hash, "$2b$", 4) != 0
		    && strncmp(hash, "$2y$", 4) != 0) {
			*error_r = "{BLF-CRYPT} hash does not start with "
				   "\"$2a$\", \"$2b$\" or \"$2y$\"";
			return -1;
		}
		break;
	case PASSWORD_SCHEME_PLAIN:
	case PASSWORD_SCHEME_CRYPT:
		break;
	}
	if (strlen(hash) >= CRYPT_OUTPUT_SIZE) {
		*error_r = "hash too long";
		return -1;
	}
	switch (crypt_checksalt(hash)) {
	case CRYPT_SALT_OK:
	case CRYPT_SALT_METHOD_LEGACY:
	case CRYPT_SALT_TOO_CHEAP:
		return 0;
	case CRYPT_SALT_METHOD_DISABLED:
		*error_r = "hash method disabled in libcrypt";
		return -1;
	default:
		*error_r = "hash not recognised by libcrypt";
		return -1;
	}
}

int password_field_parse(const char *field, enum password_scheme *scheme_r,
			 const char **data_r, bool *locked_r,
			 const char **error_r)
{
	static __thread char unknown[256];
	enum password_scheme scheme = PASSWORD_SCHEME_CRYPT;
	const char *data = field;
	size_t i;

	*locked_r = false;
	if (field[0] == '{') {
		const char *end = strchr(field, '}');
		size_t len;
		bool found = false;

		if (end == NULL) {
			*error_r = "\"{\" without \"}\" (expected {SCHEME}data)";
			return -1;
		}
		len = (size_t)(end - field - 1);
		for (i = 0; i < sizeof(password_schemes)
				/ sizeof(password_schemes[0]); i++) {
			if (password_name_equal(field + 1, len,
						password_schemes[i].name)) {
				scheme = password_schemes[i].scheme;
				found = true;
				break;
			}
		}
		if (!found) {
			char name[40], shown[64];

			snprintf(name, sizeof(name), "%.*s",
				 (int)(len < 32 ? len : 32), field + 1);
			log_sanitize(name, shown, sizeof(shown));
			snprintf(unknown, sizeof(unknown), "unsupported "
				 "password scheme \"{%s%s}\" (known: PLAIN, "
				 "CRYPT, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, "
				 "MD5-CRYPT)", shown, len > 32 ? "..." : "");
			*error_r = unknown;
			return -1;
		}
		data = end + 1;
	}
	if (*data == '\0') {
		*error_r = scheme == PASSWORD_SCHEME_PLAIN
			   ? "empty {PLAIN} password"
			   : "empty password (lock an account with \"*\")";
		return -1;
	}
	if (scheme == PASSWORD_SCHEME_CRYPT && (data[0] == '!'
						|| data[0] == '*')) {
		*locked_r = true;
	} else if (scheme != PASSWORD_SCHEME_PLAIN
		   && password_crypt_check(scheme, data, error_r) < 0) {
		return -1;
	}
	*scheme_r = scheme;
	*data_r = data;
	return 0;
}

/* SHA-256 of TEXT into DIGEST (32 bytes). */
static int password_sha256(const char *text, unsigned char *digest)
{
	unsigned int len = 0;

	return EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL)
	       == 1 && len == 32 ? 0 : -1;
}

enum password_result password_verify(const struct passwd_entry *entry,
				     const char *plaintext,
				     const char **error_r)
{
	enum password_result result;
	struct crypt_data *data;
	const char *hash;

	if (entry->locked || strlen(plaintext) > PASSWORD_PLAINTEXT_MAX)
		return PASSWORD_MISMATCH;
	if (entry->scheme == PASSWORD_SCHEME_PLAIN) {
		/* compare digests: equal lengths, and the stored password's
		 * length does not show in the time taken */
		unsigned char want[32], got[32];

		if (password_sha256(entry->password, want) < 0
		    || password_sha256(plaintext, got) < 0) {
			*error_r = "SHA-256 failed (OpenSSL)";
			result = PASSWORD_FAILURE;
		} else {
			result = CRYPTO_memcmp(want, got, sizeof(want)) == 0
				 ? PASSWORD_MATCH : PASSWORD_MISMATCH;
		password_verifications++;
		}
		explicit_bzero(want, sizeof(want));
		explicit_bzero(got, sizeof(got));
		return result;
	}
	/* struct crypt_data is ~32 KiB: not on a daemon's stack */
	data = calloc(1, sizeof(*data));
	if (data == NULL) {
		*error_r = "out of memory";
		return PASSWORD_FAILURE;
	}
	hash = crypt_rn(plaintext, entry->password, data, sizeof(*data));
	if (hash == NULL) {
		*error_r = errno == EINVAL || errno == ERANGE
			   ? "crypt: the stored hash is malformed"
			   : errno == ENOMEM ? "crypt: out of memory"
			   : "crypt failed";
		result = PASSWORD_FAILURE;
	} else {
		size_t len = strlen(entry->password);

		result = strlen(hash) == len
			 && CRYPTO_memcmp(hash, entry->password, len) == 0
			 ? PASSWORD_MATCH : PASSWORD_MISMATCH;
		password_verifications++;
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return result;
}

/* Spend the time a verification against FILE's costliest entry takes,
 * throwing the answer away. */
static void password_verify_dummy(const struct passwd_file *file,
				  const char *plaintext)
{
	struct passwd_entry fallback;
	const struct passwd_entry *dummy = file != NULL ? file->dummy : NULL;
	const char *ignored;

	if (dummy == NULL) {
		memset(&fallback, 0, sizeof(fallback));
		fallback.scheme = PASSWORD_SCHEME_SHA512_CRYPT;
		fallback.password = password_fallback_dummy;
		dummy = &fallback;
	}
	(void)password_verify(dummy, plaintext, &ignored);
}

enum password_result password_verify_user(const struct passwd_file *file,
					  const char *user,
					  const char *plaintext,
					  const struct passwd_entry **entry_r,
					  const char **error_r)
{
	const struct passwd_entry *entry;
	enum password_result result;

	if (entry_r != NULL)
		*entry_r = NULL;
	/* before the lookup, so it says nothing about the user */
	if (strlen(plaintext) > PASSWORD_PLAINTEXT_MAX)
		return PASSWORD_MISMATCH;
	entry = passwd_file_lookup(file, user);
	if (entry == NULL || entry->locked) {
		password_verify_dummy(file, plaintext);
		return PASSWORD_MISMATCH;
	}
	result = password_verify(entry, plaintext, error_r);
	if (result == PASSWORD_MATCH && entry_r != NULL)
		*entry_r = entry;
	return result;
}

unsigned long password_verification_count(void)
{
	return password_verifications;
}

bool password_plaintext_available(const struct passwd_entry *entry)
{
	return entry != NULL && entry->scheme == PASSWORD_SCHEME_PLAIN;
}

const char *password_plaintext(const struct passwd_entry *entry)
{
	return password_plaintext_available(entry) ? entry->password : NULL;
}

/* Decode 32 hex digits (either case) of HEX into 16 bytes. */
static int password_hex16(const char *hex, unsigned char *out)
{
	size_t i;

	if (strlen(hex) != 32)
		return -1;
	for (i = 0; i < 32; i++) {
		char c = hex[i];
		unsigned v;

		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

enum password_result password_apop_verify(const struct passwd_entry *entry,
					  const char *timestamp,
					  const char *digest,
					  const char **error_r)
{
	bool real = password_plaintext_available(entry);
	const char *secret = real ? entry->password : "relaygate-no-secret";
	unsigned char want[EVP_MAX_MD_SIZE], got[16];
	unsigned int len = 0;
	enum password_result result;
	EVP_MD_CTX *ctx;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		*error_r = "out of memory";
		return PASSWORD_FAILURE;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1
	     && EVP_DigestUpdate(ctx, timestamp, strlen(timestamp)) == 1
	     && EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1
	     && EVP_DigestFinal_ex(ctx, want, &len) == 1 && len == 16;
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		*error_r = "MD5 failed (OpenSSL; disabled by a FIPS policy?)";
		result = PASSWORD_FAILURE;
	} else if (password_hex16(digest, got) < 0) {
		result = PASSWORD_MISMATCH;
	} else {
		result = CRYPTO_memcmp(want, got, 16) == 0 && real
			 ? PASSWORD_MATCH : PASSWORD_MISMATCH;
	}
	explicit_bzero(want, sizeof(want));
	explicit_bzero(got, sizeof(got));
	return result;
}

/* test-password: every scheme verifies the right password and rejects
 * wrong ones, for hashes made here with libcrypt and for fixed vectors
 * made by mkpasswd (Debian whois) and `openssl passwd`; {PLAIN} and APOP;
 * unknown and locked users go through the dummy verification and look
 * like a wrong password. */
#include "passwd_file.h"
#include "password.h"

#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

#define GOOD "Tr0ub4dor&3"

/* Made with `mkpasswd -m METHOD 'Tr0ub4dor&3'` and `openssl passwd -6/-5
 * -salt saltsaltsalt 'Tr0ub4dor&3'`. */
static const struct {
	const char *scheme;	/* "{SCHEME}" prefix in the file, or "" */
	const char *hash;
} vectors[] = {
	{ "{SHA512-CRYPT}", "$6$5dCMvYhRXDYxZNnJ$Plq3cYUK0WxlCG9ZEut3cGoLjdVHhL3A7EKcNy82UPyF/qYn/nNbAXbc/iK9Oe440XrBpCsOK1kO88dpoW2oc." },
	{ "{SHA512-CRYPT}", "$6$rounds=10000$eshXNUsFlshlynjS$UGTSaPvvpAdk7.g9z8wsWCJNwzKF8DdLnj1By.bH0Gol1kjIkEtudhdbOlRdh44iMEr/vr5qla6ukerw4fh5f." },
	{ "{sha512-crypt}", "$6$saltsaltsalt$wZ7WTQLHOnnYzq4PTN4y.RYHTIs/8W/D5s8so46fExiMzEnWYOEXbenywVu03CkR7CMzV1o1pSyA7LtNQSgZw." },
	{ "{SHA256-CRYPT}", "$5$oiDSD1xa053zZXh2$.OI8VCDKdqgSqjZ9TRts/BvPEiAEv9T.ZCaKvbwCcr0" },
	{ "{Sha256-Crypt}", "$5$saltsaltsalt$4PjmBPdxKtSk9HumZvJ/nbsEK./Go3ccV2RTMlz.ry1" },
	{ "{BLF-CRYPT}", "$2b$05$WKhiIu39tAgDCZUv9bt4POkiYgqb0gni1R1V6evnLjosZQfWRS.dW" },
	/* $2y$ is the same algorithm as $2b$ (PHP's name for it) */
	{ "{BLF-CRYPT}", "$2y$05$WKhiIu39tAgDCZUv9bt4POkiYgqb0gni1R1V6evnLjosZQfWRS.dW" },
	{ "{blf-crypt}", "$2a$05$7613pzuaVjju31wI95s/oO1U1.yld.NqQk3Bb4J0nzKLnfPW.58yq" },
	{ "{CRYPT}", "$y$j9T$R817caLxueZ7rMuvVMc.20$ZkUYRDw.OwSc4jtvmHaFHK5IgwNhNHn0dw9iP4sLbKD" },
	{ "", "$y$j9T$R817caLxueZ7rMuvVMc.20$ZkUYRDw.OwSc4jtvmHaFHK5IgwNhNHn0dw9iP4sLbKD" },
	{ "", "$6$5dCMvYhRXDYxZNnJ$Plq3cYUK0WxlCG9ZEut3cGoLjdVHhL3A7EKcNy82UPyF/qYn/nNbAXbc/iK9Oe440XrBpCsOK1kO88dpoW2oc." },
	{ "{MD5-CRYPT}", "$1$s/8IwYEL$tRSkvxB2IHV5EYYyo2VFn." },
	{ "{crypt}", "$1$s/8IwYEL$tRSkvxB2IHV5EYYyo2VFn." },
};

static const char *wrong[] = {
	"", "Tr0ub4dor&4", "tr0ub4dor&3", "Tr0ub4dor&", "Tr0ub4dor&3 ",
	"Tr0ub4dor&3Tr0ub4dor&3",
};

/* Parse a one-user file "u:PASSWORD_FIELD"; NULL (and a failed check)
 * when it does not parse. */
static struct passwd_file *one_user(const char *field)
{
	char text[1024], error[512];
	struct passwd_file *file;

	snprintf(text, sizeof(text), "u:%s\n", field);
	file = passwd_file_parse("t", text, strlen(text), error,
				 sizeof(error));
	if (!test_assert(file != NULL))
		printf("# %s: %s\n", text, error);
	return file;
}

/* ENTRY verifies RIGHT and rejects every wrong password. */
static void check_verifies(const struct passwd_entry *entry, const char *right,
			   const char *label)
{
	const char *error = NULL;
	size_t i;

	test_assert_case(password_verify(entry, right, &error)
			 == PASSWORD_MATCH, label);
	for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		if (strcmp(wrong[i], right) == 0)
			continue;
		test_assert_case(password_verify(entry, wrong[i], &error)
				 == PASSWORD_MISMATCH, label);
	}
}

static void test_password_vectors(void)
{
	size_t i;

	test_begin("password: fixed mkpasswd/openssl vectors of each scheme verify");
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char field[512];
		struct passwd_file *file;

		snprintf(field, sizeof(field), "%s%s", vectors[i].scheme,
			 vectors[i].hash);
		file = one_user(field);
		if (file == NULL)
			continue;
		test_assert_strcmp(file->entries[0].password, vectors[i].hash);
		check_verifies(&file->entries[0], GOOD, field);
		test_assert_case(!password_plaintext_available(&file->entries[0]),
				 field);
		test_assert_case(password_plaintext(&file->entries[0]) == NULL,
				 field);
		passwd_file_free(&file);
	}
	test_end();
}

static void test_password_generated(void)
{
	static const struct {
		const char *prefix;
		unsigned long count;
		const char *scheme;
	} methods[] = {
		{ "$6$", 0, "{SHA512-CRYPT}" },
		{ "$6$", 20000, "{SHA512-CRYPT}" },
		{ "$5$", 0, "{SHA256-CRYPT}" },
		{ "$2b$", 5, "{BLF-CRYPT}" },
		{ "$2y$", 4, "{BLF-CRYPT}" },
		{ "$2a$", 4, "{BLF-CRYPT}" },
		{ "$y$", 0, "{CRYPT}" },
		{ "$y$", 0, "" },
		{ "$1$", 0, "{MD5-CRYPT}" },
		{ "$6$", 0, "" },
	};
	static const char *passwords[] = {
		"secret", "p\xc3\xa4ssw\xc3\xb6rd", "with blanks and :colons:",
		"x",
	};
	size_t i, j;

	test_begin("password: hashes made with crypt_gensalt_rn + crypt_rn verify");
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		for (j = 0; j < sizeof(passwords) / sizeof(passwords[0]); j++) {
			char setting[CRYPT_GENSALT_OUTPUT_SIZE], field[512];
			struct crypt_data *data = calloc(1, sizeof(*data));
			const char *hash;
			struct passwd_file *file;

			if (!test_assert(data != NULL))
				continue;
			if (!test_assert_case(crypt_gensalt_rn(methods[i].prefix,
					methods[i].count, NULL, 0, setting,
					sizeof(setting)) != NULL,
					methods[i].prefix)) {
				free(data);
				continue;
			}
			hash = crypt_rn(passwords[j], setting, data,
					sizeof(*data));
			if (!test_assert_case(hash != NULL, setting)) {
				free(data);
				continue;
			}
			test_assert_case(strncmp(hash, methods[i].prefix,
						 strlen(methods[i].prefix)) == 0,
					 hash);
			snprintf(field, sizeof(field), "%s%s",
				 methods[i].scheme, hash);
			free(data);
			file = one_user(field);
			if (file == NULL)
				continue;
			check_verifies(&file->entries[0], passwords[j], field);
			test_assert_case(password_verify(&file->entries[0],
				"secreT", &hash) == PASSWORD_MISMATCH, field);
			passwd_file_free(&file);
		}
	}
	test_end();
}

static void test_password_plain(void)
{
	struct passwd_file *file = one_user("{PLAIN}secret");
	const char *error;

	test_begin("password: {PLAIN} compares the whole password");
	if (file == NULL) {
		test_end();
		return;
	}
	check_verifies(&file->entries[0], "secret", "{PLAIN}secret");
	test_assert(password_verify(&file->entries[0], "secre", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_verify(&file->entries[0], "secret\n", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_verify(&file->entries[0], "SECRET", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_plaintext_available(&file->entries[0]));
	test_assert_strcmp(password_plaintext(&file->entries[0]), "secret");
	test_assert_strcmp(password_scheme_name(file->entries[0].scheme),
			   "PLAIN");
	passwd_file_free(&file);
	file = one_user("{ClearText}two words");
	if (file != NULL) {
		check_verifies(&file->entries[0], "two words", "{CLEARTEXT}");
		passwd_file_free(&file);
	}
	test_end();
}

static void test_password_too_long(void)
{
	char *huge = malloc(2001);
	struct passwd_file *file;
	const char *error;

	test_begin("password: a plaintext over 1024 bytes never matches");
	if (!test_assert(huge != NULL)) {
		test_end();
		return;
	}
	memset(huge, 'a', 2000);
	huge[2000] = '\0';
	file = one_user("{PLAIN}aaaa");
	if (file != NULL) {
		test_assert(password_verify(&file->entries[0], huge, &error)
			    == PASSWORD_MISMATCH);
		test_assert(password_verify_user(file, "u", huge, NULL, &error)
			    == PASSWORD_MISMATCH);
		passwd_file_free(&file);
	}
	huge[1024] = '\0';
	file = one_user("{PLAIN}aaaa");
	if (file != NULL) {
		/* 1024 is still accepted (compared, not matching) */
		test_assert(password_verify(&file->entries[0], huge, &error)
			    == PASSWORD_MISMATCH);
		passwd_file_free(&file);
	}
	free(huge);
	test_end();
}

static void test_password_verify_user(void)
{
	static const char text[] =
		"alice:{SHA512-CRYPT}$6$5dCMvYhRXDYxZNnJ$Plq3cYUK0WxlCG9ZEut3cGoLjdVHhL3A7EKcNy82UPyF/qYn/nNbAXbc/iK9Oe440XrBpCsOK1kO88dpoW2oc.\n"
		"bob:{PLAIN}hunter2\n"
		"carol:!$6$5dCMvYhRXDYxZNnJ$Plq3cYUK0WxlCG9ZEut3cGoLjdVHhL3A7EKcNy82UPyF/qYn/nNbAXbc/iK9Oe440XrBpCsOK1kO88dpoW2oc.\n"
		"dave:*\n";
	char error_text[256];
	struct passwd_file *file = passwd_file_parse("t", text, strlen(text),
						     error_text,
						     sizeof(error_text));
	const struct passwd_entry *entry = NULL;
	const char *error = NULL;
	unsigned long before;

	test_begin("password: unknown and locked users run the dummy and look like a wrong password");
	if (!test_assert(file != NULL)) {
		test_end();
		return;
	}
	test_assert(file->dummy != NULL
		    && strcmp(file->dummy->user, "alice") == 0);

	/* each attempt, known user or not, does one verification */
	before = password_verification_count();
	test_assert(password_verify_user(file, "alice", GOOD, &entry, &error)
		    == PASSWORD_MATCH);
	test_assert(entry != NULL && strcmp(entry->user, "alice") == 0);
	test_assert(password_verify_user(file, "alice", "nope", &entry, &error)
		    == PASSWORD_MISMATCH);
	test_assert(entry == NULL);
	test_assert(password_verify_user(file, "bob", "hunter2", &entry,
					 &error) == PASSWORD_MATCH);
	test_assert(password_verify_user(file, "bob", "hunter3", NULL, &error)
		    == PASSWORD_MISMATCH);
	test_assert_int_eq(password_verification_count(), before + 4);

	/* the unknown user's password is right for alice: still no match */
	entry = (const struct passwd_entry *)file->entries;
	test_assert(password_verify_user(file, "mallory", GOOD, &entry,
					 &error) == PASSWORD_MISMATCH);
	test_assert(entry == NULL);
	test_assert_int_eq(password_verification_count(), before + 5);
	test_assert(password_verify_user(file, "Alice", GOOD, NULL, &error)
		    == PASSWORD_MISMATCH);
	test_assert_int_eq(password_verification_count(), before + 6);
	/* locked entries: even the right password fails, after the dummy */
	test_assert(password_verify_user(file, "carol", GOOD, NULL, &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_verify_user(file, "dave", "*", NULL, &error)
		    == PASSWORD_MISMATCH);
	test_assert_int_eq(password_verification_count(), before + 8);
	/* no file at all: the built-in SHA512-CRYPT dummy */
	test_assert(password_verify_user(NULL, "alice", GOOD, NULL, &error)
		    == PASSWORD_MISMATCH);
	test_assert_int_eq(password_verification_count(), before + 9);
	passwd_file_free(&file);

	/* a file of only locked users also falls back to the built-in one */
	file = one_user("*");
	if (file != NULL) {
		test_assert(file->dummy == NULL);
		test_assert(password_verify_user(file, "x", "y", NULL, &error)
			    == PASSWORD_MISMATCH);
		test_assert_int_eq(password_verification_count(), before + 10);
		passwd_file_free(&file);
	}
	test_end();
}

static void test_password_malformed_hash(void)
{
	struct passwd_file *file = one_user("{BLF-CRYPT}$2b$05$short");
	const char *error = NULL;

	test_begin("password: a hash libcrypt cannot use is a failure, not a mismatch");
	if (file != NULL) {
		test_assert(password_verify(&file->entries[0], "x", &error)
			    == PASSWORD_FAILURE);
		test_assert_strcmp(error, "crypt: the stored hash is malformed");
		passwd_file_free(&file);
	}
	test_end();
}

static void test_password_apop(void)
{
	/* RFC 1939 section 7 */
	static const char timestamp[] = "<1896.697170952@dbc.mtview.ca.us>";
	struct passwd_file *file = one_user("{PLAIN}tanstaaf");
	struct passwd_file *crypted = one_user(
		"$5$saltsaltsalt$4PjmBPdxKtSk9HumZvJ/nbsEK./Go3ccV2RTMlz.ry1");
	const char *error;

	test_begin("password: APOP digests (RFC 1939 example) only for {PLAIN}");
	if (file == NULL || crypted == NULL) {
		passwd_file_free(&file);
		passwd_file_free(&crypted);
		test_end();
		return;
	}
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"c4c9334bac560ecc979e58001b3e22fb", &error)
		    == PASSWORD_MATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"C4C9334BAC560ECC979E58001B3E22FB", &error)
		    == PASSWORD_MATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"c4c9334bac560ecc979e58001b3e22fc", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(&file->entries[0], "<1897.1@x>",
			"c4c9334bac560ecc979e58001b3e22fb", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"c4c9334bac560ecc979e58001b3e22f", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"c4c9334bac560ecc979e58001b3e22fbb", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp,
			"g4c9334bac560ecc979e58001b3e22fb", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(&file->entries[0], timestamp, "",
					 &error) == PASSWORD_MISMATCH);
	/* no plaintext: never a match, whatever the digest */
	test_assert(!password_plaintext_available(&crypted->entries[0]));
	test_assert(password_apop_verify(&crypted->entries[0], timestamp,
			"c4c9334bac560ecc979e58001b3e22fb", &error)
		    == PASSWORD_MISMATCH);
	test_assert(password_apop_verify(NULL, timestamp,
			"c4c9334bac560ecc979e58001b3e22fb", &error)
		    == PASSWORD_MISMATCH);
	test_assert(!password_plaintext_available(NULL));
	passwd_file_free(&file);
	passwd_file_free(&crypted);
	test_end();
}

static void test_password_scheme_names(void)
{
	static const struct {
		enum password_scheme scheme;
		const char *name;
	} names[] = {
		{ PASSWORD_SCHEME_PLAIN, "PLAIN" },
		{ PASSWORD_SCHEME_CRYPT, "CRYPT" },
		{ PASSWORD_SCHEME_MD5_CRYPT, "MD5-CRYPT" },
		{ PASSWORD_SCHEME_SHA256_CRYPT, "SHA256-CRYPT" },
		{ PASSWORD_SCHEME_SHA512_CRYPT, "SHA512-CRYPT" },
		{ PASSWORD_SCHEME_BLF_CRYPT, "BLF-CRYPT" },
	};
	size_t i;

	test_begin("password: scheme names parse case-insensitively and print as Dovecot's");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char field[64], lower[32];
		enum password_scheme scheme;
		const char *data, *error = NULL;
		bool locked;
		size_t j;

		test_assert_strcmp(password_scheme_name(names[i].scheme),
				   names[i].name);
		for (j = 0; names[i].name[j] != '\0'; j++)
			lower[j] = (char)(names[i].name[j] >= 'A'
					  && names[i].name[j] <= 'Z'
					  ? names[i].name[j] + 32
					  : names[i].name[j]);
		lower[j] = '\0';
		snprintf(field, sizeof(field), "{%s}%s", lower,
			 names[i].scheme == PASSWORD_SCHEME_PLAIN
			 || names[i].scheme == PASSWORD_SCHEME_CRYPT
			 ? "abcd"
			 : names[i].scheme == PASSWORD_SCHEME_MD5_CRYPT
			 ? "$1$abcd$" : names[i].scheme
			 == PASSWORD_SCHEME_SHA256_CRYPT ? "$5$abcd$"
			 : names[i].scheme == PASSWORD_SCHEME_SHA512_CRYPT
			 ? "$6$abcd$"
			 : "$2b$05$abcdefghijklmnopqrstuu");
		test_assert_case(password_field_parse(field, &scheme, &data,
						      &locked, &error) == 0,
				 field);
		test_assert_case(scheme == names[i].scheme, field);
	}
	test_end();
}

int main(void)
{
	test_password_vectors();
	test_password_generated();
	test_password_plain();
	test_password_too_long();
	test_password_verify_user();
	test_password_malformed_hash();
	test_password_apop();
	test_password_scheme_names();
	return test_exit();
}

/* test-passwd-file: the passwd-file parser accepts Dovecot's format with
 * comments, blank lines, short lines and extra fields, rejects every bad
 * line with an exact "file:line: problem", bounds lines and files, looks
 * users up, picks the costliest entry as the dummy, and reloads a file
 * only when it changed. */
#include "passwd_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

#define SHA512_HASH "$6$QCwR./XgvqNralA9$ejpU1PtS16REORLz05US4n4Ipq.prtRucUS2W7RHQR.uXM8dq3SZyFt/pAT8hKNexfKL1UmMsMFMGJ99sNUiE/"
#define SHA256_HASH "$5$WFGNNt4dQ8N6O2Yj$BgUJakXR7CN0HXsOws9f6X6KS.exmJHHDsDHe0odaP/"
#define BCRYPT_HASH "$2b$05$cFFiGNn/LwjaM6GM6iZEf.Y5HU0ipaVAYEIteEign5Fo.jnVvl4MG"
#define BCRYPT12_HASH "$2b$12$cFFiGNn/LwjaM6GM6iZEf.Y5HU0ipaVAYEIteEign5Fo.jnVvl4MG"
#define YESCRYPT_HASH "$y$j9T$Xz.8MQzaLl1wLFdSj1PRa0$9rtm2Tkfx4dZAa1YXBjxAefjAyoydMkmVr/fpD6k337"

static struct passwd_file *parse(const char *text, char *error, size_t size)
{
	return passwd_file_parse("t.passwd", text, strlen(text), error, size);
}

static void test_passwd_file_good(void)
{
	static const char text[] =
		"# users of the demo\n"
		"\n"
		"   \t\n"
		"  # indented comment\n"
		"alice:{SHA512-CRYPT}" SHA512_HASH ":1000:1001:Alice A.:/home/alice:/bin/sh:userdb_mail=maildir:~/Maildir quota=1G\r\n"
		"bob:{plain}secret\n"
		"carol:" SHA256_HASH "::::::\n"
		"dave:*:::::\n"
		"erin:{Blf-Crypt}" BCRYPT_HASH ":5000::::\n"
		"frank@example.org:{CRYPT}" YESCRYPT_HASH ":1:1::/var/mail/frank\n"
		"gr\xc3\xa9goire:{CLEARTEXT}x y";
	char error[256] = "";
	struct passwd_file *file = parse(text, error, sizeof(error));
	const struct passwd_entry *e;

	test_begin("passwd_file: a good file with every field form parses");
	if (!test_assert(file != NULL)) {
		printf("# %s\n", error);
		test_end();
		return;
	}
	test_assert_int_eq(file->count, 7);
	e = passwd_file_lookup(file, "alice");
	if (test_assert(e != NULL)) {
		test_assert_int_eq(e->scheme, PASSWORD_SCHEME_SHA512_CRYPT);
		test_assert_strcmp(e->password, SHA512_HASH);
		test_assert(e->has_uid && e->uid == 1000);
		test_assert(e->has_gid && e->gid == 1001);
		test_assert_strcmp(e->home, "/home/alice");
		test_assert_strcmp(e->extra_fields,
				   "userdb_mail=maildir:~/Maildir quota=1G");
		test_assert_int_eq(e->line, 5);
		test_assert(!e->locked);
	}
	e = passwd_file_lookup(file, "bob");
	if (test_assert(e != NULL)) {
		test_assert_int_eq(e->scheme, PASSWORD_SCHEME_PLAIN);
		test_assert_strcmp(e->password, "secret");
		test_assert(!e->has_uid && !e->has_gid);
		test_assert_strcmp(e->home, "");
		test_assert_strcmp(e->extra_fields, "");
	}
	e = passwd_file_lookup(file, "carol");
	if (test_assert(e != NULL)) {
		test_assert_int_eq(e->scheme, PASSWORD_SCHEME_CRYPT);
		test_assert_strcmp(e->password, SHA256_HASH);
		test_assert_strcmp(e->extra_fields, "");
	}
	e = passwd_file_lookup(file, "dave");
	test_assert(e != NULL && e->locked);
	e = passwd_file_lookup(file, "erin");
	test_assert(e != NULL && e->scheme == PASSWORD_SCHEME_BLF_CRYPT
		    && e->has_uid && e->uid == 5000 && !e->has_gid);
	e = passwd_file_lookup(file, "frank@example.org");
	test_assert(e != NULL && e->scheme == PASSWORD_SCHEME_CRYPT
		    && strcmp(e->home, "/var/mail/frank") == 0);
	e = passwd_file_lookup(file, "gr\xc3\xa9goire");
	test_assert(e != NULL && strcmp(e->password, "x y") == 0
		    && e->line == 11);
	test_assert(passwd_file_lookup(file, "Alice") == NULL);
	test_assert(passwd_file_lookup(file, "") == NULL);
	test_assert(passwd_file_lookup(file, "zed") == NULL);
	/* yescrypt is the costliest scheme in the file */
	test_assert(file->dummy != NULL
		    && strcmp(file->dummy->user, "frank@example.org") == 0);
	passwd_file_free(&file);
	test_assert(file == NULL);
	test_end();
}

static void test_passwd_file_empty(void)
{
	char error[256] = "";
	struct passwd_file *file = parse("# nobody\n\n", error, sizeof(error));

	test_begin("passwd_file: a file of comments has no users and no dummy");
	test_assert(file != NULL && file->count == 0 && file->dummy == NULL);
	test_assert(passwd_file_lookup(file, "root") == NULL);
	passwd_file_free(&file);
	file = parse("", error, sizeof(error));
	test_assert(file != NULL && file->count == 0);
	passwd_file_free(&file);
	test_end();
}

static void test_passwd_file_dummy_cost(void)
{
	char error[256] = "";
	struct passwd_file *file = parse(
		"a:{PLAIN}x\n"
		"b:{BLF-CRYPT}" BCRYPT_HASH "\n"
		"c:{BLF-CRYPT}" BCRYPT12_HASH "\n"
		"d:" SHA512_HASH "\n"
		"e:!" SHA512_HASH "\n", error, sizeof(error));

	test_begin("passwd_file: the dummy is the costliest entry (scheme, then cost)");
	test_assert(file != NULL && file->dummy != NULL
		    && strcmp(file->dummy->user, "c") == 0);
	passwd_file_free(&file);
	file = parse("a:{PLAIN}x\nb:*\n", error, sizeof(error));
	test_assert(file != NULL && file->dummy != NULL
		    && strcmp(file->dummy->user, "a") == 0);
	passwd_file_free(&file);
	file = parse("b:*\n", error, sizeof(error));
	test_assert(file != NULL && file->dummy == NULL);
	passwd_file_free(&file);
	test_end();
}

struct bad_case {
	const char *text;
	const char *error;
};

static void test_passwd_file_bad(void)
{
	static const struct bad_case cases[] = {
		{ "bob\n", "t.passwd:1: user \"bob\": missing password field "
		  "(expected user:password[:uid:gid:gecos:home:shell:"
		  "extra_fields])" },
		{ "# c\n:{PLAIN}x\n", "t.passwd:2: empty user name" },
		{ "bo b:{PLAIN}x", "t.passwd:1: user name contains a blank" },
		{ "\xef\xbb\xbf" "alice:{PLAIN}x", "t.passwd:1: user name "
		  "starts with a UTF-8 byte order mark (save the file without "
		  "BOM)" },
		{ "# x\n"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  ":{PLAIN}x", "t.passwd:2: user name too long (more than 255 "
		  "bytes)" },
		{ " bob:{PLAIN}x", "t.passwd:1: user name contains a blank" },
		{ "bo\tb:{PLAIN}x",
		  "t.passwd:1: user name contains a control character" },
		{ "bo\x7f:{PLAIN}x",
		  "t.passwd:1: user name contains a control character" },
		{ "bo\x1b[31m:{PLAIN}x",
		  "t.passwd:1: user name contains a control character" },
		{ "a:{PLAIN}x:abc", "t.passwd:1: user \"a\": bad uid \"abc\": "
		  "not a decimal number" },
		{ "a:{PLAIN}x:0", "t.passwd:1: user \"a\": bad uid \"0\": "
		  "0 (root) is not allowed" },
		{ "a:{PLAIN}x:007", "t.passwd:1: user \"a\": bad uid \"007\": "
		  "leading zero in number" },
		{ "a:{PLAIN}x:4294967295", "t.passwd:1: user \"a\": bad uid "
		  "\"4294967295\": number too large" },
		{ "a:{PLAIN}x: 12", "t.passwd:1: user \"a\": bad uid \" 12\": "
		  "not a decimal number" },
		{ "a:{PLAIN}x:1000:-5", "t.passwd:1: user \"a\": bad gid "
		  "\"-5\": negative number" },
		{ "a:{PLAIN}x:1000:0", "t.passwd:1: user \"a\": bad gid "
		  "\"0\": 0 (root) is not allowed" },
		{ "a:{PLAIN}x:1:1::home/a", "t.passwd:1: user \"a\": home "
		  "\"home/a\" is not an absolute path" },
		{ "a:{PLAIN}x\n#\na:{PLAIN}y\n", "t.passwd:3: duplicate user "
		  "\"a\" (first on line 1)" },
		{ "b:{PLAIN}x\na:{PLAIN}x\nb:{PLAIN}y\na:{PLAIN}x\n",
		  "t.passwd:4: duplicate user \"a\" (first on line 2)" },
		{ "a:{FOO}x", "t.passwd:1: user \"a\": bad password field: "
		  "unsupported password scheme \"{FOO}\" (known: PLAIN, CRYPT, "
		  "SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT)" },
		{ "a:{SSHA512}x", "t.passwd:1: user \"a\": bad password field: "
		  "unsupported password scheme \"{SSHA512}\" (known: PLAIN, "
		  "CRYPT, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT)" },
		{ "a:{PLAIN", "t.passwd:1: user \"a\": bad password field: "
		  "\"{\" without \"}\" (expected {SCHEME}data)" },
		{ "a:", "t.passwd:1: user \"a\": bad password field: empty "
		  "password (lock an account with \"*\")" },
		{ "a::1000:1000", "t.passwd:1: user \"a\": bad password field: "
		  "empty password (lock an account with \"*\")" },
		{ "a:{CRYPT}", "t.passwd:1: user \"a\": bad password field: "
		  "empty password (lock an account with \"*\")" },
		{ "a:{plain}", "t.passwd:1: user \"a\": bad password field: "
		  "empty {PLAIN} password" },
		{ "a:{SHA512-CRYPT}" SHA256_HASH, "t.passwd:1: user \"a\": bad "
		  "password field: {SHA512-CRYPT} hash does not start with "
		  "\"$6$\"" },
		{ "a:{SHA256-CRYPT}" SHA512_HASH, "t.passwd:1: user \"a\": bad "
		  "password field: {SHA256-CRYPT} hash does not start with "
		  "\"$5$\"" },
		{ "a:{BLF-CRYPT}" YESCRYPT_HASH, "t.passwd:1: user \"a\": bad "
		  "password field: {BLF-CRYPT} hash does not start with "
		  "\"$2a$\", \"$2b$\" or \"$2y$\"" },
		{ "a:{MD5-CRYPT}" SHA512_HASH, "t.passwd:1: user \"a\": bad "
		  "password field: {MD5-CRYPT} hash does not start with "
		  "\"$1$\"" },
		{ "a:$9$nothing", "t.passwd:1: user \"a\": bad password field: "
		  "hash not recognised by libcrypt" },
		{ "a:{SHA512-CRYPT}*", "t.passwd:1: user \"a\": bad password "
		  "field: {SHA512-CRYPT} hash does not start with \"$6$\"" },
		{ "a:{PLAIN}x\nb\0:{PLAIN}x\n", "t.passwd:2: NUL byte in line" },
	};
	size_t i;

	test_begin("passwd_file: each bad line is reported as file:line: problem");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* the NUL case is the only one with an embedded NUL */
		size_t len = strlen(cases[i].text);
		char error[512];
		struct passwd_file *file;

		if (strstr(cases[i].error, "NUL") != NULL)
			len = sizeof("a:{PLAIN}x\nb\0:{PLAIN}x\n") - 1;
		memset(error, 'X', sizeof(error));
		file = passwd_file_parse("t.passwd", cases[i].text, len, error,
					 sizeof(error));
		test_assert_idx(file == NULL, i);
		test_assert_strcmp(error, cases[i].error);
		passwd_file_free(&file);
	}
	test_end();
}

static void test_passwd_file_no_secret_in_errors(void)
{
	char error[512];
	struct passwd_file *file;

	test_begin("passwd_file: errors never show a password");
	file = parse("a:{SHA512-CRYPT}$5$TopSecretSalt$abc", error,
		     sizeof(error));
	test_assert(file == NULL && strstr(error, "TopSecret") == NULL);
	file = parse("a:{PLAIN}TopSecret:bad", error, sizeof(error));
	test_assert(file == NULL && strstr(error, "TopSecret") == NULL);
	test_assert_contains(error, "bad uid");
	test_end();
}

static void test_passwd_file_line_limit(void)
{
	size_t len = PASSWD_FILE_LINE_MAX + 64, base;
	char *text = malloc(len), error[256];
	struct passwd_file *file;

	test_begin("passwd_file: a line of 4096 bytes is read, 4097 is too long");
	if (!test_assert(text != NULL)) {
		test_end();
		return;
	}
	/* line 1 short, line 2 exactly the limit (extra_fields padded) */
	base = (size_t)snprintf(text, len, "a:{PLAIN}x\nb:{PLAIN}y:::::::");
	memset(text + base, 'e', PASSWD_FILE_LINE_MAX - (base - 11));
	len = 11 + PASSWD_FILE_LINE_MAX;
	text[len] = '\n';
	file = passwd_file_parse("t.passwd", text, len + 1, error,
				 sizeof(error));
	test_assert(file != NULL && file->count == 2);
	passwd_file_free(&file);
	/* the same with CRLF: the CR is not counted */
	text[len] = '\r';
	text[len + 1] = '\n';
	file = passwd_file_parse("t.passwd", text, len + 2, error,
				 sizeof(error));
	test_assert(file != NULL && file->count == 2);
	passwd_file_free(&file);
	text[len] = 'e';
	file = passwd_file_parse("t.passwd", text, len + 1, error,
				 sizeof(error));
	test_assert(file == NULL);
	test_assert_strcmp(error,
			   "t.passwd:2: line too long (more than 4096 bytes)");
	free(text);
	test_end();
}

/* A new temporary directory for file tests. */
static char *make_dir(void)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = malloc(4096);

	snprintf(dir, 4096, "%s/test-passwd-file.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return NULL;
	}
	return dir;
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fputs(text, f);
	return fclose(f) == 0;
}

/* Replace PATH atomically (a new inode), as an editor or a script does. */
static bool replace_file(const char *path, const char *text)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	return write_file(tmp, text) && rename(tmp, path) == 0;
}

static void test_passwd_file_load(const char *dir)
{
	char path[4200], error[512];
	struct passwd_file *file;
	int fd;

	test_begin("passwd_file: load reads a file and names it in errors");
	snprintf(path, sizeof(path), "%s/users", dir);
	test_assert(write_file(path, "a:{PLAIN}x\nb:{PLAIN}y\n"));
	file = passwd_file_load(path, error, sizeof(error));
	test_assert(file != NULL && file->count == 2
		    && strcmp(file->path, path) == 0);
	passwd_file_free(&file);

	test_assert(write_file(path, "a:{PLAIN}x\nb:\n"));
	file = passwd_file_load(path, error, sizeof(error));
	test_assert(file == NULL);
	{
		char want[4400];

		snprintf(want, sizeof(want), "%s:2: user \"b\": bad password "
			 "field: empty password (lock an account with \"*\")",
			 path);
		test_assert_strcmp(error, want);
	}

	snprintf(path, sizeof(path), "%s/missing", dir);
	file = passwd_file_load(path, error, sizeof(error));
	test_assert(file == NULL);
	test_assert_contains(error, "/missing: open: No such file or directory");

	file = passwd_file_load(dir, error, sizeof(error));
	test_assert(file == NULL);
	test_assert_contains(error, ": not a regular file");

	/* a sparse file one byte over the limit is refused unread */
	snprintf(path, sizeof(path), "%s/huge", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	test_assert(fd >= 0 && ftruncate(fd, PASSWD_FILE_SIZE_MAX + 1) == 0);
	if (fd >= 0)
		close(fd);
	file = passwd_file_load(path, error, sizeof(error));
	test_assert(file == NULL);
	test_assert_contains(error, "/huge: file too large (more than "
			     "16777216 bytes)");
	unlink(path);
	test_end();
}

static void test_passwd_file_refresh(const char *dir)
{
	char path[4200], error[512];
	struct passwd_file *file;
	struct timespec times[2];

	test_begin("passwd_file: refresh reloads only a changed file and keeps the old one on errors");
	snprintf(path, sizeof(path), "%s/refresh", dir);
	test_assert(write_file(path, "a:{PLAIN}x\n"));
	file = passwd_file_load(path, error, sizeof(error));
	if (!test_assert(file != NULL)) {
		test_end();
		return;
	}
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 0);
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 0);

	/* a new inode */
	test_assert(replace_file(path, "a:{PLAIN}x\nb:{PLAIN}y\n"));
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 1);
	test_assert(file->count == 2 && passwd_file_lookup(file, "b") != NULL);
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 0);

	/* same inode, same size, only the time moves */
	test_assert(write_file(path, "a:{PLAIN}x\nc:{PLAIN}y\n"));
	times[0].tv_sec = times[1].tv_sec = 1000000000;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	test_assert(utimensat(AT_FDCWD, path, times, 0) == 0);
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 1);
	test_assert(passwd_file_lookup(file, "b") == NULL
		    && passwd_file_lookup(file, "c") != NULL);

	/* a broken file: an error, and the last good contents stay */
	test_assert(replace_file(path, "a:{PLAIN}x\na:{PLAIN}y\n"));
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), -1);
	test_assert_contains(error, ":2: duplicate user \"a\" (first on line 1)");
	test_assert(passwd_file_lookup(file, "c") != NULL);
	/* still broken: still an error (it is not remembered as loaded) */
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), -1);

	/* gone: an error, the old contents stay */
	test_assert(unlink(path) == 0);
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), -1);
	test_assert_contains(error, "stat: No such file or directory");
	test_assert(passwd_file_lookup(file, "c") != NULL);

	/* back and fixed */
	test_assert(write_file(path, "d:{PLAIN}z\n"));
	test_assert_int_eq(passwd_file_refresh(file, error, sizeof(error)), 1);
	test_assert(file->count == 1 && passwd_file_lookup(file, "d") != NULL);
	passwd_file_free(&file);
	unlink(path);
	test_end();
}

int main(void)
{
	char *dir;

	test_passwd_file_good();
	test_passwd_file_empty();
	test_passwd_file_dummy_cost();
	test_passwd_file_bad();
	test_passwd_file_no_secret_in_errors();
	test_passwd_file_line_limit();
	dir = make_dir();
	test_begin("passwd_file: a temporary directory for file tests");
	test_assert(dir != NULL);
	test_end();
	if (dir != NULL) {
		char path[4200];

		test_passwd_file_load(dir);
		test_passwd_file_refresh(dir);
		snprintf(path, sizeof(path), "%s/users", dir);
		unlink(path);
		rmdir(dir);
		free(dir);
	}
	return test_exit();
}

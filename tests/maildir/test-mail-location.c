/* test-mail-location: the mail_location template: every expansion form,
 * overlong results, bad templates and unusable user names or homes, each
 * with the message that says what is wrong. */
#include "mail_location.h"

#include <string.h>

#include "test-common.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

struct expand_case {
	const char *template;
	const char *user;
	const char *home;
	const char *want;	/* the path, or NULL: an error containing ERROR */
	const char *error;
	bool template_error;	/* mail_location_check refuses it too */
};

static const struct expand_case expand_cases[] = {
	/* the default, and ~ alone */
	{ "maildir:~/Maildir", "joe", "/home/joe", "/home/joe/Maildir", NULL, false },
	{ "maildir:~", "joe", "/home/joe", "/home/joe", NULL, false },
	{ "maildir:~/", "joe", "/home/joe", "/home/joe/", NULL, false },
	/* absolute paths, with and without variables */
	{ "maildir:/var/mail/vhosts/Maildir", "joe", "",
	  "/var/mail/vhosts/Maildir", NULL, false },
	{ "maildir:/var/mail/%u", "joe", "", "/var/mail/joe", NULL, false },
	{ "maildir:/var/mail/%u/Maildir", "ann@example.org", "/h",
	  "/var/mail/ann@example.org/Maildir", NULL, false },
	{ "maildir:%h/Maildir", "joe", "/home/joe", "/home/joe/Maildir", NULL, false },
	{ "maildir:%h", "joe", "/home/joe", "/home/joe", NULL, false },
	{ "maildir:/srv%h/%u", "joe", "/home/joe", "/srv/home/joe/joe", NULL, false },
	{ "maildir:~/%u/%u", "joe", "/h", "/h/joe/joe", NULL, false },
	{ "maildir:~/mail%%box", "joe", "/h", "/h/mail%box", NULL, false },
	{ "maildir:/%%u", "joe", "/h", "/%u", NULL, false },
	{ "maildir:/%%%u", "joe", "/h", "/%joe", NULL, false },
	/* ~ is the home only at the start */
	{ "maildir:/var/~/x", "joe", "/h", "/var/~/x", NULL, false },
	{ "maildir:~/a~b", "joe", "/h", "/h/a~b", NULL, false },
	/* user names that are a path component: any byte but / */
	{ "maildir:/m/%u", "j.o-e_1+x", "", "/m/j.o-e_1+x", NULL, false },
	{ "maildir:/m/%u", "...", "", "/m/...", NULL, false },
	{ "maildir:/m/%u", "\xc3\xa9l\xc3\xa8ve", "", "/m/\xc3\xa9l\xc3\xa8ve",
	  NULL, false },
	/* a variable the template does not use is not checked */
	{ "maildir:/m/%u", "joe", "", "/m/joe", NULL, false },
	{ "maildir:~/Maildir", "a/b", "/h", "/h/Maildir", NULL, false },
	/* no usable home, where one is needed */
	{ "maildir:~/Maildir", "joe", "", NULL, "no absolute home directory", false },
	{ "maildir:%h/Maildir", "joe", "", NULL, "no absolute home directory", false },
	{ "maildir:~/Maildir", "joe", "home/joe", NULL,
	  "no absolute home directory", false },
	/* a user name that would leave or break the path */
	{ "maildir:/m/%u", "a/b", "", NULL, "not a single path component", false },
	{ "maildir:/m/%u", "..", "", NULL, "not a single path component", false },
	{ "maildir:/m/%u", ".", "", NULL, "not a single path component", false },
	{ "maildir:/m/%u/x", "", "", NULL, "not a single path component", false },
	/* bad templates */
	{ "mbox:~/mail", "joe", "/h", NULL, "expected maildir:PATH", true },
	{ "Maildir:~/Maildir", "joe", "/h", NULL, "expected maildir:PATH", true },
	{ "", "joe", "/h", NULL, "expected maildir:PATH", true },
	{ "~/Maildir", "joe", "/h", NULL, "expected maildir:PATH", true },
	{ "maildir:", "joe", "/h", NULL, "found no PATH", true },
	{ "maildir:Maildir", "joe", "/h", NULL,
	  "absolute or starting with ~/ or %h", true },
	{ "maildir:./Maildir", "joe", "/h", NULL, "absolute", true },
	{ "maildir:%u/Maildir", "joe", "/h", NULL, "absolute", true },
	{ "maildir:~joe/Maildir", "joe", "/h", NULL, "~user is not supported",
	  true },
	/* Dovecot's options that only concern its own files are ignored */
	{ "maildir:~/Maildir:INDEX=/var/index/%u", "joe", "/h", "/h/Maildir",
	  NULL, false },
	{ "maildir:~/Maildir:LAYOUT=fs:INDEX=MEMORY:CONTROL=/c/%u", "joe", "/h",
	  "/h/Maildir", NULL, false },
	{ "maildir:/m/%u:INDEXPVT=~/p:VOLATILEDIR=/tmp/v/%u", "joe", "/h",
	  "/m/joe", NULL, false },
	{ "maildir:~:INDEX=/i", "joe", "/h", "/h", NULL, false },
	/* CONTROL= must be a directory like PATH */
	{ "maildir:~/Maildir:CONTROL=control", "joe", "/h", NULL,
	  "in CONTROL=: expected an absolute directory, or one starting with "
	  "~/ or %h", true },
	{ "maildir:~/Maildir:CONTROL=", "joe", "/h", NULL,
	  "in CONTROL=: expected an absolute directory", true },
	{ "maildir:~/Maildir:CONTROL=/c/%d", "joe", "/h", NULL,
	  "in CONTROL=: unknown variable", true },
	/* ... and the others are refused */
	{ "maildir:~/Maildir:INBOX=~/Maildir/.INBOX", "joe", "/h", NULL,
	  "INBOX= option is not supported", true },
	{ "maildir:~/Maildir:FULLDIRNAME=x", "joe", "/h", NULL,
	  "unknown option after PATH (expected one of INDEX=", true },
	{ "maildir:~/Maildir:", "joe", "/h", NULL, "expected KEY=VALUE", true },
	{ "maildir:~/Maildir:INDEX", "joe", "/h", NULL, "expected KEY=VALUE",
	  true },
	{ "maildir:~/Maildir:=x", "joe", "/h", NULL, "expected KEY=VALUE", true },
	{ "maildir:~/Mail::dir", "joe", "/h", NULL, "expected KEY=VALUE", true },
	{ "maildir::INDEX=/i", "joe", "/h", NULL, "found no PATH", true },
	{ "maildir:/m/%:INDEX=/i", "joe", "/h", NULL, "a % ends PATH", true },
	{ "maildir:/m/%d", "joe", "/h", NULL,
	  "unknown variable after % (expected %u for the user name, %h for "
	  "the home directory or %% for a percent sign)", true },
	{ "maildir:/m/%U", "joe", "/h", NULL, "unknown variable", true },
	{ "maildir:/m/%n", "joe", "/h", NULL, "unknown variable", true },
	{ "maildir:/m/100%", "joe", "/h", NULL, "a % ends PATH", true },
	{ "maildir:/m/%%%", "joe", "/h", NULL, "a % ends PATH", true },
};

static void test_mail_location_expand(void)
{
	char path[MAIL_LOCATION_PATH_MAX];
	const struct expand_case *c;
	const char *error;
	size_t i;
	int ret;

	test_begin("mail_location_expand: ~, %u, %h, %%, and each refusal "
		   "with its message");
	for (i = 0; i < N_ELEMENTS(expand_cases); i++) {
		c = &expand_cases[i];
		error = NULL;
		memset(path, 'X', sizeof(path));
		ret = mail_location_expand(c->template, c->user, c->home, path,
					   sizeof(path), &error);
		if (c->want != NULL) {
			if (test_assert_case(ret == 0, c->template))
				test_assert_strcmp(path, c->want);
			else
				printf("# error: %s\n", error);
		} else {
			test_assert_case(ret == -1, c->template);
			test_assert_case(error != NULL, c->template);
			if (error != NULL)
				test_assert_contains(error, c->error);
		}
	}
	test_end();
}

static void test_mail_location_check(void)
{
	const char *error;
	size_t i;

	test_begin("mail_location_check: agrees with expand on the template");
	for (i = 0; i < N_ELEMENTS(expand_cases); i++) {
		const struct expand_case *c = &expand_cases[i];
		int ret;

		error = NULL;
		ret = mail_location_check(c->template, &error);
		test_assert_case(ret == (c->template_error ? -1 : 0),
				 c->template);
		if (c->template_error && error != NULL)
			test_assert_contains(error, c->error);
	}
	test_end();
}

static void test_mail_location_too_long(void)
{
	char template[MAIL_LOCATION_PATH_MAX + 64], path[MAIL_LOCATION_PATH_MAX];
	char user[300], small[16];
	const char *error;
	size_t fit;

	test_begin("mail_location_expand: a path that just fits, one byte more, "
		   "and expansions that overflow are refused");
	/* "maildir:/" and then 'a's: a path of exactly size - 1 bytes fits */
	fit = sizeof(path) - 1;
	memcpy(template, "maildir:/", 9);
	memset(template + 9, 'a', fit - 1);
	template[9 + fit - 1] = '\0';
	test_assert(mail_location_expand(template, "joe", "/h", path,
					 sizeof(path), &error) == 0);
	test_assert_int_eq(strlen(path), fit);
	/* one more byte: refused, never cut */
	template[9 + fit - 1] = 'a';
	template[9 + fit] = '\0';
	error = NULL;
	test_assert(mail_location_expand(template, "joe", "/h", path,
					 sizeof(path), &error) == -1);
	test_assert(error != NULL && strstr(error, "too long") != NULL);

	/* the same through a variable: the user name overflows */
	memset(user, 'u', sizeof(user) - 1);
	user[sizeof(user) - 1] = '\0';
	test_assert(mail_location_expand("maildir:/var/mail/%u", user, "", small,
					 sizeof(small), &error) == -1);
	test_assert(error != NULL && strstr(error, "too long") != NULL);
	test_assert(mail_location_expand("maildir:~/Maildir", "joe",
					 "/home/a-long-home", small,
					 sizeof(small), &error) == -1);
	test_assert(error != NULL && strstr(error, "too long") != NULL);
	/* exactly the room: 15 bytes and the NUL */
	test_assert(mail_location_expand("maildir:/var/mail/%u", "abcde", "",
					 small, sizeof(small), &error) == 0);
	test_assert_strcmp(small, "/var/mail/abcde");
	test_assert(mail_location_expand("maildir:/var/mail/%u", "abcdef", "",
					 small, sizeof(small), &error) == -1);
	test_assert(mail_location_expand("maildir:/x", "joe", "", small, 0,
					 &error) == -1);
	test_end();
}

struct control_case {
	const char *template;
	const char *user;
	const char *home;
	int want_ret;
	const char *want;	/* the directory (want_ret 1), or the error */
};

static const struct control_case control_cases[] = {
	{ "maildir:~/Maildir", "joe", "/h", 0, NULL },
	{ "maildir:~/Maildir:INDEX=/i", "joe", "/h", 0, NULL },
	{ "maildir:~/Maildir:CONTROL=~/control", "joe", "/home/joe", 1,
	  "/home/joe/control" },
	{ "maildir:/m/%u:INDEX=/i:CONTROL=/c/%u:LAYOUT=fs", "joe", "", 1,
	  "/c/joe" },
	{ "maildir:~/Maildir:CONTROL=%h/ctl/%u", "joe", "/h", 1, "/h/ctl/joe" },
	{ "maildir:~/Maildir:CONTROL=~", "joe", "/h", 1, "/h" },
	{ "maildir:/m/%u:CONTROL=~/c", "joe", "", -1,
	  "no absolute home directory" },
	{ "maildir:/m/x:CONTROL=/c/%u", "a/b", "", -1,
	  "not a single path component" },
	{ "maildir:~/Maildir:CONTROL=c", "joe", "/h", -1,
	  "in CONTROL=: expected an absolute directory" },
	{ "mbox:~/m:CONTROL=/c", "joe", "/h", -1, "expected maildir:PATH" },
};

static void test_mail_location_control(void)
{
	char path[MAIL_LOCATION_PATH_MAX], small[8];
	const char *error;
	size_t i;

	test_begin("mail_location_expand_control: where Dovecot's CONTROL= "
		   "puts maildirsize, expanded like PATH, or none");
	for (i = 0; i < N_ELEMENTS(control_cases); i++) {
		const struct control_case *c = &control_cases[i];
		int ret;

		error = NULL;
		memset(path, 'X', sizeof(path));
		ret = mail_location_expand_control(c->template, c->user, c->home,
						   path, sizeof(path), &error);
		test_assert_case(ret == c->want_ret, c->template);
		if (ret == 1 && c->want_ret == 1)
			test_assert_strcmp(path, c->want);
		if (c->want_ret < 0 && error != NULL)
			test_assert_contains(error, c->want);
	}
	/* too long: refused, never cut */
	test_assert(mail_location_expand_control("maildir:~:CONTROL=/control",
						 "joe", "/h", small,
						 sizeof(small), &error) == -1);
	test_assert(error != NULL && strstr(error, "too long") != NULL);
	test_end();
}

int main(void)
{
	test_mail_location_expand();
	test_mail_location_check();
	test_mail_location_too_long();
	test_mail_location_control();
	return test_exit();
}

/* test-maildir-name: the Maildir file name parser and the UIDL mapping. */
#include "maildir_name.h"

#include <string.h>

#include "test-common.h"

struct name_case {
	const char *name;
	int ret;
	size_t base_len;
	bool has_info;
	const char *flags;
	bool has_vsize;
	uint64_t vsize;
	bool has_time;
	uint64_t time;
};

static const struct name_case name_cases[] = {
	{ "1733040000.M20557P1234.host,S=1024,W=1050:2,RS", 0, 41, true, "RS",
	  true, 1050, true, 1733040000 },
	{ "1733040000.M1P2.host", 0, 20, false, NULL, false, 0, true,
	  1733040000 },
	{ "1733040000.M1P2.host:2,", 0, 20, true, "", false, 0, true,
	  1733040000 },
	/* Courier's S= is the size on disk: not an octet count */
	{ "1733040000.M1P2.host,S=99:2,S", 0, 25, true, "S", false, 0, true,
	  1733040000 },
	{ "1.x,W=:2,", 0, 6, true, "", false, 0, true, 1 },
	{ "1.x,W=12x:2,", 0, 9, true, "", false, 0, true, 1 },
	{ "1.x,W=12,S=3", 0, 12, false, NULL, true, 12, true, 1 },
	{ "1.x,W=99999999999999999999", 0, 26, false, NULL, false, 0, true,
	  1 },
	{ "1.x:2,W=5", 0, 3, true, "W=5", false, 0, true, 1 },
	{ "1.x:1,foo", 0, 3, false, NULL, false, 0, true, 1 },
	{ "1.x:2", 0, 3, false, NULL, false, 0, true, 1 },
	{ "msg-without-time", 0, 16, false, NULL, false, 0, false, 0 },
	{ "123abc", 0, 6, false, NULL, false, 0, false, 0 },
	{ "99999999999999999999.x", 0, 22, false, NULL, false, 0, false, 0 },
	{ "1.a:b:c", 0, 3, false, NULL, false, 0, true, 1 },
	{ ".hidden", -1, 0, false, NULL, false, 0, false, 0 },
	{ ":2,S", -1, 0, false, NULL, false, 0, false, 0 },
	{ "", -1, 0, false, NULL, false, 0, false, 0 },
	{ "a/b", -1, 0, false, NULL, false, 0, false, 0 },
};

static void test_maildir_name_parse(void)
{
	struct maildir_name parsed;
	const struct name_case *c;
	const char *error;
	size_t i;

	test_begin("maildir_name_parse: base name, flags, W= size, time");
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		c = &name_cases[i];
		error = NULL;
		test_assert_case(maildir_name_parse(c->name, strlen(c->name),
						    255, &parsed, &error)
				 == c->ret, c->name);
		if (c->ret < 0) {
			test_assert_case(error != NULL, c->name);
			continue;
		}
		test_assert_case(parsed.base_len == c->base_len, c->name);
		test_assert_case(parsed.has_info == c->has_info, c->name);
		if (c->has_info)
			test_assert_case(strcmp(c->name + parsed.flags_offset,
						c->flags) == 0, c->name);
		test_assert_case(parsed.has_vsize == c->has_vsize, c->name);
		test_assert_case(parsed.vsize == c->vsize, c->name);
		test_assert_case(parsed.has_time == c->has_time, c->name);
		test_assert_case(parsed.time == c->time, c->name);
	}
	test_end();
}

static void test_maildir_name_length_cap(void)
{
	struct maildir_name parsed;
	const char *error;

	test_begin("maildir_name_parse: longer than the cap is refused");
	test_assert(maildir_name_parse("1.abcdef", 8, 8, &parsed, &error) == 0);
	test_assert(maildir_name_parse("1.abcdefg", 9, 8, &parsed, &error)
		    == -1);
	test_assert_strcmp(error, "name too long");
	/* NUL inside the given length */
	test_assert(maildir_name_parse("1.a\0b", 5, 255, &parsed, &error)
		    == -1);
	test_end();
}

static void test_maildir_name_disk_size(void)
{
	static const struct {
		const char *name;
		bool has;
		uint64_t size;
	} cases[] = {
		{ "1.M1P1.host,S=1024,W=1050:2,S", true, 1024 },
		{ "1.M1P1.host,W=1050,S=0", true, 0 },
		{ "1.M1P1.host,S=12x", false, 0 },
		{ "1.M1P1.host,S=", false, 0 },
		{ "1.M1P1.host:2,S=5", false, 0 },	/* in the flags */
		{ "1.M1P1.host,S=18446744073709551616", false, 0 },
		{ "1.M1P1.host,S=7,S=8", true, 7 },
	};
	struct maildir_name parsed;
	const char *error;
	size_t i;

	test_begin("maildir_name_parse: S= (size on disk) in the base, the "
		   "first one decides");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_assert_case(maildir_name_parse(cases[i].name,
						    strlen(cases[i].name), 255,
						    &parsed, &error) == 0,
				 cases[i].name);
		test_assert_case(parsed.has_disk_size == cases[i].has,
				 cases[i].name);
		test_assert_case(parsed.disk_size == cases[i].size,
				 cases[i].name);
	}
	test_end();
}

static void test_maildir_name_has_base(void)
{
	test_begin("maildir_name_has_base: the base, then ':' or the end");
	test_assert(maildir_name_has_base("1.x:2,S", 7, "1.x", 3));
	test_assert(maildir_name_has_base("1.x", 3, "1.x", 3));
	test_assert(!maildir_name_has_base("1.xy:2,S", 8, "1.x", 3));
	test_assert(!maildir_name_has_base("1.", 2, "1.x", 3));
	test_end();
}

/* True when UIDL is a valid RFC 1939 unique-id. */
static bool uidl_valid(const char *uidl)
{
	size_t i, len = strlen(uidl);

	if (len < 1 || len > 70)
		return false;
	for (i = 0; i < len; i++)
		if ((unsigned char)uidl[i] < 0x21
		    || (unsigned char)uidl[i] > 0x7e)
			return false;
	return true;
}

static void test_maildir_name_uidl(void)
{
	char uidl[MAILDIR_UIDL_MAX + 1], other[MAILDIR_UIDL_MAX + 1];
	char long_base[200];

	test_begin("maildir_name_uidl: base name, or x:hex, or h:hash");
	maildir_name_uidl("1733040000.M1P2.host,S=9", 24, uidl);
	test_assert_strcmp(uidl, "1733040000.M1P2.host,S=9");
	maildir_name_uidl("1 a\xff", 4, uidl);
	test_assert_strcmp(uidl, "x:312061ff");
	test_assert(uidl_valid(uidl));

	memset(long_base, 'a', sizeof(long_base));
	maildir_name_uidl(long_base, 70, uidl);
	test_assert(strlen(uidl) == 70 && uidl[0] == 'a');
	maildir_name_uidl(long_base, 71, uidl);
	test_assert(strncmp(uidl, "h:", 2) == 0 && strlen(uidl) == 34);
	test_assert(uidl_valid(uidl));
	maildir_name_uidl(long_base, 72, other);
	test_assert(strcmp(uidl, other) != 0);
	/* 34 unprintable bytes still fit hex-encoded: 2 + 68 */
	memset(long_base, ' ', 40);
	maildir_name_uidl(long_base, 34, uidl);
	test_assert(strncmp(uidl, "x:", 2) == 0 && strlen(uidl) == 70);
	maildir_name_uidl(long_base, 35, uidl);
	test_assert(strncmp(uidl, "h:", 2) == 0 && uidl_valid(uidl));
	test_end();
}

int main(void)
{
	test_maildir_name_parse();
	test_maildir_name_length_cap();
	test_maildir_name_disk_size();
	test_maildir_name_has_base();
	test_maildir_name_uidl();
	return test_exit();
}

/* test-address: address canonicalisation (IPv4, IPv6 in all its spellings,
 * IPv4-mapped, sendmail's "IPv6:" prefix), the two IPv6 text forms, and
 * CIDR blocks and lists. */
#include "address.h"

#include <arpa/inet.h>

#include "test-common.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Parse TEXT, which must succeed; returns the address (zeroed on failure). */
static struct address test_parse_ok(const char *text)
{
	struct address addr;
	const char *error = NULL;
	char label[80];

	snprintf(label, sizeof(label), "\"%s\" parses", text);
	if (!test_assert_case(address_parse(text, &addr, &error) == 0, label)) {
		printf("# error: %s\n", error != NULL ? error : "(null)");
		memset(&addr, 0, sizeof(addr));
	}
	return addr;
}

/* The bytes of a parsed address must be exactly WANT (LEN bytes) and the
 * rest of the 16-byte array zero, so memcmp() on keys is safe. */
static bool address_bytes_are(const struct address *addr, int family,
			      const unsigned char *want, size_t len)
{
	size_t i;

	if (addr->family != family || memcmp(addr->bytes, want, len) != 0)
		return false;
	for (i = len; i < sizeof(addr->bytes); i++) {
		if (addr->bytes[i] != 0)
			return false;
	}
	return true;
}

static void test_address_ipv4_valid(void)
{
	static const struct {
		const char *text;
		unsigned char bytes[4];
	} cases[] = {
		{ "192.0.2.7", { 192, 0, 2, 7 } },
		{ "10.11.12.13", { 10, 11, 12, 13 } },
		{ "0.0.0.0", { 0, 0, 0, 0 } },
		{ "255.255.255.255", { 255, 255, 255, 255 } },
		{ "1.0.0.1", { 1, 0, 0, 1 } },
	};
	size_t i;

	test_begin("address: IPv4 dotted quads parse to their four bytes");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct address addr = test_parse_ok(cases[i].text);
		char buf[ADDRESS_TEXT_MAX], full[ADDRESS_TEXT_MAX];

		test_assert_case(address_bytes_are(&addr, AF_INET,
						   cases[i].bytes, 4),
				 cases[i].text);
		test_assert_strcmp(address_format(&addr, buf), cases[i].text);
		test_assert_strcmp(address_format_full(&addr, full),
				   cases[i].text);
	}
	test_end();
}

/* Every text of CASES must be rejected with an error description. */
static void test_address_rejects(const char *const *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct address addr;
		const char *error = NULL;
		char label[120];

		snprintf(label, sizeof(label), "\"%s\" is rejected", cases[i]);
		test_assert_case(address_parse(cases[i], &addr, &error) == -1,
				 label);
		test_assert_case(error != NULL && *error != '\0', label);
	}
}

static void test_address_ipv4_invalid(void)
{
	static const char *const cases[] = {
		"1.2.3",
		"1.2.3.4.5",
		"256.1.1.1",
		"1.2.3.256",
		"1.2.3.1000",
		"010.1.1.1",
		"1.2.3.04",
		"00.1.1.1",
		" 1.2.3.4",
		"1.2.3.4 ",
		"1.2 .3.4",
		"\t1.2.3.4",
		"1.2.3.4\n",
		"1.2.3.4.",
		".1.2.3.4",
		"1..2.3",
		"1.2.3.-4",
		"+1.2.3.4",
		"0x1.2.3.4",
		"a.b.c.d",
		"1",
		"16909060",	/* inet_aton would take this */
		"1.2.3.4x",
		"",
		" ",
	};

	test_begin("address: malformed IPv4 is rejected");
	test_address_rejects(cases, N_ELEMENTS(cases));
	test_end();
}

struct ipv6_case {
	const char *text;
	const char *canonical;	/* RFC 5952 */
	const char *full;	/* sendmail: 8 groups */
	unsigned char bytes[16];
};

static const struct ipv6_case ipv6_cases[] = {
	/* "::" at the start */
	{ "::1", "::1", "0:0:0:0:0:0:0:1",
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
	{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8",
	  { 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8 } },
	/* "::" in the middle */
	{ "2001:db8::5", "2001:db8::5", "2001:db8:0:0:0:0:0:5",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 } },
	{ "2001:db8:1::2:3", "2001:db8:1::2:3", "2001:db8:1:0:0:0:2:3",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 3 } },
	/* "::" at the end */
	{ "fe80::", "fe80::", "fe80:0:0:0:0:0:0:0",
	  { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0",
	  { 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0 } },
	/* no "::" */
	{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6",
	  "2001:db8:1:2:3:4:5:6",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6 } },
	/* the full form of 2001:db8::5 is the same address */
	{ "2001:db8:0:0:0:0:0:5", "2001:db8::5", "2001:db8:0:0:0:0:0:5",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 } },
	{ "2001:0db8:0000:0000:0000:0000:0000:0005", "2001:db8::5",
	  "2001:db8:0:0:0:0:0:5",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 } },
	/* all zero */
	{ "::", "::", "0:0:0:0:0:0:0:0",
	  { 0 } },
	{ "0:0:0:0:0:0:0:0", "::", "0:0:0:0:0:0:0:0",
	  { 0 } },
	/* upper case in, lower case out */
	{ "2001:DB8::ABCD", "2001:db8::abcd", "2001:db8:0:0:0:0:0:abcd",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd } },
	{ "FE80::A:B:C:D", "fe80::a:b:c:d", "fe80:0:0:0:a:b:c:d",
	  { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xa, 0, 0xb, 0, 0xc, 0, 0xd } },
	/* RFC 5952 4.2.2: a single zero group is not shortened */
	{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1",
	  "2001:db8:0:1:1:1:1:1",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 } },
	/* RFC 5952 4.2.3: the longest run, the first of equal runs */
	{ "2001:0:0:1:0:0:0:1", "2001:0:0:1::1", "2001:0:0:1:0:0:0:1",
	  { 0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 } },
	{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", "2001:db8:0:0:1:0:0:1",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 } },
	/* sendmail's "IPv6:" prefix, any case */
	{ "IPv6:2001:db8::5", "2001:db8::5", "2001:db8:0:0:0:0:0:5",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 } },
	{ "ipv6:2001:db8:0:0:0:0:0:5", "2001:db8::5", "2001:db8:0:0:0:0:0:5",
	  { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5 } },
	{ "IPV6:::1", "::1", "0:0:0:0:0:0:0:1",
	  { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
};

static void test_address_ipv6_valid(void)
{
	size_t i;

	test_begin("address: IPv6 in every spelling gives bytes, RFC 5952 and full form");
	for (i = 0; i < N_ELEMENTS(ipv6_cases); i++) {
		const struct ipv6_case *c = &ipv6_cases[i];
		struct address addr = test_parse_ok(c->text);
		char buf[ADDRESS_TEXT_MAX], full[ADDRESS_TEXT_MAX];

		test_assert_case(address_bytes_are(&addr, AF_INET6, c->bytes, 16),
				 c->text);
		test_assert_strcmp(address_format(&addr, buf), c->canonical);
		test_assert_strcmp(address_format_full(&addr, full), c->full);
	}
	test_end();
}

static void test_address_ipv6_forms_round_trip(void)
{
	size_t i;

	test_begin("address: both IPv6 text forms parse back to the same address");
	for (i = 0; i < N_ELEMENTS(ipv6_cases); i++) {
		struct address addr = test_parse_ok(ipv6_cases[i].text);
		struct address again;
		char buf[ADDRESS_TEXT_MAX];

		again = test_parse_ok(address_format(&addr, buf));
		test_assert_case(memcmp(&again, &addr, sizeof(addr)) == 0, buf);
		again = test_parse_ok(address_format_full(&addr, buf));
		test_assert_case(memcmp(&again, &addr, sizeof(addr)) == 0, buf);
		test_assert_case(strlen(buf) <= 39, buf);
	}
	test_end();
}

static void test_address_ipv4_mapped(void)
{
	static const char *const cases[] = {
		"::ffff:192.0.2.7",
		"::FFFF:192.0.2.7",
		"::ffff:c000:207",
		"::FFFF:C000:0207",
		"0:0:0:0:0:ffff:c000:207",
		"0000:0000:0000:0000:0000:ffff:192.0.2.7",
		"IPv6:::ffff:192.0.2.7",
		"IPv6:0:0:0:0:0:ffff:c000:207",
	};
	static const unsigned char want[4] = { 192, 0, 2, 7 };
	size_t i;

	test_begin("address: IPv4-mapped IPv6 becomes the IPv4 address");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct address addr = test_parse_ok(cases[i]);
		char buf[ADDRESS_TEXT_MAX];

		test_assert_case(address_bytes_are(&addr, AF_INET, want, 4),
				 cases[i]);
		test_assert_strcmp(address_format(&addr, buf), "192.0.2.7");
		test_assert_strcmp(address_format_full(&addr, buf), "192.0.2.7");
	}
	test_end();
}

static void test_address_not_mapped(void)
{
	/* look-alikes of the mapped prefix stay IPv6 */
	static const char *const cases[] = {
		"::192.0.2.7",			/* IPv4-compatible (deprecated) */
		"::fffe:c000:207",
		"0:0:0:0:1:ffff:c000:207",
		"64:ff9b::192.0.2.7",		/* NAT64 */
		"::ffff:0:c000:207",		/* SIIT, RFC 2765 */
	};
	size_t i;

	test_begin("address: IPv6 look-alikes of IPv4-mapped stay IPv6");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct address addr = test_parse_ok(cases[i]);

		test_assert_case(addr.family == AF_INET6, cases[i]);
	}
	test_end();
}

static void test_address_ipv6_invalid(void)
{
	static const char *const cases[] = {
		/* zone ids */
		"fe80::1%eth0",
		"fe80::1%1",
		"fe80::1%",
		"IPv6:fe80::1%eth0",
		/* prefixes */
		"2001:db8::/64",
		"2001:db8::1/128",
		"192.0.2.7/32",
		"::ffff:192.0.2.7/128",
		/* brackets */
		"[2001:db8::1]",
		"[::1]",
		"[192.0.2.7]",
		"IPv6:[::1]",
		/* blanks */
		" ::1",
		"::1 ",
		":: 1",
		"::1\n",
		/* bad "IPv6:" use */
		"IPv6:",
		"IPv6:192.0.2.7",
		"IPv6: ::1",
		"IPv6:IPv6:::1",
		"IPv4:192.0.2.7",
		/* malformed */
		"2001:db8::1::2",
		":::",
		"2001:db8:::1",
		"1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8",
		"12345::",
		"g::1",
		"2001:db8::-1",
		":1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:",
		"::ffff:192.0.2",
		"::ffff:192.0.2.256",
		"::ffff:192.0.2.7.1",
		"0x1::",
		/* too long */
		"0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
		"00000000000000000000000000000000000000000000000000000000000::1",
	};

	test_begin("address: zone ids, prefixes, brackets, blanks and garbage are rejected");
	test_address_rejects(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_address_null(void)
{
	struct address addr;
	const char *error = NULL;

	test_begin("address: NULL text is rejected");
	test_assert(address_parse(NULL, &addr, &error) == -1);
	test_assert(error != NULL);
	test_end();
}

static void test_address_garbage(void)
{
	static const char *const cases[] = {
		"localhost",
		"example.com",
		"-",
		".",
		":",
		"::g",
		"%",
		"/",
		"\xff\xfe",
		"192.0.2.7:25",
		"[192.0.2.7]:25",
	};

	test_begin("address: names and other garbage are rejected");
	test_address_rejects(cases, N_ELEMENTS(cases));
	test_end();
}

/* cidr_parse(TEXT) must succeed with the given block. */
static void test_cidr_ok(const char *text, const char *block, unsigned len)
{
	struct cidr cidr;
	const char *error = NULL;
	char buf[ADDRESS_TEXT_MAX + 8];

	if (!test_assert_case(cidr_parse(text, &cidr, &error) == 0, text)) {
		printf("# error: %s\n", error != NULL ? error : "(null)");
		return;
	}
	test_assert_case(cidr.prefix_len == len, text);
	test_assert_strcmp(cidr_format(&cidr, buf, sizeof(buf)), block);
}

static void test_cidr_parse_valid(void)
{
	test_begin("cidr: blocks with and without a prefix length parse");
	test_cidr_ok("10.0.0.0/8", "10.0.0.0/8", 8);
	test_cidr_ok("192.0.2.128/25", "192.0.2.128/25", 25);
	test_cidr_ok("192.0.2.7/32", "192.0.2.7/32", 32);
	test_cidr_ok("192.0.2.7", "192.0.2.7/32", 32);
	test_cidr_ok("0.0.0.0/0", "0.0.0.0/0", 0);
	test_cidr_ok("2001:db8::/32", "2001:db8::/32", 32);
	test_cidr_ok("2001:DB8:0:0:0:0:0:0/32", "2001:db8::/32", 32);
	test_cidr_ok("2001:db8::1", "2001:db8::1/128", 128);
	test_cidr_ok("2001:db8::1/128", "2001:db8::1/128", 128);
	test_cidr_ok("::/0", "::/0", 0);
	test_cidr_ok("::/128", "::/128", 128);
	test_cidr_ok("ff00::/8", "ff00::/8", 8);
	test_cidr_ok("fe80::/10", "fe80::/10", 10);
	test_cidr_ok("::ffff:192.0.2.7", "192.0.2.7/32", 32);
	test_end();
}

static void test_cidr_parse_ffff_not_mapped(void)
{
	/* text starting "::ffff:" that is not IPv4-mapped (found by
	 * fuzz-address: cidr_format() output that cidr_parse() refused) */
	test_begin("cidr: IPv6 blocks starting ::ffff: that are not IPv4-mapped parse");
	test_cidr_ok("::ffff:1:f8:0:f8/128", "::ffff:1:f8:0:f8/128", 128);
	test_cidr_ok("::ffff:1:2:3:4/128", "::ffff:1:2:3:4/128", 128);
	test_cidr_ok("::FFFF:0:0:0:0/64", "0:0:0:ffff::/64", 64);
	test_cidr_ok("::ffff:1:2:3:4", "::ffff:1:2:3:4/128", 128);
	test_end();
}

static void test_cidr_format_round_trip(void)
{
	static const char *const cases[] = {
		"10.0.0.0/8", "192.0.2.7", "::/0", "2001:db8::/32",
		"::ffff:1:2:3:4/128", "0:0:0:ffff::/64", "::1.2.3.0/120",
		"fe80::/10", "::ffff:192.0.2.7",
	};
	size_t i;

	test_begin("cidr: a formatted block parses back to the same block");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr cidr, again;
		const char *error = NULL;
		char buf[ADDRESS_TEXT_MAX + 8];

		if (!test_assert_case(cidr_parse(cases[i], &cidr, &error) == 0,
				      cases[i]))
			continue;
		cidr_format(&cidr, buf, sizeof(buf));
		if (!test_assert_case(cidr_parse(buf, &again, &error) == 0, buf)) {
			printf("# error: %s\n", error);
			continue;
		}
		test_assert_case(again.prefix_len == cidr.prefix_len, buf);
		test_assert_case(memcmp(&again.base, &cidr.base,
					sizeof(cidr.base)) == 0, buf);
	}
	test_end();
}

static void test_cidr_parse_invalid(void)
{
	static const char *const cases[] = {
		"10.1.2.3/8",		/* host bits set */
		"10.0.0.0/0",
		"192.0.2.129/25",
		"192.0.2.1/31",
		"2001:db8::1/64",
		"2001:db8::/16",
		"10.0.0.0/33",		/* too long for IPv4 */
		"10.0.0.0/99999999999",
		"2001:db8::/129",	/* too long for IPv6 */
		"10.0.0.0/",		/* malformed length */
		"10.0.0.0/08",
		"10.0.0.0/8x",
		"10.0.0.0/-8",
		"10.0.0.0/+8",
		"10.0.0.0/ 8",
		"10.0.0.0 /8",
		"10.0.0.0/8/8",
		"/8",
		"",
		"10.0.0/8",		/* malformed address */
		"fe80::%eth0/64",
		"[2001:db8::]/32",
		"::ffff:192.0.2.0/120",	/* mapped blocks must be IPv4 */
		"::FFFF:192.0.2.0/120",
	};
	size_t i;

	test_begin("cidr: host bits, long prefixes and malformed blocks are rejected");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr cidr;
		const char *error = NULL;

		test_assert_case(cidr_parse(cases[i], &cidr, &error) == -1,
				 cases[i]);
		test_assert_case(error != NULL && *error != '\0', cases[i]);
	}
	test_end();
}

static void test_cidr_mapped_block_with_prefix(void)
{
	/* every spelling of an IPv4-mapped block with a prefix length is
	 * ambiguous (IPv6 length on an IPv4 block), not only "::ffff:" */
	static const char *const cases[] = {
		"IPv6:::ffff:192.0.2.0/120",
		"IPv6:::ffff:192.0.2.0/24",
		"0:0:0:0:0:ffff:c000:200/120",
		"0:0:0:0:0:ffff:c000:200/24",
		"::ffff:192.0.2.0/24",
	};
	size_t i;

	test_begin("cidr: IPv4-mapped blocks with a length are rejected in every spelling");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr cidr;
		const char *error = NULL;

		test_assert_case(cidr_parse(cases[i], &cidr, &error) == -1,
				 cases[i]);
	}
	test_end();
}

/* Does the block TEXT hold the address ADDR_TEXT? */
static bool test_cidr_holds(const char *text, const char *addr_text)
{
	struct cidr cidr;
	struct address addr;
	const char *error;

	if (!test_assert_case(cidr_parse(text, &cidr, &error) == 0, text))
		return false;
	addr = test_parse_ok(addr_text);
	return cidr_match(&cidr, &addr);
}

static void test_cidr_match(void)
{
	test_begin("cidr: match respects prefix bits and address family");
	test_assert(test_cidr_holds("10.0.0.0/8", "10.0.0.0"));
	test_assert(test_cidr_holds("10.0.0.0/8", "10.255.255.255"));
	test_assert(!test_cidr_holds("10.0.0.0/8", "11.0.0.0"));
	test_assert(!test_cidr_holds("10.0.0.0/8", "9.255.255.255"));
	test_assert(test_cidr_holds("192.0.2.128/25", "192.0.2.128"));
	test_assert(test_cidr_holds("192.0.2.128/25", "192.0.2.255"));
	test_assert(!test_cidr_holds("192.0.2.128/25", "192.0.2.127"));
	test_assert(test_cidr_holds("172.16.0.0/12", "172.31.255.255"));
	test_assert(!test_cidr_holds("172.16.0.0/12", "172.32.0.0"));
	test_assert(!test_cidr_holds("172.16.0.0/12", "172.15.255.255"));
	test_assert(test_cidr_holds("192.0.2.7/32", "192.0.2.7"));
	test_assert(!test_cidr_holds("192.0.2.7/32", "192.0.2.6"));
	test_assert(test_cidr_holds("192.0.2.7", "192.0.2.7"));
	test_assert(test_cidr_holds("0.0.0.0/0", "255.255.255.255"));
	test_assert(!test_cidr_holds("0.0.0.0/0", "::"));
	test_assert(!test_cidr_holds("::/0", "0.0.0.0"));
	test_assert(test_cidr_holds("::/0", "2001:db8::1"));
	test_assert(test_cidr_holds("2001:db8::/32", "2001:db8:ffff::1"));
	test_assert(!test_cidr_holds("2001:db8::/32", "2001:db9::"));
	test_assert(test_cidr_holds("fe80::/10", "febf::1"));
	test_assert(!test_cidr_holds("fe80::/10", "fec0::1"));
	test_assert(test_cidr_holds("2001:db8::5", "2001:db8:0:0:0:0:0:5"));
	test_assert(!test_cidr_holds("2001:db8::5/128", "2001:db8::4"));
	/* a mapped client address is matched by the IPv4 block */
	test_assert(test_cidr_holds("10.0.0.0/8", "::ffff:10.1.2.3"));
	/* ...and an IPv4 block never by the look-alike IPv6 one */
	test_assert(!test_cidr_holds("::/96", "10.1.2.3"));
	test_end();
}

static void test_cidr_list_parse(void)
{
	static const struct {
		const char *text;
		size_t count;
		const char *first, *last;
	} cases[] = {
		{ "10.0.0.0/8", 1, "10.0.0.0/8", "10.0.0.0/8" },
		{ "10.0.0.0/8, 192.168.0.0/16", 2, "10.0.0.0/8", "192.168.0.0/16" },
		{ "10.0.0.0/8,192.168.0.0/16", 2, "10.0.0.0/8", "192.168.0.0/16" },
		{ "10.0.0.0/8 192.168.0.0/16", 2, "10.0.0.0/8", "192.168.0.0/16" },
		{ "10.0.0.0/8\t192.168.0.0/16", 2, "10.0.0.0/8", "192.168.0.0/16" },
		{ " ,10.0.0.0/8 ,\t, 2001:db8::/32,, ", 2, "10.0.0.0/8",
		  "2001:db8::/32" },
		{ "192.0.2.7 2001:db8::5 ::1", 3, "192.0.2.7/32", "::1/128" },
		{ "0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, ::/128, ff00::/8",
		  5, "0.0.0.0/8", "ff00::/8" },
	};
	size_t i;

	test_begin("cidr list: commas and blanks separate blocks");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr_list list = { NULL, 99 };
		const char *error = NULL;
		char buf[ADDRESS_TEXT_MAX + 8];

		if (!test_assert_case(cidr_list_parse(cases[i].text, &list,
						      &error) == 0,
				      cases[i].text))
			continue;
		if (!test_assert_case(list.count == cases[i].count,
				      cases[i].text)) {
			cidr_list_free(&list);
			continue;
		}
		test_assert_strcmp(cidr_format(&list.items[0], buf, sizeof(buf)),
				   cases[i].first);
		test_assert_strcmp(cidr_format(&list.items[list.count - 1], buf,
					       sizeof(buf)), cases[i].last);
		cidr_list_free(&list);
		test_assert(list.items == NULL && list.count == 0);
	}
	test_end();
}

static void test_cidr_list_empty(void)
{
	static const char *const cases[] = { "", " ", ",", " , \t,," };
	size_t i;

	test_begin("cidr list: an empty list parses to no blocks");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr_list list = { NULL, 99 };
		const char *error = NULL;

		test_assert_case(cidr_list_parse(cases[i], &list, &error) == 0,
				 cases[i]);
		test_assert_case(list.count == 0, cases[i]);
		cidr_list_free(&list);
	}
	test_end();
}

static void test_cidr_list_errors(void)
{
	static const struct {
		const char *text;
		const char *item;	/* the error names it */
	} cases[] = {
		{ "10.0.0.0/8, bogus", "bogus" },
		{ "10.1.2.3/8", "10.1.2.3/8" },
		{ "10.0.0.0/8, 10.1.2.3/8", "10.1.2.3/8" },
		{ "10.0.0.0/33", "10.0.0.0/33" },
		{ "10.0.0.0/8;192.168.0.0/16", "10.0.0.0/8;192.168.0.0/16" },
		{ "2001:db8::/129 10.0.0.0/8", "2001:db8::/129" },
		{ "10.0.0.0/8\n192.168.0.0/16", "10.0.0.0/8" },
		{ "1111111111111111111111111111111111111111111111111111111111111",
		  "too long" },
	};
	size_t i;

	test_begin("cidr list: a bad block is an error that names it");
	for (i = 0; i < N_ELEMENTS(cases); i++) {
		struct cidr_list list = { NULL, 0 };
		const char *error = NULL;

		test_assert_case(cidr_list_parse(cases[i].text, &list,
						 &error) == -1, cases[i].text);
		test_assert_contains(error, cases[i].item);
		test_assert_case(list.items == NULL, cases[i].text);
	}
	test_end();
}

static void test_cidr_list_match(void)
{
	struct cidr_list list;
	const struct cidr *found;
	struct address addr;
	const char *error;
	char buf[ADDRESS_TEXT_MAX + 8];

	test_begin("cidr list: match returns the first block holding the address");
	if (test_assert(cidr_list_parse("10.0.0.0/8, 10.1.0.0/16, 2001:db8::/32",
					&list, &error) == 0)) {
		addr = test_parse_ok("10.1.2.3");
		found = cidr_list_match(&list, &addr);
		test_assert(found == &list.items[0]);
		addr = test_parse_ok("2001:db8::5");
		found = cidr_list_match(&list, &addr);
		test_assert(found != NULL && strcmp(cidr_format(found, buf,
			    sizeof(buf)), "2001:db8::/32") == 0);
		addr = test_parse_ok("11.0.0.1");
		test_assert(cidr_list_match(&list, &addr) == NULL);
		addr = test_parse_ok("::ffff:10.9.9.9");
		test_assert(cidr_list_match(&list, &addr) == &list.items[0]);
		cidr_list_free(&list);
	}
	test_assert(cidr_list_parse("", &list, &error) == 0);
	addr = test_parse_ok("10.1.2.3");
	test_assert(cidr_list_match(&list, &addr) == NULL);
	cidr_list_free(&list);
	test_end();
}

int main(void)
{
	test_address_ipv4_valid();
	test_address_ipv4_invalid();
	test_address_ipv6_valid();
	test_address_ipv6_forms_round_trip();
	test_address_ipv4_mapped();
	test_address_not_mapped();
	test_address_ipv6_invalid();
	test_address_null();
	test_address_garbage();
	test_cidr_parse_valid();
	test_cidr_parse_ffff_not_mapped();
	test_cidr_format_round_trip();
	test_cidr_parse_invalid();
	test_cidr_mapped_block_with_prefix();
	test_cidr_match();
	test_cidr_list_parse();
	test_cidr_list_empty();
	test_cidr_list_errors();
	test_cidr_list_match();
	return test_exit();
}

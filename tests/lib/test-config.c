/* test-config: the "key = value" syntax of config_file and the key table
 * of relaygate_conf: defaults, accepted files, and every rejection naming
 * NAME:LINE and the problem. */
#ifdef RELAYGATE_STATEDIR
#define TEST_STATEDIR_FROM_BUILD 1
#else
#define TEST_STATEDIR_FROM_BUILD 0
#endif

#include "config_file.h"
#include "relaygate_conf.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Init CONF with the defaults, asserting success. */
static bool test_conf_init(struct relaygate_conf *conf)
{
	const char *error = NULL;

	if (!test_assert(relaygate_conf_init(conf, &error) == 0)) {
		printf("# error: %s\n", error != NULL ? error : "(null)");
		return false;
	}
	return true;
}

/* Parse TEXT (a C string) as "test.conf" on top of the defaults. */
static int test_conf_parse(struct relaygate_conf *conf, const char *text,
			   char *error, size_t error_size)
{
	error[0] = '\0';
	return relaygate_conf_parse_text(conf, "test.conf", text, strlen(text),
					 error, error_size);
}

/* Is ADDR_TEXT inside one of the blocks of LIST? */
static bool test_cidr_holds(const struct cidr_list *list, const char *addr_text)
{
	struct address addr;
	const char *error;

	if (!test_assert_case(address_parse(addr_text, &addr, &error) == 0,
			      addr_text))
		return false;
	return cidr_list_match(list, &addr) != NULL;
}

/* Is ADDR_TEXT inside one of CONF's never_relay blocks? */
static bool test_never_relay_holds(const struct relaygate_conf *conf,
				   const char *addr_text)
{
	return test_cidr_holds(&conf->never_relay, addr_text);
}

static void test_conf_defaults(void)
{
	struct relaygate_conf conf;

	test_begin("conf: defaults are the documented ones");
	if (test_conf_init(&conf)) {
		test_assert_int_eq(conf.relay_window, 1800);
		test_assert_int_eq(conf.relay_db_lock_timeout, 10);
		test_assert(!conf.relay_db_fsync);
		if (TEST_STATEDIR_FROM_BUILD)
			test_assert_strcmp(conf.relay_db,
					   RELAYGATE_STATEDIR "/relayers.db");
		else
			test_assert_strcmp(conf.relay_db,
					   "/var/lib/relaygate/relayers.db");
		test_assert(conf.relay_db != NULL && conf.relay_db[0] == '/');
		test_assert_strcmp(conf.never_relay_text,
				   "0.0.0.0/8, 224.0.0.0/4, 255.255.255.255/32, "
				   "::/128, ff00::/8");
		test_assert_int_eq(conf.never_relay.count, 5);
		test_assert(test_never_relay_holds(&conf, "0.1.2.3"));
		test_assert(test_never_relay_holds(&conf, "224.0.0.1"));
		test_assert(test_never_relay_holds(&conf, "239.255.255.255"));
		test_assert(test_never_relay_holds(&conf, "255.255.255.255"));
		test_assert(test_never_relay_holds(&conf, "::"));
		test_assert(test_never_relay_holds(&conf, "ff02::1"));
		test_assert(!test_never_relay_holds(&conf, "192.0.2.7"));
		test_assert(!test_never_relay_holds(&conf, "240.0.0.1"));
		test_assert(!test_never_relay_holds(&conf, "255.255.255.254"));
		test_assert(!test_never_relay_holds(&conf, "::1"));
		test_assert(!test_never_relay_holds(&conf, "2001:db8::1"));
		relaygate_conf_free(&conf);
		test_assert(conf.relay_db == NULL && conf.never_relay.items == NULL);
	}
	test_end();
}

static void test_conf_good_file(void)
{
	static const char text[] =
		"# relaygate.conf for the tests\n"
		"\n"
		"relay_db = /srv/relay/relayers.db\n"
		"   # an indented comment is still a comment\n"
		"relay_window=1h30m\n"
		"never_relay = 10.0.0.0/8,\n"
		"\t192.168.0.0/16\n"
		"   2001:db8::/32\n"
		"relay_db_lock_timeout = 30s   \n"
		"relay_db_fsync = yes\n"
		"\t\n"
		"# the end";
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: a file setting every key is applied");
	if (test_conf_init(&conf)) {
		if (!test_assert(test_conf_parse(&conf, text, error,
						 sizeof(error)) == 0))
			printf("# error: %s\n", error);
		test_assert_strcmp(conf.relay_db, "/srv/relay/relayers.db");
		test_assert_int_eq(conf.relay_window, 5400);
		test_assert_strcmp(conf.never_relay_text,
				   "10.0.0.0/8, 192.168.0.0/16 2001:db8::/32");
		test_assert_int_eq(conf.never_relay.count, 3);
		test_assert(test_never_relay_holds(&conf, "10.1.2.3"));
		test_assert(test_never_relay_holds(&conf, "192.168.7.7"));
		test_assert(test_never_relay_holds(&conf, "2001:db8::9"));
		/* the defaults are replaced, not extended */
		test_assert(!test_never_relay_holds(&conf, "224.0.0.1"));
		test_assert_int_eq(conf.relay_db_lock_timeout, 30);
		test_assert(conf.relay_db_fsync);
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_empty_and_comments(void)
{
	static const char *const texts[] = {
		"",
		"\n\n\n",
		"# only a comment",
		"# comment\n   # indented comment\n\t\n  \n",
		"\r\n# dos\r\n\r\n",
	};
	size_t i;

	test_begin("conf: empty and comment-only files keep the defaults");
	for (i = 0; i < N_ELEMENTS(texts); i++) {
		struct relaygate_conf conf;
		char error[256];

		if (!test_conf_init(&conf))
			continue;
		test_assert_idx(test_conf_parse(&conf, texts[i], error,
						sizeof(error)) == 0, i);
		test_assert_idx(conf.relay_window == 1800, i);
		test_assert_idx(conf.never_relay.count == 5, i);
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_crlf_and_blanks(void)
{
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: CRLF line ends and blanks around '=' are trimmed");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf,
			"relay_window \t=\t 45m \r\n"
			"relay_db_fsync = no\r\n"
			"relay_db = /var/db/relay=x.db\r\n",
			error, sizeof(error)) == 0);
		test_assert_int_eq(conf.relay_window, 2700);
		test_assert(!conf.relay_db_fsync);
		/* only the first '=' separates key and value */
		test_assert_strcmp(conf.relay_db, "/var/db/relay=x.db");
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_no_trailing_newline(void)
{
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: the last line needs no newline");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "relay_window = 5m", error,
					    sizeof(error)) == 0);
		test_assert_int_eq(conf.relay_window, 300);
		relaygate_conf_free(&conf);
	}
	test_end();
}

struct conf_error_case {
	const char *text;
	const char *where;	/* "test.conf:LINE:" */
	const char *what;	/* a part of the message */
};

/* Every text of CASES must fail with an error naming WHERE and WHAT. */
static void test_conf_errors(const struct conf_error_case *cases, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		struct relaygate_conf conf;
		char error[256];

		if (!test_conf_init(&conf))
			continue;
		test_assert_idx(test_conf_parse(&conf, cases[i].text, error,
						sizeof(error)) == -1, i);
		test_assert_idx(strncmp(error, cases[i].where,
					strlen(cases[i].where)) == 0, i);
		test_assert_contains(error, cases[i].where);
		test_assert_contains(error, cases[i].what);
		relaygate_conf_free(&conf);
	}
}

static void test_conf_unknown_key(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_window = 30m\n# c\nrelay_windw = 30m\n",
		  "test.conf:3:", "relay_windw" },
		{ "\n\nfoo = bar", "test.conf:3:", "foo" },
		{ "relay_db_timeout = 5s\n", "test.conf:1:", "relay_db_timeout" },
		{ "relay = x\n", "test.conf:1:", "relay" },
		{ "relay_db\t= /x\nrelay_window_ = 5m\n", "test.conf:2:",
		  "relay_window_" },
	};

	test_begin("conf: an unknown key is an error naming NAME:LINE and the key");
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_duplicate_key(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_window = 30m\nrelay_window = 30m\n", "test.conf:2:",
		  "relay_window" },
		{ "relay_db = /a\n\n# x\nrelay_db = /b\n", "test.conf:4:",
		  "relay_db" },
		{ "never_relay = 10.0.0.0/8\nrelay_db_fsync = no\n"
		  "never_relay = 10.0.0.0/8\n", "test.conf:3:", "never_relay" },
		{ "relay_db_fsync = no\nrelay_db_fsync = yes\n", "test.conf:2:",
		  "more than once" },
	};

	test_begin("conf: a key set twice is an error on its second line");
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_bad_time(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_window = 30x\n", "test.conf:1:", "relay_window" },
		{ "relay_window = m\n", "test.conf:1:", "relay_window" },
		{ "relay_window = -5m\n", "test.conf:1:", "relay_window" },
		{ "relay_window = 1 h\n", "test.conf:1:", "relay_window" },
		{ "relay_window =\n", "test.conf:1:", "relay_window" },
		{ "relay_window = 0\n", "test.conf:1:", "above zero" },
		{ "relay_window = 0s\n", "test.conf:1:", "relay_window" },
		{ "relay_window = 99999999999\n", "test.conf:1:", "too large" },
		{ "\nrelay_db_lock_timeout = 2h\n", "test.conf:2:", "at most 1h" },
		{ "relay_db_lock_timeout = 3601s\n", "test.conf:1:",
		  "relay_db_lock_timeout" },
		{ "relay_db_lock_timeout = 0\n", "test.conf:1:",
		  "relay_db_lock_timeout" },
		{ "relay_db_lock_timeout = soon\n", "test.conf:1:",
		  "relay_db_lock_timeout" },
	};

	test_begin("conf: bad, zero and too large times are errors");
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_time_limits(void)
{
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: the largest lock timeout and a long window are accepted");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf,
			"relay_db_lock_timeout = 1h\nrelay_window = 2w\n",
			error, sizeof(error)) == 0);
		test_assert_int_eq(conf.relay_db_lock_timeout, 3600);
		test_assert_int_eq(conf.relay_window, 1209600);
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_mail_process_idle(void)
{
	static const struct conf_error_case cases[] = {
		{ "pop3_mail_process_idle = soon\n", "test.conf:1:",
		  "pop3_mail_process_idle: expected a time up to 1d, like 5m, "
		  "or 0 (never stop an idle mail process)" },
		{ "\npop3_mail_process_idle = -5m\n", "test.conf:2:",
		  "pop3_mail_process_idle" },
		{ "pop3_mail_process_idle = 1d1s\n", "test.conf:1:",
		  "up to 1d" },
		{ "pop3_mail_process_idle =\n", "test.conf:1:",
		  "pop3_mail_process_idle" },
		{ "pop3_mail_process_idle = 5 m\n", "test.conf:1:",
		  "pop3_mail_process_idle" },
		{ "pop3_mail_process_idle = 5m\npop3_mail_process_idle = 5m\n",
		  "test.conf:2:", "set more than once" },
	};
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: pop3_mail_process_idle defaults to 5m, takes 0 "
		   "(never) to 1d, and names what it expects");
	if (test_conf_init(&conf)) {
		test_assert_int_eq(conf.pop3_mail_process_idle, 300);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "pop3_mail_process_idle = 0\n",
					    error, sizeof(error)) == 0);
		test_assert_int_eq(conf.pop3_mail_process_idle, 0);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "pop3_mail_process_idle = 2s\n",
					    error, sizeof(error)) == 0);
		test_assert_int_eq(conf.pop3_mail_process_idle, 2);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "pop3_mail_process_idle = 1d\n",
					    error, sizeof(error)) == 0);
		test_assert_int_eq(conf.pop3_mail_process_idle, 86400);
		relaygate_conf_free(&conf);
	}
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_mail_location(void)
{
	static const struct conf_error_case cases[] = {
		{ "mail_location = /var/mail/%u\n", "test.conf:1:",
		  "mail_location: expected maildir:PATH" },
		{ "\nmail_location = maildir:/var/mail/%n\n", "test.conf:2:",
		  "mail_location: unknown variable after % (expected %u" },
		{ "mail_location = maildir:Maildir\n", "test.conf:1:",
		  "absolute or starting with ~/ or %h" },
		{ "mail_location = maildir:~/Maildir:INBOX=~/in\n",
		  "test.conf:1:", "INBOX= option is not supported" },
	};
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: mail_location is checked as a template, with the "
		   "template's own message");
	if (test_conf_init(&conf)) {
		test_assert_strcmp(conf.mail_location, "maildir:~/Maildir");
		test_assert(test_conf_parse(&conf, "mail_location = "
					    "maildir:%h/Mail/%u\n", error,
					    sizeof(error)) == 0);
		test_assert_strcmp(conf.mail_location, "maildir:%h/Mail/%u");
		relaygate_conf_free(&conf);
	}
	/* as copied from dovecot.conf: the options are Dovecot's */
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "mail_location = "
					    "maildir:~/Maildir:LAYOUT=fs\n",
					    error, sizeof(error)) == 0);
		test_assert_strcmp(conf.mail_location,
				   "maildir:~/Maildir:LAYOUT=fs");
		relaygate_conf_free(&conf);
	}
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_bad_never_relay(void)
{
	static const struct conf_error_case cases[] = {
		{ "never_relay = 10.1.2.3/8\n", "test.conf:1:", "10.1.2.3/8" },
		{ "never_relay = 10.0.0.0/8, bogus\n", "test.conf:1:", "bogus" },
		{ "never_relay = 10.0.0.0/33\n", "test.conf:1:", "never_relay" },
		{ "never_relay = 10.0.0.0/8;192.168.0.0/16\n", "test.conf:1:",
		  "never_relay" },
		/* a continued value is reported at the line of its key */
		{ "# x\nnever_relay = 10.0.0.0/8,\n  fe80::1%eth0\n",
		  "test.conf:2:", "fe80::1%eth0" },
		/* ...also when its first line is long */
		{ "# x\nnever_relay = 10.0.0.0/8, 192.168.0.0/16, 172.16.0.0/12, "
		  "100.64.0.0/10, 198.18.0.0/15, 2001:db8::/32, 10.1.2.3/8\n",
		  "test.conf:2:", "10.1.2.3/8" },
	};
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: a bad never_relay block is an error naming it");
	test_conf_errors(cases, N_ELEMENTS(cases));
	/* a failed never_relay leaves the old list in place */
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "never_relay = bogus\n",
					    error, sizeof(error)) == -1);
		test_assert_int_eq(conf.never_relay.count, 5);
		relaygate_conf_free(&conf);
	}
	test_end();
}

/* Is ADDR_TEXT inside one of CONF's plaintext_auth_networks blocks? */
static bool test_plaintext_network_holds(const struct relaygate_conf *conf,
					 const char *addr_text)
{
	return test_cidr_holds(&conf->plaintext_auth_networks, addr_text);
}

static void test_conf_plaintext_auth_networks(void)
{
	struct relaygate_conf conf;
	char error[512];

	test_begin("conf: plaintext_auth_networks defaults to loopback, takes "
		   "never_relay's list syntax, may be empty");
	if (test_conf_init(&conf)) {
		test_assert_strcmp(conf.plaintext_auth_networks_text,
				   "127.0.0.0/8, ::1");
		test_assert_int_eq(conf.plaintext_auth_networks.count, 2);
		test_assert(test_plaintext_network_holds(&conf, "127.0.0.1"));
		test_assert(test_plaintext_network_holds(&conf, "127.255.255.254"));
		test_assert(test_plaintext_network_holds(&conf, "::1"));
		/* an IPv4-mapped client address is its IPv4 address */
		test_assert(test_plaintext_network_holds(&conf, "::ffff:127.0.0.2"));
		test_assert(!test_plaintext_network_holds(&conf, "128.0.0.1"));
		test_assert(!test_plaintext_network_holds(&conf, "126.255.255.255"));
		test_assert(!test_plaintext_network_holds(&conf, "::2"));
		test_assert(!test_plaintext_network_holds(&conf, "::"));
		test_assert(!test_plaintext_network_holds(&conf, "192.0.2.7"));
		relaygate_conf_free(&conf);
		test_assert(conf.plaintext_auth_networks.items == NULL
			    && conf.plaintext_auth_networks_text == NULL);
	}
	if (test_conf_init(&conf)) {
		if (!test_assert(test_conf_parse(&conf,
				"# office and VPN\n"
				"plaintext_auth_networks = 192.0.2.0/24,\n"
				"\t2001:db8::/32 ::ffff:198.51.100.7\n",
				error, sizeof(error)) == 0))
			printf("# error: %s\n", error);
		test_assert_strcmp(conf.plaintext_auth_networks_text,
				   "192.0.2.0/24, 2001:db8::/32 "
				   "::ffff:198.51.100.7");
		test_assert_int_eq(conf.plaintext_auth_networks.count, 3);
		test_assert(test_plaintext_network_holds(&conf, "192.0.2.254"));
		test_assert(test_plaintext_network_holds(&conf, "2001:db8::25"));
		test_assert(test_plaintext_network_holds(&conf, "198.51.100.7"));
		test_assert(!test_plaintext_network_holds(&conf, "198.51.100.8"));
		/* the default is replaced, not extended */
		test_assert(!test_plaintext_network_holds(&conf, "127.0.0.1"));
		test_assert(!test_plaintext_network_holds(&conf, "::1"));
		/* never_relay is a separate list */
		test_assert_int_eq(conf.never_relay.count, 5);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		/* empty: TLS (or allow_plaintext_auth) even on loopback */
		test_assert(test_conf_parse(&conf, "plaintext_auth_networks =\n",
					    error, sizeof(error)) == 0);
		test_assert_int_eq(conf.plaintext_auth_networks.count, 0);
		test_assert(!test_plaintext_network_holds(&conf, "127.0.0.1"));
		test_assert(!test_plaintext_network_holds(&conf, "::1"));
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf,
				"plaintext_auth_networks = 127.0.0.1/32\n",
				error, sizeof(error)) == 0);
		test_assert_int_eq(conf.plaintext_auth_networks.count, 1);
		test_assert(test_plaintext_network_holds(&conf, "127.0.0.1"));
		test_assert(!test_plaintext_network_holds(&conf, "127.0.0.2"));
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_bad_plaintext_auth_networks(void)
{
	static const struct conf_error_case cases[] = {
		{ "plaintext_auth_networks = 127.0.0.1/8\n", "test.conf:1:",
		  "plaintext_auth_networks: expected addresses or networks "
		  "like 192.0.2.0/24" },
		{ "plaintext_auth_networks = 127.0.0.1/8\n", "test.conf:1:",
		  "\"127.0.0.1/8\": address has bits set beyond the prefix "
		  "length" },
		{ "\nplaintext_auth_networks = 127.0.0.0/8, localhost\n",
		  "test.conf:2:", "\"localhost\": not an IP address" },
		{ "plaintext_auth_networks = 10.0.0.0/33\n", "test.conf:1:",
		  "prefix length above 32" },
		{ "plaintext_auth_networks = ::1/129\n", "test.conf:1:",
		  "prefix length above 128" },
		{ "plaintext_auth_networks = 127.0.0.0/8;::1\n", "test.conf:1:",
		  "\"127.0.0.0/8;::1\"" },
		{ "plaintext_auth_networks = ::ffff:127.0.0.0/104\n",
		  "test.conf:1:", "write IPv4-mapped blocks as IPv4" },
		{ "plaintext_auth_networks = fe80::1%lo\n", "test.conf:1:",
		  "zone" },
		{ "plaintext_auth_networks = 127.0.0.0/\n", "test.conf:1:",
		  "missing prefix length" },
		/* a continued value is reported at the line of its key */
		{ "# x\nplaintext_auth_networks = 127.0.0.0/8,\n  10.1.2.3/8\n",
		  "test.conf:2:", "\"10.1.2.3/8\"" },
		{ "plaintext_auth_networks = ::1\nplaintext_auth_networks = ::1\n",
		  "test.conf:2:", "plaintext_auth_networks: set more than once" },
	};
	struct relaygate_conf conf;
	char error[512];

	test_begin("conf: a bad plaintext_auth_networks is an error naming the "
		   "line, what is expected and the bad item");
	test_conf_errors(cases, N_ELEMENTS(cases));
	/* a failed value leaves the old list in place */
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf,
				"plaintext_auth_networks = 10.0.0.0/8 bogus\n",
				error, sizeof(error)) == -1);
		test_assert_int_eq(conf.plaintext_auth_networks.count, 2);
		test_assert_strcmp(conf.plaintext_auth_networks_text,
				   "127.0.0.0/8, ::1");
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_syntax_errors(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_window 30m\n", "test.conf:1:", "'='" },
		{ "# c\n\nrelay_db_fsync\n", "test.conf:3:", "'='" },
		{ "= 30m\n", "test.conf:1:", "missing key" },
		{ "  relay_window = 30m\n", "test.conf:1:", "continues no setting" },
		{ "Relay_Window = 30m\n", "test.conf:1:", "bad key" },
		{ "relay-window = 30m\n", "test.conf:1:", "bad key" },
		{ "relay window = 30m\n", "test.conf:1:", "bad key" },
		{ "[main]\n", "test.conf:1:", "'='" },
	};

	test_begin("conf: missing '=', missing key and bad keys are errors");
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_relay_db(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_db = relayers.db\n", "test.conf:1:", "absolute" },
		{ "relay_db = ./relayers.db\n", "test.conf:1:", "absolute" },
		{ "relay_db = ~/relayers.db\n", "test.conf:1:", "absolute" },
		{ "relay_db =\n", "test.conf:1:", "relay_db" },
		{ "relay_db =   \t\n", "test.conf:1:", "relay_db" },
	};

	test_begin("conf: relay_db must be an absolute path");
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_recorder(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_db_recorder = /run/recorder\n", "test.conf:1:",
		  "unix:/path" },
		{ "relay_db_recorder = unix:run/recorder\n", "test.conf:1:",
		  "absolute" },
		{ "relay_db_recorder = unix:/a, unix:/b\n", "test.conf:1:",
		  "one unix socket" },
		{ "relay_db_recorder = inet:127.0.0.1:10041\n", "test.conf:1:",
		  "one unix socket" },
		{ "recorder_group = no-such-group-relaygate\n", "test.conf:1:",
		  "no group" },
	};
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: relay_db_recorder is one endpoint or empty, "
		   "recorder_group an existing group");
	if (test_conf_init(&conf)) {
		test_assert_strcmp(conf.relay_db_recorder, "");
		test_assert_strcmp(conf.recorder_group, "");
		test_assert(test_conf_parse(&conf, "relay_db_recorder = "
					    "unix:/run/relaygate/recorder\n"
					    "recorder_group = root\n",
					    error, sizeof(error)) == 0);
		test_assert_strcmp(conf.relay_db_recorder,
				   "unix:/run/relaygate/recorder");
		test_assert_strcmp(conf.recorder_group, "root");
		relaygate_conf_free(&conf);
	}
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

static void test_conf_fsync(void)
{
	static const struct conf_error_case cases[] = {
		{ "relay_db_fsync = Yes\n", "test.conf:1:", "yes or no" },
		{ "relay_db_fsync = true\n", "test.conf:1:", "relay_db_fsync" },
		{ "relay_db_fsync = 1\n", "test.conf:1:", "relay_db_fsync" },
		{ "relay_db_fsync = yes please\n", "test.conf:1:", "relay_db_fsync" },
		{ "relay_db_fsync =\n", "test.conf:1:", "relay_db_fsync" },
	};
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: relay_db_fsync takes exactly yes or no");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, "relay_db_fsync = yes\n",
					    error, sizeof(error)) == 0);
		test_assert(conf.relay_db_fsync);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		conf.relay_db_fsync = true;
		test_assert(test_conf_parse(&conf, "relay_db_fsync = no\n",
					    error, sizeof(error)) == 0);
		test_assert(!conf.relay_db_fsync);
		relaygate_conf_free(&conf);
	}
	test_conf_errors(cases, N_ELEMENTS(cases));
	test_end();
}

/* Build "relay_db = /aaa...": a line of exactly LEN bytes. */
static char *test_long_line(size_t len, const char *before, const char *after)
{
	static const char prefix[] = "relay_db = /";
	size_t before_len = strlen(before), after_len = strlen(after);
	char *text = malloc(before_len + len + after_len + 1);

	if (text == NULL)
		abort();
	memcpy(text, before, before_len);
	memcpy(text + before_len, prefix, sizeof(prefix) - 1);
	memset(text + before_len + sizeof(prefix) - 1, 'a',
	       len - (sizeof(prefix) - 1));
	memcpy(text + before_len + len, after, after_len + 1);
	return text;
}

static void test_conf_long_lines(void)
{
	struct relaygate_conf conf;
	char error[256];
	char *text;

	test_begin("conf: a line of CONFIG_LINE_MAX bytes is fine, one more is an error");
	if (test_conf_init(&conf)) {
		text = test_long_line(CONFIG_LINE_MAX, "", "\n");
		test_assert(test_conf_parse(&conf, text, error,
					    sizeof(error)) == 0);
		test_assert(conf.relay_db != NULL &&
			    strlen(conf.relay_db) == CONFIG_LINE_MAX - 11);
		free(text);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		text = test_long_line(CONFIG_LINE_MAX + 1, "# x\n", "\n");
		test_assert(test_conf_parse(&conf, text, error,
					    sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:2:");
		test_assert_contains(error, "longer than");
		free(text);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		/* a huge line without a newline at the end of the text */
		text = test_long_line(100000, "", "");
		test_assert(test_conf_parse(&conf, text, error,
					    sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:1:");
		free(text);
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_long_continuation(void)
{
	struct relaygate_conf conf;
	char error[256];
	const size_t fit = (CONFIG_LINE_MAX - 24) / 11, many = fit + 1;
	char *text;
	size_t i, len = 0;

	test_begin("conf: continuations may not grow a setting past CONFIG_LINE_MAX");
	/* "never_relay = 10.0.0.0/8" (24 bytes) and then N lines
	 * "  10.0.0.0/8" (10 bytes + 1 joining blank each) */
	text = malloc(64 + many * 16);
	if (text == NULL)
		abort();
	len += (size_t)sprintf(text, "never_relay = 10.0.0.0/8\n");
	for (i = 0; i < many; i++)
		len += (size_t)sprintf(text + len, "  10.0.0.0/8\n");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, text, error,
					    sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:");
		test_assert_contains(error, "longer than");
		relaygate_conf_free(&conf);
	}
	/* as many as fit: 24 + fit * 11 <= CONFIG_LINE_MAX */
	len = (size_t)sprintf(text, "never_relay = 10.0.0.0/8\n");
	for (i = 0; i < fit; i++)
		len += (size_t)sprintf(text + len, "  10.0.0.0/8\n");
	if (test_conf_init(&conf)) {
		test_assert(test_conf_parse(&conf, text, error,
					    sizeof(error)) == 0);
		test_assert_int_eq(conf.never_relay.count, fit + 1);
		relaygate_conf_free(&conf);
	}
	free(text);
	test_end();
}

static void test_conf_nul_byte(void)
{
	static const char text1[] = "relay_window = 30m\0\n";
	static const char text2[] = "# ok\nrelay_db = /var/x\0y\nrelay_window = 5m\n";
	static const char text3[] = "relay_window = 5m\n# c\0omment\n";
	static const char text4[] = "relay_window = 5m\n\0";
	struct relaygate_conf conf;
	char error[256];

	test_begin("conf: a NUL byte anywhere is an error naming its line");
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_parse_text(&conf, "test.conf", text1,
			sizeof(text1) - 1, error, sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:1:");
		test_assert_contains(error, "NUL");
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_parse_text(&conf, "test.conf", text2,
			sizeof(text2) - 1, error, sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:2:");
		test_assert_contains(error, "NUL");
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_parse_text(&conf, "test.conf", text3,
			sizeof(text3) - 1, error, sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:2:");
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_parse_text(&conf, "test.conf", text4,
			sizeof(text4) - 1, error, sizeof(error)) == -1);
		test_assert_contains(error, "test.conf:2:");
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_small_error_buffer(void)
{
	static const char long_key[] = "unknown_key_with_a_long_name = 1\n";
	struct relaygate_conf conf;
	char error[32];

	test_begin("conf: the error text is truncated to the caller's buffer");
	if (test_conf_init(&conf)) {
		memset(error, 'X', sizeof(error));
		test_assert(relaygate_conf_parse_text(&conf, "test.conf",
			long_key, strlen(long_key), error, 16) == -1);
		test_assert(memchr(error, '\0', 16) != NULL);
		test_assert(error[16] == 'X');
		test_assert(strncmp(error, "test.conf:1:", 12) == 0);
		relaygate_conf_free(&conf);
	}
	test_end();
}

/* Write TEXT (LEN bytes) to a new temporary file; its path in PATH. */
static bool test_write_temp(char *path, size_t path_size, const char *text,
			    size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(path, path_size, "%s/test-config.XXXXXX",
		 dir != NULL && *dir != '\0' ? dir : "/tmp");
	fd = mkstemp(path);
	if (!test_assert(fd >= 0))
		return false;
	if (!test_assert(write(fd, text, len) == (ssize_t)len)) {
		close(fd);
		unlink(path);
		return false;
	}
	close(fd);
	return true;
}

static void test_conf_load(void)
{
	static const char good[] = "relay_window = 2h\nrelay_db_fsync = yes\n";
	static const char bad[] = "relay_window = 2h\n\nrelay_window = 3h\n";
	struct relaygate_conf conf;
	char path[256], missing[300], error[512];

	test_begin("conf: load reads a file, and a missing file fails only when required");
	if (!test_write_temp(path, sizeof(path), good, sizeof(good) - 1)) {
		test_end();
		return;
	}
	snprintf(missing, sizeof(missing), "%s.does-not-exist", path);
	if (test_conf_init(&conf)) {
		if (!test_assert(relaygate_conf_load(&conf, path, true, error,
						     sizeof(error)) == 0))
			printf("# error: %s\n", error);
		test_assert_int_eq(conf.relay_window, 7200);
		test_assert(conf.relay_db_fsync);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_load(&conf, path, false, error,
						sizeof(error)) == 0);
		test_assert_int_eq(conf.relay_window, 7200);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		/* the default path may be absent: defaults stay */
		test_assert(relaygate_conf_load(&conf, missing, false, error,
						sizeof(error)) == 0);
		test_assert_int_eq(conf.relay_window, 1800);
		relaygate_conf_free(&conf);
	}
	if (test_conf_init(&conf)) {
		/* a file the user named must exist */
		error[0] = '\0';
		test_assert(relaygate_conf_load(&conf, missing, true, error,
						sizeof(error)) == -1);
		test_assert_contains(error, missing);
		test_assert_contains(error, strerror(ENOENT));
		relaygate_conf_free(&conf);
	}
	unlink(path);

	if (test_write_temp(path, sizeof(path), bad, sizeof(bad) - 1)) {
		char where[300];

		snprintf(where, sizeof(where), "%s:3:", path);
		if (test_conf_init(&conf)) {
			test_assert(relaygate_conf_load(&conf, path, false,
							error, sizeof(error)) == -1);
			test_assert_contains(error, where);
			test_assert_contains(error, "relay_window");
			relaygate_conf_free(&conf);
		}
		unlink(path);
	}
	test_end();
}

static void test_conf_load_not_regular(void)
{
	struct relaygate_conf conf;
	char error[512];
	const char *dir = getenv("TMPDIR");

	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	test_begin("conf: load refuses a directory, required or not");
	if (test_conf_init(&conf)) {
		test_assert(relaygate_conf_load(&conf, dir, true, error,
						sizeof(error)) == -1);
		test_assert_contains(error, dir);
		test_assert(relaygate_conf_load(&conf, dir, false, error,
						sizeof(error)) == -1);
		relaygate_conf_free(&conf);
	}
	test_end();
}

static void test_conf_load_too_large(void)
{
	struct relaygate_conf conf;
	char path[256], error[512];
	char *text;
	size_t len = CONFIG_FILE_MAX + 1;

	test_begin("conf: load refuses a file above CONFIG_FILE_MAX");
	text = malloc(len);
	if (text == NULL)
		abort();
	memset(text, '\n', len);
	if (test_write_temp(path, sizeof(path), text, len)) {
		if (test_conf_init(&conf)) {
			test_assert(relaygate_conf_load(&conf, path, true, error,
							sizeof(error)) == -1);
			test_assert_contains(error, "larger than");
			relaygate_conf_free(&conf);
		}
		unlink(path);
	}
	/* exactly CONFIG_FILE_MAX blank lines are fine */
	if (test_write_temp(path, sizeof(path), text, len - 1)) {
		if (test_conf_init(&conf)) {
			test_assert(relaygate_conf_load(&conf, path, true, error,
							sizeof(error)) == 0);
			relaygate_conf_free(&conf);
		}
		unlink(path);
	}
	free(text);
	test_end();
}

/* A handler that records what config_file passes it. */
struct test_recorder {
	char keys[8][64];
	char values[8][256];
	unsigned count;
	int fail_at;		/* return -1 on this call (1-based), or 0 */
};

static int test_record(void *context, const char *key, const char *value,
		       const char **error_r)
{
	struct test_recorder *rec = context;

	if (rec->count < 8) {
		snprintf(rec->keys[rec->count], sizeof(rec->keys[0]), "%s", key);
		snprintf(rec->values[rec->count], sizeof(rec->values[0]), "%s",
			 value);
	}
	rec->count++;
	if (rec->fail_at != 0 && (int)rec->count == rec->fail_at) {
		*error_r = "handler says no";
		return -1;
	}
	return 0;
}

static void test_config_file_handler(void)
{
	static const char text[] =
		"a = 1\n"
		"b_2=  two words  \n"
		"c =\n"
		"d = x\n"
		" y\n"
		"\t\tz  \n"
		"# e = 5\n"
		"f = =\n";
	struct test_recorder rec;
	char error[256];

	test_begin("config_file: keys and trimmed values reach the handler in order");
	memset(&rec, 0, sizeof(rec));
	test_assert(config_file_parse_text("t", text, sizeof(text) - 1,
					   test_record, &rec, error,
					   sizeof(error)) == 0);
	test_assert_int_eq(rec.count, 5);
	test_assert_strcmp(rec.keys[0], "a");
	test_assert_strcmp(rec.values[0], "1");
	test_assert_strcmp(rec.keys[1], "b_2");
	test_assert_strcmp(rec.values[1], "two words");
	test_assert_strcmp(rec.keys[2], "c");
	test_assert_strcmp(rec.values[2], "");
	test_assert_strcmp(rec.keys[3], "d");
	test_assert_strcmp(rec.values[3], "x y z");
	test_assert_strcmp(rec.keys[4], "f");
	test_assert_strcmp(rec.values[4], "=");

	memset(&rec, 0, sizeof(rec));
	rec.fail_at = 2;
	test_assert(config_file_parse_text("t", text, sizeof(text) - 1,
					   test_record, &rec, error,
					   sizeof(error)) == -1);
	test_assert_strcmp(error, "t:2: b_2: handler says no");
	/* parsing stops at the first error */
	test_assert_int_eq(rec.count, 2);
	test_end();
}

int main(void)
{
	test_conf_defaults();
	test_conf_good_file();
	test_conf_empty_and_comments();
	test_conf_crlf_and_blanks();
	test_conf_no_trailing_newline();
	test_conf_unknown_key();
	test_conf_duplicate_key();
	test_conf_bad_time();
	test_conf_time_limits();
	test_conf_mail_process_idle();
	test_conf_mail_location();
	test_conf_bad_never_relay();
	test_conf_plaintext_auth_networks();
	test_conf_bad_plaintext_auth_networks();
	test_conf_syntax_errors();
	test_conf_relay_db();
	test_conf_fsync();
	test_conf_recorder();
	test_conf_long_lines();
	test_conf_long_continuation();
	test_conf_nul_byte();
	test_conf_small_error_buffer();
	test_conf_load();
	test_conf_load_not_regular();
	test_conf_load_too_large();
	test_config_file_handler();
	return test_exit();
}

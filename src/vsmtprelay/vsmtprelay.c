/* vsmtprelay: the administrator's tool for the relay store, with the
 * command line and output of the 1998 original (add, delete, expire, list,
 * dump) plus check and load. Every argument is validated before the store
 * is touched: a rejected command leaves the file byte-for-byte unchanged. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "relaydb.h"
#include "relaydb_text.h"
#include "relaygate_conf.h"
#include "strnum.h"
#include "timespan.h"

/* Largest load file accepted. */
#define VSMTPRELAY_LOAD_MAX (512L * 1024 * 1024)
/* Largest minute count for list/expire: keeps 60*n far from overflow. */
#define VSMTPRELAY_MINUTES_MAX ((uint64_t)RELAYDB_TIME_MAX / 60)

static const char vsmtprelay_usage_text[] =
	"vsmtprelay " RELAYGATE_VERSION " usage (optional items in []):\n"
	"\n"
	"    % vsmtprelay command [arg] [...]\n"
	"\n"
	"where \"command [arg] [...]\" can be one of the following:\n"
	"\n"
	"    \"add ip [ticks]\"   insert address with current timestamp (or ticks)\n"
	"    \"delete ip [...]\"  remove specified address(es)\n"
	"    \"expire [n]\"       expire all old (or older than n minutes) entries\n"
	"    \"list [n]\"         list all old (or older than n minutes) entries\n"
	"    \"dump\"             list every entry, including the future timestamped\n"
	"    \"check ip\"         exit 0 if ip holds a grant inside relay_window, else 1\n"
	"    \"load file\"        check a list/dump file, then rebuild the store from it\n"
	"\n"
	"options: -f file (the store), -c file (configuration), -q (quiet), -V, -h\n";

struct vsmtprelay {
	struct relaygate_conf conf;
	const char *store_path;
	bool quiet;
	time_t now;
};

/* One raw entry read back from the store, for list and dump. Its key and
 * value are NUL-terminated strings in the listing's text, at offsets while
 * the text still grows, then at pointers for sorting and printing. */
struct listed_entry {
	union {
		size_t offset;
		const char *text;
	} key, value;
	int64_t when;
	bool valid;
};

struct listing {
	struct listed_entry *entries;
	size_t count, capacity;
	char *text;
	size_t text_used, text_size;
	bool everything;	/* dump: keep every entry */
	int64_t cutoff;		/* list: keep timestamps up to this */
	bool failed;
};

static void usage(FILE *out)
{
	fputs(vsmtprelay_usage_text, out);
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Report a command-line mistake, show the usage, return EX_USAGE. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vsmtprelay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	usage(stderr);
	return EX_USAGE;
}

/* Report a failed write of standard output; returns an exit code. */
static int flush_stdout(const char *command)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vsmtprelay: %s: write error on standard "
			"output: %s\n", command, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

/* Map a store error to an exit code. */
static int store_exit_code(enum relaydb_error_kind kind)
{
	switch (kind) {
	case RELAYDB_ERROR_TEMPORARY: return EX_TEMPFAIL;
	case RELAYDB_ERROR_PERMISSION: return EX_NOPERM;
	case RELAYDB_ERROR_MISSING: return EX_NOINPUT;
	case RELAYDB_ERROR_CREATE: return EX_CANTCREAT;
	case RELAYDB_ERROR_INCOMPATIBLE: return EX_DATAERR;
	case RELAYDB_ERROR_USAGE: return EX_USAGE;
	case RELAYDB_ERROR_IO:
	case RELAYDB_ERROR_NONE:
	default: return EX_IOERR;
	}
}

static int store_error(const char *command, struct relaydb *db,
		       const char *error)
{
	fprintf(stderr, "vsmtprelay: %s: %s\n", command, error);
	return store_exit_code(relaydb_error_kind(db));
}

static struct relaydb *store_open(struct vsmtprelay *ctx, const char *command,
				  int *exit_r)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;

	memset(&settings, 0, sizeof(settings));
	settings.location = ctx->store_path;
	settings.lock_timeout_ms = (unsigned)ctx->conf.relay_db_lock_timeout * 1000;
	settings.fsync = ctx->conf.relay_db_fsync;
	settings.create = true;
	db = relaydb_open(&settings, &error);
	if (db == NULL) {
		fprintf(stderr, "vsmtprelay: %s: %s\n", command, error);
		*exit_r = errno == EACCES ? EX_NOPERM : EX_CANTCREAT;
		if (strstr(error, "lock not obtained") != NULL)
			*exit_r = EX_TEMPFAIL;
	}
	return db;
}

/* Parse an address argument; print a precise message on failure. */
static int parse_address_arg(const char *command, const char *text,
			     struct address *addr_r)
{
	char shown[128];
	const char *error;

	if (address_parse(text, addr_r, &error) < 0) {
		fprintf(stderr, "vsmtprelay: %s: \"%s\": %s\n", command,
			log_sanitize(text, shown, sizeof(shown)), error);
		return -1;
	}
	return 0;
}

static int parse_minutes_arg(const char *command, const char *text,
			     uint64_t *minutes_r)
{
	char shown[128];
	const char *error;

	if (strnum_parse_u64(text, VSMTPRELAY_MINUTES_MAX, minutes_r,
			     &error) < 0) {
		fprintf(stderr, "vsmtprelay: %s: \"%s\": %s (expected a whole "
			"number of minutes, 0 to %llu)\n", command,
			log_sanitize(text, shown, sizeof(shown)), error,
			(unsigned long long)VSMTPRELAY_MINUTES_MAX);
		return -1;
	}
	return 0;
}

static int check_never_relay(struct vsmtprelay *ctx, const char *command,
			     const struct address *addr, const char *what)
{
	const struct cidr *block = cidr_list_match(&ctx->conf.never_relay, addr);
	char text[ADDRESS_TEXT_MAX], block_text[ADDRESS_TEXT_MAX + 8];

	if (block == NULL)
		return 0;
	fprintf(stderr, "vsmtprelay: %s: %s: in never_relay (%s), %s\n",
		command, address_format(addr, text),
		cidr_format(block, block_text, sizeof(block_text)), what);
	return -1;
}

static int cmd_add(struct vsmtprelay *ctx, int argc, char **argv)
{
	struct address addr;
	struct relaydb *db;
	const char *error;
	int64_t when = (int64_t)ctx->now;
	int exit_code;

	if (argc < 1 || argc > 2)
		return usage_error("add: expected \"add ip [ticks]\"");
	if (parse_address_arg("add", argv[0], &addr) < 0)
		return EX_USAGE;
	if (argc == 2 && relaydb_parse_time(argv[1], &when, &error) < 0) {
		char shown[128];

		fprintf(stderr, "vsmtprelay: add: ticks \"%s\": %s (expected "
			"seconds since the epoch, 0 to %lld)\n",
			log_sanitize(argv[1], shown, sizeof(shown)), error,
			(long long)RELAYDB_TIME_MAX);
		return EX_USAGE;
	}
	if (check_never_relay(ctx, "add", &addr, "not added") < 0)
		return EX_DATAERR;
	if ((db = store_open(ctx, "add", &exit_code)) == NULL)
		return exit_code;
	if (relaydb_set(db, &addr, when, &error) < 0) {
		exit_code = store_error("add", db, error);
		relaydb_close(&db);
		return exit_code;
	}
	relaydb_close(&db);
	return EX_OK;
}

static int cmd_delete(struct vsmtprelay *ctx, int argc, char **argv)
{
	struct address *addrs;
	struct relaydb *db;
	const char *error;
	bool *found;
	int i, exit_code = EX_OK;

	if (argc < 1)
		return usage_error("delete: expected \"delete ip [...]\"");
	addrs = calloc((size_t)argc, sizeof(*addrs));
	found = calloc((size_t)argc, sizeof(*found));
	if (addrs == NULL || found == NULL) {
		fprintf(stderr, "vsmtprelay: delete: out of memory\n");
		free(addrs);
		free(found);
		return EX_OSERR;
	}
	for (i = 0; i < argc; i++) {
		if (parse_address_arg("delete", argv[i], &addrs[i]) < 0) {
			free(addrs);
			free(found);
			return EX_USAGE;
		}
	}
	if ((db = store_open(ctx, "delete", &exit_code)) == NULL) {
		free(addrs);
		free(found);
		return exit_code;
	}
	if (relaydb_remove(db, addrs, (size_t)argc, found, &error) < 0) {
		exit_code = store_error("delete", db, error);
	} else {
		for (i = 0; i < argc; i++) {
			char text[ADDRESS_TEXT_MAX];

			if (found[i])
				continue;
			fprintf(stderr, "vsmtprelay: delete: %s: not in the "
				"store\n", address_format(&addrs[i], text));
			exit_code = 1;
		}
	}
	relaydb_close(&db);
	free(addrs);
	free(found);
	return exit_code;
}

static int cmd_expire(struct vsmtprelay *ctx, int argc, char **argv)
{
	uint64_t minutes = 0, removed, skipped;
	struct relaydb *db;
	const char *error;
	int exit_code;

	if (argc > 1)
		return usage_error("expire: expected \"expire [n]\"");
	if (argc == 1 && parse_minutes_arg("expire", argv[0], &minutes) < 0)
		return EX_USAGE;
	if ((db = store_open(ctx, "expire", &exit_code)) == NULL)
		return exit_code;
	if (relaydb_expire(db, (int64_t)ctx->now - (int64_t)minutes * 60,
			   &removed, &skipped, &error) < 0) {
		exit_code = store_error("expire", db, error);
		relaydb_close(&db);
		return exit_code;
	}
	if (skipped > 0)
		fprintf(stderr, "vsmtprelay: expire: kept %llu entr%s whose "
			"value is not a timestamp (see vsmtprelay dump)\n",
			(unsigned long long)skipped, skipped == 1 ? "y" : "ies");
	relaydb_close(&db);
	return EX_OK;
}

/* Append LEN bytes and a NUL to the listing's text; returns the offset. */
static bool listing_text_add(struct listing *listing, const char *data,
			     size_t len, size_t *offset_r)
{
	if (listing->text_size - listing->text_used <= len) {
		size_t size = listing->text_size == 0 ? 65536
		    : listing->text_size;
		char *grown;

		while (size - listing->text_used <= len)
			size *= 2;
		if ((grown = realloc(listing->text, size)) == NULL)
			return false;
		listing->text = grown;
		listing->text_size = size;
	}
	*offset_r = listing->text_used;
	memcpy(listing->text + listing->text_used, data, len);
	listing->text[listing->text_used + len] = '\0';
	listing->text_used += len + 1;
	return true;
}

static int listing_add(void *context, const char *key, size_t key_len,
		       const char *value, size_t value_len)
{
	struct listing *listing = context;
	struct listed_entry *entry;
	const char *error;
	int64_t when = 0;
	bool valid = relaydb_parse_time(value, &when, &error) == 0;

	/* list shows past timestamps only: leave the rest out now */
	if (!listing->everything && (!valid || when > listing->cutoff))
		return 0;
	if (listing->count == listing->capacity) {
		size_t capacity = listing->capacity == 0 ? 256
		    : listing->capacity * 2;
		struct listed_entry *grown =
		    realloc(listing->entries, capacity * sizeof(*grown));

		if (grown == NULL) {
			listing->failed = true;
			return -1;
		}
		listing->entries = grown;
		listing->capacity = capacity;
	}
	entry = &listing->entries[listing->count];
	if (!listing_text_add(listing, key, key_len, &entry->key.offset)
	    || !listing_text_add(listing, value, value_len,
				 &entry->value.offset)) {
		listing->failed = true;
		return -1;
	}
	entry->when = when;
	entry->valid = valid;
	listing->count++;
	return 0;
}

/* Sets the entries' pointers once the text has stopped moving. */
static void listing_fix_pointers(struct listing *listing)
{
	size_t i;

	for (i = 0; i < listing->count; i++) {
		struct listed_entry *e = &listing->entries[i];

		e->key.text = listing->text + e->key.offset;
		e->value.text = listing->text + e->value.offset;
	}
}

static int listed_entry_compare(const void *a, const void *b)
{
	const struct listed_entry *ea = a, *eb = b;

	if (ea->valid != eb->valid)
		return ea->valid ? -1 : 1;
	if (ea->valid && ea->when != eb->when)
		return ea->when < eb->when ? -1 : 1;
	return strcmp(ea->key.text, eb->key.text);
}

/* The two lines printed for an entry, less its key, for one timestamp:
 * entries are sorted by time, so each is formatted once, not per entry. */
struct listed_time {
	bool set;
	int64_t when;
	char comment[96];	/* "# timestamp (UTC): ...\n" */
	char value[32];		/* " 906502527\n" */
};

static const struct listed_time *listed_time_get(struct listed_time *cache,
						 int64_t when)
{
	if (!cache->set || cache->when != when) {
		relaydb_text_comment(when, cache->comment,
				     sizeof(cache->comment) - 1);
		strcat(cache->comment, "\n");
		snprintf(cache->value, sizeof(cache->value), " %lld\n",
			 (long long)when);
		cache->when = when;
		cache->set = true;
	}
	return cache;
}

/* True when KEY can be printed as one field that makemap reads back. */
static bool key_is_printable(const char *key)
{
	const unsigned char *p;

	if (*key == '\0' || *key == '#')
		return false;
	for (p = (const unsigned char *)key; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	}
	return true;
}

static int cmd_list(struct vsmtprelay *ctx, const char *command, int argc,
		    char **argv, bool everything)
{
	struct listing listing;
	struct listed_time stamp = { false, 0, "", "" };
	uint64_t minutes = 0;
	struct relaydb *db;
	const char *error;
	int exit_code = EX_OK;
	size_t i;

	if (everything && argc != 0)
		return usage_error("dump: expected no argument");
	if (!everything && argc > 1)
		return usage_error("list: expected \"list [n]\"");
	if (argc == 1 && parse_minutes_arg(command, argv[0], &minutes) < 0)
		return EX_USAGE;
	memset(&listing, 0, sizeof(listing));
	listing.everything = everything;
	listing.cutoff = (int64_t)ctx->now - (int64_t)minutes * 60;
	if ((db = store_open(ctx, command, &exit_code)) == NULL)
		return exit_code;
	if (relaydb_iterate(db, listing_add, &listing, &error) < 0) {
		exit_code = listing.failed ? EX_OSERR
		    : store_error(command, db, error);
		if (listing.failed)
			fprintf(stderr, "vsmtprelay: %s: out of memory\n",
				command);
	} else {
		listing_fix_pointers(&listing);
		if (listing.count > 1)
			qsort(listing.entries, listing.count,
			      sizeof(*listing.entries), listed_entry_compare);
		for (i = 0; i < listing.count; i++) {
			const struct listed_entry *e = &listing.entries[i];
			const struct listed_time *t;
			char shown[256];

			if (!key_is_printable(e->key.text)) {
				printf("# unprintable key \"%s\" (value \"%s\") "
				       "left out\n",
				       log_sanitize(e->key.text, shown, 128),
				       log_sanitize(e->value.text, shown + 128, 128));
				continue;
			}
			if (!e->valid) {
				printf("# not a timestamp: %s \"%s\"\n", e->key.text,
				       log_sanitize(e->value.text, shown,
						    sizeof(shown)));
				continue;
			}
			t = listed_time_get(&stamp, e->when);
			fputs(t->comment, stdout);
			fputs(e->key.text, stdout);
			fputs(t->value, stdout);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "vsmtprelay: %s: write error on "
				"standard output: %s\n", command,
				strerror(errno));
			exit_code = EX_IOERR;
		}
	}
	free(listing.entries);
	free(listing.text);
	relaydb_close(&db);
	return exit_code;
}

static int cmd_check(struct vsmtprelay *ctx, int argc, char **argv)
{
	char text[ADDRESS_TEXT_MAX], window[32], stamp[80];
	const struct cidr *block;
	struct address addr;
	struct relaydb *db;
	const char *error;
	int64_t when, age;
	int exit_code;

	if (argc != 1)
		return usage_error("check: expected \"check ip\"");
	if (parse_address_arg("check", argv[0], &addr) < 0)
		return EX_USAGE;
	address_format(&addr, text);
	timespan_format(ctx->conf.relay_window, window, sizeof(window));
	block = cidr_list_match(&ctx->conf.never_relay, &addr);
	if (block != NULL) {
		char block_text[ADDRESS_TEXT_MAX + 8];

		if (!ctx->quiet)
			printf("%s: not granted (in never_relay %s)\n", text,
			       cidr_format(block, block_text,
					   sizeof(block_text)));
		return flush_stdout("check") == EX_OK ? 1 : EX_IOERR;
	}
	if ((db = store_open(ctx, "check", &exit_code)) == NULL)
		return exit_code;
	switch (relaydb_lookup(db, &addr, &when, &error)) {
	case RELAYDB_TEMPFAIL:
		exit_code = store_error("check", db, error);
		relaydb_close(&db);
		return exit_code;
	case RELAYDB_NOTFOUND:
		relaydb_close(&db);
		if (!ctx->quiet)
			printf("%s: not granted (no entry)\n", text);
		return flush_stdout("check") == EX_OK ? 1 : EX_IOERR;
	case RELAYDB_FOUND:
		break;
	}
	relaydb_close(&db);
	relaydb_text_comment(when, stamp, sizeof(stamp));
	age = (int64_t)ctx->now - when;
	/* "# timestamp (UTC): " is 19 characters */
	if (age < ctx->conf.relay_window) {
		if (!ctx->quiet) {
			if (age < 0)
				printf("%s: granted (recorded %s UTC, %llds in "
				       "the future; relay_window %s)\n", text,
				       stamp + 19, (long long)-age, window);
			else
				printf("%s: granted (recorded %s UTC, %llds "
				       "ago; relay_window %s)\n", text,
				       stamp + 19, (long long)age, window);
		}
		return flush_stdout("check");
	}
	if (!ctx->quiet)
		printf("%s: not granted (recorded %s UTC, %llds ago; "
		       "relay_window %s)\n", text, stamp + 19, (long long)age,
		       window);
	return flush_stdout("check") == EX_OK ? 1 : EX_IOERR;
}

/* Read all of PATH ("-" = standard input) into memory. */
static char *read_whole_file(const char *path, size_t *len_r, int *exit_r)
{
	size_t len = 0, capacity = 65536;
	char *text = malloc(capacity);
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO
	    : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "vsmtprelay: load: cannot open %s: %s\n", path,
			strerror(errno));
		*exit_r = errno == EACCES ? EX_NOPERM : EX_NOINPUT;
		free(text);
		return NULL;
	}
	for (;;) {
		ssize_t got;

		if (text == NULL) {
			fprintf(stderr, "vsmtprelay: load: out of memory\n");
			*exit_r = EX_OSERR;
			break;
		}
		if (len == capacity) {
			char *grown;

			if (capacity >= (size_t)VSMTPRELAY_LOAD_MAX) {
				fprintf(stderr, "vsmtprelay: load: %s is larger "
					"than %ld bytes\n", path,
					VSMTPRELAY_LOAD_MAX);
				*exit_r = EX_DATAERR;
				break;
			}
			grown = realloc(text, capacity * 2);
			if (grown == NULL) {
				free(text);
				text = NULL;
				continue;
			}
			text = grown;
			capacity *= 2;
		}
		got = read(fd, text + len, capacity - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "vsmtprelay: load: cannot read %s: "
				"%s\n", path, strerror(errno));
			*exit_r = errno == EISDIR ? EX_NOINPUT : EX_IOERR;
			break;
		}
		if (got == 0) {
			if (fd != STDIN_FILENO)
				close(fd);
			*len_r = len;
			return text;
		}
		len += (size_t)got;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	free(text);
	return NULL;
}

static int cmd_load(struct vsmtprelay *ctx, int argc, char **argv)
{
	struct relaydb_text parsed;
	struct relaydb *db;
	const char *error;
	char message[512];
	size_t len, i;
	char *text;
	int exit_code;

	if (argc != 1)
		return usage_error("load: expected \"load file\"");
	if ((text = read_whole_file(argv[0], &len, &exit_code)) == NULL)
		return exit_code;
	if (relaydb_text_parse(strcmp(argv[0], "-") == 0 ? "(stdin)" : argv[0],
			       text, len, &parsed, message,
			       sizeof(message)) < 0) {
		fprintf(stderr, "vsmtprelay: load: %s\n", message);
		free(text);
		return EX_DATAERR;
	}
	free(text);
	for (i = 0; i < parsed.count; i++) {
		if (check_never_relay(ctx, "load", &parsed.grants[i].address,
				      "nothing loaded") < 0) {
			relaydb_text_free(&parsed);
			return EX_DATAERR;
		}
	}
	if ((db = store_open(ctx, "load", &exit_code)) == NULL) {
		relaydb_text_free(&parsed);
		return exit_code;
	}
	exit_code = EX_OK;
	if (relaydb_replace_all(db, parsed.grants, parsed.count, &error) < 0)
		exit_code = store_error("load", db, error);
	relaydb_close(&db);
	relaydb_text_free(&parsed);
	return exit_code;
}

int main(int argc, char **argv)
{
	struct vsmtprelay ctx;
	const char *conf_path = RELAYGATE_CONF_DEFAULT_PATH, *error;
	const char *command;
	bool conf_given = false;
	char message[512];
	int opt, i, status;

	log_open("vsmtprelay", true);
	memset(&ctx, 0, sizeof(ctx));
	/* GNU-style long options, which getopt would read as "-" "-". */
	for (opt = 1; opt < argc && argv[opt][0] == '-'; opt++) {
		if (strcmp(argv[opt], "--") == 0)
			break;
		if (strcmp(argv[opt], "--help") == 0) {
			usage(stdout);
			return flush_stdout("-h");
		}
		if (strcmp(argv[opt], "--version") == 0) {
			printf("vsmtprelay (relaygate) %s\n", RELAYGATE_VERSION);
			return flush_stdout("-V");
		}
		if (strncmp(argv[opt], "--", 2) == 0) {
			char shown[128];

			return usage_error("unknown option %s",
					   log_sanitize(argv[opt], shown,
							sizeof(shown)));
		}
		if ((strcmp(argv[opt], "-c") == 0 || strcmp(argv[opt], "-f") == 0)
		    && opt + 1 < argc)
			opt++;
	}
	opterr = 0;
	while ((opt = getopt(argc, argv, "+c:f:qhV")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'f':
			ctx.store_path = optarg;
			break;
		case 'q':
			ctx.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return flush_stdout("-h");
		case 'V':
			printf("vsmtprelay (relaygate) %s\n", RELAYGATE_VERSION);
			return flush_stdout("-V");
		default: {
			char flag[2] = { (char)optopt, '\0' };

			if (optopt == 'c' || optopt == 'f')
				return usage_error("option -%s needs a file "
						   "argument", flag);
			return usage_error("unknown option -%s", flag);
		}
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	if (relaygate_conf_init(&ctx.conf, &error) < 0) {
		fprintf(stderr, "vsmtprelay: %s\n", error);
		return EX_SOFTWARE;
	}
	if (relaygate_conf_load(&ctx.conf, conf_path, conf_given, message,
				sizeof(message)) < 0) {
		fprintf(stderr, "vsmtprelay: %s\n", message);
		relaygate_conf_free(&ctx.conf);
		return EX_CONFIG;
	}
	if (ctx.store_path == NULL)
		ctx.store_path = ctx.conf.relay_db;
	else if (*ctx.store_path == '\0') {
		relaygate_conf_free(&ctx.conf);
		return usage_error("-f needs a file name");
	}
	ctx.now = time(NULL);
	command = argv[0];
	argc--;
	argv++;
	for (i = 0; i < argc; i++) {
		/* "list -f FILE": getopt stops at the command */
		if (argv[i][0] == '-'
		    && (isalpha((unsigned char)argv[i][1]) || argv[i][1] == '-')) {
			char shown[128];

			fprintf(stderr, "vsmtprelay: %s: \"%s\": options go "
				"before the command\n", command,
				log_sanitize(argv[i], shown, sizeof(shown)));
			relaygate_conf_free(&ctx.conf);
			return EX_USAGE;
		}
	}
	if (strcmp(command, "add") == 0)
		status = cmd_add(&ctx, argc, argv);
	else if (strcmp(command, "delete") == 0)
		status = cmd_delete(&ctx, argc, argv);
	else if (strcmp(command, "expire") == 0)
		status = cmd_expire(&ctx, argc, argv);
	else if (strcmp(command, "list") == 0)
		status = cmd_list(&ctx, "list", argc, argv, false);
	else if (strcmp(command, "dump") == 0)
		status = cmd_list(&ctx, "dump", argc, argv, true);
	else if (strcmp(command, "check") == 0)
		status = cmd_check(&ctx, argc, argv);
	else if (strcmp(command, "load") == 0)
		status = cmd_load(&ctx, argc, argv);
	else {
		char shown[128];

		status = usage_error("unknown command \"%s\"",
				     log_sanitize(command, shown, sizeof(shown)));
	}
	relaygate_conf_free(&ctx.conf);
	return status;
}

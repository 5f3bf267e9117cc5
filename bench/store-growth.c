/* store-growth: how often a growing relayers.db is replaced, and what each
 * replacement costs (docs/BENCHMARKS.md, "Store shape").
 *
 * One process records N new addresses with relaydb_record(), one grant
 * per update, exactly as a server does, into a store that starts either
 * as relaygate creates it or as makemap(8) does (Berkeley DB's defaults,
 * no fill factor). After every grant it checks whether the file at the
 * path is a new one (a replacement, page_commit.c) and times that grant.
 *
 *   store-growth [-6] [-m] [-n N] [-v] DIR
 *     -6  IPv6 addresses (8 random groups: two 39-character keys each)
 *     -m  start from a makemap-shaped store
 *     -n  addresses (default 50000)
 *     -v  one line per replacement */
#include <db.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "relaydb.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void create_like_makemap(const char *path)
{
	DB *hdb;
	int ret;

	if ((ret = db_create(&hdb, NULL, 0)) != 0
	    || (ret = hdb->open(hdb, NULL, path, NULL, DB_HASH,
				DB_CREATE | DB_EXCL, 0644)) != 0
	    || (ret = hdb->close(hdb, 0)) != 0) {
		fprintf(stderr, "store-growth: creating %s: %s\n", path,
			db_strerror(ret));
		exit(1);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: store-growth [-6] [-m] [-n N] [-v] DIR\n");
	exit(64);
}

int main(int argc, char **argv)
{
	struct relaydb_settings settings;
	struct relaydb *db;
	const char *error;
	char path[4096];
	bool v6 = false, makemap_shape = false, verbose = false;
	unsigned long n = 50000, i, replacements = 0;
	double total_ms = 0, worst_ms = 0, start;
	struct stat st;
	ino_t ino;
	off_t size;
	int opt;

	while ((opt = getopt(argc, argv, "6mn:v")) != -1) {
		switch (opt) {
		case '6': v6 = true; break;
		case 'm': makemap_shape = true; break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'v': verbose = true; break;
		default: usage();
		}
	}
	if (optind != argc - 1 || n == 0)
		usage();
	if ((size_t)snprintf(path, sizeof(path), "%s/growth-%d.db",
			     argv[optind], (int)getpid()) >= sizeof(path))
		usage();
	if (makemap_shape)
		create_like_makemap(path);
	memset(&settings, 0, sizeof(settings));
	settings.location = path;
	settings.lock_timeout_ms = 10000;
	settings.create = true;
	if ((db = relaydb_open(&settings, &error)) == NULL) {
		fprintf(stderr, "store-growth: %s\n", error);
		return 1;
	}
	srandom(1);
	/* the empty store exists once the first grant is in */
	ino = 0;
	size = 0;
	start = now_ms();
	for (i = 0; i < n; i++) {
		char text[64];
		struct address addr;
		double t0, ms;

		if (v6)
			snprintf(text, sizeof(text),
				 "2001:db8:%lx:%lx:%lx:%lx:%lx:%lx",
				 random() % 65536, random() % 65536,
				 random() % 65536, random() % 65536,
				 random() % 65535 + 1, random() % 65535 + 1);
		else
			snprintf(text, sizeof(text), "10.%lu.%lu.%lu",
				 (i >> 16) & 255, (i >> 8) & 255, i & 255);
		if (address_parse(text, &addr, &error) < 0) {
			fprintf(stderr, "store-growth: %s: %s\n", text, error);
			return 1;
		}
		t0 = now_ms();
		if (relaydb_record(db, &addr, 1800000000 + (int64_t)i, "bench",
				   "bench", &error) < 0) {
			fprintf(stderr, "store-growth: record %s: %s\n", text,
				error);
			return 1;
		}
		ms = now_ms() - t0;
		if (stat(path, &st) < 0) {
			fprintf(stderr, "store-growth: %s: %s\n", path,
				strerror(errno));
			return 1;
		}
		if (ino != 0 && st.st_ino != ino) {
			replacements++;
			total_ms += ms;
			if (ms > worst_ms)
				worst_ms = ms;
			if (verbose)
				printf("  grant %lu: replaced, %lld -> %lld "
				       "bytes, %.2f ms\n", i, (long long)size,
				       (long long)st.st_size, ms);
		}
		ino = st.st_ino;
		size = st.st_size;
	}
	printf("%s store, %lu %s addresses: %lu replacements (worst %.2f ms, "
	       "together %.1f ms), final size %lld bytes (%lld on disk), "
	       "%.0f grants/s\n", makemap_shape ? "makemap-shaped" :
	       "relaygate-shaped", n, v6 ? "IPv6" : "IPv4", replacements,
	       worst_ms, total_ms, (long long)st.st_size,
	       (long long)st.st_blocks * 512, n / ((now_ms() - start) / 1e3));
	relaydb_close(&db);
	(void)unlink(path);
	return 0;
}

/* maildir-scan-bench: what a POP3 login costs in src/maildir: maildir_open,
 * maildir_lock, maildir_scan, maildir_stat, maildir_close on one Maildir
 * of N messages named as most MDAs name them (",S=" but no ",W="), with
 * the size cache off, warm (written by an earlier login) and cold
 * (removed before every login). Prints one line per mode:
 *   mode=warm messages=100 logins=5000 seconds=0.52 logins_per_s=9615
 *   us_per_login=104.0 p50_us=98.1 min_us=90.2 measured=0 sized_by_cache=100
 * (p50 and min resist other load on the machine; logins_per_s is one
 * process, one core.)
 * Usage: maildir-scan-bench [-n MESSAGES] [-b BYTES] [-i LOGINS]
 *        [-m off|warm|cold|all] [-d DIR]
 * The Maildir is made in DIR (default $TMPDIR or /tmp) and removed. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "maildir_size_cache.h"

static char bench_root[4096];

static uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_remove(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* A Maildir in DIR with COUNT messages of BYTES bytes of LF lines. */
static void bench_make_maildir(const char *dir, unsigned count, size_t bytes)
{
	char path[4096 + 256], *body;
	unsigned i;
	size_t j;
	int fd;

	snprintf(bench_root, sizeof(bench_root), "%s/relaygate-scan.XXXXXX",
		 dir);
	if (mkdtemp(bench_root) == NULL)
		log_fatal(73, "mkdtemp %s: %s", bench_root, strerror(errno));
	body = malloc(bytes);
	if (body == NULL)
		log_fatal(71, "out of memory");
	for (j = 0; j < bytes; j++)
		body[j] = j % 72 == 71 ? '\n' : (char)('a' + j % 26);
	if (bytes > 0)
		body[bytes - 1] = '\n';
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", bench_root,
			 i == 0 ? "new" : i == 1 ? "cur" : "tmp");
		if (mkdir(path, 0700) < 0)
			log_fatal(73, "mkdir %s: %s", path, strerror(errno));
	}
	for (i = 0; i < count; i++) {
		snprintf(path, sizeof(path),
			 "%s/cur/%u.M%uP4242.bench.example,S=%zu:2,S",
			 bench_root, 1733040000u + i, i, bytes);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, body, bytes) != (ssize_t)bytes
		    || close(fd) < 0)
			log_fatal(73, "write %s: %s", path, strerror(errno));
	}
	free(body);
}

/* One login as relaygate-pop3d does it; the scan's stats in *STATS. */
static void bench_login(const struct maildir_options *options,
			struct maildir_snapshot_stats *stats)
{
	struct maildir *md;
	const char *error;
	uint64_t size;
	size_t count;

	if (maildir_open(bench_root, options, &md, &error) < 0)
		log_fatal(74, "%s", error);
	if (maildir_lock(md, &error) != MAILDIR_LOCK_OK)
		log_fatal(75, "%s", error);
	if (maildir_scan(md, stats, &error) < 0)
		log_fatal(74, "%s", error);
	maildir_stat(md, &count, &size);
	if (count == 0 && maildir_count(md) != 0)
		log_fatal(70, "STAT lost messages");
	maildir_close(&md);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void bench_mode(const char *mode, unsigned logins)
{
	struct maildir_snapshot_stats stats;
	struct maildir_options options;
	char cache[4096 + 64];
	uint64_t start, elapsed = 0, *samples;
	unsigned i;
	bool cold = strcmp(mode, "cold") == 0;

	maildir_options_init(&options);
	options.use_size_cache = strcmp(mode, "off") != 0;
	snprintf(cache, sizeof(cache), "%s/%s", bench_root,
		 MAILDIR_SIZE_CACHE_NAME);
	unlink(cache);
	samples = calloc(logins, sizeof(*samples));
	if (samples == NULL)
		log_fatal(71, "out of memory");
	if (strcmp(mode, "warm") == 0)
		bench_login(&options, &stats);	/* writes the cache */
	for (i = 0; i < logins; i++) {
		if (cold)
			unlink(cache);
		start = bench_now_ns();
		bench_login(&options, &stats);
		samples[i] = bench_now_ns() - start;
		elapsed += samples[i];
	}
	qsort(samples, logins, sizeof(*samples), bench_cmp_u64);
	printf("mode=%s messages=%zu logins=%u seconds=%.3f logins_per_s=%.0f "
	       "us_per_login=%.1f p50_us=%.1f min_us=%.1f measured=%zu "
	       "sized_by_cache=%zu\n", mode,
	       stats.measured + stats.sized_by_cache + stats.sized_by_name,
	       logins, (double)elapsed / 1e9,
	       (double)logins * 1e9 / (double)elapsed,
	       (double)elapsed / 1e3 / logins,
	       (double)samples[logins / 2] / 1e3, (double)samples[0] / 1e3,
	       stats.measured, stats.sized_by_cache);
	free(samples);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TMPDIR"), *mode = "all";
	unsigned messages = 100, logins = 5000;
	size_t bytes = 4096;
	int opt;

	log_open("maildir-scan-bench", true);
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	while ((opt = getopt(argc, argv, "n:b:i:m:d:")) != -1) {
		switch (opt) {
		case 'n': messages = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'b': bytes = strtoul(optarg, NULL, 10); break;
		case 'i': logins = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': mode = optarg; break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: maildir-scan-bench [-n MESSAGES]"
				" [-b BYTES] [-i LOGINS] [-m off|warm|cold|all]"
				" [-d DIR]\n");
			return 64;
		}
	}
	if (logins == 0)
		logins = 1;
	bench_make_maildir(dir, messages, bytes);
	if (strcmp(mode, "all") == 0) {
		bench_mode("off", logins);
		bench_mode("cold", logins);
		bench_mode("warm", logins);
	} else {
		bench_mode(mode, logins);
	}
	nftw(bench_root, bench_remove, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

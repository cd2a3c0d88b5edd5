// SPDX-License-Identifier: GPL-2.0
/*
 * lazy-victim: the process that CRIU dumps and then restores lazily in
 * tests/criu/lazy.sh (issue 13).
 *
 * It fills three private anonymous regions with a pattern that depends
 * on the region and the offset, leaving one page in HOLE_EVERY untouched
 * (zero), and verifies every word of them.  The holes split each region
 * into many runs of pages, which the lazy-pages daemon fetches one per
 * round: so the daemon is still filling the process when it changes its
 * address space, right after it is restored.  Its PID, as the /proc of
 * the chroot shows it, is in DIR/ready once it has verified its memory;
 * it then waits, without touching it, until it is dumped and restored
 * (the control directory holds "go").  Then it reads the first RM_PAGES
 * pages of region "rm" in (demand faults), forks a child that keeps
 * verifying its own copy of everything, mremaps region "mv" elsewhere and
 * MADV_DONTNEEDs those pages of "rm" (which must then read zero; only
 * pages that were transferred are thrown away, so the daemon can still
 * account for every page).  Both processes verify until the control directory holds
 * "stop", make one more full pass, and write result.parent or
 * result.child there: "ok passes=N" or "FAIL: ...".  The first wrong
 * word ends the process with a FAIL result.
 *
 * Usage: lazy-victim DIR          run under CRIU, controlled through DIR
 *        lazy-victim --self-test  the same steps without CRIU, then
 *                                 checks that the verifier catches a
 *                                 corrupted word (exit status 0 or 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024UL * 1024)

struct region {
	const char *name;
	uint64_t *base;
	size_t len;
	unsigned int id;
	size_t zero;	/* pages at the start that must read zero */
};

#define HOLE_EVERY	64	/* one page in 64 is never written */
#define RM_PAGES	8	/* "rm" pages read in, then thrown away */

static struct region big = { "big", NULL, 32 * MiB, 1, 0 };
static struct region mv = { "mv", NULL, 2 * MiB, 2, 0 };
static struct region rm = { "rm", NULL, 2 * MiB, 3, 0 };
static struct region *regions[] = { &big, &mv, &rm };

static uint64_t salt;		/* chosen at start, the same after restore */
static const char *dir;		/* control directory; NULL in the self-test */
static const char *role = "parent";
static unsigned long passes;
static time_t deadline;		/* give up if nobody says stop by then */
/* Before the dump: leave the holes untouched, so that they stay holes. */
static int skip_holes;

static uint64_t pattern(unsigned int id, size_t i)
{
	return (id * 0x9e3779b97f4a7c15ULL) ^ (i * 0xff51afd7ed558ccdULL) ^
		salt;
}

static void result(const char *fmt, ...)
{
	char path[4096], tmp[4200], msg[512];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!dir) {
		printf("# %s: %s\n", role, msg);
		return;
	}
	snprintf(path, sizeof(path), "%s/result.%s", dir, role);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	if (write(fd, msg, strlen(msg)) < 0 || write(fd, "\n", 1) < 0)
		msg[0] = 0;
	close(fd);
	rename(tmp, path);
}

static int hole(size_t word)
{
	return word / 512 % HOLE_EVERY == HOLE_EVERY - 1;
}

static void fill(struct region *r)
{
	size_t i;

	for (i = 0; i < r->len / 8; i++)
		if (!hole(i))
			r->base[i] = pattern(r->id, i);
}

/*
 * 0 when every word of pages [from, to) is right; otherwise the result
 * names the first wrong one.
 */
static int verify_pages(struct region *r, size_t from, size_t to)
{
	size_t i;

	for (i = from * 512; i < to * 512; i++) {
		uint64_t want = hole(i) || i < r->zero * 512 ? 0 :
				pattern(r->id, i);

		if (skip_holes && hole(i))
			continue;
		if (r->base[i] != want) {
			result("FAIL: %s pass %lu: region %s word %zu (page %zu): %#llx, want %#llx",
			       role, passes, r->name, i, i * 8 / 4096,
			       (unsigned long long)r->base[i],
			       (unsigned long long)want);
			return -1;
		}
	}
	return 0;
}

static int verify(struct region *r)
{
	return verify_pages(r, 0, r->len / 4096);
}

static int verify_all(void)
{
	unsigned int k;

	for (k = 0; k < sizeof(regions) / sizeof(regions[0]); k++)
		if (verify(regions[k]))
			return -1;
	passes++;
	return 0;
}

static int exists(const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/*
 * Verify until told to stop (the self-test: after three passes), then one
 * more pass.  0, or -1 with the result written.
 */
static int verify_until_stop(void)
{
	for (;;) {
		int stop = dir ? exists("stop") : passes >= 3;

		if (verify_all())
			return -1;
		if (stop)
			return 0;
		if (time(NULL) > deadline) {
			result("FAIL: %s: no stop after %lu passes", role, passes);
			return -1;
		}
	}
}

static int map(struct region *r)
{
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return r->base == MAP_FAILED ? -1 : 0;
}

/* Move @r elsewhere with mremap(); its old place must then be unmapped. */
static int move(struct region *r)
{
	void *to, *old = r->base;

	to = mmap(NULL, r->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED)
		return -1;
	to = mremap(old, r->len, r->len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (to == MAP_FAILED)
		return -1;
	r->base = to;
	if (msync(old, 4096, MS_ASYNC) == 0 || errno != ENOMEM) {
		result("FAIL: %s: the old place of %s is still mapped", role,
		       r->name);
		return -1;
	}
	return 0;
}

/* What the restored process does; returns its exit status. */
static int restored(void)
{
	int status;
	pid_t child;

	/* Demand faults: the pages of "rm" that the parent throws away. */
	if (verify_pages(&rm, 0, RM_PAGES))
		return 1;
	child = fork();
	if (child < 0) {
		result("FAIL: fork: %s", strerror(errno));
		return 1;
	}
	if (child == 0) {
		role = "child";
		if (verify_until_stop())
			_exit(1);
		result("ok passes=%lu", passes);
		_exit(0);
	}
	if (move(&mv))
		goto fail;
	if (madvise(rm.base, RM_PAGES * 4096, MADV_DONTNEED)) {
		result("FAIL: madvise: %s", strerror(errno));
		goto fail;
	}
	rm.zero = RM_PAGES;
	if (verify_until_stop())
		goto fail;
	if (waitpid(child, &status, 0) != child) {
		result("FAIL: waitpid: %s", strerror(errno));
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		result("FAIL: the child ended with status %#x", status);
		return 1;
	}
	result("ok passes=%lu", passes);
	return 0;
fail:
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 1;
}

static int self_test(void)
{
	uint64_t *word;
	int status;
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..2\n");
	/* In a child: the restored process's steps, verified. */
	pid = fork();
	if (pid == 0)
		_exit(restored());
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("not ok 1 the steps of a restored process verify clean\n");
		return 1;
	}
	printf("ok 1 the steps of a restored process verify clean\n");

	/* The verifier must see one wrong word in each region. */
	word = big.base + big.len / 8 - 1;
	*word ^= 1;
	if (!verify(&big)) {
		printf("not ok 2 the verifier catches a corrupted word\n");
		return 1;
	}
	*word ^= 1;
	mv.base[12345] ^= 1ULL << 40;
	if (verify(&big) || !verify(&mv)) {
		printf("not ok 2 the verifier catches a corrupted word\n");
		return 1;
	}
	printf("ok 2 the verifier catches a corrupted word\n");
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], tmp[4200], self[32];
	unsigned int k;
	ssize_t n;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --self-test\n", argv[0]);
		return 2;
	}
	salt = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
	deadline = time(NULL) + 900;
	for (k = 0; k < sizeof(regions) / sizeof(regions[0]); k++) {
		if (map(regions[k])) {
			perror("mmap");
			return 1;
		}
		fill(regions[k]);
	}
	if (!strcmp(argv[1], "--self-test"))
		return self_test();

	dir = argv[1];
	/*
	 * What CRIU can dump from inside the chroot: standard descriptors
	 * opened there, and a writable working directory (the parasite
	 * mounts a /proc of our PID namespace below it).
	 */
	n = open("/dev/null", O_RDWR);
	if (n < 0 || dup2(n, 0) < 0 || dup2(n, 1) < 0 || dup2(n, 2) < 0 ||
	    chdir(dir))
		return 1;
	if (n > 2)
		close(n);
	setsid();
	skip_holes = 1;
	if (verify_all())
		return 1;
	skip_holes = 0;
	snprintf(path, sizeof(path), "%s/ready", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return 1;
	/* The PID in the namespace of /proc, which may not be ours. */
	n = readlink("/proc/self", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	fprintf(f, "%s\n", n > 0 ? self : "?");
	fclose(f);
	if (rename(tmp, path))
		return 1;
	/* Until dumped and restored: wait, memory untouched. */
	while (!exists("go")) {
		if (time(NULL) > deadline) {
			result("FAIL: never restored");
			return 1;
		}
		usleep(10000);
	}
	return restored();
}

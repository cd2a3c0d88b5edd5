// SPDX-License-Identifier: GPL-2.0
/*
 * lazy-victim: the process that CRIU dumps and then restores lazily in
 * tests/criu/lazy.sh (issue 13).
 *
 * It fills three private anonymous regions with a pattern that depends
 * on the region and the offset, and verifies every word of them, pass
 * after pass.  Once restored (the control directory holds "go"), it
 * changes its address space while the lazy-pages daemon is still
 * filling it: it reads all of region "rm" in (demand faults), forks a
 * child that keeps verifying its own copy of everything, mremaps region
 * "mv" elsewhere and MADV_DONTNEEDs region "rm" (which must then read
 * zero).  Its PID, as the /proc of the chroot shows it, is in DIR/ready
 * once it has filled its memory.  Both processes verify until the control directory holds
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
	int zero;	/* after MADV_DONTNEED: must read zero */
};

static struct region big = { "big", NULL, 32 * MiB, 1, 0 };
static struct region mv = { "mv", NULL, 2 * MiB, 2, 0 };
static struct region rm = { "rm", NULL, 2 * MiB, 3, 0 };
static struct region *regions[] = { &big, &mv, &rm };

static uint64_t salt;		/* chosen at start, the same after restore */
static const char *dir;		/* control directory; NULL in the self-test */
static const char *role = "parent";
static unsigned long passes;
static time_t deadline;		/* give up if nobody says stop by then */

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

static void fill(struct region *r)
{
	size_t i;

	for (i = 0; i < r->len / 8; i++)
		r->base[i] = pattern(r->id, i);
}

/* 0 when every word is right; otherwise the result names the first wrong. */
static int verify(struct region *r)
{
	size_t i;

	for (i = 0; i < r->len / 8; i++) {
		uint64_t want = r->zero ? 0 : pattern(r->id, i);

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

	/* Demand faults: all of "rm" comes in before the changes. */
	if (verify(&rm))
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
	if (madvise(rm.base, rm.len, MADV_DONTNEED)) {
		result("FAIL: madvise: %s", strerror(errno));
		goto fail;
	}
	rm.zero = 1;
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
	/* Until dumped and restored: verify, gently. */
	while (!exists("go")) {
		if (verify_all())
			return 1;
		if (time(NULL) > deadline) {
			result("FAIL: never restored");
			return 1;
		}
		usleep(50000);
	}
	return restored();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-bench: userfaultfd benchmarks (MISSING mode, private anonymous
 * memory, and shmem and hugetlbfs for fillf; UFFDIO_API features 0; wp
 * uses WP mode with UFFD_FEATURE_PAGEFAULT_FLAG_WP).
 *
 *   uffd-bench [options] [rt|mf|pf|fill|fillt|fillf|wp|base|all]...
 *
 *   rt    fault round trip: one thread reads N pages of a registered area,
 *         one at a time; one handler thread serves each fault with
 *         UFFDIO_COPY after a blocking read().  Latency per fault, measured
 *         in the faulting thread around the access, with the two threads on
 *         the same CPU and on different CPUs.
 *   mf    many faulters on one userfaultfd: F = 1, 2, 4, 8 threads each read
 *         their own slice of the area (the total is fixed), served by one
 *         handler thread or by F handler threads; faults per second.
 *   pf    parked faults on one userfaultfd: T = 16, 64, 256, 1024 (-P)
 *         threads (64 KiB stacks), released together by a barrier, each
 *         read a page of their own, a fresh one each round, for
 *         max(1, 4096 / T) rounds: at least max(T, 4096) faults per T.
 *         One handler thread read()s up to 64 messages at a time and
 *         serves each page with UFFDIO_COPY: pf_wake_t<T> wakes with each
 *         copy; pf_batch_t<T> copies with DONTWAKE, then wakes the span of
 *         the batch's pages with one UFFDIO_WAKE.  Faults per second over
 *         the rounds, each round timed from the first thread's access to
 *         the last one's return, the median of the runs.
 *         pf_wake_t<T>_dup and pf_batch_t<T>_dup: messages for a page
 *         already filled (EEXIST), summed over the -r runs (unit msgs).
 *         A T the system will not make threads for (EAGAIN) is skipped
 *         ("# skip pf T=...").
 *   fill  UFFDIO_COPY of a whole area in 4 KiB, 64 KiB and 2 MiB calls
 *         (fill_copy_4k, fill_copy_64k, fill_copy_2m), and UFFDIO_ZEROPAGE
 *         in 4 KiB, 64 KiB and 2 MiB calls (fill_zero_4k, fill_zero_64k,
 *         fill_zero), with no fault at all; GB/s.  fill_read_4k_pages:
 *         after each 2 MiB-call copy, still registered, one read of an
 *         8-byte word per 64-byte line of the whole area (what a program
 *         pays to first read pages filled for it); GB/s of the area.
 *   fillt the same into 2 MiB-aligned MADV_HUGEPAGE memory, a fresh
 *         mapping each run: fill_copy_thp_4k, fill_copy_thp_64k,
 *         fill_copy_thp_2m, fill_zero_thp_4k, fill_zero_thp_64k and
 *         fill_zero_thp_2m (-f MiB each), and fill_read_thp after
 *         fill_copy_thp_2m.  How much of the area smaps counts as
 *         AnonHugePages after the 2 MiB-call runs is printed ("# fillt:"),
 *         for information.  Skipped ("# skip") in a kernel without THP.
 *   fillf the same on other memory, into a fresh mapping each run:
 *         UFFDIO_COPY in 64 KiB and 2 MiB calls and UFFDIO_ZEROPAGE in
 *         2 MiB calls into a shared memfd (-f MiB); UFFDIO_COPY in 2 MiB
 *         calls, one huge page each, into private MAP_HUGETLB memory and
 *         into a shared MFD_HUGETLB memfd (-f MiB, at most 64: the guest
 *         has 160 2 MiB huge pages).  Keys fill_copy_shmem_64k,
 *         fill_copy_shmem_2m, fill_zero_shmem, fill_copy_hugetlb_2m and
 *         fill_copy_hugetlb_shared_2m; a hugetlb key is skipped ("# skip")
 *         where no 2 MiB huge pages can be had.
 *   wp    write protection of populated private anonymous memory:
 *         wp_fault_mean, the write-protect fault round trip: one thread
 *         stores to N protected pages in turn, one handler thread (on
 *         the second CPU if any) reads each fault and unprotects its page
 *         with UFFDIO_WRITEPROTECT mode 0, which wakes the writer; mean us
 *         per fault.  wp_protect_4k and wp_unprotect_4k: one
 *         UFFDIO_WRITEPROTECT call protecting, then one unprotecting, the
 *         whole -p area of 4 KiB pages (MADV_NOHUGEPAGE), 5 times a run;
 *         GB/s, the median of all the calls.  wp_rewrite_4k: after each
 *         unprotect, one store to every page of the area (what a program
 *         pays afterwards for pages left read-only: a fault each); GB/s
 *         of the pages written.  wp_protect_thp, wp_unprotect_thp and
 *         wp_rewrite_thp: the same on a 2 MiB-aligned MADV_HUGEPAGE
 *         area, skipped ("# skip") unless smaps counts all of it as
 *         AnonHugePages.  Every page's uffd-wp bit is read back from
 *         /proc/self/pagemap (bit 57) after each call, and every store
 *         and every message is checked; the whole step is skipped where
 *         UFFDIO_API lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP.
 *   base  baselines without userfaultfd: an ordinary anonymous write fault,
 *         and paging in user space with PROT_NONE + SIGSEGV + mprotect().
 *
 * Each figure is one line "BENCH <key> <value> <unit>"; other lines start
 * with "# ".  Every benchmark checks what it measured: each page carries a
 * pattern derived from its index, every byte of every page is compared
 * after each run, and zero pages must read as zero; pf also checks the
 * word each faulter read, the fill_read_* passes the sum of what they read
 * (wp_protect_*, wp_unprotect_* and wp_rewrite_*, which move no data,
 * check the tag in the first word of each page and the uffd-wp bits).
 * Any mismatch or error ends the program with a message and a non-zero
 * status; so does the watchdog (-w) if something hangs.
 *
 * Threads are named uffd-fault / uffd-handler for the guest's stack dumps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024UL * 1024)

/* Options (see usage()). */
static size_t opt_pages = 2000;		/* rt, wp and base: faults per run */
static size_t opt_mf_pages = 8192;	/* mf: total faults per run */
static int opt_max_threads = 8;		/* mf: F = 1, 2, 4, ... up to this */
static size_t opt_pf_max = 1024;	/* pf: T = 16, 64, 256, ... up to this */
static size_t opt_fill_mib = 64;	/* fill, fillt, fillf: UFFDIO_COPY area */
static size_t opt_zero_mib = 256;	/* fill: UFFDIO_ZEROPAGE area */
static size_t opt_wp_mib = 256;		/* wp: UFFDIO_WRITEPROTECT area */
static int opt_reps = 1;		/* runs of each benchmark */
static unsigned int opt_watchdog = 900;	/* seconds, 0: none */

static size_t ps;			/* page size */
static int cpu_a = -1, cpu_b = -1;	/* the first two CPUs we may use */

/* Warm-up faults before the measured ones in rt (not counted). */
#define RT_WARMUP 16

static void fail(const char *fmt, ...)
{
	va_list ap;

	/* stderr is unbuffered, stdout line-buffered: nothing is lost. */
	fputs("uffd-bench: FAIL: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void bench(const char *key, double value, const char *unit)
{
	if (strcmp(unit, "faults/s") == 0 || strcmp(unit, "msgs") == 0)
		printf("BENCH %s %.0f %s\n", key, value, unit);
	else
		printf("BENCH %s %.3f %s\n", key, value, unit);
}

/* ---- page contents ------------------------------------------------- */

/*
 * Word w of page idx holds tag(idx) ^ w: every word of every page differs,
 * the top bit keeps every word non-zero, and the seed makes each
 * benchmark's pattern its own.
 */
static inline uint64_t tag(size_t idx, uint64_t seed)
{
	uint64_t x = ((uint64_t)idx + 1) * 0x9e3779b97f4a7c15ULL ^ seed;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | (1ULL << 63);
}

static void fill_pattern(char *p, size_t first, size_t n, uint64_t seed)
{
	size_t words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < n; i++) {
		uint64_t *q = (uint64_t *)(p + i * ps);
		uint64_t t = tag(first + i, seed);

		for (size_t w = 0; w < words; w++)
			q[w] = t ^ w;
	}
}

static void check_pattern(const char *p, size_t first, size_t n,
			  uint64_t seed, const char *what)
{
	size_t words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < n; i++) {
		const uint64_t *q = (const uint64_t *)(p + i * ps);
		uint64_t t = tag(first + i, seed), bad = 0;

		for (size_t w = 0; w < words; w++)
			bad |= q[w] ^ (t ^ w);
		if (!bad)
			continue;
		for (size_t w = 0; w < words; w++)
			if (q[w] != (t ^ w))
				fail("%s: page %zu word %zu is %#" PRIx64
				     ", expected %#" PRIx64, what, first + i,
				     w, q[w], t ^ w);
	}
}

static void check_zero(const char *p, size_t len, const char *what)
{
	const uint64_t *q = (const uint64_t *)p;
	size_t words = len / sizeof(uint64_t);
	uint64_t bad = 0;

	for (size_t w = 0; w < words; w++)
		bad |= q[w];
	if (!bad)
		return;
	for (size_t w = 0; w < words; w++)
		if (q[w])
			fail("%s: byte offset %zu is %#" PRIx64
			     ", expected zero", what, w * sizeof(uint64_t),
			     q[w]);
}

/* ---- memory, CPUs, threads ------------------------------------------ */

/* Private anonymous read/write memory, without transparent huge pages. */
static char *map_area(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("mmap %zu bytes: %s", len, strerror(errno));
	/* EINVAL: a kernel without THP, where faults are 4 KiB anyway. */
	if (madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL)
		fail("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	return p;
}

static void unmap(void *p, size_t len)
{
	if (munmap(p, len))
		fail("munmap: %s", strerror(errno));
}

static void dontneed(void *p, size_t len)
{
	if (madvise(p, len, MADV_DONTNEED))
		fail("madvise(MADV_DONTNEED): %s", strerror(errno));
}

/* mib MiB in whole 2 MiB units (whole huge pages, whole 2 MiB calls). */
static size_t whole_2m(size_t mib)
{
	return (mib * MiB + 2 * MiB - 1) / (2 * MiB) * (2 * MiB);
}

/*
 * len bytes of private anonymous memory on a 2 MiB boundary, with
 * MADV_HUGEPAGE; NULL where the kernel has no THP (EINVAL).
 */
static char *map_thp(size_t len)
{
	size_t extra = 2 * MiB, head;
	char *m = mmap(NULL, len + extra, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p;

	if (m == MAP_FAILED)
		fail("mmap %zu bytes: %s", len + extra, strerror(errno));
	p = (char *)(((uintptr_t)m + extra - 1) & ~(uintptr_t)(extra - 1));
	head = p - m;
	if (head)
		unmap(m, head);
	if (extra - head)
		unmap(p + len, extra - head);
	if (!madvise(p, len, MADV_HUGEPAGE))
		return p;
	if (errno != EINVAL)
		fail("madvise(MADV_HUGEPAGE): %s", strerror(errno));
	unmap(p, len);
	return NULL;
}

/*
 * Kilobytes of [p, p + len) that /proc/self/smaps counts as AnonHugePages,
 * over the VMAs that meet the range (nothing else here uses THP).
 */
static size_t anon_huge_kb(const char *p, size_t len)
{
	uintptr_t start = (uintptr_t)p, end = start + len;
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	size_t sum = 0;
	int in = 0;

	if (!f)
		fail("open /proc/self/smaps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		size_t kb;

		/* A field line ("AnonHugePages:") scans one number at most. */
		if (sscanf(line, "%lx-%lx", &s, &e) == 2)
			in = s < end && e > start;
		else if (in && sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			sum += kb;
	}
	if (fclose(f))
		fail("close(smaps): %s", strerror(errno));
	return sum;
}

/* A source buffer of n pages holding the pattern, already faulted in. */
static char *pattern_buffer(size_t n, uint64_t seed)
{
	char *p = map_area(n * ps);

	fill_pattern(p, 0, n, seed);
	return p;
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fail("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

static void find_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		fail("sched_getaffinity: %s", strerror(errno));
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (cpu_a < 0)
			cpu_a = c;
		else if (cpu_b < 0)
			cpu_b = c;
	}
	if (cpu_a < 0)
		fail("no CPU in the affinity mask");
}

/* 0, or pthread_create()'s error for the caller to judge. */
static int try_start_thread(pthread_t *t, const pthread_attr_t *attr,
			    void *(*fn)(void *), void *arg, const char *name)
{
	int err = pthread_create(t, attr, fn, arg);

	if (!err)
		pthread_setname_np(*t, name);
	return err;
}

static pthread_t start_thread(void *(*fn)(void *), void *arg,
			      const char *name)
{
	pthread_t t;
	int err = try_start_thread(&t, NULL, fn, arg, name);

	if (err)
		fail("pthread_create: %s", strerror(err));
	return t;
}

static void join_thread(pthread_t t)
{
	int err = pthread_join(t, NULL);

	if (err)
		fail("pthread_join: %s", strerror(err));
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted samples, in microseconds. */
static double pct_us(const int64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)sorted[rank - 1] / 1000.0;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- userfaultfd ----------------------------------------------------- */

/*
 * A userfaultfd with the UFFDIO_API features asked for; -1 where the kernel
 * does not offer them (UFFDIO_API fails with EINVAL), for the caller to
 * skip what needs them.
 */
static int uffd_open_features(uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	uint64_t need = 1ULL << _UFFDIO_REGISTER | 1ULL << _UFFDIO_UNREGISTER |
			1ULL << _UFFDIO_API;
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC);

	if (fd < 0)
		fail("userfaultfd(O_CLOEXEC): %s%s", strerror(errno),
		     errno == EPERM ? " (not root, and vm.unprivileged_userfaultfd=0?)" : "");
	if (ioctl(fd, UFFDIO_API, &api)) {
		if (errno != EINVAL || !features)
			fail("UFFDIO_API: %s", strerror(errno));
		if (close(fd))
			fail("close(userfaultfd): %s", strerror(errno));
		return -1;
	}
	if (api.api != UFFD_API || (api.ioctls & need) != need)
		fail("UFFDIO_API: api %#llx ioctls %#llx",
		     (unsigned long long)api.api,
		     (unsigned long long)api.ioctls);
	return fd;
}

static int uffd_open(void)
{
	return uffd_open_features(0);
}

/* Range ioctls a registered range must offer; hugetlb has no ZEROPAGE. */
#define NEED_COPY	(1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_WAKE)
#define NEED_ALL	(NEED_COPY | 1ULL << _UFFDIO_ZEROPAGE)

/*
 * Register [p, p + len) in @mode and check that the range offers the
 * ioctls in @need (@what names them for the message).
 */
static void uffd_register_mode(int fd, void *p, size_t len, uint64_t mode,
			       uint64_t need, const char *what)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = mode,
	};

	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER(mode %#llx): %s",
		     (unsigned long long)mode, strerror(errno));
	if ((reg.ioctls & need) != need)
		fail("UFFDIO_REGISTER: range ioctls %#llx lack %s",
		     (unsigned long long)reg.ioctls, what);
}

static void uffd_register_need(int fd, void *p, size_t len, uint64_t need)
{
	uffd_register_mode(fd, p, len, UFFDIO_REGISTER_MODE_MISSING, need,
			   need == NEED_ALL ? "COPY/ZEROPAGE/WAKE" : "COPY/WAKE");
}

static void uffd_register(int fd, void *p, size_t len)
{
	uffd_register_need(fd, p, len, NEED_ALL);
}

/* What a range armed for write protection must offer. */
#define NEED_WP		(1ULL << _UFFDIO_WRITEPROTECT | 1ULL << _UFFDIO_WAKE)

static void uffd_register_wp(int fd, void *p, size_t len)
{
	uffd_register_mode(fd, p, len, UFFDIO_REGISTER_MODE_WP, NEED_WP,
			   "WRITEPROTECT/WAKE");
}

/*
 * Read up to @max messages from @uffd into @msg: 0 when interrupted or
 * none is ready (try again), else how many, all page faults; anything
 * else fails.  Once it has one message, read() returns with those queued.
 */
static int read_fault_msgs(int uffd, struct uffd_msg *msg, int max)
{
	ssize_t n = read(uffd, msg, max * sizeof(*msg));
	ssize_t sz = sizeof(*msg);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		fail("read(userfaultfd): %s", strerror(errno));
	if (n == 0 || n % sz)
		fail("read(userfaultfd) returned %zd bytes", n);
	for (ssize_t i = 0; i < n / sz; i++)
		if (msg[i].event != UFFD_EVENT_PAGEFAULT)
			fail("unexpected event %#x", msg[i].event);
	return n / sz;
}

/* One message: false when there is none yet, true for a page fault. */
static bool read_fault_msg(int uffd, struct uffd_msg *msg)
{
	return read_fault_msgs(uffd, msg, 1) == 1;
}

static void uffd_unregister(int fd, void *p, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)p, .len = len };

	if (ioctl(fd, UFFDIO_UNREGISTER, &r))
		fail("UFFDIO_UNREGISTER: %s", strerror(errno));
}

static void uffd_wake(int fd, uintptr_t start, size_t len)
{
	struct uffdio_range r = { .start = start, .len = len };

	if (ioctl(fd, UFFDIO_WAKE, &r))
		fail("UFFDIO_WAKE: %s", strerror(errno));
}

/*
 * UFFDIO_WRITEPROTECT of len bytes: mode UFFDIO_WRITEPROTECT_MODE_WP
 * protects, mode 0 unprotects and wakes the writers waiting there.  No
 * EAGAIN to retry: that needs events, which no benchmark asks for.
 */
static void uffd_writeprotect(int fd, uintptr_t start, size_t len,
			      uint64_t mode)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = start, .len = len },
		.mode = mode,
	};

	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		fail("UFFDIO_WRITEPROTECT(%s) of %zu bytes at %#lx: %s",
		     mode & UFFDIO_WRITEPROTECT_MODE_WP ? "protect" : "unprotect",
		     len, (unsigned long)start, strerror(errno));
}

/*
 * UFFDIO_COPY (zero: UFFDIO_ZEROPAGE) of len bytes, going on after a
 * partial EAGAIN; dontwake: leave the faulting threads asleep, for a
 * UFFDIO_WAKE later.  0 on success, -errno on failure (EEXIST included).
 */
static int uffd_fill_mode(int fd, uintptr_t dst, uintptr_t src, size_t len,
			  int zero, int dontwake)
{
	int again = 0;

	while (len) {
		int64_t done;
		int r;

		if (zero) {
			struct uffdio_zeropage z = {
				.range = { .start = dst, .len = len },
				.mode = dontwake ? UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0,
			};

			r = ioctl(fd, UFFDIO_ZEROPAGE, &z);
			done = z.zeropage;
		} else {
			struct uffdio_copy c = {
				.dst = dst, .src = src, .len = len,
				.mode = dontwake ? UFFDIO_COPY_MODE_DONTWAKE : 0,
			};

			r = ioctl(fd, UFFDIO_COPY, &c);
			done = c.copy;
		}
		if (r == 0) {
			if (done != (int64_t)len)
				fail("%s: returned 0 but did %" PRId64 " of %zu bytes",
				     zero ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY",
				     done, len);
			return 0;
		}
		if (errno != EAGAIN)
			return -errno;
		if (done > 0 && (size_t)done <= len && done % (int64_t)ps == 0) {
			dst += done;
			src += done;
			len -= done;
		} else if (++again > 1000) {
			return -EAGAIN;
		}
	}
	return 0;
}

static int uffd_fill(int fd, uintptr_t dst, uintptr_t src, size_t len,
		     int zero)
{
	return uffd_fill_mode(fd, dst, src, len, zero, 0);
}

/* ---- the fault handler ----------------------------------------------- */

/*
 * A registered area: npages data pages, served with UFFDIO_COPY from src,
 * followed by nsent sentinel pages.  A handler thread that reads a fault on
 * a sentinel page serves it with UFFDIO_ZEROPAGE and exits, so handlers
 * that block in read() are stopped by touching one sentinel page per
 * handler, one after the other.
 */
struct served {
	int uffd;
	char *area;
	size_t npages, nsent;
	const char *src;
	int cpu;			/* handler CPU, -1: any */
	atomic_ulong copies, eexist, zeros;
};

static void *handler_main(void *arg)
{
	struct served *s = arg;
	uintptr_t base = (uintptr_t)s->area;
	uintptr_t end = base + (s->npages + s->nsent) * ps;

	pin_self(s->cpu);
	for (;;) {
		struct uffd_msg msg;
		uintptr_t addr;
		size_t idx;
		int r;

		if (!read_fault_msg(s->uffd, &msg))
			continue;
		addr = msg.arg.pagefault.address & ~(uintptr_t)(ps - 1);
		if (addr < base || addr >= end)
			fail("fault at %#lx outside the area %#lx-%#lx",
			     (unsigned long)msg.arg.pagefault.address,
			     (unsigned long)base, (unsigned long)end);
		idx = (addr - base) / ps;
		if (idx >= s->npages) {
			r = uffd_fill(s->uffd, addr, 0, ps, 1);
			if (r == -EEXIST)
				uffd_wake(s->uffd, addr, ps);
			else if (r)
				fail("UFFDIO_ZEROPAGE of sentinel page: %s",
				     strerror(-r));
			atomic_fetch_add(&s->zeros, 1);
			return NULL;
		}
		r = uffd_fill(s->uffd, addr, (uintptr_t)s->src + idx * ps,
			      ps, 0);
		if (r == -EEXIST) {
			/* A second message for a page already served. */
			uffd_wake(s->uffd, addr, ps);
			atomic_fetch_add(&s->eexist, 1);
		} else if (r) {
			fail("UFFDIO_COPY of page %zu: %s", idx, strerror(-r));
		} else {
			atomic_fetch_add(&s->copies, 1);
		}
	}
}

static void served_init(struct served *s, size_t npages, size_t nsent,
			const char *src, int cpu)
{
	memset(s, 0, sizeof(*s));
	s->npages = npages;
	s->nsent = nsent;
	s->src = src;
	s->cpu = cpu;
	s->area = map_area((npages + nsent) * ps);
	s->uffd = uffd_open();
	uffd_register(s->uffd, s->area, (npages + nsent) * ps);
}

static void touch_sentinel(struct served *s, size_t k)
{
	volatile uint64_t *p =
		(volatile uint64_t *)(s->area + (s->npages + k) * ps);

	if (*p != 0)
		fail("sentinel page %zu reads %#" PRIx64 ", expected zero", k,
		     (uint64_t)*p);
}

/*
 * After the handlers are gone: unregister first, so that a page the kernel
 * failed to fill reads as zero (and fails the check) instead of hanging.
 */
static void served_check_fini(struct served *s, uint64_t seed,
			      const char *what)
{
	size_t len = (s->npages + s->nsent) * ps;

	uffd_unregister(s->uffd, s->area, len);
	check_pattern(s->area, 0, s->npages, seed, what);
	check_zero(s->area + s->npages * ps, s->nsent * ps, what);
	if (atomic_load(&s->copies) != s->npages ||
	    atomic_load(&s->zeros) != s->nsent)
		fail("%s: %lu pages copied for %zu faults, %lu sentinels for %zu",
		     what, atomic_load(&s->copies), s->npages,
		     atomic_load(&s->zeros), s->nsent);
	if (atomic_load(&s->eexist))
		printf("# %s: %lu repeated fault messages (EEXIST)\n", what,
		       atomic_load(&s->eexist));
	if (close(s->uffd))
		fail("close(userfaultfd): %s", strerror(errno));
	unmap(s->area, len);
}

/* ---- rt: fault round trip ------------------------------------------- */

struct rt_faulter {
	struct served *s;
	uint64_t seed;
	int cpu;
	int64_t *lat;			/* opt_pages samples */
};

static void *rt_faulter_main(void *arg)
{
	struct rt_faulter *f = arg;
	struct served *s = f->s;

	pin_self(f->cpu);
	for (size_t i = 0; i < s->npages; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(s->area + i * ps);
		int64_t t0, t1;
		uint64_t v;

		t0 = now_ns();
		v = *p;
		t1 = now_ns();
		if (v != tag(i, f->seed))
			fail("rt: page %zu reads %#" PRIx64 " after its fault",
			     i, v);
		if (i >= RT_WARMUP)
			f->lat[i - RT_WARMUP] = t1 - t0;
	}
	touch_sentinel(s, 0);
	return NULL;
}

static void rt_run(int fcpu, int hcpu, int64_t *lat, uint64_t seed)
{
	size_t n = opt_pages + RT_WARMUP;
	char *src = pattern_buffer(n, seed);
	struct rt_faulter f = { .seed = seed, .cpu = fcpu, .lat = lat };
	struct served s;
	pthread_t h, t;

	served_init(&s, n, 1, src, hcpu);
	f.s = &s;
	h = start_thread(handler_main, &s, "uffd-handler");
	t = start_thread(rt_faulter_main, &f, "uffd-fault");
	join_thread(t);
	join_thread(h);
	served_check_fini(&s, seed, "rt");
	unmap(src, n * ps);
}

static void bench_rt(void)
{
	static const char *const name[2] = { "same", "cross" };
	size_t total = opt_pages * opt_reps;
	int64_t *lat = calloc(total, sizeof(*lat));

	if (!lat)
		fail("out of memory");
	for (int mode = 0; mode < 2; mode++) {
		int hcpu = mode ? cpu_b : cpu_a;
		char key[64];

		if (hcpu < 0) {
			printf("# rt: only one CPU: no cross-CPU figures\n");
			continue;
		}
		for (int r = 0; r < opt_reps; r++)
			rt_run(cpu_a, hcpu, lat + r * opt_pages,
			       0x7274000 + mode * 100 + r);
		qsort(lat, total, sizeof(*lat), cmp_i64);
		printf("# rt %s: faulter on CPU %d, handler on CPU %d, %zu faults: min %.3f max %.3f us\n",
		       name[mode], cpu_a, hcpu, total, lat[0] / 1000.0,
		       lat[total - 1] / 1000.0);
		snprintf(key, sizeof(key), "rt_%s_p50", name[mode]);
		bench(key, pct_us(lat, total, 50), "us");
		snprintf(key, sizeof(key), "rt_%s_p99", name[mode]);
		bench(key, pct_us(lat, total, 99), "us");
	}
	free(lat);
}

/* ---- mf: many faulters ----------------------------------------------- */

struct mf_faulter {
	struct served *s;
	pthread_barrier_t *go;
	size_t first, count;
	uint64_t seed;
	int64_t t0, t1;
};

static void *mf_faulter_main(void *arg)
{
	struct mf_faulter *f = arg;
	char *area = f->s->area;

	pthread_barrier_wait(f->go);
	f->t0 = now_ns();
	for (size_t i = f->first; i < f->first + f->count; i++) {
		uint64_t v = *(volatile uint64_t *)(area + i * ps);

		if (v != tag(i, f->seed))
			fail("mf: page %zu reads %#" PRIx64 " after its fault",
			     i, v);
	}
	f->t1 = now_ns();
	return NULL;
}

/* One run with nf faulters and nh handlers: faults per second. */
static double mf_run(int nf, int nh, const char *src, uint64_t seed)
{
	size_t n = opt_mf_pages;
	struct mf_faulter *f = calloc(nf, sizeof(*f));
	pthread_t *ft = calloc(nf, sizeof(*ft));
	pthread_t *ht = calloc(nh, sizeof(*ht));
	pthread_barrier_t go;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	struct served s;
	char what[32];

	if (!f || !ft || !ht)
		fail("out of memory");
	served_init(&s, n, nh, src, -1);
	for (int i = 0; i < nh; i++)
		ht[i] = start_thread(handler_main, &s, "uffd-handler");
	pthread_barrier_init(&go, NULL, nf + 1);
	for (int i = 0; i < nf; i++) {
		f[i].s = &s;
		f[i].go = &go;
		f[i].seed = seed;
		f[i].first = n / nf * i;
		f[i].count = i == nf - 1 ? n - f[i].first : n / nf;
		ft[i] = start_thread(mf_faulter_main, &f[i], "uffd-fault");
	}
	pthread_barrier_wait(&go);
	for (int i = 0; i < nf; i++) {
		join_thread(ft[i]);
		if (f[i].t0 < t0)
			t0 = f[i].t0;
		if (f[i].t1 > t1)
			t1 = f[i].t1;
	}
	for (int i = 0; i < nh; i++)
		touch_sentinel(&s, i);
	for (int i = 0; i < nh; i++)
		join_thread(ht[i]);
	pthread_barrier_destroy(&go);
	snprintf(what, sizeof(what), "mf f%d h%d", nf, nh);
	served_check_fini(&s, seed, what);
	free(f);
	free(ft);
	free(ht);
	if (t1 <= t0)
		fail("mf: no time elapsed");
	return (double)n * 1e9 / (double)(t1 - t0);
}

static void bench_mf(void)
{
	uint64_t seed = 0x6d66;
	char *src = pattern_buffer(opt_mf_pages, seed);
	double *rate = calloc(opt_reps, sizeof(*rate));

	if (!rate)
		fail("out of memory");
	printf("# mf: %zu faults per run, F faulters, 1 or F handlers\n",
	       opt_mf_pages);
	for (int many = 0; many < 2; many++) {
		for (int nf = 1; nf <= opt_max_threads; nf *= 2) {
			char key[64];

			for (int r = 0; r < opt_reps; r++)
				rate[r] = mf_run(nf, many ? nf : 1, src, seed);
			snprintf(key, sizeof(key), "mf_h%s_f%d",
				 many ? "n" : "1", nf);
			bench(key, median(rate, opt_reps), "faults/s");
		}
	}
	free(rate);
	unmap(src, opt_mf_pages * ps);
}

/* ---- pf: parked faults ----------------------------------------------- */

/* Faults per run at least, and messages per read() at most. */
#define PF_MIN_FAULTS	4096
#define PF_BATCH	64
/* Faulter stacks: small, so that 1024 threads fit in the guest. */
#define PF_STACK	(64 * 1024)

/*
 * One run: T faulters and one handler.  Page r * T + i is thread i's in
 * round r; the page after the last is a sentinel whose fault stops the
 * handler.  t0, t1 and val are per page: the times around its thread's
 * read and the word read.
 */
struct pf_run {
	int uffd;
	char *area;
	const char *src;		/* the pattern of the npages pages */
	size_t nthreads, rounds, npages;
	int batch;			/* DONTWAKE copies, one wake a read() */
	pthread_mutex_t gate;		/* held until every faulter exists */
	bool abort;			/* under gate: some faulter does not */
	pthread_barrier_t go;		/* T + 1: each round's start and end */
	int64_t *t0, *t1;
	uint64_t *val;
	/* The handler's, read once it has returned. */
	size_t msgs, copies, dups, sentinels;
};

struct pf_faulter {
	struct pf_run *p;
	size_t idx;
};

static void *pf_faulter_main(void *arg)
{
	struct pf_faulter *f = arg;
	struct pf_run *p = f->p;
	bool abort;

	pthread_mutex_lock(&p->gate);
	abort = p->abort;
	pthread_mutex_unlock(&p->gate);
	if (abort)
		return NULL;
	for (size_t r = 0; r < p->rounds; r++) {
		size_t i = r * p->nthreads + f->idx;
		const volatile uint64_t *q =
			(const volatile uint64_t *)(p->area + i * ps);
		int64_t t0, t1;
		uint64_t v;

		pthread_barrier_wait(&p->go);
		t0 = now_ns();
		v = *q;
		t1 = now_ns();
		p->t0[i] = t0;
		p->t1[i] = t1;
		p->val[i] = v;
		/* No thread faults on round r + 1 before all are done. */
		pthread_barrier_wait(&p->go);
	}
	return NULL;
}

/*
 * Serve one message; true for the sentinel.  A data page's copy widens
 * [*lo, *hi], the pages the batch must wake.  EEXIST: a second message
 * for a page already filled, its thread woken here or by the batch wake.
 */
static bool pf_serve(struct pf_run *p, const struct uffd_msg *msg,
		     uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t base = (uintptr_t)p->area;
	uintptr_t end = base + (p->npages + 1) * ps;
	uintptr_t addr = msg->arg.pagefault.address & ~(uintptr_t)(ps - 1);
	size_t idx;
	int r;

	if (addr < base || addr >= end)
		fail("pf: fault at %#lx outside the area %#lx-%#lx",
		     (unsigned long)msg->arg.pagefault.address,
		     (unsigned long)base, (unsigned long)end);
	idx = (addr - base) / ps;
	if (idx == p->npages) {
		r = uffd_fill(p->uffd, addr, 0, ps, 1);
		if (r == -EEXIST)
			uffd_wake(p->uffd, addr, ps);
		else if (r)
			fail("pf: UFFDIO_ZEROPAGE of the sentinel page: %s",
			     strerror(-r));
		p->sentinels++;
		return true;
	}
	r = uffd_fill_mode(p->uffd, addr, (uintptr_t)p->src + idx * ps, ps,
			   0, p->batch);
	if (r == -EEXIST) {
		p->dups++;
		if (!p->batch)
			uffd_wake(p->uffd, addr, ps);
	} else if (r) {
		fail("pf: UFFDIO_COPY of page %zu: %s", idx, strerror(-r));
	} else {
		p->copies++;
	}
	if (addr < *lo)
		*lo = addr;
	if (addr > *hi)
		*hi = addr;
	return false;
}

static void *pf_handler_main(void *arg)
{
	struct pf_run *p = arg;
	struct uffd_msg msg[PF_BATCH];
	bool stop = false;

	while (!stop) {
		uintptr_t lo = UINTPTR_MAX, hi = 0;
		int n = read_fault_msgs(p->uffd, msg, PF_BATCH);

		p->msgs += n;
		for (int i = 0; i < n; i++)
			stop |= pf_serve(p, &msg[i], &lo, &hi);
		if (p->batch && lo <= hi)
			uffd_wake(p->uffd, lo, hi + ps - lo);
	}
	return NULL;
}

static void pf_init(struct pf_run *p, size_t nthreads, size_t rounds,
		    int batch, const char *src)
{
	size_t n = nthreads * rounds;

	memset(p, 0, sizeof(*p));
	p->nthreads = nthreads;
	p->rounds = rounds;
	p->npages = n;
	p->batch = batch;
	p->src = src;
	p->area = map_area((n + 1) * ps);
	p->uffd = uffd_open();
	uffd_register(p->uffd, p->area, (n + 1) * ps);
	p->t0 = calloc(n, sizeof(*p->t0));
	p->t1 = calloc(n, sizeof(*p->t1));
	p->val = calloc(n, sizeof(*p->val));
	if (!p->t0 || !p->t1 || !p->val)
		fail("out of memory");
	pthread_mutex_init(&p->gate, NULL);
	pthread_barrier_init(&p->go, NULL, nthreads + 1);
}

static void pf_fini(struct pf_run *p)
{
	pthread_barrier_destroy(&p->go);
	pthread_mutex_destroy(&p->gate);
	free(p->t0);
	free(p->t1);
	free(p->val);
	/* Closing it unregisters what a skipped run left registered. */
	if (close(p->uffd))
		fail("close(userfaultfd): %s", strerror(errno));
	unmap(p->area, (p->npages + 1) * ps);
}

/*
 * Start the faulters, held at the gate until all exist: how many were
 * started.  Fewer than T, after a "# skip" line, where the system will
 * not make that many threads (EAGAIN); those started then return at once.
 */
static size_t pf_start(struct pf_run *p, struct pf_faulter *f, pthread_t *ft)
{
	size_t stack = PF_STACK, n;
	pthread_attr_t attr;
	int err = 0;

	if (stack < (size_t)PTHREAD_STACK_MIN)
		stack = PTHREAD_STACK_MIN;
	if (pthread_attr_init(&attr) ||
	    pthread_attr_setstacksize(&attr, stack))
		fail("pthread_attr_setstacksize(%zu)", stack);
	pthread_mutex_lock(&p->gate);
	for (n = 0; n < p->nthreads; n++) {
		f[n].p = p;
		f[n].idx = n;
		err = try_start_thread(&ft[n], &attr, pf_faulter_main, &f[n],
				       "uffd-fault");
		if (err)
			break;
	}
	pthread_attr_destroy(&attr);
	if (err && err != EAGAIN)
		fail("pthread_create of faulter %zu: %s", n, strerror(err));
	if (err)
		printf("# skip pf T=%zu: pthread_create of faulter %zu: %s\n",
		       p->nthreads, n, strerror(err));
	p->abort = err != 0;
	pthread_mutex_unlock(&p->gate);
	return n;
}

/* ns of the rounds, each from its first access to its last return. */
static int64_t pf_time(const struct pf_run *p, const char *what)
{
	int64_t sum = 0;

	for (size_t r = 0; r < p->rounds; r++) {
		int64_t t0 = INT64_MAX, t1 = INT64_MIN;

		for (size_t i = r * p->nthreads; i < (r + 1) * p->nthreads; i++) {
			if (p->t0[i] < t0)
				t0 = p->t0[i];
			if (p->t1[i] > t1)
				t1 = p->t1[i];
		}
		if (t1 <= t0)
			fail("%s: no time elapsed in round %zu", what, r);
		sum += t1 - t0;
	}
	return sum;
}

/*
 * After the threads are gone: unregister first, so that a page the kernel
 * failed to fill reads as zero (and fails the check) instead of hanging.
 */
static void pf_check(struct pf_run *p, uint64_t seed, const char *what)
{
	uffd_unregister(p->uffd, p->area, (p->npages + 1) * ps);
	check_pattern(p->area, 0, p->npages, seed, what);
	check_zero(p->area + p->npages * ps, ps, what);
	for (size_t i = 0; i < p->npages; i++)
		if (p->val[i] != tag(i, seed))
			fail("%s: thread %zu read %#" PRIx64 " in round %zu, expected %#" PRIx64,
			     what, i % p->nthreads, p->val[i],
			     i / p->nthreads, tag(i, seed));
	if (p->copies != p->npages || p->sentinels != 1 ||
	    p->msgs != p->copies + p->dups + p->sentinels)
		fail("%s: %zu messages: %zu pages copied for %zu, %zu repeated, %zu sentinels",
		     what, p->msgs, p->copies, p->npages, p->dups,
		     p->sentinels);
}

/*
 * One run of T faulters: faults per second, its messages and repeated
 * messages added to *msgs and *dups; negative where it was skipped.
 */
static double pf_run(size_t nthreads, size_t rounds, int batch,
		     const char *src, uint64_t seed, size_t *msgs,
		     size_t *dups, const char *what)
{
	struct pf_faulter *f = calloc(nthreads, sizeof(*f));
	pthread_t *ft = calloc(nthreads, sizeof(*ft));
	double rate = -1;
	struct pf_run p;
	size_t started;
	pthread_t h;

	if (!f || !ft)
		fail("out of memory");
	pf_init(&p, nthreads, rounds, batch, src);
	h = start_thread(pf_handler_main, &p, "uffd-handler");
	started = pf_start(&p, f, ft);
	for (size_t r = 0; started == nthreads && r < rounds; r++) {
		pthread_barrier_wait(&p.go);	/* all fault at once */
		pthread_barrier_wait(&p.go);	/* all have their page */
	}
	for (size_t i = 0; i < started; i++)
		join_thread(ft[i]);
	if (*(volatile uint64_t *)(p.area + p.npages * ps) != 0)
		fail("%s: the sentinel page does not read as zero", what);
	join_thread(h);
	if (started == nthreads) {
		pf_check(&p, seed, what);
		rate = (double)p.npages * 1e9 / (double)pf_time(&p, what);
		*msgs += p.msgs;
		*dups += p.dups;
	}
	pf_fini(&p);
	free(f);
	free(ft);
	return rate;
}

/* opt_reps runs of one T and mode: false if skipped. */
static bool pf_config(size_t nthreads, size_t rounds, int batch,
		      const char *src, uint64_t seed, double *rate)
{
	size_t msgs = 0, dups = 0;
	char key[64];

	snprintf(key, sizeof(key), "pf_%s_t%zu", batch ? "batch" : "wake",
		 nthreads);
	for (int r = 0; r < opt_reps; r++) {
		rate[r] = pf_run(nthreads, rounds, batch, src, seed, &msgs,
				 &dups, key);
		if (rate[r] < 0)
			return false;
	}
	printf("# pf %s T=%zu: %zu rounds, %zu faults and %zu messages read in %d runs\n",
	       batch ? "batch" : "wake", nthreads, rounds,
	       nthreads * rounds * opt_reps, msgs, opt_reps);
	bench(key, median(rate, opt_reps), "faults/s");
	strcat(key, "_dup");
	bench(key, (double)dups, "msgs");
	return true;
}

static void bench_pf(void)
{
	double *rate = calloc(opt_reps, sizeof(*rate));

	if (!rate)
		fail("out of memory");
	printf("# pf: T faulters at once on one userfaultfd, a fresh page each a round, at least %d faults per run; one handler, up to %d messages a read()\n",
	       PF_MIN_FAULTS, PF_BATCH);
	for (size_t t = 16; t <= opt_pf_max; t *= 4) {
		size_t rounds = t < PF_MIN_FAULTS ? PF_MIN_FAULTS / t : 1;
		uint64_t seed = 0x7066 + t;
		char *src = pattern_buffer(t * rounds, seed);

		/* A T skipped for want of threads is skipped in both modes. */
		if (pf_config(t, rounds, 0, src, seed, rate))
			pf_config(t, rounds, 1, src, seed, rate);
		unmap(src, t * rounds * ps);
	}
	free(rate);
}

/* ---- fill: UFFDIO_COPY / UFFDIO_ZEROPAGE without faults -------------- */

/*
 * One timed pass of UFFDIO_COPY from src (zero: UFFDIO_ZEROPAGE) over the
 * len bytes at dst, in calls of chunk bytes.  GB/s (GB = 1e9 bytes).
 */
static double fill_pass(int fd, char *dst, const char *src, size_t len,
			size_t chunk, int zero, const char *key)
{
	int64_t t0, t1;

	t0 = now_ns();
	for (size_t off = 0; off < len; off += chunk) {
		int e = uffd_fill(fd, (uintptr_t)dst + off,
				  zero ? 0 : (uintptr_t)src + off, chunk, zero);

		if (e)
			fail("%s: %s at offset %zu: %s", key,
			     zero ? "UFFDIO_ZEROPAGE" : "UFFDIO_COPY", off,
			     strerror(-e));
	}
	t1 = now_ns();
	return (double)len / (double)(t1 - t0);
}

/* The sum of the first word of each 64-byte line. */
static uint64_t line_sum(const char *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t off = 0; off < len; off += 64)
		sum += *(const uint64_t *)(p + off);
	return sum;
}

/* Where the read pass leaves its sum, so that no read can be left out. */
static volatile uint64_t read_sink;

/*
 * One timed read of a word per cache line of the len bytes filled at p
 * from src; the sum must be src's, so the pass read what the fill put
 * there.  GB/s of the area.
 */
static double read_pass(const char *p, const char *src, size_t len,
			const char *key)
{
	int64_t t0, t1;

	t0 = now_ns();
	read_sink = line_sum(p, len);
	t1 = now_ns();
	if (read_sink != line_sum(src, len))
		fail("%s: the read pass summed %#" PRIx64 ", expected %#" PRIx64,
		     key, (uint64_t)read_sink, line_sum(src, len));
	return (double)len / (double)(t1 - t0);
}

/*
 * One run: register dst, a fill pass, and (rd) a read pass while still
 * registered, then unregister and check every byte.  GB/s of the fill;
 * the read pass's in *rd.
 */
static double fill_run(int fd, char *dst, const char *src, size_t len,
		       size_t chunk, int zero, uint64_t need, uint64_t seed,
		       const char *key, double *rd)
{
	double rate;

	uffd_register_need(fd, dst, len, need);
	rate = fill_pass(fd, dst, src, len, chunk, zero, key);
	if (rd)
		*rd = read_pass(dst, src, len, key);
	uffd_unregister(fd, dst, len);
	if (zero)
		check_zero(dst, len, key);
	else
		check_pattern(dst, 0, len / ps, seed, key);
	return rate;
}

/* A figure of fill or fillt, and the read pass after it (rkey, or NULL). */
struct fill_row {
	const char *key;
	size_t chunk;
	int zero;
	const char *rkey;
};

static void fill_report(const struct fill_row *w, double *rate, double *rd)
{
	bench(w->key, median(rate, opt_reps), "GB/s");
	if (w->rkey)
		bench(w->rkey, median(rd, opt_reps), "GB/s");
}

static void bench_fill(void)
{
	static const struct fill_row row[] = {
		{ "fill_copy_4k", 4096, 0, NULL },
		{ "fill_copy_64k", 64 * 1024, 0, NULL },
		{ "fill_copy_2m", 2 * MiB, 0, "fill_read_4k_pages" },
		{ "fill_zero_4k", 4096, 1, NULL },
		{ "fill_zero_64k", 64 * 1024, 1, NULL },
		{ "fill_zero", 2 * MiB, 1, NULL },
	};
	size_t len = whole_2m(opt_fill_mib), zlen = whole_2m(opt_zero_mib);
	uint64_t seed = 0x66696c6c;
	char *src = pattern_buffer(len / ps, seed);
	char *dst = map_area(len), *z = map_area(zlen);
	double *rate = calloc(opt_reps, sizeof(*rate));
	double *rd = calloc(opt_reps, sizeof(*rd));
	int fd = uffd_open();

	if (!rate || !rd)
		fail("out of memory");
	printf("# fill: UFFDIO_COPY of %zu MiB, UFFDIO_ZEROPAGE of %zu MiB (GB = 1e9 bytes)\n",
	       len / MiB, zlen / MiB);
	for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
		const struct fill_row *w = &row[i];
		char *p = w->zero ? z : dst;
		size_t l = w->zero ? zlen : len;

		for (int r = 0; r < opt_reps; r++) {
			rate[r] = fill_run(fd, p, src, l, w->chunk, w->zero,
					   NEED_ALL, seed, w->key,
					   w->rkey ? &rd[r] : NULL);
			dontneed(p, l);
		}
		fill_report(w, rate, rd);
	}
	unmap(dst, len);
	unmap(z, zlen);
	unmap(src, len);
	if (close(fd))
		fail("close(userfaultfd): %s", strerror(errno));
	free(rate);
	free(rd);
}

/* ---- fillt: the same into THP-enabled memory ------------------------- */

/*
 * Each run into a fresh mapping, so that none finds page tables or huge
 * pages left by the one before.
 */
static void bench_fillt(void)
{
	static const struct fill_row row[] = {
		{ "fill_copy_thp_4k", 4096, 0, NULL },
		{ "fill_copy_thp_64k", 64 * 1024, 0, NULL },
		{ "fill_copy_thp_2m", 2 * MiB, 0, "fill_read_thp" },
		{ "fill_zero_thp_4k", 4096, 1, NULL },
		{ "fill_zero_thp_64k", 64 * 1024, 1, NULL },
		{ "fill_zero_thp_2m", 2 * MiB, 1, NULL },
	};
	size_t len = whole_2m(opt_fill_mib);
	uint64_t seed = 0x66696c6c74;
	char *p = map_thp(len), *src;
	double *rate, *rd;
	int fd;

	if (!p) {
		printf("# skip fill_*_thp_* and fill_read_thp: madvise(MADV_HUGEPAGE): no THP in this kernel\n");
		return;
	}
	unmap(p, len);
	src = pattern_buffer(len / ps, seed);
	rate = calloc(opt_reps, sizeof(*rate));
	rd = calloc(opt_reps, sizeof(*rd));
	if (!rate || !rd)
		fail("out of memory");
	fd = uffd_open();
	printf("# fillt: UFFDIO_COPY and UFFDIO_ZEROPAGE of %zu MiB of MADV_HUGEPAGE memory, a fresh mapping each run (GB = 1e9 bytes)\n",
	       len / MiB);
	for (size_t i = 0; i < sizeof(row) / sizeof(row[0]); i++) {
		const struct fill_row *w = &row[i];

		for (int r = 0; r < opt_reps; r++) {
			p = map_thp(len);
			if (!p)
				fail("%s: madvise(MADV_HUGEPAGE) no longer works",
				     w->key);
			rate[r] = fill_run(fd, p, src, len, w->chunk, w->zero,
					   NEED_ALL, seed, w->key,
					   w->rkey ? &rd[r] : NULL);
			/* Whether the fill made huge pages, not a check. */
			if (w->chunk == 2 * MiB && r == opt_reps - 1)
				printf("# fillt: AnonHugePages %zu of %zu kB after %s\n",
				       anon_huge_kb(p, len), len / 1024,
				       w->key);
			unmap(p, len);
		}
		fill_report(w, rate, rd);
	}
	unmap(src, len);
	if (close(fd))
		fail("close(userfaultfd): %s", strerror(errno));
	free(rate);
	free(rd);
}

/* ---- fillf: the same on shmem and hugetlbfs -------------------------- */

/*
 * 2 MiB huge pages whatever the default size: the log2 of the size in
 * bits 26-31 of the flags, for mmap() and memfd_create() alike
 * (MAP_HUGE_2MB, MFD_HUGE_2MB).
 */
#define HUGE_2MB	(21U << MAP_HUGE_SHIFT)

enum fillf_mem {
	FILLF_SHMEM,			/* a memfd, MAP_SHARED */
	FILLF_HUGETLB,			/* private anonymous, MAP_HUGETLB */
	FILLF_HUGETLB_SHARED,		/* an MFD_HUGETLB memfd, MAP_SHARED */
};

/*
 * A fresh, empty destination of len bytes; *mfd is its memfd, or -1.
 * NULL, after a "# skip" line, where no huge pages can be had.
 */
static char *fillf_map(enum fillf_mem m, size_t len, int *mfd,
		       const char *key)
{
	unsigned int huge = 0;
	char *p;
	int fd;

	if (m == FILLF_HUGETLB_SHARED)
		huge = MFD_HUGETLB | HUGE_2MB;

	*mfd = -1;
	if (m == FILLF_HUGETLB) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | HUGE_2MB,
			 -1, 0);
		if (p == MAP_FAILED) {
			printf("# skip %s: mmap(MAP_HUGETLB) of %zu MiB: %s\n",
			       key, len / MiB, strerror(errno));
			return NULL;
		}
		return p;
	}
	fd = memfd_create("uffd-bench", MFD_CLOEXEC | huge);
	if (fd < 0 && huge) {
		printf("# skip %s: memfd_create(MFD_HUGETLB): %s\n", key,
		       strerror(errno));
		return NULL;
	}
	if (fd < 0)
		fail("memfd_create: %s", strerror(errno));
	if (ftruncate(fd, len))
		fail("ftruncate(memfd, %zu): %s", len, strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED && huge) {
		printf("# skip %s: mmap of an MFD_HUGETLB memfd of %zu MiB: %s\n",
		       key, len / MiB, strerror(errno));
		if (close(fd))
			fail("close(memfd): %s", strerror(errno));
		return NULL;
	}
	if (p == MAP_FAILED)
		fail("mmap of a memfd of %zu bytes: %s", len, strerror(errno));
	/* As map_area(); EINVAL: a kernel without THP. */
	if (!huge && madvise(p, len, MADV_NOHUGEPAGE) && errno != EINVAL)
		fail("madvise(MADV_NOHUGEPAGE): %s", strerror(errno));
	*mfd = fd;
	return p;
}

/* Unmapping and closing its memfd frees the pages (to the huge page pool). */
static void fillf_unmap(char *p, size_t len, int mfd)
{
	unmap(p, len);
	if (mfd >= 0 && close(mfd))
		fail("close(memfd): %s", strerror(errno));
}

static void bench_fillf(void)
{
	static const struct {
		const char *key;
		enum fillf_mem mem;
		size_t chunk;
		int zero;
	} run[] = {
		{ "fill_copy_shmem_64k", FILLF_SHMEM, 64 * 1024, 0 },
		{ "fill_copy_shmem_2m", FILLF_SHMEM, 2 * MiB, 0 },
		{ "fill_zero_shmem", FILLF_SHMEM, 2 * MiB, 1 },
		{ "fill_copy_hugetlb_2m", FILLF_HUGETLB, 2 * MiB, 0 },
		{ "fill_copy_hugetlb_shared_2m", FILLF_HUGETLB_SHARED,
		  2 * MiB, 0 },
	};
	/* Whole 2 MiB calls; at most 64 MiB of huge pages. */
	size_t len = whole_2m(opt_fill_mib);
	size_t hlen = whole_2m(opt_fill_mib < 64 ? opt_fill_mib : 64);
	uint64_t seed = 0x66696c6c66;
	char *src = pattern_buffer(len / ps, seed);
	double *rate = calloc(opt_reps, sizeof(*rate));
	int fd = uffd_open();

	if (!rate)
		fail("out of memory");
	printf("# fillf: COPY/ZEROPAGE of %zu MiB into a shared memfd; COPY of %zu MiB (-f, at most 64 MiB) of 2 MiB huge pages, private and in a shared memfd; a fresh mapping each run (GB = 1e9 bytes)\n",
	       len / MiB, hlen / MiB);
	for (size_t i = 0; i < sizeof(run) / sizeof(run[0]); i++) {
		size_t l = run[i].mem == FILLF_SHMEM ? len : hlen;
		uint64_t need = NEED_COPY;
		int r;

		/* hugetlb ranges have no UFFDIO_ZEROPAGE (Linux 6.1 too). */
		if (run[i].mem == FILLF_SHMEM)
			need = NEED_ALL;

		for (r = 0; r < opt_reps; r++) {
			int mfd;
			char *dst = fillf_map(run[i].mem, l, &mfd, run[i].key);

			if (!dst)
				break;
			rate[r] = fill_run(fd, dst, src, l, run[i].chunk,
					   run[i].zero, need, seed,
					   run[i].key, NULL);
			fillf_unmap(dst, l, mfd);
		}
		if (r == opt_reps)
			bench(run[i].key, median(rate, opt_reps), "GB/s");
	}
	unmap(src, len);
	if (close(fd))
		fail("close(userfaultfd): %s", strerror(errno));
	free(rate);
}

/* ---- wp: write protection -------------------------------------------- */

/* A write-protect fault is reported as both. */
#define WP_FLAGS	(UFFD_PAGEFAULT_FLAG_WP | UFFD_PAGEFAULT_FLAG_WRITE)

/* Protect + unprotect pairs timed per run of wp_protect_*. */
#define WP_ROUNDS	5

/* /proc/PID/pagemap: bit 57 is the page's uffd-wp bit (PM_UFFD_WP). */
#define PM_UFFD_WP	(1ULL << 57)

/*
 * Fail unless every page of [p, p + len) has the uffd-wp bit (wp) or none
 * has it (!wp).  pagemap reads the page tables and faults nothing in, so
 * it shows what UFFDIO_WRITEPROTECT did with no fault to handle.
 */
static void check_wp_bits(const char *p, size_t len, int wp, const char *what)
{
	static uint64_t pm[4096];
	size_t batch = sizeof(pm) / sizeof(pm[0]);
	size_t n = len / ps, first = (uintptr_t)p / ps;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail("open /proc/self/pagemap: %s", strerror(errno));
	for (size_t i = 0; i < n; ) {
		size_t k = n - i < batch ? n - i : batch;
		ssize_t r = pread(fd, pm, k * sizeof(*pm),
				  (off_t)((first + i) * sizeof(*pm)));

		if (r != (ssize_t)(k * sizeof(*pm)))
			fail("read /proc/self/pagemap: %s",
			     r < 0 ? strerror(errno) : "short read");
		for (size_t j = 0; j < k; j++)
			if (!(pm[j] & PM_UFFD_WP) != !wp)
				fail("%s: page %zu %s the uffd-wp bit (pagemap %#" PRIx64 ")",
				     what, i + j, wp ? "lacks" : "still has",
				     pm[j]);
		i += k;
	}
	if (close(fd))
		fail("close(pagemap): %s", strerror(errno));
}

/* Word 0 of page i gets tag(i, seed): every page present, and its own. */
static void populate(char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		*(volatile uint64_t *)(p + i * ps) = tag(i, seed);
}

static void check_populated(const char *p, size_t n, uint64_t seed,
			    const char *what)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t v = *(const uint64_t *)(p + i * ps);

		if (v != tag(i, seed))
			fail("%s: page %zu word 0 is %#" PRIx64 ", expected %#"
			     PRIx64, what, i, v, tag(i, seed));
	}
}

/*
 * wp_fault: the area holds the pattern of seed; the writer stores
 * tag(i, seed + 1) in word 0 of page i, each store a write-protect fault.
 * The rest of each page must be untouched, the pattern of seed.
 */
static void check_stores(const char *p, size_t n, uint64_t seed,
			 const char *what)
{
	size_t words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < n; i++) {
		const uint64_t *q = (const uint64_t *)(p + i * ps);
		uint64_t t = tag(i, seed);

		if (q[0] != tag(i, seed + 1))
			fail("%s: page %zu word 0 is %#" PRIx64
			     ", expected the store %#" PRIx64, what, i, q[0],
			     tag(i, seed + 1));
		for (size_t w = 1; w < words; w++)
			if (q[w] != (t ^ w))
				fail("%s: page %zu word %zu is %#" PRIx64
				     ", expected %#" PRIx64, what, i, w, q[w],
				     t ^ w);
	}
}

/*
 * A protected area of npages pages and its handler, which expects one
 * message per page in page order (one writer stores to them in turn) and
 * returns after the last.
 */
struct wp_served {
	int uffd;
	char *area;
	size_t npages;
	int cpu;			/* handler CPU */
	atomic_ulong msgs;		/* messages read and checked */
};

static void *wp_handler_main(void *arg)
{
	struct wp_served *s = arg;

	pin_self(s->cpu);
	while (atomic_load(&s->msgs) < s->npages) {
		size_t k = atomic_load(&s->msgs);
		uintptr_t want = (uintptr_t)s->area + k * ps;
		struct uffd_msg msg;

		if (!read_fault_msg(s->uffd, &msg))
			continue;
		if ((msg.arg.pagefault.flags & WP_FLAGS) != WP_FLAGS)
			fail("wp_fault: message %zu has flags %#llx, expected WP|WRITE",
			     k, (unsigned long long)msg.arg.pagefault.flags);
		if (msg.arg.pagefault.address != want)
			fail("wp_fault: message %zu is for %#llx, expected page %zu at %#lx",
			     k, (unsigned long long)msg.arg.pagefault.address,
			     k, (unsigned long)want);
		/*
		 * Counted before the unprotect wakes the writer: once the
		 * writer is done, every fault it took has been counted.
		 */
		atomic_fetch_add(&s->msgs, 1);
		uffd_writeprotect(s->uffd, want, ps, 0);
	}
	return NULL;
}

struct wp_writer {
	struct wp_served *s;
	uint64_t seed;
	int64_t ns;			/* the stores after the warm-up */
};

static void *wp_writer_main(void *arg)
{
	struct wp_writer *w = arg;
	char *area = w->s->area;
	int64_t t0 = 0;

	pin_self(cpu_a);
	for (size_t i = 0; i < w->s->npages; i++) {
		if (i == RT_WARMUP)
			t0 = now_ns();
		*(volatile uint64_t *)(area + i * ps) = tag(i, w->seed + 1);
	}
	w->ns = now_ns() - t0;
	return NULL;
}

/* One run of wp_fault on RT_WARMUP + opt_pages pages: ns of the timed. */
static int64_t wp_fault_run(int fd, int hcpu, uint64_t seed)
{
	size_t n = opt_pages + RT_WARMUP, len = n * ps;
	struct wp_served s = { .uffd = fd, .npages = n, .cpu = hcpu };
	struct wp_writer w = { .s = &s, .seed = seed };
	pthread_t h, t;

	/* Populated first: the faults are write-protect faults only. */
	s.area = map_area(len);
	fill_pattern(s.area, 0, n, seed);
	uffd_register_wp(fd, s.area, len);
	uffd_writeprotect(fd, (uintptr_t)s.area, len,
			  UFFDIO_WRITEPROTECT_MODE_WP);
	check_wp_bits(s.area, len, 1, "wp_fault");
	h = start_thread(wp_handler_main, &s, "uffd-handler");
	t = start_thread(wp_writer_main, &w, "uffd-fault");
	join_thread(t);
	/* Else the handler would wait for the missing faults for ever. */
	if (atomic_load(&s.msgs) != n)
		fail("wp_fault: the writer is done after %lu faults of %zu: a store to a protected page did not fault",
		     atomic_load(&s.msgs), n);
	join_thread(h);
	check_wp_bits(s.area, len, 0, "wp_fault");
	uffd_unregister(fd, s.area, len);
	check_stores(s.area, n, seed, "wp_fault");
	unmap(s.area, len);
	return w.ns;
}

static void bench_wp_fault(int fd)
{
	/* The handler on the other CPU, as a handler thread would run. */
	int hcpu = cpu_b >= 0 ? cpu_b : cpu_a;
	int64_t ns = 0;

	printf("# wp_fault: %zu write-protect faults per run, writer on CPU %d, handler on CPU %d\n",
	       opt_pages, cpu_a, hcpu);
	for (int r = 0; r < opt_reps; r++)
		ns += wp_fault_run(fd, hcpu, 0x77700000 + r * 2);
	bench("wp_fault_mean",
	      (double)ns / 1000.0 / (double)(opt_pages * opt_reps), "us");
}

/* The -p area in whole huge pages, the same for 4 KiB pages and THP. */
static size_t wp_len(void)
{
	return whole_2m(opt_wp_mib);
}

/*
 * One run on an area populated with the pattern of seed: register it, then
 * WP_ROUNDS times protect the whole of it in one call, unprotect it in one
 * call, and store a new tag in every page, as a program does once its
 * pages are free to be written again.  Each step is timed alone and
 * followed by a look at every page's uffd-wp bit; GB/s into rate[step][]
 * (the stores: bytes of the pages written).  Every round thus begins on
 * writable, dirty pages, with every kernel.
 */
static void wp_range_run(int fd, char *p, size_t len, double *rate[3],
			 uint64_t seed, const char *what)
{
	uffd_register_wp(fd, p, len);
	for (int i = 0; i < WP_ROUNDS; i++) {
		int64_t t0, t1;

		t0 = now_ns();
		uffd_writeprotect(fd, (uintptr_t)p, len,
				  UFFDIO_WRITEPROTECT_MODE_WP);
		t1 = now_ns();
		rate[0][i] = (double)len / (double)(t1 - t0);
		check_wp_bits(p, len, 1, what);

		t0 = now_ns();
		uffd_writeprotect(fd, (uintptr_t)p, len, 0);
		t1 = now_ns();
		rate[1][i] = (double)len / (double)(t1 - t0);
		check_wp_bits(p, len, 0, what);

		t0 = now_ns();
		populate(p, len / ps, seed + i + 1);
		t1 = now_ns();
		rate[2][i] = (double)len / (double)(t1 - t0);
		check_wp_bits(p, len, 0, what);
	}
	uffd_unregister(fd, p, len);
}

/*
 * A fresh, populated area each run: 4 KiB pages, or (thp) huge pages,
 * populated before registering and checked in smaps, since all of it must
 * be THP for the figure to be THP's.
 */
static void bench_wp_range(int fd, int thp)
{
	static const char *const key[2][3] = {
		{ "wp_protect_4k", "wp_unprotect_4k", "wp_rewrite_4k" },
		{ "wp_protect_thp", "wp_unprotect_thp", "wp_rewrite_thp" },
	};
	size_t len = wp_len();
	int nrate = opt_reps * WP_ROUNDS, r, k;
	double *rate[3];
	uint64_t seed = 0x7770 + thp * 0x100;

	for (k = 0; k < 3; k++) {
		rate[k] = calloc(nrate, sizeof(*rate[k]));
		if (!rate[k])
			fail("out of memory");
	}
	for (r = 0; r < opt_reps; r++) {
		char *p = thp ? map_thp(len) : map_area(len);
		double *run[3];
		size_t kb, after;

		if (!p) {
			printf("# skip %s, %s, %s: madvise(MADV_HUGEPAGE): no THP in this kernel\n",
			       key[thp][0], key[thp][1], key[thp][2]);
			break;
		}
		populate(p, len / ps, seed);
		kb = thp ? anon_huge_kb(p, len) : 0;
		if (thp && kb < len / 1024) {
			printf("# skip %s, %s, %s: %zu of %zu MiB are THP (AnonHugePages)\n",
			       key[thp][0], key[thp][1], key[thp][2],
			       kb / 1024, len / MiB);
			unmap(p, len);
			break;
		}
		for (k = 0; k < 3; k++)
			run[k] = rate[k] + r * WP_ROUNDS;
		wp_range_run(fd, p, len, run, seed, key[thp][0]);
		/* Not an error, but then the figure includes splitting. */
		after = thp ? anon_huge_kb(p, len) : 0;
		if (after < kb)
			printf("# %s: %zu of %zu MiB still THP after the rounds\n",
			       key[thp][0], after / 1024, kb / 1024);
		check_populated(p, len / ps, seed + WP_ROUNDS, key[thp][0]);
		unmap(p, len);
	}
	for (k = 0; k < 3; k++) {
		if (r == opt_reps)
			bench(key[thp][k], median(rate[k], nrate), "GB/s");
		free(rate[k]);
	}
}

static void bench_wp(void)
{
	int fd = uffd_open_features(UFFD_FEATURE_PAGEFAULT_FLAG_WP);

	if (fd < 0) {
		/* No uffd-wp bit: Linux 6.1 has one on x86-64 only. */
		printf("# skip wp_*: UFFDIO_API does not offer UFFD_FEATURE_PAGEFAULT_FLAG_WP\n");
		return;
	}
	printf("# wp: UFFDIO_WRITEPROTECT of %zu MiB (-p), %d protect + unprotect + rewrite rounds a run (GB = 1e9 bytes)\n",
	       wp_len() / MiB, WP_ROUNDS);
	bench_wp_fault(fd);
	bench_wp_range(fd, 0);
	bench_wp_range(fd, 1);
	if (close(fd))
		fail("close(userfaultfd): %s", strerror(errno));
}

/* ---- base: no userfaultfd -------------------------------------------- */

struct base_job {
	int64_t *lat;
	size_t n;			/* samples per run */
	int which;			/* 0: anonymous, 1: SIGSEGV */
	uint64_t seed;
};

/* State of the SIGSEGV pager (one run at a time). */
static char *segv_area;
static const char *segv_src;
static size_t segv_npages;
static volatile size_t segv_count;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t addr = (uintptr_t)si->si_addr & ~(uintptr_t)(ps - 1);
	uintptr_t base = (uintptr_t)segv_area;
	static const char msg[] = "uffd-bench: FAIL: base: mprotect in SIGSEGV handler\n";

	(void)uc;
	if (addr < base || addr >= base + segv_npages * ps) {
		/* Not ours: die of it as if we had no handler. */
		signal(sig, SIG_DFL);
		return;
	}
	if (mprotect((void *)addr, ps, PROT_READ | PROT_WRITE)) {
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(1);
		_exit(1);
	}
	memcpy((void *)addr, segv_src + (addr - base), ps);
	segv_count++;
}

static void base_anon(int64_t *lat, size_t n, uint64_t seed)
{
	char *p = map_area(n * ps);
	size_t words = ps / sizeof(uint64_t);

	for (size_t i = 0; i < n; i++) {
		volatile uint64_t *q = (volatile uint64_t *)(p + i * ps);
		int64_t t0, t1;

		t0 = now_ns();
		*q = tag(i, seed);
		t1 = now_ns();
		lat[i] = t1 - t0;
	}
	for (size_t i = 0; i < n; i++) {
		const uint64_t *q = (const uint64_t *)(p + i * ps);

		if (q[0] != tag(i, seed))
			fail("base_anon: page %zu word 0 is %#" PRIx64, i, q[0]);
		for (size_t w = 1; w < words; w++)
			if (q[w])
				fail("base_anon: page %zu word %zu is %#" PRIx64
				     ", expected zero", i, w, q[w]);
	}
	unmap(p, n * ps);
}

static void base_sigsegv(int64_t *lat, size_t n, uint64_t seed)
{
	struct sigaction sa, old;
	char *src = pattern_buffer(n, seed);
	char *p = map_area(n * ps);

	if (mprotect(p, n * ps, PROT_NONE))
		fail("mprotect(PROT_NONE): %s", strerror(errno));
	segv_area = p;
	segv_src = src;
	segv_npages = n;
	segv_count = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old))
		fail("sigaction: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		volatile uint64_t *q = (volatile uint64_t *)(p + i * ps);
		int64_t t0, t1;
		uint64_t v;

		t0 = now_ns();
		v = *q;
		t1 = now_ns();
		if (v != tag(i, seed))
			fail("base_sigsegv: page %zu reads %#" PRIx64, i, v);
		lat[i] = t1 - t0;
	}
	if (sigaction(SIGSEGV, &old, NULL))
		fail("sigaction: %s", strerror(errno));
	if (segv_count != n)
		fail("base_sigsegv: %zu signals for %zu pages", segv_count, n);
	check_pattern(p, 0, n, seed, "base_sigsegv");
	segv_area = NULL;
	unmap(p, n * ps);
	unmap(src, n * ps);
}

static void *base_main(void *arg)
{
	struct base_job *j = arg;

	pin_self(cpu_a);
	for (int r = 0; r < opt_reps; r++) {
		if (j->which)
			base_sigsegv(j->lat + r * j->n, j->n, j->seed + r);
		else
			base_anon(j->lat + r * j->n, j->n, j->seed + r);
	}
	return NULL;
}

static void bench_base(void)
{
	static const char *const key[2] = {
		"base_anon_fault", "base_sigsegv_fault"
	};
	size_t total = opt_pages * opt_reps;
	struct base_job j = { .n = opt_pages };

	j.lat = calloc(total, sizeof(*j.lat));
	if (!j.lat)
		fail("out of memory");
	for (int which = 0; which < 2; which++) {
		char k[64];

		j.which = which;
		j.seed = 0x62617365 + which * 1000;
		/* In a thread of its own, so that only it is pinned. */
		join_thread(start_thread(base_main, &j, "uffd-fault"));
		qsort(j.lat, total, sizeof(*j.lat), cmp_i64);
		bench(key[which], pct_us(j.lat, total, 50), "us");
		snprintf(k, sizeof(k), "%s_p99", key[which]);
		bench(k, pct_us(j.lat, total, 99), "us");
	}
	free(j.lat);
}

/* ---- main ------------------------------------------------------------ */

static void watchdog(int sig)
{
	static const char msg[] = "uffd-bench: FAIL: watchdog: still running, a hang?\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: uffd-bench [options] [rt|mf|pf|fill|fillt|fillf|wp|base|all]...\n"
		"       (default: all)\n"
		"  -n N   rt, wp, base: faults per run (default %zu)\n"
		"  -m N   mf: faults per run, split over the faulters (default %zu)\n"
		"  -t N   mf: up to N faulting threads, powers of 2 (default %d)\n"
		"  -P N   pf: up to N parked faulting threads, 16 and up in\n"
		"         powers of 4 (default %zu)\n"
		"  -f MiB fill, fillt, fillf: UFFDIO_COPY area (fillt: UFFDIO_ZEROPAGE\n"
		"         too); fillf's hugetlb area is at most 64 MiB (default %zu)\n"
		"  -z MiB fill: UFFDIO_ZEROPAGE area (default %zu)\n"
		"  -p MiB wp: UFFDIO_WRITEPROTECT area, 4 KiB pages and THP\n"
		"         (default %zu)\n"
		"  -r N   runs of each benchmark; latencies are pooled, rates\n"
		"         are the median of the runs (default %d)\n"
		"  -w S   watchdog: fail after S seconds, 0 for none (default %u)\n"
		"Output: one \"BENCH <key> <value> <unit>\" line per figure.\n",
		opt_pages, opt_mf_pages, opt_max_threads, opt_pf_max,
		opt_fill_mib, opt_zero_mib, opt_wp_mib, opt_reps, opt_watchdog);
}

static size_t number(const char *s, size_t min)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > (1ULL << 30)) {
		fprintf(stderr, "uffd-bench: bad number '%s'\n", s);
		usage(stderr);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	enum { RT = 1, MF = 2, FILL = 4, BASE = 8, FILLF = 16, WP = 32,
	       PF = 64, FILLT = 128, ALL = 255 };
	int what = 0, c;
	int64_t t0, t;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt(argc, argv, "n:m:t:P:f:z:p:r:w:h")) != -1) {
		switch (c) {
		case 'n': opt_pages = number(optarg, 1); break;
		case 'm': opt_mf_pages = number(optarg, 1); break;
		case 't': opt_max_threads = number(optarg, 1); break;
		case 'P': opt_pf_max = number(optarg, 16); break;
		case 'f': opt_fill_mib = number(optarg, 1); break;
		case 'z': opt_zero_mib = number(optarg, 1); break;
		case 'p': opt_wp_mib = number(optarg, 1); break;
		case 'r': opt_reps = number(optarg, 1); break;
		case 'w': opt_watchdog = number(optarg, 0); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "rt"))
			what |= RT;
		else if (!strcmp(argv[i], "mf"))
			what |= MF;
		else if (!strcmp(argv[i], "pf"))
			what |= PF;
		else if (!strcmp(argv[i], "fill"))
			what |= FILL;
		else if (!strcmp(argv[i], "fillt"))
			what |= FILLT;
		else if (!strcmp(argv[i], "fillf"))
			what |= FILLF;
		else if (!strcmp(argv[i], "wp"))
			what |= WP;
		else if (!strcmp(argv[i], "base"))
			what |= BASE;
		else if (!strcmp(argv[i], "all"))
			what |= ALL;
		else {
			fprintf(stderr, "uffd-bench: unknown benchmark '%s'\n",
				argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!what)
		what = ALL;
	if ((size_t)opt_max_threads > opt_mf_pages)
		opt_max_threads = opt_mf_pages;

	ps = sysconf(_SC_PAGESIZE);
	find_cpus();
	signal(SIGALRM, watchdog);
	alarm(opt_watchdog);
	printf("# uffd-bench: page %zu bytes, %ld CPUs online, CPUs used: %d",
	       ps, sysconf(_SC_NPROCESSORS_ONLN), cpu_a);
	if (cpu_b >= 0)
		printf(" and %d", cpu_b);
	printf("; -n %zu -m %zu -t %d -P %zu -f %zu -z %zu -p %zu -r %d\n",
	       opt_pages, opt_mf_pages, opt_max_threads, opt_pf_max,
	       opt_fill_mib, opt_zero_mib, opt_wp_mib, opt_reps);

	t0 = t = now_ns();
#define STEP(bit, fn, name)						\
	do {								\
		if (what & (bit)) {					\
			fn();						\
			printf("# %s: %.2f s\n", name,			\
			       (now_ns() - t) / 1e9);			\
			t = now_ns();					\
		}							\
	} while (0)
	STEP(RT, bench_rt, "rt");
	STEP(MF, bench_mf, "mf");
	STEP(PF, bench_pf, "pf");
	STEP(FILL, bench_fill, "fill");
	STEP(FILLT, bench_fillt, "fillt");
	STEP(FILLF, bench_fillf, "fillf");
	STEP(WP, bench_wp, "wp");
	STEP(BASE, bench_base, "base");
	printf("# uffd-bench: all checks passed, %.2f s\n",
	       (now_ns() - t0) / 1e9);
	return 0;
}

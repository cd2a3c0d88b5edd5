// SPDX-License-Identifier: GPL-2.0
/*
 * `make icount`: the guest instructions that userfaultfd operations cost,
 * counted by the TCG plugin bench/icount-plugin.c between the markers
 * below.  Each section does one operation N times on its own 4 KiB page;
 * the script divides the counts by N.  One warm-up round, then the
 * measured one.  Every operation's result is checked (outside the kernel's
 * count): a section whose calls did not do what they should fails the run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define N	8192

static bool measure;
static size_t ps;
static char *area, *unarmed, *src;
static int uffd;

static void start(void)
{
	if (measure)
		__asm__ __volatile__(".byte 0x66,0x0f,0x1f,0x84,0x00,0x34,0x12,0x00,0x00"
				     ::: "memory");
}

static void stop(const char *name)
{
	if (!measure)
		return;
	__asm__ __volatile__(".byte 0x66,0x0f,0x1f,0x84,0x00,0x78,0x56,0x00,0x00"
			     ::: "memory");
	printf("SECTION %s %d\n", name, N);
	fflush(stdout);
}

static void fail(const char *what, int i)
{
	fprintf(stderr, "uffd-icount: %s, op %d: %s\n", what, i,
		strerror(errno));
	exit(1);
}

static int zeropage(char *base, int i, __u64 mode)
{
	struct uffdio_zeropage z = {
		.range = { (uintptr_t)base + i * ps, ps }, .mode = mode,
	};

	return ioctl(uffd, UFFDIO_ZEROPAGE, &z);
}

static int copy(int i)
{
	struct uffdio_copy c = {
		.dst = (uintptr_t)area + i * ps, .src = (uintptr_t)src,
		.len = ps,
	};

	return ioctl(uffd, UFFDIO_COPY, &c);
}

static void drop_all(void)
{
	if (madvise(area, N * ps, MADV_DONTNEED))
		fail("MADV_DONTNEED", 0);
}

/* Faults on every page in turn: each waits for the handler's COPY. */
static void *toucher(void *arg)
{
	int i;

	for (i = 0; i < N; i++)
		if (__atomic_load_n(area + i * ps, __ATOMIC_RELAXED) != 7)
			fail("page content after COPY", i);
	return NULL;
}

static void round_of_sections(void)
{
	struct uffdio_range range;
	struct uffd_msg msg;
	pthread_t t;
	int i;

	start();
	for (i = 0; i < N; i++)
		syscall(SYS_getppid);
	stop("getppid");

	start();
	for (i = 0; i < N; i++)
		if (zeropage(area, i, 0x80) != -1 || errno != EINVAL)
			fail("ZEROPAGE with a bad mode", i);
	stop("zeropage_einval");

	start();
	for (i = 0; i < N; i++)
		if (zeropage(unarmed, i, 0) != -1 || errno != ENOENT)
			fail("ZEROPAGE of an unarmed page", i);
	stop("zeropage_enoent");

	start();
	for (i = 0; i < N; i++)
		if (zeropage(area, i, UFFDIO_ZEROPAGE_MODE_DONTWAKE))
			fail("ZEROPAGE, DONTWAKE", i);
	stop("zeropage_4k_dontwake");

	start();
	for (i = 0; i < N; i++)
		if (zeropage(area, i, UFFDIO_ZEROPAGE_MODE_DONTWAKE) != -1 ||
		    errno != EEXIST)
			fail("ZEROPAGE of a present page", i);
	stop("zeropage_eexist");

	drop_all();
	start();
	for (i = 0; i < N; i++)
		if (zeropage(area, i, 0))
			fail("ZEROPAGE", i);
	stop("zeropage_4k");

	start();
	for (i = 0; i < N; i++) {
		range.start = (uintptr_t)area + i * ps;
		range.len = ps;
		if (ioctl(uffd, UFFDIO_WAKE, &range))
			fail("UFFDIO_WAKE", i);
	}
	stop("wake_4k");

	drop_all();
	start();
	for (i = 0; i < N; i++)
		if (copy(i))
			fail("COPY", i);
	stop("copy_4k");

	drop_all();
	if (pthread_create(&t, NULL, toucher, NULL))
		fail("pthread_create", 0);
	start();
	for (i = 0; i < N; i++) {
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			fail("read", i);
		if (msg.arg.pagefault.address != (uintptr_t)area + i * ps)
			fail("fault address", i);
		if (copy(i))
			fail("COPY of a faulted page", i);
	}
	stop("round_trip");
	pthread_join(t, NULL);
	drop_all();
}

int main(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	int i;

	ps = sysconf(_SC_PAGESIZE);
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		fail("userfaultfd", 0);
	area = mmap(NULL, N * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unarmed = mmap(NULL, N * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED || unarmed == MAP_FAILED || src == MAP_FAILED)
		fail("mmap", 0);
	memset(src, 7, ps);
	/* 4 KiB pages only: the sections compare per-page paths */
	if (madvise(area, N * ps, MADV_NOHUGEPAGE))
		fail("MADV_NOHUGEPAGE", 0);
	reg.range.start = (uintptr_t)area;
	reg.range.len = N * ps;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		fail("UFFDIO_REGISTER", 0);
	/* the page tables in place: each section pays for its own work */
	for (i = 0; i < N; i++)
		if (zeropage(area, i, UFFDIO_ZEROPAGE_MODE_DONTWAKE))
			fail("ZEROPAGE (set-up)", i);
	drop_all();
	round_of_sections();
	measure = true;
	round_of_sections();
	printf("uffd-icount: done\n");
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Smoke test of the guest: the machine is SMP and the basic memory
 * operations that userfaultfd sits beside (mmap, fork, madvise, mremap)
 * behave.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define NPAGES 16

static long psize(void)
{
	return sysconf(_SC_PAGESIZE);
}

static void fill(char *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(i * 7 + seed);
}

static int same(const char *p, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)(i * 7 + seed))
			return 0;
	return 1;
}

static int all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

TEST(guest_has_two_cpus)
{
	ASSERT_EQ(2, sysconf(_SC_NPROCESSORS_ONLN));
}

TEST(anonymous_mmap_is_zeroed_and_keeps_data)
{
	size_t len = NPAGES * psize();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	EXPECT_TRUE(all_zero(p, len));
	fill(p, len, 1);
	EXPECT_TRUE(same(p, len, 1));
	ASSERT_EQ(0, munmap(p, len));
}

TEST(fork_gives_the_child_a_private_copy)
{
	size_t len = NPAGES * psize();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, p);
	fill(p, len, 2);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int ok = same(p, len, 2);

		fill(p, len, 3);
		_exit(ok && same(p, len, 3) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_TRUE(same(p, len, 2));
	munmap(p, len);
}

TEST(madv_dontneed_drops_anonymous_pages)
{
	size_t len = NPAGES * psize();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	fill(p, len, 4);
	ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
	EXPECT_TRUE(all_zero(p, len));
	munmap(p, len);
}

TEST(mremap_moves_the_data_and_unmaps_the_old_range)
{
	size_t len = NPAGES * psize();
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *dst = mmap(NULL, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char vec[NPAGES];
	char *q;

	ASSERT_NE(MAP_FAILED, p);
	ASSERT_NE(MAP_FAILED, dst);
	fill(p, len, 5);
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	EXPECT_TRUE(same(q, len, 5));
	/* The old range is gone: mincore() reports ENOMEM for it. */
	EXPECT_EQ(-1, mincore(p, len, vec));
	EXPECT_EQ(ENOMEM, errno);
	munmap(q, len);
}

TEST_HARNESS_MAIN

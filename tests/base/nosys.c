// SPDX-License-Identifier: GPL-2.0
/*
 * The prepared base has no userfaultfd: its syscall numbers are unused and
 * fail with ENOSYS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"

TEST(x86_64_syscall_323_is_enosys)
{
	errno = 0;
	ASSERT_EQ(-1, syscall(323, 0));
	ASSERT_EQ(ENOSYS, errno);
}

TEST(dev_userfaultfd_does_not_exist)
{
	ASSERT_NE(0, access("/dev/userfaultfd", F_OK));
	ASSERT_EQ(ENOENT, errno);
}

TEST(no_unprivileged_userfaultfd_sysctl)
{
	ASSERT_NE(0, access("/proc/sys/vm/unprivileged_userfaultfd", F_OK));
	ASSERT_EQ(ENOENT, errno);
}

TEST_HARNESS_MAIN

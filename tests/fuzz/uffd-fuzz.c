// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-fuzz: a seeded, reproducible, randomized exerciser of userfaultfd(2)
 * for the Linux 6.1 ABI.
 *
 * Usage:
 *   uffd-fuzz [-s SEED] [-n OPS] [-t SECONDS] [-p PROCS] [-T THREADS]
 *             [-w WATCHDOG_S] [-i] [-v]
 *
 *   -s SEED	  seed of every random stream (default: from the clock);
 *		  always printed first, as "# seed <n>"
 *   -n OPS	  operations per worker thread (default 2000)
 *   -t SECONDS	  time bound of the run (default 60): a worker stops at
 *		  OPS or SECONDS, whichever comes first
 *   -p PROCS	  worker processes (default 2, at most 16)
 *   -T THREADS	  worker threads per process (default 3, at most 16)
 *   -w WATCHDOG_S a process none of whose worker threads makes progress
 *		  for this long is declared stuck (default 120; keep it above
 *		  10 s: a worker may wait up to 7 s for a child it kills)
 *   -i		  fault injection: failslab and fail_page_alloc, armed only
 *		  around userfaultfd calls (see below)
 *   -v		  log every operation before it runs
 *
 * Design
 *
 * The parent creates a MAP_SHARED table, forks PROCS worker processes and
 * then only watches them (the watchdog) and reports.  Each worker process
 * lays out an "arena" of address space at a fixed place far from where the
 * kernel puts other mappings, and maps one region per slot of it:
 *
 *   verify	  private anonymous, 1 MiB: registered MISSING with context 0
 *		  at start; only its handler (or a worker copying the very same
 *		  content) fills it, and workers only read it and check every
 *		  word against pattern(address, 0)
 *   anon	  private anonymous, 4 KiB pages, 1 MiB
 *   thp	  private anonymous, 2 MiB aligned, MADV_HUGEPAGE, 4 MiB
 *   shm	  memfd, MAP_SHARED, 2 MiB        (the same memfd for the
 *   shm-private  memfd, MAP_PRIVATE, 2 MiB        three shm regions, so
 *   shm-alias	  memfd, MAP_SHARED again, 2 MiB   minor faults happen)
 *   shared-anon  MAP_SHARED | MAP_ANONYMOUS, 1 MiB
 *   huge-private MAP_HUGETLB, 4 MiB (2 MiB pages; left out if unavailable)
 *   huge-shared  memfd MFD_HUGETLB, MAP_SHARED, 4 MiB (likewise)
 *
 * Every slot is followed by a gap (a PROT_NONE reservation or a hole), so
 * odd ranges can cross mapping boundaries and unmapped memory without ever
 * reaching anything but the arena.  All addresses the program hands to the
 * kernel are in the arena, or are invalid on purpose (zero, kernel
 * addresses, wrapping), or are the program's own buffers.
 *
 * Each process has NCTX userfaultfd contexts, each served by a handler
 * thread that polls (or, for a blocking descriptor, reads and is kicked out
 * of read() by SIGUSR1 every few milliseconds), reads a random number of
 * messages with odd buffer sizes, and resolves each fault: UFFDIO_COPY of a
 * page whose content is pattern(address, generation) (sometimes with
 * COPY_MODE_WP, or DONTWAKE followed by UFFDIO_WAKE), UFFDIO_ZEROPAGE,
 * UFFDIO_CONTINUE for minor faults, UFFDIO_WRITEPROTECT to lift a
 * write-protect fault, and UFFDIO_WAKE whenever the fill did not wake the
 * thread itself (EEXIST, ENOENT, EAGAIN...).  Fork events hand it the
 * child's descriptor, which it holds or serves briefly and then closes.
 * Context 0 belongs to the verify region only and is never closed.
 *
 * Worker threads draw operations from their own PRNG and run them against
 * the regions and the contexts, with valid and with odd arguments.  Op
 * kinds (weights in OPS() below):
 *   touches: touch-read, touch-write, verify, pipe-from-area (write(2) from
 *     the area), pipe-into-area (read(2) into it), process_vm_readv,
 *     process_vm_writev, proc-mem-read, proc-mem-write (/proc/self/mem);
 *   userfaultfd: register, unregister, copy, zeropage, wake, writeprotect,
 *     continue, api-again (second UFFDIO_API, bad api, unknown features),
 *     bad-ioctl, uffd-read (short, NULL, kernel-address, straddling and
 *     odd-sized buffers; the messages it steals are served), uffd-poll
 *     (POLLERR on blocking descriptors), uffd-epoll, fdinfo,
 *     ctx-close (the handler closes the descriptor, maybe with faults
 *     parked on it), ctx-new (recreate it: userfaultfd(2) or
 *     /dev/userfaultfd, random flags and features, bad handshakes first),
 *     ctx-churn (invalid flags, calls before UFFDIO_API, short-lived
 *     contexts);
 *   address space: mmap (re-create a region), munmap, mremap (MAYMOVE, then
 *     back), mremap-dontunmap, mprotect, madvise (DONTNEED, FREE, HUGEPAGE,
 *     NOHUGEPAGE, COLLAPSE, PAGEOUT, REMOVE), fallocate (PUNCH_HOLE);
 *   processes: fork (the child touches registered memory, or parks on a
 *     userfaultfd of its own and is killed, or exits at once), scm-rights
 *     (a child receives a context over a unix socket and serves or closes
 *     it).
 *
 * Rules that keep the program itself from deadlocking: no thread touches
 * registered memory while it holds a lock of the program; handler threads
 * never touch registered memory and never change the address space (which
 * would wait for their own events); every touch is guarded by
 * sigsetjmp()/siglongjmp() on SIGSEGV and SIGBUS (counted, expected); a
 * context's descriptor is closed only by its handler, under the context's
 * write lock (so no worker uses a stale descriptor number) and under the
 * fork lock (so no fork is in progress: a child created with the
 * descriptor in its table would hold a context whose fork event nobody
 * reads, and its parent would wait for that event forever); every wait
 * on a child, a thread or a descriptor has a bound.  Where Linux may drop
 * a message that was read but could not be delivered (a read into a bad
 * buffer, a helper child killed after reading), the handlers wake their
 * whole ranges every 50 ms for the next 2 s, so the faults come again.
 *
 * Reproducibility: every worker thread has its own PRNG seeded from (SEED,
 * process, thread); an operation and all its arguments come from a fixed
 * number of draws of that PRNG (gen_op() is a pure function of it), never
 * from the results of earlier operations or from timing.  The same seed
 * therefore replays the same operation stream in every thread (-v shows
 * it).  Choices that depend on results (handlers, serving stolen messages)
 * use separate streams.
 *
 * Checking: every syscall and ioctl result is checked against the errno
 * values documented for that call (table calls[] below); any other errno
 * prints "# unexpected errno <name> from <call> <args>" and fails the
 * process (after 200 such lines a process only counts them).  Calls whose arguments are invalid by construction must fail.
 * Documented results are checked too ("# semantic: ..."): the structure
 * zeroed by a failed UFFDIO_API, the ioctls masks, the copy/zeropage/mapped
 * result fields, read() sizes, the reserved bytes and flags of messages,
 * POLLERR on blocking descriptors, fdinfo, and the content of the verify
 * region, also when the kernel reads it (pipe, process_vm_readv,
 * /proc/self/mem).
 *
 * Fault injection (-i): failslab and fail_page_alloc are set up in debugfs
 * (mounted if needed) with task-filter Y, probability 10, interval 1,
 * times -1, verbose 0, ignore-gfp-wait N (also for failslab, otherwise
 * GFP_KERNEL allocations are never failed), min-order 0; each thread sets
 * /proc/thread-self/make-it-fail around its userfaultfd calls only
 * (creation, ioctl, read, close), never around page touches.  ENOMEM is
 * then allowed from every call and counted.  Probability is reset to 0 at
 * the end.
 *
 * Output (TAP 13): "# seed <n>" first, then "TAP version 13", "1..N" with
 * N = PROCS + 1, diagnostics starting with "# ", one "ok"/"not ok" line per
 * worker process ("ok 1 proc 0 seed S: 6000 ops") preceded by its counts
 * per op kind, errno and event, "# ops <total>", and last the leak check:
 * the active objects of the userfaultfd slab caches in /proc/slabinfo must
 * be back to at most their value before the run (both read after writing
 * to /sys/kernel/slab/<cache>/shrink, which flushes per-cpu slabs and the
 * KASAN quarantine; SKIP if there is no such cache).  The exit status is 0
 * only if every line is ok.
 *
 * Bounds: workers stop at SECONDS; the parent's watchdog SIGKILLs a
 * process stuck for WATCHDOG_S (after printing what each of its stuck
 * threads was doing and writing 'w' to /proc/sysrq-trigger) and fails it,
 * and kills everything at SECONDS + WATCHDOG_S + 10 s; it waits 10 s more
 * at most for the killed processes, and the leak check polls for at most
 * 5 s, so the program ends within SECONDS + WATCHDOG_S + 30 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP	4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE	0x100000
#endif

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define PG		4096UL
#define HPG		(2UL << 20)
#define SLOT_STRIDE	(8UL << 20)	/* a region and the gap after it */
#define ARENA_HINT	0x100000000000UL /* far below mmap_base */
#define MAX_PROCS	16
#define MAX_WORKERS	16
#define NCTX		5		/* contexts per process; 0: verify */
#define NTS		(1 + MAX_WORKERS + NCTX) /* watchdog slots */
#define MAX_KIDS	8		/* child contexts a handler holds */
#define BUF_PAGES	16
#define BUF_LEN		(BUF_PAGES * PG)
#define NERR		134
#define POLL_MS		10		/* handler poll, kicker period */
#define CHILD_MS	2000		/* a forked child's time bound */
#define SCM_SERVE_MS	50
#define BIG_FD		1000000		/* never an open descriptor */
#define RESULT_SENTINEL	0x5a5a5a5a5a5aLL
#define MAX_REPORTS	200		/* failure lines printed per process */

/* ------------------------------------------------------------------ */
/* Operations: name and weight of each kind.                          */

#define OPS(X)							\
	X(TOUCH_R,	"touch-read",		90)		\
	X(TOUCH_W,	"touch-write",		90)		\
	X(VERIFY,	"verify",		60)		\
	X(PIPE_OUT,	"pipe-from-area",	25)		\
	X(PIPE_IN,	"pipe-into-area",	25)		\
	X(VM_READ,	"process_vm_readv",	20)		\
	X(VM_WRITE,	"process_vm_writev",	20)		\
	X(MEM_READ,	"proc-mem-read",	15)		\
	X(MEM_WRITE,	"proc-mem-write",	10)		\
	X(REGISTER,	"register",		70)		\
	X(UNREGISTER,	"unregister",		40)		\
	X(COPY,		"copy",			50)		\
	X(ZEROPAGE,	"zeropage",		30)		\
	X(WAKE,		"wake",			25)		\
	X(WRITEPROTECT,	"writeprotect",		45)		\
	X(CONTINUE,	"continue",		30)		\
	X(API,		"api-again",		8)		\
	X(BADIOCTL,	"bad-ioctl",		8)		\
	X(MMAP,		"mmap",			25)		\
	X(MUNMAP,	"munmap",		15)		\
	X(MREMAP,	"mremap",		15)		\
	X(MREMAP_DU,	"mremap-dontunmap",	10)		\
	X(MPROTECT,	"mprotect",		25)		\
	X(MADVISE,	"madvise",		50)		\
	X(FALLOCATE,	"fallocate",		15)		\
	X(FORK,		"fork",			12)		\
	X(SCM,		"scm-rights",		6)		\
	X(CTX_CLOSE,	"ctx-close",		6)		\
	X(CTX_NEW,	"ctx-new",		20)		\
	X(READ,		"uffd-read",		20)		\
	X(POLL,		"uffd-poll",		15)		\
	X(EPOLL,	"uffd-epoll",		10)		\
	X(FDINFO,	"fdinfo",		5)		\
	X(CHURN,	"ctx-churn",		10)

#define OP_ENUM(id, name, w)	OP_##id,
#define OP_NAME(id, name, w)	name,
#define OP_WEIGHT(id, name, w)	w,
enum { OPS(OP_ENUM) NOPS };
static const char *const op_names[NOPS] = { OPS(OP_NAME) };
static const unsigned int op_weights[NOPS] = { OPS(OP_WEIGHT) };

/* ------------------------------------------------------------------ */
/* Calls and the errno values documented for each.                    */

enum {
	/* The userfaultfd calls, which fault injection wraps: see inj(). */
	C_CREATE, C_DEVNEW, C_API, C_REGISTER, C_UNREGISTER, C_WAKE, C_COPY,
	C_ZEROPAGE, C_WRITEPROTECT, C_CONTINUE, C_BADCMD, C_READ, C_CLOSE,
	/* The others. */
	C_DEVOPEN, C_BADFD, C_NOTTY, C_POLL, C_EPOLL, C_FDINFO, C_MMAP,
	C_MUNMAP, C_MREMAP, C_MPROTECT, C_MADVISE, C_FALLOCATE, C_FORK,
	C_PIPE, C_VMRW, C_PROCMEM, C_SOCK, NCALLS
};

static const struct call_desc {
	const char *name;
	int ok[12];		/* documented errno values, 0-terminated */
} calls[NCALLS] = {
	[C_CREATE]	= { "userfaultfd", { EINVAL, EPERM, EMFILE, ENFILE, ENOMEM } },
	[C_DEVOPEN]	= { "open(/dev/userfaultfd)", { ENOENT, EACCES, EPERM, ENODEV, ENXIO } },
	[C_DEVNEW]	= { "USERFAULTFD_IOC_NEW", { EINVAL, ENOTTY, EMFILE, ENFILE, ENOMEM, EPERM } },
	[C_API]		= { "UFFDIO_API", { EINVAL, EPERM, EFAULT } },
	[C_REGISTER]	= { "UFFDIO_REGISTER", { EINVAL, EBUSY, ENOMEM, EPERM, EFAULT } },
	[C_UNREGISTER]	= { "UFFDIO_UNREGISTER", { EINVAL, ENOMEM, EFAULT } },
	[C_WAKE]	= { "UFFDIO_WAKE", { EINVAL, EFAULT } },
	[C_COPY]	= { "UFFDIO_COPY", { EAGAIN, EEXIST, EFAULT, EINTR, EINVAL, ENOENT, ENOMEM, ENOSPC, ESRCH } },
	[C_ZEROPAGE]	= { "UFFDIO_ZEROPAGE", { EAGAIN, EEXIST, EFAULT, EINTR, EINVAL, ENOENT, ENOMEM, ENOSPC, ESRCH } },
	[C_WRITEPROTECT] = { "UFFDIO_WRITEPROTECT", { EAGAIN, EFAULT, EINTR, EINVAL, ENOENT, ENOMEM, ESRCH } },
	[C_CONTINUE]	= { "UFFDIO_CONTINUE", { EAGAIN, EEXIST, EFAULT, EINTR, EINVAL, EIO, ENOENT, ENOMEM, ESRCH } },
	[C_BADCMD]	= { "ioctl(uffd, unknown)", { EINVAL } },
	[C_BADFD]	= { "ioctl(bad fd)", { EBADF } },
	[C_NOTTY]	= { "ioctl(pipe, UFFDIO_WAKE)", { ENOTTY } },
	[C_READ]	= { "read(uffd)", { EAGAIN, EFAULT, EINTR, EMFILE, ENFILE, ENOMEM } },
	[C_POLL]	= { "poll", { EINTR, ENOMEM } },
	[C_EPOLL]	= { "epoll", { EEXIST, ENOENT, ENOMEM, ENOSPC, EINTR } },
	[C_CLOSE]	= { "close(uffd)", { 0 } },
	[C_FDINFO]	= { "fdinfo", { ENOMEM, EMFILE, ENFILE } },
	[C_MMAP]	= { "mmap", { ENOMEM, EAGAIN } },
	[C_MUNMAP]	= { "munmap", { EINVAL, ENOMEM } },
	[C_MREMAP]	= { "mremap", { EINVAL, ENOMEM, EFAULT, EAGAIN } },
	[C_MPROTECT]	= { "mprotect", { EINVAL, ENOMEM, EACCES } },
	[C_MADVISE]	= { "madvise", { EINVAL, ENOMEM, EAGAIN, EACCES, EBUSY } },
	[C_FALLOCATE]	= { "fallocate", { EINVAL, EINTR, ENOMEM, ENOSPC, EOPNOTSUPP, EFBIG } },
	[C_FORK]	= { "fork", { EAGAIN, ENOMEM } },
	[C_PIPE]	= { "pipe read/write", { EAGAIN, EFAULT } },
	[C_VMRW]	= { "process_vm_readv/writev", { EFAULT, ENOMEM } },
	[C_PROCMEM]	= { "/proc/self/mem", { EIO, EFAULT, ENOMEM } },
	[C_SOCK]	= { "unix socket", { EAGAIN, ENOMEM, ENOBUFS, EPIPE, ECONNRESET, EMFILE, ENFILE } },
};

/* ------------------------------------------------------------------ */
/* The shared table: progress for the watchdog, and the statistics.   */

enum { TS_NONE, TS_MAIN, TS_WORKER, TS_HANDLER };

struct tslot {
	volatile unsigned long progress;
	volatile int active;
	volatile int kind;
	char name[16];
	char op[24];
	char args[112];
};

enum {
	S_UNEXPECTED, S_SEMANTIC, S_SEGV, S_SIGBUS, S_VERIFIED,
	S_INJECTED, S_INJ_ENOMEM, S_MSG_FAULT, S_MSG_FORK, S_MSG_REMAP,
	S_MSG_REMOVE, S_MSG_UNMAP, S_COPY, S_ZEROPAGE, S_CONTINUE,
	S_WP_CLEAR, S_WAKE, S_KID_FDS, S_CHILD_KILLED, S_NO_CTX, NSTAT
};

static const char *const stat_names[NSTAT] = {
	"unexpected", "semantic", "sigsegv", "sigbus", "verified-words",
	"injected-calls", "injected-enomem", "msg-fault", "msg-fork",
	"msg-remap", "msg-remove", "msg-unmap", "copy", "zeropage",
	"continue", "wp-clear", "wake", "child-ctx", "child-killed",
	"no-ctx",
};

struct pstats {
	volatile int failed;
	unsigned long reports;	/* failure lines printed */
	unsigned long op[NOPS];
	unsigned long err[NERR];
	unsigned long s[NSTAT];
	struct tslot t[NTS];
};

struct shared {
	struct pstats p[MAX_PROCS];
};

/* ------------------------------------------------------------------ */
/* Regions of the arena.                                              */

enum {
	R_VERIFY, R_ANON, R_THP, R_SHM, R_SHM_PRIV, R_SHM_ALIAS, R_SHANON,
	R_HUGE_PRIV, R_HUGE_SHM, NREG
};

static const struct rdef {
	const char *name;
	unsigned long len;
	bool huge;
} RD[NREG] = {
	[R_VERIFY]	= { "verify", 1UL << 20, false },
	[R_ANON]	= { "anon", 1UL << 20, false },
	[R_THP]		= { "thp", 4UL << 20, false },
	[R_SHM]		= { "shm", 2UL << 20, false },
	[R_SHM_PRIV]	= { "shm-private", 2UL << 20, false },
	[R_SHM_ALIAS]	= { "shm-alias", 2UL << 20, false },
	[R_SHANON]	= { "shared-anon", 1UL << 20, false },
	[R_HUGE_PRIV]	= { "huge-private", 4UL << 20, true },
	[R_HUGE_SHM]	= { "huge-shared", 4UL << 20, true },
};

/* ------------------------------------------------------------------ */
/* Contexts.                                                          */

enum { CTX_EMPTY, CTX_LIVE, CTX_DEAD };

struct ctx {
	pthread_rwlock_t lock;	/* read: fd in use; write: being closed */
	pthread_mutex_t slot_lock; /* (re)creation, joins, kicks */
	int idx;
	volatile int state;
	int fd;
	int flags;		/* creation flags */
	uint64_t features;
	unsigned int gen;	/* bumped by every (re)creation */
	volatile int close_req;	/* a worker asked the handler to close */
	volatile int stop;	/* teardown */
	volatile int in_read;	/* handler may be blocked in read() */
	bool have_thread;
	pthread_t thread;
};

/* How to create a context: drawn from random bits. */
struct cspec {
	bool dev;		/* /dev/userfaultfd rather than the syscall */
	int flags;
	uint64_t features;
	int pre_bad;		/* 0: api != 0xAA first, 1: unknown bit first */
	bool again;		/* a second UFFDIO_API after success */
	uint64_t badbit;
};

/* ------------------------------------------------------------------ */
/* Globals.                                                           */

static struct opts {
	uint64_t seed;
	long ops;
	int secs, procs, threads, wd;
	bool inject, verbose;
} O = { .ops = 2000, .secs = 60, .procs = 2, .threads = 3, .wd = 120 };

static struct shared *SH;
static struct pstats *ST;	/* this process's entry (NULL in the parent) */
static bool fi_on;		/* fault injection is configured */
static unsigned long mmap_min = PG;	/* vm.mmap_min_addr */
static volatile sig_atomic_t interrupted;

/* The worker process. */
static struct proc {
	int idx;
	char *arena;
	int shmfd, hugefd, devfd;
	bool avail[NREG];
	bool verify_ok;
	char *srcbuf;		/* HPG bytes then a PROT_NONE page */
	char *badpage;		/* a PROT_NONE page */
	uint64_t supported;	/* features the kernel offers */
	struct ctx ctx[NCTX];
	pthread_rwlock_t fork_lock; /* read: fork; write: handler closes */
	volatile unsigned long lost_until; /* ms: messages may be lost */
	volatile int running;	/* worker threads still running */
	double t_end;
} P;

/* Per thread. */
static __thread struct tslot *t_slot;
static __thread char t_who[24] = "main";
static __thread int t_mif = -1;	/* /proc/thread-self/make-it-fail */
static __thread char *t_edge;	/* a page followed by a PROT_NONE page */
static __thread sigjmp_buf t_jb;
static __thread volatile sig_atomic_t t_armed;
static __thread volatile sig_atomic_t t_sig;

/* NULL, hidden from the compiler: read(2) into it is the point. */
static void *volatile null_buf;

/* ------------------------------------------------------------------ */
/* Small helpers: time, output, counters, PRNG.                       */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long now_ms(void)
{
	return (unsigned long)(now_s() * 1000);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* One line to stdout with one write(2), so lines never interleave. */
static void __attribute__((format(printf, 1, 2))) out(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, n) < 0)
		return;
}

static void inc(unsigned long *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

static void stat_add(int s, unsigned long n)
{
	if (ST)
		__atomic_fetch_add(&ST->s[s], n, __ATOMIC_RELAXED);
}

static void stat_inc(int s)
{
	stat_add(s, 1);
}

static void fail(void)
{
	if (ST)
		ST->failed = 1;
}

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* splitmix64: one stream per thread, cheap and good enough. */
static uint64_t rnd(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ULL;
	return mix64(*s);
}

static uint64_t seed_of(int proc, unsigned long who)
{
	return mix64(O.seed ^ mix64(((uint64_t)proc << 40) ^ who));
}

/* The content of word @addr of a page filled for generation @gen. */
static uint64_t pattern(unsigned long addr, unsigned int gen)
{
	return mix64(addr * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)gen << 48) ^ 0xfeed);
}

static void fill_pattern(char *dst, unsigned long page, unsigned int gen)
{
	uint64_t *w = (uint64_t *)dst;
	unsigned long i;

	for (i = 0; i < PG / 8; i++)
		w[i] = pattern(page + 8 * i, gen);
}

static const char *ename(int e)
{
	static const char *const names[NERR] = {
		[EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH",
		[EINTR] = "EINTR", [EIO] = "EIO", [ENXIO] = "ENXIO",
		[EBADF] = "EBADF", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
		[EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY",
		[EEXIST] = "EEXIST", [ENODEV] = "ENODEV", [EINVAL] = "EINVAL",
		[ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOTTY] = "ENOTTY",
		[EFBIG] = "EFBIG", [ENOSPC] = "ENOSPC", [ESPIPE] = "ESPIPE",
		[EPIPE] = "EPIPE", [ENOSYS] = "ENOSYS", [ENOBUFS] = "ENOBUFS",
		[EOPNOTSUPP] = "EOPNOTSUPP", [ECONNRESET] = "ECONNRESET",
		[ETIMEDOUT] = "ETIMEDOUT",
	};
	static __thread char buf[16];

	if (e > 0 && e < NERR && names[e])
		return names[e];
	snprintf(buf, sizeof(buf), "E%d", e);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Checking results.                                                  */

/* Print a failure, unless this process has printed too many already. */
static bool may_report(void)
{
	unsigned long n;

	if (!ST)
		return true;
	n = __atomic_fetch_add(&ST->reports, 1, __ATOMIC_RELAXED);
	if (n == MAX_REPORTS)
		out("# p%d: further failure reports suppressed (still counted)", P.idx);
	return n < MAX_REPORTS;
}

static bool errno_ok(int call, int e)
{
	int i;

	if (O.inject && e == ENOMEM)
		return true;
	for (i = 0; i < (int)ARRAY_SIZE(calls[call].ok) && calls[call].ok[i]; i++)
		if (calls[call].ok[i] == e)
			return true;
	return false;
}

/* Count @e from @call; complain unless it is documented for it. */
static void __attribute__((format(printf, 3, 4)))
check_err(int call, int e, const char *fmt, ...)
{
	char args[256];
	va_list ap;

	if (ST && e > 0 && e < NERR)
		inc(&ST->err[e]);
	if (O.inject && e == ENOMEM && call <= C_CLOSE)
		stat_inc(S_INJ_ENOMEM);
	if (errno_ok(call, e))
		return;
	stat_inc(S_UNEXPECTED);
	fail();
	if (!may_report())
		return;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	out("# unexpected errno %s from %s %s [%s]", ename(e),
	    calls[call].name, args, t_who);
}

/* A documented result that did not hold. */
static void __attribute__((format(printf, 1, 2))) semantic(const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	stat_inc(S_SEMANTIC);
	fail();
	if (!may_report())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	out("# semantic: %s [%s]", msg, t_who);
}

/* What this thread is doing, for the watchdog. */
static void __attribute__((format(printf, 2, 3))) note(const char *op, const char *fmt, ...)
{
	struct tslot *t = t_slot;
	va_list ap;

	if (!t)
		return;
	snprintf(t->op, sizeof(t->op), "%s", op);
	va_start(ap, fmt);
	vsnprintf(t->args, sizeof(t->args), fmt, ap);
	va_end(ap);
}

static void bump(void)
{
	if (t_slot)
		__atomic_fetch_add(&t_slot->progress, 1, __ATOMIC_RELAXED);
}

/* Messages read by somebody who may not serve them: have handlers wake. */
static void mark_lost(void)
{
	P.lost_until = now_ms() + 2000;
}

/* ------------------------------------------------------------------ */
/* Fault injection around userfaultfd calls.                          */

static void inj(bool on)
{
	int i;

	if (t_mif < 0)
		return;
	/* Turning it off must not fail, or page faults would be injected. */
	for (i = 0; i < 100; i++)
		if (write(t_mif, on ? "1" : "0", 1) == 1)
			break;
	if (on)
		stat_inc(S_INJECTED);
}

static long xioctl(int fd, unsigned long cmd, void *arg)
{
	long rc;
	int e;

	inj(true);
	rc = ioctl(fd, cmd, arg);
	e = errno;
	inj(false);
	errno = e;
	return rc;
}

static ssize_t u_read(int fd, void *buf, size_t count)
{
	ssize_t n;
	int e;

	inj(true);
	n = read(fd, buf, count);
	e = errno;
	inj(false);
	errno = e;
	return n;
}

static void u_close(int fd)
{
	int rc, e;

	inj(true);
	rc = close(fd);
	e = errno;
	inj(false);
	if (rc)
		check_err(C_CLOSE, e, "fd=%d", fd);
}

/* userfaultfd(2) or USERFAULTFD_IOC_NEW; -1 with errno on failure. */
static int u_create(int flags, bool dev)
{
	int fd, e;

	inj(true);
	if (dev && P.devfd >= 0)
		fd = ioctl(P.devfd, USERFAULTFD_IOC_NEW, flags);
	else
		fd = syscall(__NR_userfaultfd, flags);
	e = errno;
	inj(false);
	if (fd < 0)
		check_err(dev && P.devfd >= 0 ? C_DEVNEW : C_CREATE, e,
			  "flags=%#x", flags);
	errno = e;
	return fd;
}

/* ------------------------------------------------------------------ */
/* The userfaultfd ioctls, with their documented results checked.     */

static void *bad_ptr(int sel)
{
	switch (sel) {
	case 1:
		return NULL;
	case 2:
		return P.badpage;
	case 3:
		return (void *)0xffff888000000000UL;
	default:	/* straddles into a PROT_NONE page */
		return t_edge ? t_edge + PG - 8 : P.badpage;
	}
}

static int u_api(int fd, uint64_t api, uint64_t features, int bad,
		 bool must_fail, uint64_t *got)
{
	struct uffdio_api a = { .api = api, .features = features, .ioctls = 0x5a5a };
	long rc = xioctl(fd, UFFDIO_API, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;

	if (!e) {
		if (must_fail)
			semantic("UFFDIO_API api=%#" PRIx64 " features=%#" PRIx64 " bad=%d succeeded",
				 api, features, bad);
		if (a.ioctls != UFFD_API_IOCTLS)
			semantic("UFFDIO_API ioctls %#llx", (unsigned long long)a.ioctls);
		if ((a.features & features) != features)
			semantic("UFFDIO_API features %#llx lack requested %#" PRIx64,
				 (unsigned long long)a.features, features);
		if (got)
			*got = a.features;
		return 0;
	}
	check_err(C_API, e, "fd=%d api=%#" PRIx64 " features=%#" PRIx64 " bad=%d",
		  fd, api, features, bad);
	/* A refusal must not tell which features exist. */
	if (!bad && (e == EINVAL || e == EPERM) && (a.api || a.features || a.ioctls))
		semantic("UFFDIO_API failed with %s without zeroing the structure",
			 ename(e));
	return e;
}

static void check_reg_ioctls(uint64_t ioctls, uint64_t mode)
{
	uint64_t need = 1ULL << _UFFDIO_WAKE | 1ULL << _UFFDIO_COPY;
	bool wp = ioctls & 1ULL << _UFFDIO_WRITEPROTECT;
	bool cont = ioctls & 1ULL << _UFFDIO_CONTINUE;

	if ((ioctls & need) != need || (ioctls & ~(uint64_t)UFFD_API_RANGE_IOCTLS))
		semantic("UFFDIO_REGISTER ioctls %#" PRIx64, ioctls);
	if (wp != !!(mode & UFFDIO_REGISTER_MODE_WP))
		semantic("UFFDIO_REGISTER mode %#" PRIx64 " ioctls %#" PRIx64 ": WRITEPROTECT bit",
			 mode, ioctls);
	if (cont != !!(mode & UFFDIO_REGISTER_MODE_MINOR))
		semantic("UFFDIO_REGISTER mode %#" PRIx64 " ioctls %#" PRIx64 ": CONTINUE bit",
			 mode, ioctls);
}

static int u_register(int fd, unsigned long start, unsigned long len,
		      uint64_t mode, int bad, bool must_fail)
{
	struct uffdio_register a = { .range = { start, len }, .mode = mode };
	long rc = xioctl(fd, UFFDIO_REGISTER, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;

	if (e) {
		check_err(C_REGISTER, e, "fd=%d [%#lx+%#lx] mode=%#" PRIx64 " bad=%d",
			  fd, start, len, mode, bad);
		return e;
	}
	if (must_fail)
		semantic("UFFDIO_REGISTER [%#lx+%#lx] mode=%#" PRIx64 " bad=%d succeeded",
			 start, len, mode, bad);
	else
		check_reg_ioctls(a.ioctls, mode);
	return 0;
}

/* UFFDIO_UNREGISTER and UFFDIO_WAKE take a bare range. */
static int u_range(int call, unsigned long cmd, int fd, unsigned long start,
		   unsigned long len, int bad, bool must_fail)
{
	struct uffdio_range a = { start, len };
	long rc = xioctl(fd, cmd, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;

	if (e) {
		check_err(call, e, "fd=%d [%#lx+%#lx] bad=%d", fd, start, len, bad);
		return e;
	}
	if (must_fail)
		semantic("%s [%#lx+%#lx] bad=%d succeeded", calls[call].name,
			 start, len, bad);
	if (call == C_WAKE)
		stat_inc(S_WAKE);
	return 0;
}

static int u_wake(int fd, unsigned long start, unsigned long len, int bad,
		  bool must_fail)
{
	return u_range(C_WAKE, UFFDIO_WAKE, fd, start, len, bad, must_fail);
}

/*
 * The result field of COPY, ZEROPAGE and CONTINUE: the length on success,
 * the negated errno when nothing was done, the progress on a partial
 * EAGAIN.
 */
static void check_result(int call, long long res, int e, unsigned long len)
{
	if (!e && res != (long long)len)
		semantic("%s returned 0 with result %lld for len %#lx",
			 calls[call].name, res, len);
	if ((e == EEXIST || e == ENOENT) && res != -e)
		semantic("%s failed with %s with result %lld",
			 calls[call].name, ename(e), res);
	if (e == EAGAIN && res != -EAGAIN &&
	    !(res > 0 && res < (long long)len && !(res % PG)))
		semantic("%s failed with EAGAIN with result %lld for len %#lx",
			 calls[call].name, res, len);
}

/*
 * The tail of every fill call: the errno against the call's allowed set,
 * a success that had to fail, the statistics and the result field (@res,
 * when the call reached the kernel with a readable argument).  @args
 * describes the call for the messages.
 */
static int fill_done(int call, int stat, int e, bool must_fail, int bad,
		     long long res, unsigned long len, const char *args)
{
	if (e)
		check_err(call, e, "%s", args);
	else if (must_fail)
		semantic("%s %s succeeded", calls[call].name, args);
	else
		stat_inc(stat);
	if (!bad && !must_fail)
		check_result(call, res, e, len);
	return e;
}

static int u_copy(int fd, unsigned long dst, unsigned long src,
		  unsigned long len, uint64_t mode, int bad, bool must_fail)
{
	struct uffdio_copy a = { dst, src, len, mode, RESULT_SENTINEL };
	long rc = xioctl(fd, UFFDIO_COPY, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;
	char args[160];

	snprintf(args, sizeof(args),
		 "fd=%d dst=%#lx src=%#lx len=%#lx mode=%#" PRIx64 " bad=%d",
		 fd, dst, src, len, mode, bad);
	return fill_done(C_COPY, S_COPY, e, must_fail, bad, a.copy, len, args);
}

/*
 * UFFDIO_ZEROPAGE and UFFDIO_CONTINUE take the same argument: a range, a
 * mode and a result field.
 */
static int u_range_fill(int fd, int call, int stat, unsigned long start,
			unsigned long len, uint64_t mode, int bad,
			bool must_fail)
{
	struct uffdio_zeropage a = { { start, len }, mode, RESULT_SENTINEL };
	unsigned long req = call == C_ZEROPAGE ? UFFDIO_ZEROPAGE :
						  UFFDIO_CONTINUE;
	long rc = xioctl(fd, req, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;
	char args[128];

	snprintf(args, sizeof(args), "fd=%d [%#lx+%#lx] mode=%#" PRIx64 " bad=%d",
		 fd, start, len, mode, bad);
	return fill_done(call, stat, e, must_fail, bad, a.zeropage, len, args);
}

static int u_zeropage(int fd, unsigned long start, unsigned long len,
		      uint64_t mode, int bad, bool must_fail)
{
	return u_range_fill(fd, C_ZEROPAGE, S_ZEROPAGE, start, len, mode, bad,
			    must_fail);
}

static int u_continue(int fd, unsigned long start, unsigned long len,
		      uint64_t mode, int bad, bool must_fail)
{
	_Static_assert(sizeof(struct uffdio_continue) ==
		       sizeof(struct uffdio_zeropage) &&
		       offsetof(struct uffdio_continue, mapped) ==
		       offsetof(struct uffdio_zeropage, zeropage),
		       "UFFDIO_CONTINUE's argument is UFFDIO_ZEROPAGE's");
	return u_range_fill(fd, C_CONTINUE, S_CONTINUE, start, len, mode, bad,
			    must_fail);
}

static int u_wp(int fd, unsigned long start, unsigned long len,
		uint64_t mode, int bad, bool must_fail)
{
	struct uffdio_writeprotect a = { { start, len }, mode };
	long rc = xioctl(fd, UFFDIO_WRITEPROTECT, bad ? bad_ptr(bad) : &a);
	int e = rc < 0 ? errno : 0;

	if (e)
		check_err(C_WRITEPROTECT, e, "fd=%d [%#lx+%#lx] mode=%#" PRIx64 " bad=%d",
			  fd, start, len, mode, bad);
	else if (must_fail)
		semantic("UFFDIO_WRITEPROTECT [%#lx+%#lx] mode=%#" PRIx64 " bad=%d succeeded",
			 start, len, mode, bad);
	else if (!(mode & UFFDIO_WRITEPROTECT_MODE_WP))
		stat_inc(S_WP_CLEAR);
	return e;
}

/* ------------------------------------------------------------------ */
/* Guarded memory accesses.                                           */

static void on_fault_signal(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] = "# fatal: fault outside a guarded access\n";

	if (!t_armed) {
		/* Our own bug: die of it, visibly. */
		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(99);
		signal(sig, SIG_DFL);
		return;
	}
	t_armed = 0;
	t_sig = sig;
	siglongjmp(t_jb, 1);
}

static void on_kick(int sig)
{
	/* Only interrupts a handler's read(); nothing to do. */
}

static void on_interrupt(int sig)
{
	interrupted = 1;
}

/*
 * Run @fn, which touches memory that may be unmapped, protected or
 * registered with a SIGBUS context: 0, or the signal that stopped it.
 */
static int guarded(void (*fn)(void *), void *arg)
{
	if (sigsetjmp(t_jb, 1)) {
		t_armed = 0;
		stat_inc(t_sig == SIGBUS ? S_SIGBUS : S_SEGV);
		return t_sig;
	}
	t_sig = 0;
	t_armed = 1;
	fn(arg);
	t_armed = 0;
	return 0;
}

struct touch {
	unsigned long addr, step, n;
	bool write;
	uint64_t val;
};

static void touch_fn(void *arg)
{
	struct touch *t = arg;
	unsigned long i;

	for (i = 0; i < t->n; i++) {
		volatile uint64_t *p = (volatile uint64_t *)(t->addr + i * t->step);

		if (t->write)
			*p = t->val + i;
		else
			(void)*p;
	}
}

/* Touch up to 8 words spread over [start, start + len). */
static void touch_range(unsigned long start, unsigned long len, bool write,
			uint64_t val)
{
	struct touch t = { .write = write, .val = val };

	t.n = len / PG;
	if (!t.n)
		return;
	t.step = PG;
	if (t.n > 8) {
		t.step = (len / 8) & ~7UL;
		t.n = 8;
	}
	t.addr = start + ((val % PG) & ~7UL);
	guarded(touch_fn, &t);
}

struct vcheck {
	unsigned long page;
	long bad;
	uint64_t got;
};

static void verify_fn(void *arg)
{
	struct vcheck *v = arg;
	const volatile uint64_t *p = (const volatile uint64_t *)v->page;
	unsigned long i;

	for (i = 0; i < PG / 8; i++) {
		uint64_t x = p[i];

		if (x != pattern(v->page + 8 * i, 0)) {
			v->bad = i;
			v->got = x;
			return;
		}
	}
}

/* Bytes the kernel read from the verify region for us. */
static void verify_bytes(const char *how, unsigned long addr, const char *buf,
			 size_t n)
{
	size_t off;

	for (off = 0; off + 8 <= n; off += 8) {
		uint64_t v;

		memcpy(&v, buf + off, 8);
		if (v != pattern(addr + off, 0)) {
			semantic("%s of verify %#lx: got %#" PRIx64 " expected %#" PRIx64,
				 how, addr + off, v, pattern(addr + off, 0));
			return;
		}
	}
	stat_add(S_VERIFIED, n / 8);
}

/* ------------------------------------------------------------------ */
/* Regions.                                                           */

static char *rbase(int r)
{
	return P.arena + (unsigned long)r * SLOT_STRIDE;
}

static unsigned long rpg(int r)
{
	return RD[r].huge ? HPG : PG;
}

static int region_of(unsigned long a)
{
	unsigned long base = (unsigned long)P.arena;
	int r;

	if (a < base || a >= base + NREG * SLOT_STRIDE)
		return -1;
	r = (a - base) / SLOT_STRIDE;
	return a - (unsigned long)rbase(r) < RD[r].len ? r : -1;
}

/* (Re)create region @r in its slot; MAP_FAILED with errno on failure. */
static void *map_region(int r)
{
	int flags = MAP_FIXED, fd = -1;
	void *p;

	switch (r) {
	case R_SHM:
	case R_SHM_ALIAS:
		flags |= MAP_SHARED;
		fd = P.shmfd;
		break;
	case R_SHM_PRIV:
		flags |= MAP_PRIVATE;
		fd = P.shmfd;
		break;
	case R_SHANON:
		flags |= MAP_SHARED | MAP_ANONYMOUS;
		break;
	case R_HUGE_PRIV:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
		break;
	case R_HUGE_SHM:
		flags |= MAP_SHARED;
		fd = P.hugefd;
		break;
	default:
		flags |= MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	}
	p = mmap(rbase(r), RD[r].len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p != MAP_FAILED && r == R_THP && madvise(p, RD[r].len, MADV_HUGEPAGE))
		check_err(C_MADVISE, errno, "%p MADV_HUGEPAGE", p);
	return p;
}

/* ------------------------------------------------------------------ */
/* Operations: generation (pure) and formatting.                      */

struct op {
	int kind;
	int region;
	int ctx;
	int variant;		/* 0-9: valid range; 10-15: odd (gen_range) */
	int bad;		/* nonzero: bad argument pointer selector */
	unsigned long start, len;
	uint64_t mode;		/* mode, flags, prot or advice selector */
	uint64_t x;		/* more random bits, per op */
};

/*
 * Ranges that every userfaultfd operation refuses with EINVAL: unaligned,
 * empty, wrapping, below vm.mmap_min_addr or in the kernel's half.
 */
static bool range_invalid(const struct op *o)
{
	switch (o->variant) {
	case 10:
	case 11:
	case 13:
		return true;
	case 14:
		return (long)o->start < 0 || o->start < mmap_min;
	default:
		return false;
	}
}

/*
 * A range for region @r.  Variants 0-9 are whole pages inside the region
 * (9 in the THP region: one or both of its huge pages); 10: unaligned start; 11: zero length; 12: runs off the end into the gap;
 * 13: wraps around the end of the address space; 14: null or kernel
 * address; 15: spans the region, its gap and the next region.
 */
static void gen_range(int r, int v, uint64_t a, uint64_t b,
		      unsigned long *start, unsigned long *len)
{
	static const unsigned long wild[] = {
		0, 0xffff888000000000UL, 0xffffffff80000000UL
	};
	unsigned long base = (unsigned long)rbase(r), rl = RD[r].len;
	unsigned long pg = rpg(r), np = rl / pg, i = a % np;
	unsigned long cap = pg == PG ? 16 : 2;	/* pages in a valid range */
	unsigned long maxn = np - i < cap ? np - i : cap;

	/* Whole huge pages of the THP region: fills map huge pages. */
	if (v == 9 && r == R_THP) {
		*start = base + (a & 1) * HPG;
		*len = a & 1 ? HPG : HPG * (1 + (b & 1));
		return;
	}
	switch (v) {
	case 10:
		*start = base + i * pg + 1 + b % (PG - 1);
		*len = PG * (1 + (b >> 12) % 4);
		break;
	case 11:
		*start = base + i * pg;
		*len = 0;
		break;
	case 12:
		*start = base + rl - pg;
		*len = pg + PG * (1 + b % 512);
		break;
	case 13:
		*start = -(PG * (1 + a % 4));
		*len = PG * 8;
		break;
	case 14:
		*start = wild[a % ARRAY_SIZE(wild)];
		*len = PG * (1 + b % 4);
		break;
	case 15:
		*start = base - PG * (1 + a % 16);
		*len = rl + SLOT_STRIDE;
		break;
	default:
		*start = base + i * pg;
		*len = (1 + b % maxn) * pg;
		break;
	}
}

static int pick_kind(uint64_t r)
{
	unsigned int total = 0, k;
	int i;

	for (i = 0; i < NOPS; i++)
		total += op_weights[i];
	k = r % total;
	for (i = 0; i < NOPS; i++) {
		if (k < op_weights[i])
			return i;
		k -= op_weights[i];
	}
	return OP_TOUCH_R;
}

/* Per-kind constraints on the target; still only a function of @r. */
static void shape_op(struct op *o, const uint64_t *r)
{
	static const int remap_regions[] = { R_ANON, R_THP, R_SHM, R_SHANON };
	static const int falloc_regions[] = { R_SHM, R_SHM_PRIV, R_SHM_ALIAS, R_HUGE_SHM };
	bool to_verify = (r[7] >> 56) % 8 == 0;

	switch (o->kind) {
	case OP_TOUCH_R:
	case OP_PIPE_OUT:
	case OP_VM_READ:
	case OP_MEM_READ:
		if (to_verify)
			o->region = R_VERIFY;
		o->variant %= 10;
		break;
	case OP_VERIFY:
		o->region = R_VERIFY;
		o->variant %= 10;
		break;
	case OP_TOUCH_W:
	case OP_PIPE_IN:
	case OP_VM_WRITE:
	case OP_MEM_WRITE:
	case OP_FORK:
		o->variant %= 10;
		break;
	case OP_COPY:
		if (to_verify) {
			o->region = R_VERIFY;
			o->ctx = 0;
			o->variant %= 10;
			o->bad = 0;
		}
		break;
	case OP_WAKE:
		if (to_verify) {
			o->region = R_VERIFY;
			o->ctx = 0;
		}
		break;
	case OP_MREMAP:
		o->region = remap_regions[r[1] % ARRAY_SIZE(remap_regions)];
		break;
	case OP_MREMAP_DU:
		o->region = r[1] & 1 ? R_ANON : R_THP;
		break;
	case OP_FALLOCATE:
		o->region = falloc_regions[r[1] % ARRAY_SIZE(falloc_regions)];
		break;
	case OP_API:
	case OP_READ:
	case OP_POLL:
	case OP_EPOLL:
	case OP_FDINFO:
	case OP_SCM:
		o->ctx = r[2] % NCTX;
		o->variant %= 10;
		break;
	}
}

/* The next operation of a stream: a fixed 8 draws, nothing else. */
static void gen_op(uint64_t *rng, struct op *o)
{
	uint64_t r[8];
	int i;

	for (i = 0; i < 8; i++)
		r[i] = rnd(rng);
	memset(o, 0, sizeof(*o));
	o->kind = pick_kind(r[0]);
	o->region = 1 + r[1] % (NREG - 1);
	o->ctx = 1 + r[2] % (NCTX - 1);
	o->variant = r[3] % 16;
	o->bad = (r[3] >> 8) % 24 == 0 ? 1 + (r[3] >> 16) % 4 : 0;
	o->mode = r[6];
	o->x = r[7];
	shape_op(o, r);
	gen_range(o->region, o->variant, r[4], r[5], &o->start, &o->len);
}

static void fmt_op(const struct op *o, char *buf, size_t n)
{
	snprintf(buf, n, "%s ctx=%d v=%d bad=%d [%#lx+%#lx] mode=%#" PRIx64 " x=%#" PRIx64,
		 RD[o->region].name, o->ctx, o->variant, o->bad, o->start,
		 o->len, o->mode, o->x);
}

/* ------------------------------------------------------------------ */
/* Serving messages: handlers, and workers that stole them.           */

struct hstate;

struct server {
	uint64_t *rng;
	char *page;		/* PG bytes of scratch for fill content */
	unsigned int gen;
	uint64_t features;
	bool kid;		/* a forked child's context */
	struct hstate *h;	/* adopts fork descriptors; NULL: close them */
};

struct kid {
	int fd;
	unsigned long until;	/* ms */
	bool serve;
};

struct hstate {
	struct ctx *c;
	struct kid kids[MAX_KIDS];
	int nkids;
	unsigned long next_sweep;
};

static bool all_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* The documented layout of a message. */
static void check_msg(const struct server *sv, const struct uffd_msg *m)
{
	const unsigned char *arg = (const unsigned char *)&m->arg;
	static const struct { int ev; uint64_t feat; } need[] = {
		{ UFFD_EVENT_FORK, UFFD_FEATURE_EVENT_FORK },
		{ UFFD_EVENT_REMAP, UFFD_FEATURE_EVENT_REMAP },
		{ UFFD_EVENT_REMOVE, UFFD_FEATURE_EVENT_REMOVE },
		{ UFFD_EVENT_UNMAP, UFFD_FEATURE_EVENT_UNMAP },
	};
	unsigned int i;

	if (m->reserved1 || m->reserved2 || m->reserved3)
		semantic("message %#x: reserved bytes not zero", m->event);
	for (i = 0; i < ARRAY_SIZE(need); i++)
		if (m->event == need[i].ev && !(sv->features & need[i].feat))
			semantic("event %#x without its feature (features %#" PRIx64 ")",
				 m->event, sv->features);
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT: {
		uint64_t fl = m->arg.pagefault.flags;

		if (sv->features & UFFD_FEATURE_SIGBUS)
			semantic("fault message on a SIGBUS context");
		if (fl & ~7ULL || (fl & UFFD_PAGEFAULT_FLAG_WP &&
				   !(fl & UFFD_PAGEFAULT_FLAG_WRITE)))
			semantic("fault flags %#" PRIx64, fl);
		if (!(sv->features & UFFD_FEATURE_THREAD_ID) && m->arg.pagefault.feat.ptid)
			semantic("ptid %u without THREAD_ID", m->arg.pagefault.feat.ptid);
		if (!(sv->features & UFFD_FEATURE_EXACT_ADDRESS) &&
		    m->arg.pagefault.address & (PG - 1))
			semantic("fault address %#llx not page aligned",
				 (unsigned long long)m->arg.pagefault.address);
		if (!all_zero(arg + 20, 4))
			semantic("fault message: trailing bytes not zero");
		break;
	}
	case UFFD_EVENT_FORK:
		if (!all_zero(arg + 4, 20))
			semantic("fork message: trailing bytes not zero");
		break;
	case UFFD_EVENT_REMAP:
		break;
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		if (m->arg.remove.start >= m->arg.remove.end ||
		    (m->arg.remove.start | m->arg.remove.end) & (PG - 1) ||
		    !all_zero(arg + 16, 8))
			semantic("event %#x range %#llx-%#llx", m->event,
				 (unsigned long long)m->arg.remove.start,
				 (unsigned long long)m->arg.remove.end);
		break;
	default:
		semantic("unknown event %#x", m->event);
	}
}

/* A missing page: fill it, in a way the handler's dice choose. */
static int fill_missing(struct server *sv, int fd, int r, unsigned long page,
			unsigned long pg, uint64_t pick, bool dontwake)
{
	uint64_t mode = dontwake ? UFFDIO_COPY_MODE_DONTWAKE : 0;
	int e;

	if (pg == HPG)
		return u_copy(fd, page, (unsigned long)P.srcbuf, HPG, mode, 0, false);
	if (r == R_VERIFY && !sv->kid) {
		fill_pattern(sv->page, page, 0);
		return u_copy(fd, page, (unsigned long)sv->page, PG, mode, 0, false);
	}
	if ((pick >> 4) % 4 == 0)
		return u_zeropage(fd, page, PG, dontwake ?
				  UFFDIO_ZEROPAGE_MODE_DONTWAKE : 0, 0, false);
	fill_pattern(sv->page, page, sv->gen);
	if ((pick >> 4) % 4 == 1) {
		e = u_copy(fd, page, (unsigned long)sv->page, PG,
			   mode | UFFDIO_COPY_MODE_WP, 0, false);
		/* EINVAL: not registered for WP; fill it plainly. */
		if (e != EINVAL)
			return e;
	}
	return u_copy(fd, page, (unsigned long)sv->page, PG, mode, 0, false);
}

/* Resolve one fault; whatever happens, the faulting thread is woken. */
static void resolve_fault(struct server *sv, int fd, unsigned long addr,
			  uint64_t flags)
{
	int r = region_of(addr);
	unsigned long pg = r >= 0 && RD[r].huge ? HPG : PG;
	unsigned long page = addr & ~(pg - 1);
	uint64_t pick = rnd(sv->rng);
	bool dontwake = (pick & 3) == 0;
	int e;

	note("serve", "addr=%#lx flags=%#" PRIx64, addr, flags);
	if (flags & UFFD_PAGEFAULT_FLAG_MINOR)
		e = u_continue(fd, page, pg, dontwake ?
			       UFFDIO_CONTINUE_MODE_DONTWAKE : 0, 0, false);
	else if (flags & UFFD_PAGEFAULT_FLAG_WP)
		e = u_wp(fd, page, pg, dontwake ?
			 UFFDIO_WRITEPROTECT_MODE_DONTWAKE : 0, 0, false);
	else
		e = fill_missing(sv, fd, r, page, pg, pick, dontwake);
	if (e || dontwake)
		u_wake(fd, page, pg, 0, false);
}

static void kid_add(struct hstate *h, int fd, uint64_t pick)
{
	struct kid *k = &h->kids[h->nkids++];
	int fl = fcntl(fd, F_GETFL);

	k->fd = fd;
	k->until = now_ms() + 10 + pick % 90;
	/* A blocking descriptor cannot be polled: only hold it. */
	k->serve = fl >= 0 && (fl & O_NONBLOCK) && (pick >> 8) & 1;
	stat_inc(S_KID_FDS);
}

static void adopt_fork_fd(struct server *sv, int ufd)
{
	uint64_t pick = rnd(sv->rng);

	if (ufd < 0 || fcntl(ufd, F_GETFD) < 0) {
		semantic("fork message with descriptor %d that is not open", ufd);
		return;
	}
	if (sv->h && sv->h->nkids < MAX_KIDS && pick & 1)
		kid_add(sv->h, ufd, pick >> 1);
	else
		u_close(ufd);
}

static void serve_msg(struct server *sv, int fd, const struct uffd_msg *m)
{
	check_msg(sv, m);
	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		stat_inc(S_MSG_FAULT);
		if (!(sv->features & UFFD_FEATURE_SIGBUS))
			resolve_fault(sv, fd, m->arg.pagefault.address,
				      m->arg.pagefault.flags);
		break;
	case UFFD_EVENT_FORK:
		stat_inc(S_MSG_FORK);
		adopt_fork_fd(sv, m->arg.fork.ufd);
		break;
	case UFFD_EVENT_REMAP:
		stat_inc(S_MSG_REMAP);
		break;
	case UFFD_EVENT_REMOVE:
		stat_inc(S_MSG_REMOVE);
		break;
	case UFFD_EVENT_UNMAP:
		stat_inc(S_MSG_UNMAP);
		break;
	}
}

static void serve_buf(struct server *sv, int fd, const char *buf, ssize_t n)
{
	struct uffd_msg m;
	ssize_t off;

	for (off = 0; off + (ssize_t)sizeof(m) <= n; off += sizeof(m)) {
		memcpy(&m, buf + off, sizeof(m));
		serve_msg(sv, fd, &m);
	}
}

/* Read a random number of messages with an odd buffer size; serve them. */
static void read_and_serve(struct server *sv, int fd)
{
	char buf[9 * sizeof(struct uffd_msg)];
	uint64_t r = rnd(sv->rng);
	size_t count = sizeof(struct uffd_msg) * (1 + r % 8);
	ssize_t n;

	if ((r >> 3) % 4 == 0)
		count += (r >> 5) % 32;
	if ((r >> 10) % 64 == 0)
		count = (r >> 16) % 32;
	note("read", "fd=%d count=%zu", fd, count);
	n = u_read(fd, buf, count);
	if (count < sizeof(struct uffd_msg)) {
		if (n >= 0 || (errno != EINVAL && !(O.inject && errno == ENOMEM)))
			semantic("read of %zu bytes: %zd, %s (expected EINVAL)",
				 count, n, n < 0 ? ename(errno) : "no error");
		return;
	}
	if (n < 0) {
		check_err(C_READ, errno, "fd=%d count=%zu", fd, count);
		return;
	}
	if (n % sizeof(struct uffd_msg) || (size_t)n > count)
		semantic("read of %zu bytes returned %zd", count, n);
	serve_buf(sv, fd, buf, n);
}

/* ------------------------------------------------------------------ */
/* Handler threads.                                                   */

static void thread_init(int slot, int kind, const char *name)
{
	if (!ST)
		return;
	t_slot = &ST->t[slot];
	snprintf(t_who, sizeof(t_who), "p%d/%s", P.idx, name);
	snprintf(t_slot->name, sizeof(t_slot->name), "%s", name);
	t_slot->kind = kind;
	t_slot->active = 1;
	if (fi_on)
		t_mif = open("/proc/thread-self/make-it-fail", O_WRONLY | O_CLOEXEC);
}

static void thread_done(void)
{
	if (t_slot)
		t_slot->active = 0;
	if (t_mif >= 0)
		close(t_mif);
	t_mif = -1;
}

static void kids_expire(struct hstate *h, bool all)
{
	unsigned long now = now_ms();
	int i;

	for (i = 0; i < h->nkids; ) {
		if (all || now >= h->kids[i].until) {
			u_close(h->kids[i].fd);
			h->kids[i] = h->kids[--h->nkids];
		} else {
			i++;
		}
	}
}

/* Serve the children's contexts that are ready, waiting at most @ms. */
static void kids_poll(struct hstate *h, struct server *sv, int ms)
{
	struct pollfd pfd[MAX_KIDS];
	struct server ksv = *sv;
	int i, n = 0, rc;

	for (i = 0; i < h->nkids; i++)
		if (h->kids[i].serve)
			pfd[n++] = (struct pollfd){ h->kids[i].fd, POLLIN, 0 };
	if (!n)
		return;
	rc = poll(pfd, n, ms);
	if (rc < 0) {
		check_err(C_POLL, errno, "kids n=%d", n);
		return;
	}
	ksv.kid = true;
	ksv.h = NULL;
	for (i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN)
			read_and_serve(&ksv, pfd[i].fd);
}

/*
 * Wake the whole of every region now and then, after messages may have
 * been read by somebody who could not serve them: woken threads fault
 * again and queue a new message.
 */
static void sweep(struct hstate *h)
{
	unsigned long now = now_ms();
	int r;

	if (now >= P.lost_until || now < h->next_sweep)
		return;
	h->next_sweep = now + 50;
	for (r = 0; r < NREG; r++)
		if (P.avail[r])
			u_wake(h->c->fd, (unsigned long)rbase(r), RD[r].len, 0, false);
}

/*
 * Close the descriptor on request, with faults maybe parked on it.  Only
 * when nobody uses it (context write lock) and no fork is in progress
 * (fork lock): a child forked with the descriptor would keep alive a
 * context whose fork event nobody reads.
 */
static bool handler_close(struct hstate *h)
{
	struct ctx *c = h->c;

	if (pthread_rwlock_trywrlock(&P.fork_lock))
		return false;
	if (pthread_rwlock_trywrlock(&c->lock)) {
		pthread_rwlock_unlock(&P.fork_lock);
		return false;
	}
	note("close", "fd=%d", c->fd);
	kids_expire(h, true);
	u_close(c->fd);
	c->fd = -1;
	c->state = CTX_DEAD;
	pthread_rwlock_unlock(&c->lock);
	pthread_rwlock_unlock(&P.fork_lock);
	return true;
}

/* Teardown: the workers are gone, nobody else holds the lock for long. */
static void handler_shutdown(struct hstate *h)
{
	struct ctx *c = h->c;
	struct timespec ts;

	kids_expire(h, true);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 2;
	if (pthread_rwlock_timedwrlock(&c->lock, &ts)) {
		out("# %s: could not take the context lock to close it", t_who);
		fail();
		return;
	}
	u_close(c->fd);
	c->fd = -1;
	c->state = CTX_DEAD;
	pthread_rwlock_unlock(&c->lock);
}

static void handler_wait(struct hstate *h, struct server *sv)
{
	struct ctx *c = h->c;
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int rc;

	if (!(c->flags & O_NONBLOCK)) {
		/* poll() says POLLERR here: read, and be kicked out of it. */
		c->in_read = 1;
		read_and_serve(sv, c->fd);
		c->in_read = 0;
		kids_poll(h, sv, 0);
		return;
	}
	note("poll", "fd=%d", c->fd);
	rc = poll(&pfd, 1, h->nkids ? 1 : POLL_MS);
	if (rc < 0) {
		check_err(C_POLL, errno, "fd=%d", c->fd);
		return;
	}
	if (pfd.revents & POLLNVAL)
		semantic("handler's descriptor %d is not open", c->fd);
	if (pfd.revents & POLLIN)
		read_and_serve(sv, c->fd);
	kids_poll(h, sv, 0);
}

static void *handler_main(void *arg)
{
	struct ctx *c = arg;
	struct hstate h = { .c = c };
	char page[PG] __attribute__((aligned(64)));
	char name[16];
	uint64_t rng = seed_of(P.idx, 0x100000UL + c->idx * 0x10000UL + c->gen);
	struct server sv = {
		.rng = &rng, .page = page, .gen = c->gen,
		.features = c->features, .h = &h,
	};

	snprintf(name, sizeof(name), "h%d", c->idx);
	thread_init(1 + MAX_WORKERS + c->idx, TS_HANDLER, name);
	while (!c->stop) {
		bump();
		if (c->close_req && c->idx && handler_close(&h))
			goto out;
		sweep(&h);
		kids_expire(&h, false);
		handler_wait(&h, &sv);
	}
	handler_shutdown(&h);
out:
	thread_done();
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Creating contexts.                                                 */

static void cspec_gen(uint64_t r, uint64_t r2, bool verify, struct cspec *s)
{
	uint64_t f = 0;
	int b;

	s->dev = (r & 3) == 0;
	s->flags = (r >> 2 & 1 ? O_CLOEXEC : 0) |
		   (r >> 3 & 3 ? O_NONBLOCK : 0) |
		   ((r >> 5 & 3) == 0 ? UFFD_USER_MODE_ONLY : 0);
	for (b = 0; b <= 12; b++)
		if (r2 >> b & 1)
			f |= 1ULL << b;
	/* SIGBUS turns every touch into a signal: make it rare. */
	f &= ~(uint64_t)UFFD_FEATURE_SIGBUS;
	if (!verify && (r >> 7 & 7) == 0)
		f |= UFFD_FEATURE_SIGBUS;
	s->features = f;
	s->pre_bad = r >> 10 & 7;
	s->again = (r >> 13 & 3) == 0;
	s->badbit = 1ULL << (13 + (r >> 16) % 51);
}

/* A descriptor with its handshake done, or -1. */
static int ctx_open(const struct cspec *s, int *flags, uint64_t *features)
{
	uint64_t feat = s->features & P.supported;
	int fd, e;

	*flags = s->flags;
	fd = u_create(*flags, s->dev);
	if (fd < 0 && errno == EPERM && !(*flags & UFFD_USER_MODE_ONLY)) {
		/* Unprivileged: only user-mode faults may be handled. */
		*flags |= UFFD_USER_MODE_ONLY;
		fd = u_create(*flags, s->dev);
	}
	if (fd < 0)
		return -1;
	if (s->pre_bad == 0)
		u_api(fd, UFFD_API + 1, 0, 0, true, NULL);
	else if (s->pre_bad == 1)
		u_api(fd, UFFD_API, feat | s->badbit, 0, true, NULL);
	e = u_api(fd, UFFD_API, feat, 0, false, NULL);
	if (e == EPERM && feat & UFFD_FEATURE_EVENT_FORK) {
		feat &= ~(uint64_t)UFFD_FEATURE_EVENT_FORK;
		e = u_api(fd, UFFD_API, feat, 0, false, NULL);
	}
	if (e) {
		u_close(fd);
		return -1;
	}
	if (s->again) {
		e = u_api(fd, UFFD_API, feat, 0, true, NULL);
		if (e && e != EINVAL)
			semantic("second UFFDIO_API failed with %s, not EINVAL",
				 ename(e));
	}
	*features = feat;
	return fd;
}

/* Called with c->slot_lock held and no handler thread. */
static bool ctx_create(struct ctx *c, const struct cspec *s)
{
	pthread_attr_t attr;
	int fd, flags;
	uint64_t features;

	fd = ctx_open(s, &flags, &features);
	if (fd < 0)
		return false;
	/* Not LIVE (usable by workers) until its handler runs. */
	pthread_rwlock_wrlock(&c->lock);
	c->fd = fd;
	c->flags = flags;
	c->features = features;
	c->gen++;
	c->close_req = 0;
	c->stop = 0;
	c->in_read = 0;
	pthread_rwlock_unlock(&c->lock);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (pthread_create(&c->thread, &attr, handler_main, c)) {
		pthread_attr_destroy(&attr);
		u_close(fd);
		c->fd = -1;
		return false;
	}
	pthread_attr_destroy(&attr);
	c->have_thread = true;
	pthread_rwlock_wrlock(&c->lock);
	c->state = CTX_LIVE;
	pthread_rwlock_unlock(&c->lock);
	return true;
}

static bool join_handler(struct ctx *c, long ms)
{
	struct timespec ts;

	if (!c->have_thread)
		return true;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(c->thread, NULL, &ts))
		return false;
	c->have_thread = false;
	return true;
}

/* Take a context's descriptor for a call; NULL if it has none now. */
static struct ctx *ctx_get(int i)
{
	struct ctx *c = &P.ctx[i];

	pthread_rwlock_rdlock(&c->lock);
	if (c->state == CTX_LIVE)
		return c;
	pthread_rwlock_unlock(&c->lock);
	stat_inc(S_NO_CTX);
	return NULL;
}

static void ctx_put(struct ctx *c)
{
	pthread_rwlock_unlock(&c->lock);
}

/* Interrupt the handlers blocked in read() so they look at their flags. */
static void kick_handlers(void)
{
	int i;

	for (i = 0; i < NCTX; i++) {
		struct ctx *c = &P.ctx[i];

		if (pthread_mutex_trylock(&c->slot_lock))
			continue;
		if (c->have_thread && c->in_read)
			pthread_kill(c->thread, SIGUSR1);
		pthread_mutex_unlock(&c->slot_lock);
	}
}

/* ------------------------------------------------------------------ */
/* Worker threads.                                                    */

struct worker {
	int id;
	pthread_t thread;
	bool started;
	uint64_t rng;		/* the op stream */
	uint64_t aux;		/* result-dependent choices */
	int pipe[2];
	int ep;
	int mem;		/* /proc/self/mem */
	char *buf;		/* BUF_LEN bytes */
	char *page;		/* PG bytes of fill content */
	char *edge;		/* a page, then a PROT_NONE page */
};

static unsigned long cap_len(unsigned long len)
{
	return len < BUF_LEN / 2 ? len : BUF_LEN / 2;
}

static void drain_pipe(struct worker *w)
{
	char tmp[4096];

	while (read(w->pipe[0], tmp, sizeof(tmp)) > 0)
		;
}

static void op_touch(struct worker *w, const struct op *o, bool write)
{
	touch_range(o->start, o->len, write && o->region != R_VERIFY, o->x);
}

static void op_verify(struct worker *w, const struct op *o)
{
	unsigned long n = o->len / PG, i;

	if (!P.verify_ok)
		return;
	if (n > 4)
		n = 4;
	for (i = 0; i < n; i++) {
		struct vcheck v = { .page = o->start + i * PG, .bad = -1 };
		int sig = guarded(verify_fn, &v);

		if (sig)
			semantic("signal %d reading verify page %#lx", sig, v.page);
		else if (v.bad >= 0)
			semantic("verify page %#lx word %ld: got %#" PRIx64 " expected %#" PRIx64,
				 v.page, v.bad, v.got, pattern(v.page + 8 * v.bad, 0));
		else
			stat_add(S_VERIFIED, PG / 8);
	}
}

/* The kernel reads the area: write(2) from it into a pipe. */
static void op_pipe_out(struct worker *w, const struct op *o)
{
	unsigned long len = cap_len(o->len);
	ssize_t n, got = 0, m;

	n = write(w->pipe[1], (void *)o->start, len);
	if (n < 0)
		check_err(C_PIPE, errno, "write from %#lx+%#lx", o->start, len);
	while ((m = read(w->pipe[0], w->buf + got, BUF_LEN - got)) > 0)
		got += m;
	if (n > 0 && got != n)
		semantic("pipe returned %zd of the %zd bytes written", got, n);
	if (n > 0 && o->region == R_VERIFY && P.verify_ok)
		verify_bytes("write(2) from", o->start, w->buf, n);
}

/* The kernel writes the area: read(2) into it from a pipe. */
static void op_pipe_in(struct worker *w, const struct op *o)
{
	unsigned long len = cap_len(o->len);
	ssize_t n;

	memset(w->buf, (int)o->x, len);
	n = write(w->pipe[1], w->buf, len);
	if (n < 0) {
		check_err(C_PIPE, errno, "write %#lx bytes", len);
		return;
	}
	if (read(w->pipe[0], (void *)o->start, n) < 0)
		check_err(C_PIPE, errno, "read into %#lx+%#zx", o->start, n);
	drain_pipe(w);
}

static void op_vm_rw(struct worker *w, const struct op *o, bool write)
{
	unsigned long len = cap_len(o->len);
	struct iovec local = { w->buf, len };
	struct iovec remote = { (void *)o->start, len };
	ssize_t n;

	if (write) {
		memset(w->buf, (int)(o->x >> 8), len);
		n = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
	} else {
		n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	}
	if (n < 0)
		check_err(C_VMRW, errno, "%s %#lx+%#lx", write ? "write" : "read",
			  o->start, len);
	else if (!write && o->region == R_VERIFY && P.verify_ok)
		verify_bytes("process_vm_readv", o->start, w->buf, n);
}

static void op_procmem(struct worker *w, const struct op *o, bool write)
{
	unsigned long len = cap_len(o->len);
	ssize_t n;

	if (w->mem < 0)
		return;
	if (write) {
		memset(w->buf, (int)(o->x >> 16), len);
		n = pwrite(w->mem, w->buf, len, (off_t)o->start);
	} else {
		n = pread(w->mem, w->buf, len, (off_t)o->start);
	}
	if (n < 0)
		check_err(C_PROCMEM, errno, "%s %#lx+%#lx", write ? "pwrite" : "pread",
			  o->start, len);
	else if (!write && o->region == R_VERIFY && P.verify_ok)
		verify_bytes("/proc/self/mem", o->start, w->buf, n);
}

static void op_register(struct worker *w, const struct op *o, bool reg)
{
	static const uint64_t M = UFFDIO_REGISTER_MODE_MISSING;
	static const uint64_t W = UFFDIO_REGISTER_MODE_WP;
	static const uint64_t N = UFFDIO_REGISTER_MODE_MINOR;
	static const uint64_t modes[] = {
		M, M, M, W, N, M | W, M | N, W | N, M | W | N, 0, 1 << 3, M | 1 << 6,
	};
	uint64_t mode = modes[o->mode % ARRAY_SIZE(modes)];
	bool must_fail = o->bad || range_invalid(o);
	struct ctx *c = ctx_get(o->ctx);

	if (!c)
		return;
	if (reg)
		u_register(c->fd, o->start, o->len, mode, o->bad, must_fail ||
			   !mode || (mode & ~(uint64_t)UFFD_API_REGISTER_MODES));
	else
		u_range(C_UNREGISTER, UFFDIO_UNREGISTER, c->fd, o->start,
			o->len, o->bad, must_fail);
	ctx_put(c);
}

/* Copy the verify pattern itself: races with the handler, same content. */
static void op_copy_verify(struct worker *w, const struct op *o)
{
	unsigned long len = o->len > 4 * PG ? 4 * PG : o->len, i;
	bool dontwake = o->x >> 3 & 1;
	struct ctx *c;

	if (!P.verify_ok)
		return;
	for (i = 0; i < len; i += PG)
		fill_pattern(w->buf + i, o->start + i, 0);
	c = ctx_get(0);
	if (!c)
		return;
	u_copy(c->fd, o->start, (unsigned long)w->buf, len,
	       dontwake ? UFFDIO_COPY_MODE_DONTWAKE : 0, 0, false);
	if (dontwake && o->x >> 4 & 1)
		u_wake(c->fd, o->start, len, 0, false);
	ctx_put(c);
}

static void op_copy(struct worker *w, const struct op *o)
{
	static const uint64_t modes[] = {
		0, UFFDIO_COPY_MODE_DONTWAKE, UFFDIO_COPY_MODE_WP,
		UFFDIO_COPY_MODE_DONTWAKE | UFFDIO_COPY_MODE_WP, 1 << 2,
	};
	uint64_t mode = modes[o->mode % ARRAY_SIZE(modes)];
	int srcsel = o->x >> 3 & 7;
	unsigned long src;
	bool must_fail = o->bad || range_invalid(o) || mode >> 2;
	struct ctx *c;

	if (o->region == R_VERIFY) {
		op_copy_verify(w, o);
		return;
	}
	if (srcsel == 6) {
		src = (unsigned long)P.badpage;
		must_fail = true;
	} else if (srcsel == 7) {
		src = -PG;		/* wraps around */
		must_fail = true;
	} else {
		src = (unsigned long)P.srcbuf + (o->x >> 6) % 64 * 8;
	}
	c = ctx_get(o->ctx);
	if (!c)
		return;
	u_copy(c->fd, o->start, src, o->len, mode, o->bad, must_fail);
	if (mode & UFFDIO_COPY_MODE_DONTWAKE && o->x >> 9 & 1)
		u_wake(c->fd, o->start, o->len, 0, range_invalid(o));
	ctx_put(c);
}

static void op_zeropage(struct worker *w, const struct op *o)
{
	static const uint64_t modes[] = { 0, UFFDIO_ZEROPAGE_MODE_DONTWAKE, 1 << 1 };
	uint64_t mode = modes[o->mode % ARRAY_SIZE(modes)];
	struct ctx *c = ctx_get(o->ctx);

	if (!c)
		return;
	u_zeropage(c->fd, o->start, o->len, mode, o->bad,
		   o->bad || range_invalid(o) || mode >> 1);
	ctx_put(c);
}

static void op_wake(struct worker *w, const struct op *o)
{
	struct ctx *c = ctx_get(o->ctx);

	if (!c)
		return;
	u_wake(c->fd, o->start, o->len, o->bad, o->bad || range_invalid(o));
	ctx_put(c);
}

static void op_writeprotect(struct worker *w, const struct op *o)
{
	static const uint64_t WP = UFFDIO_WRITEPROTECT_MODE_WP;
	static const uint64_t DW = UFFDIO_WRITEPROTECT_MODE_DONTWAKE;
	static const uint64_t modes[] = { WP, WP, 0, DW, WP | DW, 1 << 2 };
	uint64_t mode = modes[o->mode % ARRAY_SIZE(modes)];
	bool must_fail = o->bad || range_invalid(o) ||
			 mode >> 2 || mode == (WP | DW);
	struct ctx *c = ctx_get(o->ctx);

	if (!c)
		return;
	u_wp(c->fd, o->start, o->len, mode, o->bad, must_fail);
	if (mode == DW && o->x & 1)
		u_wake(c->fd, o->start, o->len, 0, range_invalid(o));
	ctx_put(c);
}

static void op_continue(struct worker *w, const struct op *o)
{
	static const uint64_t modes[] = { 0, UFFDIO_CONTINUE_MODE_DONTWAKE, 1 << 1 };
	uint64_t mode = modes[o->mode % ARRAY_SIZE(modes)];
	struct ctx *c = ctx_get(o->ctx);

	if (!c)
		return;
	u_continue(c->fd, o->start, o->len, mode, o->bad,
		   o->bad || range_invalid(o) || mode >> 1);
	ctx_put(c);
}

/* UFFDIO_API on a context that made its handshake: always refused. */
static void op_api(struct worker *w, const struct op *o)
{
	struct ctx *c = ctx_get(o->ctx);
	uint64_t badbit = 1ULL << (13 + (o->x >> 2) % 51);

	if (!c)
		return;
	switch (o->x % 4) {
	case 0:
		u_api(c->fd, UFFD_API, 0, 0, true, NULL);
		break;
	case 1:
		u_api(c->fd, UFFD_API ^ (1 + (o->x >> 8) % 255), 0, 0, true, NULL);
		break;
	case 2:
		u_api(c->fd, UFFD_API, badbit, 0, true, NULL);
		break;
	default:
		u_api(c->fd, UFFD_API, 0, 1 + (o->x >> 2) % 4, true, NULL);
		break;
	}
	ctx_put(c);
}

static void op_badioctl(struct worker *w, const struct op *o)
{
	static const int call[] = { C_BADCMD, C_BADCMD, C_BADFD, C_NOTTY };
	int v = o->x % 4;
	struct ctx *c = NULL;
	long rc;

	memset(w->buf, 0, 64);
	switch (v) {
	case 0:		/* UFFDIO_MOVE's number: not in 6.1 */
	case 1:
		c = ctx_get(o->ctx);
		if (!c)
			return;
		rc = xioctl(c->fd, v ? _IO(UFFDIO, 0x3e) :
			    _IOWR(UFFDIO, 0x05, struct uffdio_copy), w->buf);
		break;
	case 2:
		rc = ioctl(BIG_FD, UFFDIO_WAKE, w->buf);
		break;
	default:
		rc = ioctl(w->pipe[0], UFFDIO_WAKE, w->buf);
		break;
	}
	if (!rc)
		semantic("%s succeeded", calls[call[v]].name);
	else
		check_err(call[v], errno, "variant %d", v);
	if (c)
		ctx_put(c);
}

static void mmap_ops(struct worker *w, const struct op *o)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE
	};
	static const int advice[] = {
		MADV_DONTNEED, MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE,
		MADV_NOHUGEPAGE, MADV_COLLAPSE, MADV_PAGEOUT, MADV_REMOVE,
	};
	void *a = (void *)o->start;
	int rc, e;

	switch (o->kind) {
	case OP_MMAP:
		if (P.avail[o->region] && map_region(o->region) == MAP_FAILED)
			check_err(C_MMAP, errno, "%s", RD[o->region].name);
		return;
	case OP_MUNMAP:
		rc = munmap(a, o->len);
		if (rc)
			check_err(C_MUNMAP, errno, "%p+%#lx", a, o->len);
		return;
	case OP_MPROTECT:
		rc = mprotect(a, o->len, prots[o->mode % ARRAY_SIZE(prots)]);
		if (rc)
			check_err(C_MPROTECT, errno, "%p+%#lx prot=%d", a, o->len,
				  prots[o->mode % ARRAY_SIZE(prots)]);
		return;
	default:
		rc = madvise(a, o->len, advice[o->mode % ARRAY_SIZE(advice)]);
		e = errno;
		if (rc)
			check_err(C_MADVISE, e, "%p+%#lx advice=%d", a, o->len,
				  advice[o->mode % ARRAY_SIZE(advice)]);
		return;
	}
}

/*
 * Move a range away (the kernel picks the place) and back to its slot:
 * MAYMOVE growing by a page, or DONTUNMAP at the same size.
 */
static void op_mremap(struct worker *w, const struct op *o, bool dontunmap)
{
	unsigned long grow = dontunmap ? 0 : PG, newlen = o->len + grow;
	int flags = MREMAP_MAYMOVE | (dontunmap ? MREMAP_DONTUNMAP : 0);
	void *old = (void *)o->start, *new, *back;

	new = mremap(old, o->len, newlen, flags);
	if (new == MAP_FAILED) {
		check_err(C_MREMAP, errno, "%p+%#lx -> %#lx flags=%#x", old,
			  o->len, newlen, flags);
		return;
	}
	if ((unsigned long)new & (PG - 1))
		semantic("mremap returned unaligned %p", new);
	if (new == old) {
		/* Grew in place, into the gap: shrink back. */
		if (mremap(old, newlen, o->len, 0) == MAP_FAILED)
			check_err(C_MREMAP, errno, "shrink %p", old);
		return;
	}
	back = mremap(new, newlen, o->len, MREMAP_MAYMOVE | MREMAP_FIXED, old);
	if (back != MAP_FAILED)
		return;
	check_err(C_MREMAP, errno, "back %p+%#lx -> %p", new, newlen, old);
	if (munmap(new, newlen))
		check_err(C_MUNMAP, errno, "%p+%#lx", new, newlen);
}

static void op_fallocate(struct worker *w, const struct op *o)
{
	int fd = o->region == R_HUGE_SHM ? P.hugefd : P.shmfd;
	long long off = (long long)(o->start - (unsigned long)rbase(o->region));

	if (fd < 0)
		return;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
		      (long long)o->len))
		check_err(C_FALLOCATE, errno, "off=%lld len=%#lx", off, o->len);
}

/* Bounded waitpid(): true when reaped. */
static bool wait_bounded(pid_t pid, long ms, int *status)
{
	unsigned long end = now_ms() + ms;
	long nap = 1;

	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			return true;
		if (now_ms() >= end)
			return false;
		sleep_ms(nap);
		if (nap < 10)
			nap++;
	}
}

/* Reap a child, killing it after its bound; false if it had to be killed. */
static bool reap_child(pid_t pid, long ms)
{
	int st;

	if (wait_bounded(pid, ms, &st))
		return true;
	stat_inc(S_CHILD_KILLED);
	kill(pid, SIGKILL);
	if (!wait_bounded(pid, 5000, &st)) {
		out("# %s: child %d survived SIGKILL for 5 s", t_who, pid);
		fail();
	}
	return false;
}

static void child_setup(void)
{
	t_mif = -1;		/* that descriptor is the parent thread's */
	t_slot = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A child parks on a userfaultfd of its own: its parent kills it. */
static void child_park(const struct op *o)
{
	unsigned long base = (unsigned long)rbase(o->region);
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { base, RD[o->region].len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	if (fd < 0) {
		check_err(C_CREATE, errno, "child flags=%#x", O_CLOEXEC | UFFD_USER_MODE_ONLY);
		return;
	}
	if (ioctl(fd, UFFDIO_API, &api))
		check_err(C_API, errno, "child");
	else if (ioctl(fd, UFFDIO_REGISTER, &reg))
		check_err(C_REGISTER, errno, "child [%#lx+%#lx]", base, RD[o->region].len);
	touch_range(o->start, o->len, o->x >> 8 & 1, o->x);
}

static void __attribute__((noreturn)) child_main(const struct op *o, int mode)
{
	uint64_t rng = o->x;
	int i;

	child_setup();
	switch (mode) {
	case 1:
		child_park(o);
		break;
	case 2:
		break;
	default:
		for (i = 0; i < (mode ? 2 : 8); i++) {
			uint64_t r = rnd(&rng);
			int reg = r % NREG;
			unsigned long start, len;

			if (!P.avail[reg])
				continue;
			gen_range(reg, 0, r >> 8, r >> 16, &start, &len);
			touch_range(start, len, reg != R_VERIFY && r >> 4 & 1, r);
		}
		break;
	}
	_exit(0);
}

static void op_fork(struct worker *w, const struct op *o)
{
	int mode = o->x % 4;
	pid_t pid;
	int e;

	pthread_rwlock_rdlock(&P.fork_lock);
	pid = fork();
	if (pid == 0)
		child_main(o, mode);
	e = errno;
	pthread_rwlock_unlock(&P.fork_lock);
	if (pid < 0) {
		check_err(C_FORK, e, "mode %d", mode);
		return;
	}
	if (mode == 1) {
		/* Exit with the fault parked. */
		sleep_ms(2 + (o->x >> 2) % 40);
		kill(pid, SIGKILL);
		stat_inc(S_CHILD_KILLED);
		reap_child(pid, 5000);
		return;
	}
	reap_child(pid, CHILD_MS);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'u';
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The child of an SCM_RIGHTS exchange serves the context it received for
 * a moment: it reads messages and only wakes the faults (they fault again
 * and the real handler gets them), closes fork descriptors, and exits.
 */
static void __attribute__((noreturn)) scm_child(int sock, uint64_t x)
{
	struct pollfd p = { sock, POLLIN, 0 };
	unsigned long end;
	int fd, fl;

	child_setup();
	if (poll(&p, 1, 1000) <= 0)
		_exit(0);
	fd = recv_fd(sock);
	if (fd < 0)
		_exit(0);
	fl = fcntl(fd, F_GETFL);
	end = now_ms() + SCM_SERVE_MS;
	while (x >> 3 & 1 && fl >= 0 && fl & O_NONBLOCK && now_ms() < end) {
		struct uffd_msg m[4];
		ssize_t n, i;

		p = (struct pollfd){ fd, POLLIN, 0 };
		if (poll(&p, 1, 5) <= 0)
			continue;
		n = read(fd, m, sizeof(m));
		if (n < 0)
			check_err(C_READ, errno, "scm child");
		for (i = 0; i < n / (ssize_t)sizeof(m[0]); i++) {
			unsigned long a = m[i].arg.pagefault.address;
			int r = region_of(a);
			unsigned long pg = r >= 0 && RD[r].huge ? HPG : PG;

			if (m[i].event == UFFD_EVENT_PAGEFAULT)
				u_wake(fd, a & ~(pg - 1), pg, 0, false);
			else if (m[i].event == UFFD_EVENT_FORK)
				close(m[i].arg.fork.ufd);
		}
	}
	close(fd);
	_exit(0);
}

static void op_scm(struct worker *w, const struct op *o)
{
	struct ctx *c;
	int sv[2];
	pid_t pid;
	int e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		check_err(C_SOCK, errno, "socketpair");
		return;
	}
	pthread_rwlock_rdlock(&P.fork_lock);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		scm_child(sv[1], o->x);
	}
	e = errno;
	pthread_rwlock_unlock(&P.fork_lock);
	close(sv[1]);
	if (pid < 0) {
		check_err(C_FORK, e, "scm");
		close(sv[0]);
		return;
	}
	c = ctx_get(o->ctx);
	if (c) {
		if (send_fd(sv[0], c->fd))
			check_err(C_SOCK, errno, "sendmsg fd=%d", c->fd);
		ctx_put(c);
	}
	close(sv[0]);
	/* Messages it read and could not wake are lost: sweep. */
	if (!reap_child(pid, CHILD_MS))
		mark_lost();
}

/* Read from a context's descriptor; what is read is served here. */
static void op_read(struct worker *w, const struct op *o)
{
	struct ctx *c = ctx_get(o->ctx);
	struct server sv;
	bool nonblock;
	size_t count;
	ssize_t n;

	if (!c)
		return;
	sv = (struct server){ .rng = &w->aux, .page = w->page, .gen = c->gen,
			      .features = c->features };
	nonblock = c->flags & O_NONBLOCK;
	switch (o->x % 6) {
	case 0:		/* shorter than a message: refused at once */
		count = 1 + (o->x >> 3) % 31;
		n = u_read(c->fd, w->buf, count);
		if (n >= 0 || (errno != EINVAL && !(O.inject && errno == ENOMEM)))
			semantic("read of %zu bytes: %zd, %s (expected EINVAL)",
				 count, n, n < 0 ? ename(errno) : "no error");
		break;
	case 1:		/* into NULL or the kernel: nothing may be consumed */
		count = sizeof(struct uffd_msg) * (1 + (o->x >> 3) % 4);
		if (!nonblock || o->x >> 5 & 1) {
			/* Refused by the VFS before it can block. */
			n = u_read(c->fd, bad_ptr(3), count);
			if (n >= 0 || (errno != EFAULT && !(O.inject && errno == ENOMEM)))
				semantic("read into a kernel address: %zd, %s", n,
					 n < 0 ? ename(errno) : "no error");
			break;
		}
		n = u_read(c->fd, null_buf, count);
		if (n >= 0) {
			semantic("read into NULL returned %zd", n);
		} else {
			check_err(C_READ, errno, "fd=%d NULL", c->fd);
			if (errno == EFAULT)
				mark_lost();
		}
		break;
	case 2:		/* room for one message before a PROT_NONE page */
		if (!nonblock)
			break;
		n = u_read(c->fd, w->edge + PG - 48, 96);
		if (n < 0) {
			check_err(C_READ, errno, "fd=%d straddling", c->fd);
			break;
		}
		if (n > (ssize_t)sizeof(struct uffd_msg))
			semantic("straddling read returned %zd", n);
		memcpy(w->buf, w->edge + PG - 48, n > 0 ? sizeof(struct uffd_msg) : 0);
		mark_lost();
		serve_buf(&sv, c->fd, w->buf, n);
		break;
	default:
		if (!nonblock)
			break;
		count = sizeof(struct uffd_msg) * (1 + (o->x >> 3) % 8) + (o->x >> 6) % 32;
		n = u_read(c->fd, w->buf, count);
		if (n < 0)
			check_err(C_READ, errno, "fd=%d count=%zu", c->fd, count);
		else if (n % sizeof(struct uffd_msg) || (size_t)n > count)
			semantic("read of %zu bytes returned %zd", count, n);
		else
			serve_buf(&sv, c->fd, w->buf, n);
		break;
	}
	ctx_put(c);
}

static void op_poll(struct worker *w, const struct op *o, bool use_epoll)
{
	struct ctx *c = ctx_get(o->ctx);
	struct pollfd p;
	struct epoll_event ev = { .events = EPOLLIN }, out[4];
	int rc;

	if (!c)
		return;
	if (use_epoll) {
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev))
			check_err(C_EPOLL, errno, "add fd=%d", c->fd);
		if (epoll_wait(w->ep, out, 4, 0) < 0)
			check_err(C_EPOLL, errno, "wait");
		if (epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL))
			check_err(C_EPOLL, errno, "del fd=%d", c->fd);
		ctx_put(c);
		return;
	}
	p = (struct pollfd){ c->fd, POLLIN, 0 };
	rc = poll(&p, 1, 0);
	if (rc < 0)
		check_err(C_POLL, errno, "fd=%d", c->fd);
	else if (!(c->flags & O_NONBLOCK) && !(p.revents & POLLERR))
		semantic("poll on a blocking userfaultfd: revents %#x, no POLLERR",
			 p.revents);
	else if (c->flags & O_NONBLOCK && p.revents & (POLLERR | POLLNVAL))
		semantic("poll on a nonblocking userfaultfd: revents %#x", p.revents);
	ctx_put(c);
}

static void op_fdinfo(struct worker *w, const struct op *o)
{
	struct ctx *c = ctx_get(o->ctx);
	char path[64];
	ssize_t n;
	int f;

	if (!c)
		return;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", c->fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		check_err(C_FDINFO, errno, "%s", path);
		ctx_put(c);
		return;
	}
	n = read(f, w->buf, PG - 1);
	close(f);
	ctx_put(c);
	if (n < 0) {
		check_err(C_FDINFO, errno, "read %s", path);
		return;
	}
	w->buf[n] = 0;
	if (!strstr(w->buf, "pending:\t") || !strstr(w->buf, "total:\t") ||
	    !strstr(w->buf, "API:\taa:"))
		semantic("fdinfo of a userfaultfd lacks pending/total/API lines");
}

static void op_ctx_close(struct worker *w, const struct op *o)
{
	struct ctx *c = &P.ctx[o->ctx];

	if (c->state == CTX_LIVE)
		c->close_req = 1;
}

static void op_ctx_new(struct worker *w, const struct op *o)
{
	struct ctx *c = &P.ctx[o->ctx];
	struct cspec s;

	pthread_mutex_lock(&c->slot_lock);
	if (c->state != CTX_LIVE && join_handler(c, 2000)) {
		cspec_gen(o->mode, o->x, false, &s);
		ctx_create(c, &s);
	}
	pthread_mutex_unlock(&c->slot_lock);
}

/* Before UFFDIO_API everything is refused and poll says POLLERR. */
static void churn_before_api(struct worker *w, const struct op *o, int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	unsigned long base = (unsigned long)rbase(o->region);
	ssize_t n;

	u_register(fd, base, rpg(o->region), UFFDIO_REGISTER_MODE_MISSING, 0, true);
	n = u_read(fd, w->buf, sizeof(struct uffd_msg));
	if (n >= 0 || (errno != EINVAL && !(O.inject && errno == ENOMEM)))
		semantic("read before UFFDIO_API: %zd, %s", n,
			 n < 0 ? ename(errno) : "no error");
	if (poll(&p, 1, 0) < 0)
		check_err(C_POLL, errno, "fd=%d", fd);
	else if (!(p.revents & POLLERR))
		semantic("poll before UFFDIO_API: revents %#x", p.revents);
}

/* Short-lived descriptors, invalid flags, the device's other requests. */
static void op_churn(struct worker *w, const struct op *o)
{
	int v = o->x % 6, fd, flags, bit;
	struct cspec s;
	uint64_t feat;

	cspec_gen(o->mode, o->x >> 8, false, &s);
	/* Never a fork event without a reader: see handler_close(). */
	s.features &= ~(uint64_t)UFFD_FEATURE_EVENT_FORK;
	switch (v) {
	case 0:
	case 1:
		bit = 1 + (o->x >> 3) % 30;
		flags = 1 << bit;
		if (flags == O_NONBLOCK || flags == O_CLOEXEC)
			flags = 2;
		if (v == 1 && P.devfd < 0)
			return;
		fd = u_create(flags, v == 1);
		if (fd >= 0) {
			semantic("creation with flags %#x succeeded", flags);
			u_close(fd);
		}
		return;
	case 2:
		if (P.devfd < 0)
			return;
		if (!ioctl(P.devfd, _IO(USERFAULTFD_IOC, 0x01), 0))
			semantic("/dev/userfaultfd accepted request 0x01");
		else
			check_err(C_DEVNEW, errno, "request 0x01");
		return;
	case 3:
		fd = u_create(s.flags, s.dev);
		if (fd < 0)
			return;
		churn_before_api(w, o, fd);
		u_close(fd);
		return;
	default:
		fd = ctx_open(&s, &flags, &feat);
		if (fd < 0)
			return;
		if (v == 5)
			u_register(fd, o->start, o->len, UFFDIO_REGISTER_MODE_MISSING,
				   0, range_invalid(o));
		u_close(fd);
		return;
	}
}

static void run_op(struct worker *w, const struct op *o)
{
	switch (o->kind) {
	case OP_TOUCH_R:	op_touch(w, o, false); break;
	case OP_TOUCH_W:	op_touch(w, o, true); break;
	case OP_VERIFY:		op_verify(w, o); break;
	case OP_PIPE_OUT:	op_pipe_out(w, o); break;
	case OP_PIPE_IN:	op_pipe_in(w, o); break;
	case OP_VM_READ:	op_vm_rw(w, o, false); break;
	case OP_VM_WRITE:	op_vm_rw(w, o, true); break;
	case OP_MEM_READ:	op_procmem(w, o, false); break;
	case OP_MEM_WRITE:	op_procmem(w, o, true); break;
	case OP_REGISTER:	op_register(w, o, true); break;
	case OP_UNREGISTER:	op_register(w, o, false); break;
	case OP_COPY:		op_copy(w, o); break;
	case OP_ZEROPAGE:	op_zeropage(w, o); break;
	case OP_WAKE:		op_wake(w, o); break;
	case OP_WRITEPROTECT:	op_writeprotect(w, o); break;
	case OP_CONTINUE:	op_continue(w, o); break;
	case OP_API:		op_api(w, o); break;
	case OP_BADIOCTL:	op_badioctl(w, o); break;
	case OP_MMAP:
	case OP_MUNMAP:
	case OP_MPROTECT:
	case OP_MADVISE:	mmap_ops(w, o); break;
	case OP_MREMAP:		op_mremap(w, o, false); break;
	case OP_MREMAP_DU:	op_mremap(w, o, true); break;
	case OP_FALLOCATE:	op_fallocate(w, o); break;
	case OP_FORK:		op_fork(w, o); break;
	case OP_SCM:		op_scm(w, o); break;
	case OP_CTX_CLOSE:	op_ctx_close(w, o); break;
	case OP_CTX_NEW:	op_ctx_new(w, o); break;
	case OP_READ:		op_read(w, o); break;
	case OP_POLL:		op_poll(w, o, false); break;
	case OP_EPOLL:		op_poll(w, o, true); break;
	case OP_FDINFO:		op_fdinfo(w, o); break;
	case OP_CHURN:		op_churn(w, o); break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char name[16], args[160];
	long i;

	snprintf(name, sizeof(name), "w%d", w->id);
	thread_init(1 + w->id, TS_WORKER, name);
	t_edge = w->edge;
	for (i = 0; i < O.ops && now_s() < P.t_end; i++) {
		struct op o;

		gen_op(&w->rng, &o);
		fmt_op(&o, args, sizeof(args));
		note(op_names[o.kind], "#%ld %s", i, args);
		if (O.verbose)
			out("# %s #%ld %s %s", t_who, i, op_names[o.kind], args);
		run_op(w, &o);
		inc(&ST->op[o.kind]);
		bump();
	}
	note("done", "after %ld ops", i);
	thread_done();
	__atomic_fetch_sub(&P.running, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool worker_init(struct worker *w, int id)
{
	char *mem;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->rng = seed_of(P.idx, id);
	w->aux = seed_of(P.idx, 0x1000UL + id);
	w->pipe[0] = w->pipe[1] = w->ep = w->mem = -1;
	mem = mmap(NULL, BUF_LEN + 3 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return false;
	w->buf = mem;
	w->page = mem + BUF_LEN;
	w->edge = mem + BUF_LEN + PG;
	mprotect(w->edge + PG, PG, PROT_NONE);
	if (pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC))
		return false;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	return w->ep >= 0;
}

static void worker_fini(struct worker *w)
{
	int fds[] = { w->pipe[0], w->pipe[1], w->ep, w->mem };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (w->buf)
		munmap(w->buf, BUF_LEN + 3 * PG);
}

/* ------------------------------------------------------------------ */
/* The worker process.                                                */

static bool setup_arena(void)
{
	unsigned long len = (NREG + 1) * SLOT_STRIDE;
	char *a;
	int r;

	a = mmap((void *)ARENA_HINT, len, PROT_NONE, MAP_PRIVATE |
		 MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (a == MAP_FAILED) {
		/* Somewhere else, 2 MiB aligned. */
		a = mmap(NULL, len + HPG, PROT_NONE, MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (a == MAP_FAILED)
			return false;
		a = (char *)(((unsigned long)a + HPG - 1) & ~(HPG - 1));
	}
	P.arena = a;
	P.shmfd = memfd_create("uffd-fuzz-shm", MFD_CLOEXEC);
	if (P.shmfd < 0 || ftruncate(P.shmfd, 2UL << 20))
		return false;
	P.hugefd = memfd_create("uffd-fuzz-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (P.hugefd >= 0 && ftruncate(P.hugefd, 4UL << 20)) {
		close(P.hugefd);
		P.hugefd = -1;
	}
	for (r = 0; r < NREG; r++) {
		if (r == R_HUGE_SHM && P.hugefd < 0)
			continue;
		P.avail[r] = map_region(r) != MAP_FAILED;
		if (!P.avail[r])	/* no huge pages: keep the reservation */
			mmap(rbase(r), RD[r].len, PROT_NONE, MAP_PRIVATE |
			     MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		/* Odd slots get a hole after them, even ones a reservation. */
		if (r & 1)
			munmap(rbase(r) + RD[r].len, SLOT_STRIDE - RD[r].len);
	}
	return P.avail[R_VERIFY];
}

static bool setup_buffers(void)
{
	unsigned long i;

	P.srcbuf = mmap(NULL, HPG + PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	P.badpage = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (P.srcbuf == MAP_FAILED || P.badpage == MAP_FAILED)
		return false;
	mprotect(P.srcbuf + HPG, PG, PROT_NONE);
	for (i = 0; i < HPG; i += PG)
		fill_pattern(P.srcbuf + i, i, 0xffff);
	return true;
}

/* Contexts, the verify region's registration, a first registration each. */
static void setup_contexts(uint64_t *rng)
{
	struct cspec s;
	int i, r, tries;

	pthread_rwlock_init(&P.fork_lock, NULL);
	for (i = 0; i < NCTX; i++) {
		struct ctx *c = &P.ctx[i];

		pthread_rwlock_init(&c->lock, NULL);
		pthread_mutex_init(&c->slot_lock, NULL);
		c->idx = i;
		c->fd = -1;
		pthread_mutex_lock(&c->slot_lock);
		for (tries = 0; tries < 8 && c->state != CTX_LIVE; tries++) {
			/* Two draws in a fixed order (not as two arguments). */
			uint64_t r1 = rnd(rng), r2 = rnd(rng);

			cspec_gen(r1, r2, i == 0, &s);
			ctx_create(c, &s);
		}
		pthread_mutex_unlock(&c->slot_lock);
	}
	/* Retried: with -i, an injected ENOMEM is no reason to give up. */
	for (tries = 0; tries < 8 && !P.verify_ok && P.ctx[0].state == CTX_LIVE; tries++)
		P.verify_ok = !u_register(P.ctx[0].fd, (unsigned long)rbase(R_VERIFY),
					  RD[R_VERIFY].len,
					  UFFDIO_REGISTER_MODE_MISSING, 0, false);
	if (!P.verify_ok) {
		out("# p%d: cannot set up the verify region's context", P.idx);
		fail();
	}
	for (r = 1; r < NREG; r++) {
		struct ctx *c = &P.ctx[1 + (r - 1) % (NCTX - 1)];
		uint64_t mode = 1 + rnd(rng) % 7;

		if (P.avail[r] && c->state == CTX_LIVE)
			u_register(c->fd, (unsigned long)rbase(r), RD[r].len,
				   mode, 0, false);
	}
}

static void setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault_signal;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick;	/* no SA_RESTART: read() returns */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
}

static void stop_handlers(void)
{
	double end = now_s() + 5;
	int i;

	for (i = 0; i < NCTX; i++)
		P.ctx[i].stop = 1;
	for (i = 0; i < NCTX; i++) {
		struct ctx *c = &P.ctx[i];

		while (!join_handler(c, 20) && now_s() < end)
			kick_handlers();
		if (c->have_thread) {
			out("# p%d: handler %d did not stop", P.idx, i);
			fail();
		}
	}
}

static int proc_main(int idx)
{
	struct worker *ws;
	pthread_attr_t attr;
	uint64_t rng = seed_of(idx, 0xfffffUL);
	double hard;
	int i;

	P.idx = idx;
	ST = &SH->p[idx];
	P.t_end = now_s() + O.secs;
	hard = P.t_end + O.wd;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	thread_init(0, TS_MAIN, "main");
	setup_signals();
	note("setup", "arena");
	if (!setup_arena() || !setup_buffers()) {
		out("# p%d: setup failed: %s", idx, strerror(errno));
		return 1;
	}
	P.devfd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (P.devfd < 0)
		check_err(C_DEVOPEN, errno, "%s", "/dev/userfaultfd");
	bump();
	note("setup", "contexts");
	setup_contexts(&rng);
	bump();

	ws = calloc(O.threads, sizeof(*ws));
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (i = 0; i < O.threads; i++) {
		if (!worker_init(&ws[i], i)) {
			out("# p%d: worker %d setup failed", idx, i);
			fail();
			continue;
		}
		__atomic_fetch_add(&P.running, 1, __ATOMIC_SEQ_CST);
		ws[i].started = !pthread_create(&ws[i].thread, &attr, worker_main, &ws[i]);
		if (!ws[i].started)
			__atomic_fetch_sub(&P.running, 1, __ATOMIC_SEQ_CST);
	}
	pthread_attr_destroy(&attr);
	note("kick", "waiting for workers");
	while (__atomic_load_n(&P.running, __ATOMIC_SEQ_CST) > 0 && now_s() < hard) {
		sleep_ms(POLL_MS);
		kick_handlers();
	}
	if (P.running > 0) {
		out("# p%d: workers still running at the hard deadline", idx);
		fail();
		return 1;
	}
	bump();
	note("teardown", "joining");
	for (i = 0; i < O.threads; i++)
		if (ws[i].started)
			pthread_join(ws[i].thread, NULL);
	for (i = 0; i < O.threads; i++)
		worker_fini(&ws[i]);
	bump();
	stop_handlers();
	bump();
	if (P.devfd >= 0)
		close(P.devfd);
	close(P.shmfd);
	if (P.hugefd >= 0)
		close(P.hugefd);
	free(ws);
	note("exit", "status %d", ST->failed);
	return ST->failed ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* The parent: watchdog, report, fault injection, leak check.         */

struct child {
	pid_t pid;
	bool reaped;
	bool watchdog;
	int status;
	double moved[NTS];
	unsigned long seen[NTS];
};

static void sysrq_w(void)
{
	int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "w", 1) != 1)
		out("# watchdog: writing /proc/sysrq-trigger failed");
	close(fd);
}

static void reap_all(struct child *ch, int *alive)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < O.procs; i++) {
			if (ch[i].pid == pid && !ch[i].reaped) {
				ch[i].reaped = true;
				ch[i].status = st;
				(*alive)--;
			}
		}
	}
}

/* Has process @p made progress within the watchdog period? */
static bool check_stuck(struct child *c, struct pstats *ps, double now, int p)
{
	double newest = c->moved[0];
	bool stuck_thread = false;
	int s;

	for (s = 0; s < NTS; s++) {
		struct tslot *t = &ps->t[s];

		if (t->progress != c->seen[s]) {
			c->seen[s] = t->progress;
			c->moved[s] = now;
		}
		/*
		 * Workers that have finished count with their last step: when
		 * the last one stops, the main thread has not yet said it is
		 * tearing down, and a run longer than the period must not
		 * look stuck in that instant.
		 */
		if (t->kind == TS_WORKER && c->moved[s] > newest)
			newest = c->moved[s];
	}
	if (now - newest <= O.wd)
		return false;
	for (s = 0; s < NTS; s++) {
		struct tslot *t = &ps->t[s];

		if (!t->active || now - c->moved[s] <= O.wd)
			continue;
		stuck_thread = true;
		out("# watchdog: %d/%.15s stuck in %.23s %.111s for %.0f s", p,
		    t->name, t->op, t->args, now - c->moved[s]);
	}
	if (!stuck_thread)
		out("# watchdog: %d/main stuck in %.23s %.111s for %.0f s", p,
		    ps->t[0].op, ps->t[0].args, now - newest);
	return true;
}

static void watchdog(struct child *ch)
{
	double start = now_s(), hard = start + O.secs + O.wd + 10, kill_at = 0;
	bool dumped = false;
	int alive = 0, p, s;

	for (p = 0; p < O.procs; p++) {
		alive += !ch[p].reaped;
		for (s = 0; s < NTS; s++)
			ch[p].moved[s] = start;
	}
	while (alive > 0) {
		double now;

		sleep_ms(100);
		reap_all(ch, &alive);
		now = now_s();
		for (p = 0; p < O.procs; p++) {
			if (ch[p].reaped || ch[p].watchdog)
				continue;
			if (!check_stuck(&ch[p], &SH->p[p], now, p) &&
			    now < hard && !interrupted)
				continue;
			if (now >= hard || interrupted)
				out("# watchdog: proc %d still running at %.0f s: killing it",
				    p, now - start);
			if (!dumped)
				sysrq_w();
			dumped = true;
			ch[p].watchdog = true;
			kill(ch[p].pid, SIGKILL);
			if (!kill_at)
				kill_at = now;
		}
		if (kill_at && now > kill_at + 10) {
			out("# watchdog: %d worker process(es) not reaped after SIGKILL", alive);
			break;
		}
	}
}

static void print_stats(int p, unsigned long *total)
{
	struct pstats *ps = &SH->p[p];
	char line[900];
	unsigned long sum = 0;
	int i, n;

	n = snprintf(line, sizeof(line), "# proc %d ops:", p);
	for (i = 0; i < NOPS; i++) {
		sum += ps->op[i];
		if (ps->op[i] && n < (int)sizeof(line) - 40)
			n += snprintf(line + n, sizeof(line) - n, " %s=%lu",
				      op_names[i], ps->op[i]);
	}
	out("%s", line);
	n = snprintf(line, sizeof(line), "# proc %d errno:", p);
	for (i = 1; i < NERR; i++)
		if (ps->err[i] && n < (int)sizeof(line) - 40)
			n += snprintf(line + n, sizeof(line) - n, " %s=%lu",
				      ename(i), ps->err[i]);
	out("%s", line);
	n = snprintf(line, sizeof(line), "# proc %d stats:", p);
	for (i = 0; i < NSTAT; i++)
		if ((ps->s[i] || i <= S_SEMANTIC) && n < (int)sizeof(line) - 40)
			n += snprintf(line + n, sizeof(line) - n, " %s=%lu",
				      stat_names[i], ps->s[i]);
	out("%s", line);
	*total += sum;
}

static bool report(struct child *ch)
{
	unsigned long total = 0, inj = 0, enomem = 0, before;
	bool all_ok = true;
	int p;

	for (p = 0; p < O.procs; p++) {
		struct child *c = &ch[p];
		bool ok = c->reaped && !c->watchdog && WIFEXITED(c->status) &&
			  !WEXITSTATUS(c->status) && !SH->p[p].failed;

		before = total;
		print_stats(p, &total);
		inj += SH->p[p].s[S_INJECTED];
		enomem += SH->p[p].s[S_INJ_ENOMEM];
		if (!c->reaped)
			out("# proc %d: not reaped", p);
		else if (WIFSIGNALED(c->status))
			out("# proc %d: killed by signal %d%s", p,
			    WTERMSIG(c->status), c->watchdog ? " (watchdog)" : "");
		else if (WEXITSTATUS(c->status))
			out("# proc %d: exit status %d", p, WEXITSTATUS(c->status));
		out("%s %d proc %d seed %" PRIu64 ": %lu ops", ok ? "ok" : "not ok",
		    p + 1, p, O.seed, total - before);
		all_ok &= ok;
	}
	out("# ops %lu", total);
	if (O.inject)
		out("# fault injection: %lu injected calls, %lu ENOMEM%s", inj,
		    enomem, fi_on ? "" : " (not configured)");
	return all_ok;
}

/* Sum of active objects of every slab cache named *userfaultfd*; -1: none. */
static long slab_active(char *names, size_t len)
{
	char line[512], name[128];
	long active, total = -1;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	if (names)
		names[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %ld", name, &active) != 2 ||
		    !strstr(name, "userfaultfd"))
			continue;
		total = (total < 0 ? 0 : total) + active;
		if (names && strlen(names) + strlen(name) + 2 < len) {
			if (names[0])
				strcat(names, ",");
			strcat(names, name);
		}
	}
	fclose(f);
	return total;
}

/* Flush per-cpu slabs and the KASAN quarantine, so counts are exact. */
static void slab_shrink(const char *names)
{
	char buf[256], path[320], *tok, *save;
	int fd;

	snprintf(buf, sizeof(buf), "%s", names);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", tok);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (write(fd, "1", 1) != 1)
			out("# teardown: cannot shrink %s", tok);
		close(fd);
	}
}

static bool leak_check(int n, long start, const char *names)
{
	double end = now_s() + 5;
	long now_active;
	pid_t pid;

	/* Children of dead workers were reparented to us: reap them. */
	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		;
	if (start < 0) {
		out("ok %d teardown # SKIP no userfaultfd slab in /proc/slabinfo", n);
		return true;
	}
	for (;;) {
		slab_shrink(names);
		now_active = slab_active(NULL, 0);
		if (now_active <= start || now_s() >= end)
			break;
		sleep_ms(100);
	}
	out("# teardown: %s active objects before %ld after %ld", names, start,
	    now_active);
	out("%s %d teardown: userfaultfd slab active objects %ld -> %ld",
	    now_active <= start ? "ok" : "not ok", n, start, now_active);
	return now_active <= start;
}

static bool fi_write(const char *dir, const char *file, const char *val)
{
	char path[128];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), "/sys/kernel/debug/%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		out("# fault injection: cannot open %s: %s", path, strerror(errno));
		return false;
	}
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	if (!ok)
		out("# fault injection: writing %s to %s failed", val, path);
	close(fd);
	return ok;
}

static bool fi_setup(void)
{
	static const char *const dirs[] = { "failslab", "fail_page_alloc" };
	struct stat st;
	bool ok = true;
	unsigned int i;

	if (stat("/sys/kernel/debug/failslab", &st))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access("/proc/self/make-it-fail", W_OK)) {
		out("# fault injection: no /proc/self/make-it-fail");
		return false;
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		ok &= fi_write(dirs[i], "task-filter", "Y");
		ok &= fi_write(dirs[i], "interval", "1");
		ok &= fi_write(dirs[i], "times", "-1");
		ok &= fi_write(dirs[i], "verbose", "0");
		ok &= fi_write(dirs[i], "ignore-gfp-wait", "N");
		ok &= fi_write(dirs[i], "probability", "10");
	}
	ok &= fi_write("fail_page_alloc", "min-order", "0");
	return ok;
}

static void fi_restore(void)
{
	fi_write("failslab", "probability", "0");
	fi_write("fail_page_alloc", "probability", "0");
}

static void read_mmap_min(void)
{
	FILE *f = fopen("/proc/sys/vm/mmap_min_addr", "r");

	if (!f)
		return;
	if (fscanf(f, "%lu", &mmap_min) != 1)
		mmap_min = PG;
	fclose(f);
}

/* Does the kernel have userfaultfd at all?  Also learn its features. */
static int probe(uint64_t *features)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0 && errno == EINVAL)	/* before 5.11 */
		fd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -errno;
	}
	close(fd);
	*features = api.features;
	return 0;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-s SEED] [-n OPS] [-t SECONDS] [-p PROCS] "
		"[-T THREADS] [-w WATCHDOG_S] [-i] [-v]\n", argv0);
	exit(2);
}

static void parse(int argc, char **argv)
{
	struct timespec ts;
	bool seeded = false;
	int c;

	while ((c = getopt(argc, argv, "s:n:t:p:T:w:iv")) != -1) {
		switch (c) {
		case 's': O.seed = strtoull(optarg, NULL, 0); seeded = true; break;
		case 'n': O.ops = atol(optarg); break;
		case 't': O.secs = atoi(optarg); break;
		case 'p': O.procs = atoi(optarg); break;
		case 'T': O.threads = atoi(optarg); break;
		case 'w': O.wd = atoi(optarg); break;
		case 'i': O.inject = true; break;
		case 'v': O.verbose = true; break;
		default: usage(argv[0]);
		}
	}
	if (O.ops < 0 || O.secs < 1 || O.wd < 1 || O.procs < 1 ||
	    O.procs > MAX_PROCS || O.threads < 1 || O.threads > MAX_WORKERS)
		usage(argv[0]);
	if (!seeded) {
		clock_gettime(CLOCK_REALTIME, &ts);
		O.seed = mix64(ts.tv_sec ^ (uint64_t)ts.tv_nsec << 20 ^ getpid());
	}
}

int main(int argc, char **argv)
{
	struct child ch[MAX_PROCS];
	char names[256] = "";
	long slab_start;
	bool ok;
	int p, rc;

	parse(argc, argv);
	out("# seed %" PRIu64, O.seed);
	out("TAP version 13");
	rc = probe(&P.supported);
	if (rc) {
		out("1..0 # SKIP userfaultfd unavailable: %s", ename(-rc));
		return 0;
	}
	out("1..%d", O.procs + 1);
	out("# uffd-fuzz: ops=%ld seconds=%d procs=%d threads=%d watchdog=%d "
	    "inject=%d verbose=%d features=%#" PRIx64 " euid=%d",
	    O.ops, O.secs, O.procs, O.threads, O.wd, O.inject, O.verbose,
	    P.supported, (int)geteuid());

	read_mmap_min();
	slab_start = slab_active(names, sizeof(names));
	if (slab_start >= 0) {
		slab_shrink(names);
		slab_start = slab_active(names, sizeof(names));
	}
	if (O.inject)
		fi_on = fi_setup();
	SH = mmap(NULL, sizeof(*SH), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (SH == MAP_FAILED) {
		out("Bail out! cannot map the shared table");
		return 1;
	}
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_interrupt);
	signal(SIGTERM, on_interrupt);

	memset(ch, 0, sizeof(ch));
	for (p = 0; p < O.procs; p++) {
		ch[p].pid = fork();
		if (ch[p].pid == 0)
			_exit(proc_main(p));
		if (ch[p].pid < 0) {
			out("# fork of proc %d failed: %s", p, strerror(errno));
			ch[p].reaped = true;
			ch[p].status = 1 << 8;
		}
	}
	watchdog(ch);
	if (fi_on)
		fi_restore();
	ok = report(ch);
	ok &= leak_check(O.procs + 1, slab_start, names);
	return ok ? 0 : 1;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * uffd-postcopy: move a memory image from one process to another lazily,
 * over TCP on 127.0.0.1, the way postcopy live migration does, with
 * userfaultfd(2) resolving the destination's missing pages.
 *
 * Roles.  The parent is the DESTINATION and the child the SOURCE.  The
 * parent is the process the test harness waits for, so it owns what
 * matters at the end: the summary, the checksum verdict, reaping the
 * source and the exit status.  If the source dies, the destination sees
 * the connection drop, reaps it and reports how it died.  The listening
 * socket is bound before fork(), so the port (option -p, default 0: any
 * free port) is known to both sides without any further exchange, and a
 * connect() can never race ahead of listen().  The source also dies with
 * its parent (PR_SET_PDEATHSIG).
 *
 * Source: fills N pages with content that is a function of (page, seed),
 * about one page in ten all zero (-z), then accepts the connection and
 * serves it from a single thread.  Demand requests come first; otherwise
 * it streams the pages not sent yet round-robin, restarting from just
 * after the last page it was asked for.  A per-page "sent" bitmap keeps a
 * page from going twice, except when a demand request arrives for a page
 * the stream already sent (the request raced the stream): the source
 * cannot know whether that copy has been installed yet, so it answers the
 * request anyway and counts a duplicate (the destination then gets
 * EEXIST).  The background stream is paced to -b MiB/s (bytes on the
 * wire: zero pages travel as a header only), and kept from queueing more
 * than a little in the socket (SIOCOUTQ; the destination also asks for a
 * small receive buffer), so that a demand page does not wait behind a
 * long backlog in this single, ordered connection.
 *
 * Destination: maps an empty private anonymous area, creates a
 * userfaultfd (O_CLOEXEC | O_NONBLOCK), UFFDIO_API (no features),
 * registers the area with UFFDIO_REGISTER_MODE_MISSING, connects, and at
 * once starts
 *   - a fault thread: poll() + read() of the uffd, a batch of messages at
 *     a time; sends one request per page not requested yet;
 *   - a receiver thread: installs each page message with UFFDIO_COPY (or
 *     UFFDIO_ZEROPAGE); EEXIST means the page had already arrived (a
 *     duplicate; for a demand reply, UFFDIO_WAKE for safety);
 *   - T workload threads: K accesses each, 80% of them to a hot 20% of
 *     the pages.  A read checks the whole page against its expected
 *     content; a write is an atomic compare-and-exchange of a few words
 *     with their expected value (so it both writes and checks, and the
 *     content stays a function of (page, seed)).
 * The main thread prints a progress line every second, and when all pages
 * have arrived and the workload is done, compares the checksum of its
 * area with the one the source sent, and prints a summary.  Fault service
 * latency is measured in the fault and receiver threads: from the fault
 * thread reading the first fault message for a page to the UFFDIO_COPY
 * that installed it.  The workload starts before the source is ready (it
 * fills its image first), so the first few faults, one a thread, also
 * wait for that: they show in the maximum, not in p50 or p99.  Threads
 * are named uffd-* (uffd-dest, uffd-source, uffd-fault, uffd-recv,
 * uffd-workN) for the guest's stack dumps.
 *
 * Protocol (one TCP connection, full duplex, TCP_NODELAY on both ends;
 * both ends run on the same host, so integers are in host order):
 *   destination -> source: 8-byte page indices; ~0 means "bye".
 *   source -> destination: a 16-byte header {type, flags, arg}, then
 *     HELLO   arg = number of pages, flags = page size
 *     PAGE    arg = page index, flags = DEMAND or BACKGROUND, ZERO, DUP;
 *             followed by the page unless ZERO
 *     DONE    arg = the source's checksum; sent once every page has
 *             been sent (duplicates may still follow)
 *     BYE     the answer to "bye", after any reply still owed; followed
 *             by struct src_stats
 *
 * Failures never hang: a lost connection, a protocol or ioctl error ends
 * the whole process (workload threads parked in a userfault would wait
 * forever otherwise) after reaping the source; a watchdog (-T) does the
 * same, after printing each destination thread's state, wait channel and
 * kernel stack (from /proc/self/task), so that a hang says where it was.
 * Exit status: 0 success, 1 failure, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/userfaultfd.h>

#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

#define PROG		"uffd-postcopy"
#define MIB		(1024.0 * 1024.0)
#define NSEC		1000000000ULL

/* Wire format. */
enum { MSG_HELLO = 1, MSG_PAGE, MSG_DONE, MSG_BYE };
#define F_DEMAND	(1u << 0)
#define F_BACKGROUND	(1u << 1)
#define F_ZERO		(1u << 2)
#define F_DUP		(1u << 3)
#define REQ_BYE		UINT64_MAX

struct msg_hdr {
	uint32_t type;
	uint32_t flags;
	uint64_t arg;
};

struct src_stats {
	uint64_t demand;	/* pages first sent on request */
	uint64_t background;	/* pages first sent by the stream */
	uint64_t zero;		/* of those, zero pages */
	uint64_t dups;		/* pages sent again on request */
	uint64_t requests;	/* requests received */
	uint64_t bytes;		/* bytes sent */
};

/* Background stream: at most this much queued in the socket. */
#define STREAM_BACKLOG	(64 * 1024)
/* Destination receive buffer (the kernel doubles it). */
#define DEST_RCVBUF	(128 * 1024)
/* Pacing: credit that idle time may build up. */
#define PACE_CREDIT_NS	(10 * 1000 * 1000ULL)

static struct {
	unsigned long size_mib;
	unsigned long threads;
	unsigned long accesses;
	unsigned long write_pct;
	unsigned long zero_pct;
	double bw_mib;
	unsigned long port;
	uint64_t seed;
	unsigned long timeout;
	unsigned long kill_after;
} opt = {
	.size_mib = 32,
	.threads = 4,
	.accesses = 5000,
	.write_pct = 30,
	.zero_pct = 10,
	.bw_mib = 16,
	.port = 0,
	.seed = 1,
	.timeout = 300,
	.kill_after = 0,
};

static size_t psize, npages, wpp;	/* page size, pages, words a page */
static uint64_t seed_key;
static uint64_t t_start;
static pid_t child_pid;			/* the source, in the destination */
static bool is_source;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ADD(x, v)	__atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static double ms(uint64_t ns)
{
	return ns / 1e6;
}

/* ------------------------------------------------------------------ */
/* Errors */

static void say_raw(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = write(STDERR_FILENO, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= n;
	}
}

static void describe_status(int st)
{
	char buf[128];

	if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "%s: source exited with status %d\n",
			 PROG, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf),
			 "%s: source killed by signal %d (%s)\n",
			 PROG, WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, sizeof(buf), "%s: source status 0x%x\n",
			 PROG, st);
	say_raw(buf);
}

/*
 * Reap the source.  With grace_ms >= 0, give it that long to exit on its
 * own (it may be dying already: that is often why the connection went),
 * then kill it.  Returns its wait status, or -1.
 */
static int reap_source(int grace_ms)
{
	int st, waited = 0;
	pid_t r;

	if (child_pid <= 0)
		return -1;
	for (;;) {
		r = waitpid(child_pid, &st, grace_ms < 0 ? 0 : WNOHANG);
		if (r == child_pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && waited >= grace_ms) {
			kill(child_pid, SIGKILL);
			grace_ms = -1;
			continue;
		}
		if (r == 0) {
			usleep(10000);
			waited += 10;
		}
	}
	child_pid = 0;
	return st;
}

/*
 * Fatal error in any thread of either process: report it and end the whole
 * process; the destination reaps the source first.
 */
static int dying;

static void __attribute__((noreturn, format(printf, 1, 2)))
fatal(const char *fmt, ...)
{
	char buf[512];
	int n, st;
	va_list ap;

	if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL))
		for (;;)
			pause();	/* another thread is ending it all */
	n = snprintf(buf, sizeof(buf), "%s: %s: ", PROG,
		     is_source ? "source" : "destination");
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	strcat(buf, "\n");
	say_raw(buf);
	if (!is_source) {
		st = reap_source(2000);
		if (st != -1)
			describe_status(st);
		say_raw(PROG ": FAILED\n");
	}
	_exit(1);
}

/* Copy /proc/self/task/<tid>/<what> to stderr; async-signal-safe. */
static void dump_task_file(const char *tid, const char *what)
{
	char path[96], buf[2048];
	ssize_t n;
	int fd;

	path[0] = 0;
	strcat(path, "/proc/self/task/");
	strcat(path, tid);
	strcat(path, "/");
	strcat(path, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = 0;
		say_raw(buf);
	}
	close(fd);
	say_raw("\n");
}

/*
 * What each thread of the destination is doing when the watchdog fires:
 * its name, state and wait channel, and its kernel stack where the kernel
 * keeps one (CONFIG_STACKTRACE, root).  Async-signal-safe: raw getdents64.
 */
static void dump_threads(void)
{
	char buf[4096];
	long n;
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n; ) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (name[0] == '.')
				continue;
			say_raw(PROG ": thread ");
			say_raw(name);
			say_raw(": ");
			dump_task_file(name, "stat");
			dump_task_file(name, "wchan");
			dump_task_file(name, "stack");
		}
	}
	close(dir);
}

static void on_alarm(int sig)
{
	(void)sig;
	if (__atomic_exchange_n(&dying, 1, __ATOMIC_ACQ_REL))
		return;		/* a fatal error is being reported */
	say_raw(is_source ? PROG ": source: watchdog expired, giving up\n" :
		PROG ": destination: watchdog expired (-T), giving up\n");
	if (!is_source)
		dump_threads();
	if (!is_source && child_pid > 0) {
		kill(child_pid, SIGKILL);
		waitpid(child_pid, NULL, 0);
	}
	if (!is_source)
		say_raw(PROG ": FAILED\n");
	_exit(1);
}

/* ------------------------------------------------------------------ */
/* Content: a function of (page, seed) */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

static bool page_is_zero(uint64_t page)
{
	return mix64(seed_key ^ ~page) % 100 < opt.zero_pct;
}

static uint64_t word_value(uint64_t page, size_t w)
{
	return mix64((page * wpp + w) ^ seed_key);
}

static uint64_t expected(uint64_t page, size_t w)
{
	return page_is_zero(page) ? 0 : word_value(page, w);
}

/* The same, for a page already known to be zero or not. */
static uint64_t expected_z(bool zero, uint64_t page, size_t w)
{
	return zero ? 0 : word_value(page, w);
}

static uint64_t checksum(const void *area)
{
	const uint64_t *p = area;
	uint64_t h = 0x6a09e667f3bcc909ULL;
	size_t i, n = npages * wpp;

	for (i = 0; i < n; i++) {
		h = (h ^ p[i]) * 0x100000001b3ULL;
		h = h << 23 | h >> 41;
	}
	return h;
}

/* ------------------------------------------------------------------ */
/* Socket helpers */

static int send_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* 0: done; -1: error (errno) or end of stream (errno 0). */
static int recv_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static const char *lost(void)
{
	return errno ? strerror(errno) : "end of stream";
}

static void set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		fatal("TCP_NODELAY: %s", strerror(errno));
}

/* ------------------------------------------------------------------ */
/* Source */

static struct {
	int sock;
	char *area;
	uint64_t *sent;			/* bitmap */
	uint8_t *queued;		/* in the demand queue */
	uint64_t *queue;		/* demand FIFO, npages + 1 entries */
	size_t qhead, qtail;
	size_t unsent, cursor;
	bool bye;
	char rbuf[4096];
	size_t rlen;
	char *sbuf;			/* header + page */
	struct src_stats st;
	uint64_t nsent;
} src;

static bool sent_test(size_t p)
{
	return src.sent[p / 64] >> (p % 64) & 1;
}

/* The first unsent page at or after the cursor, round-robin. */
static size_t next_unsent(void)
{
	size_t nwords = (npages + 63) / 64;
	size_t p = src.cursor % npages, scanned = 0;

	while (scanned <= nwords) {
		uint64_t w = ~src.sent[p / 64] & (~0ULL << (p % 64));

		if (w) {
			p = p / 64 * 64 + __builtin_ctzll(w);
			if (p < npages)
				return p;
		}
		p = (p / 64 + 1) * 64;
		if (p >= npages)
			p = 0;
		scanned++;
	}
	fatal("internal error: no unsent page left (%zu unsent)",
	      src.unsent);
}

/* Send page p; returns the bytes sent. */
static size_t src_send_page(size_t p, uint32_t flags)
{
	struct msg_hdr h = { .type = MSG_PAGE, .arg = p };
	const char *page = src.area + p * psize;
	size_t len = sizeof(h);
	size_t i;

	for (i = 0; i < wpp; i++)
		if (((const uint64_t *)page)[i])
			break;
	if (i == wpp)
		flags |= F_ZERO;
	h.flags = flags;
	memcpy(src.sbuf, &h, sizeof(h));
	if (!(flags & F_ZERO)) {
		memcpy(src.sbuf + sizeof(h), page, psize);
		len += psize;
	}
	if (send_full(src.sock, src.sbuf, len))
		fatal("connection to the destination lost: %s", lost());
	src.st.bytes += len;

	if (sent_test(p)) {
		src.st.dups++;
	} else {
		src.sent[p / 64] |= 1ULL << (p % 64);
		src.unsent--;
		if (flags & F_DEMAND)
			src.st.demand++;
		else
			src.st.background++;
		if (flags & F_ZERO)
			src.st.zero++;
	}
	if (opt.kill_after && ++src.nsent == opt.kill_after) {
		fprintf(stderr, "%s: source: -K %lu: killing myself\n",
			PROG, opt.kill_after);
		raise(SIGKILL);
	}
	return len;
}

/* Take in whatever requests have arrived, without blocking. */
static void src_drain_requests(void)
{
	for (;;) {
		ssize_t n = recv(src.sock, src.rbuf + src.rlen,
				 sizeof(src.rbuf) - src.rlen, MSG_DONTWAIT);
		size_t i, whole;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == 0)
			errno = 0;
		if (n <= 0)
			fatal("connection to the destination lost: %s",
			      lost());
		src.rlen += n;
		whole = src.rlen / 8 * 8;
		for (i = 0; i < whole; i += 8) {
			uint64_t p;

			memcpy(&p, src.rbuf + i, 8);
			if (p == REQ_BYE) {
				src.bye = true;
				continue;
			}
			if (src.bye || p >= npages)
				fatal("protocol error: request %" PRIu64, p);
			src.st.requests++;
			if (src.queued[p])
				continue;
			src.queued[p] = 1;
			src.queue[src.qtail++ % (npages + 1)] = p;
		}
		memmove(src.rbuf, src.rbuf + whole, src.rlen - whole);
		src.rlen -= whole;
	}
}

/* Sleep until a request arrives or timeout_ns passes (-1: no limit). */
static void src_wait_input(int64_t timeout_ns)
{
	struct pollfd pfd = { .fd = src.sock, .events = POLLIN };
	struct timespec ts = {
		.tv_sec = timeout_ns / NSEC,
		.tv_nsec = timeout_ns % NSEC,
	};

	if (ppoll(&pfd, 1, timeout_ns < 0 ? NULL : &ts, NULL) < 0 &&
	    errno != EINTR)
		fatal("poll: %s", strerror(errno));
}

static void src_serve(void)
{
	uint64_t next = now_ns(), t;
	double ns_per_byte = 0;
	size_t len;
	bool done_sent = false;
	int outq;

	if (opt.bw_mib > 0)
		ns_per_byte = NSEC / (opt.bw_mib * MIB);
	for (;;) {
		src_drain_requests();
		if (src.qhead != src.qtail) {
			size_t p = src.queue[src.qhead++ % (npages + 1)];

			src.queued[p] = 0;
			src_send_page(p, F_DEMAND |
				      (sent_test(p) ? F_DUP : 0));
			src.cursor = p + 1;
			continue;
		}
		if (src.bye)
			break;
		if (src.unsent) {
			t = now_ns();
			if (ns_per_byte && t < next) {
				src_wait_input(next - t);
				continue;
			}
			if (!ioctl(src.sock, SIOCOUTQ, &outq) &&
			    outq > STREAM_BACKLOG) {
				src_wait_input(1000 * 1000);
				continue;
			}
			src.cursor = next_unsent();
			len = src_send_page(src.cursor++, F_BACKGROUND);
			if (ns_per_byte) {
				if (next + PACE_CREDIT_NS < t)
					next = t - PACE_CREDIT_NS;
				next += (uint64_t)(len * ns_per_byte);
			}
			continue;
		}
		if (!done_sent) {
			struct msg_hdr h = {
				.type = MSG_DONE,
				.arg = checksum(src.area),
			};

			src.st.bytes += sizeof(h);
			if (send_full(src.sock, &h, sizeof(h)))
				fatal("connection to the destination lost: %s",
				      lost());
			done_sent = true;
			continue;
		}
		src_wait_input(-1);
	}
	{
		struct msg_hdr h = { .type = MSG_BYE };

		src.st.bytes += sizeof(h) + sizeof(src.st);
		if (send_full(src.sock, &h, sizeof(h)) ||
		    send_full(src.sock, &src.st, sizeof(src.st)))
			fatal("connection to the destination lost: %s",
			      lost());
	}
}

static int source_main(int lsock, pid_t parent)
{
	struct msg_hdr h = { .type = MSG_HELLO };
	size_t p, w;

	is_source = true;
	child_pid = 0;
	prctl(PR_SET_NAME, "uffd-source");
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	alarm(opt.timeout);

	src.area = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	src.sent = calloc((npages + 63) / 64, 8);
	src.queued = calloc(npages, 1);
	src.queue = calloc(npages + 1, 8);
	src.sbuf = malloc(sizeof(h) + psize);
	if (src.area == MAP_FAILED || !src.sent || !src.queued ||
	    !src.queue || !src.sbuf)
		fatal("out of memory for %zu pages", npages);
	for (p = 0; p < npages; p++) {
		uint64_t *q = (uint64_t *)(src.area + p * psize);

		if (page_is_zero(p))
			continue;
		for (w = 0; w < wpp; w++)
			q[w] = word_value(p, w);
	}
	src.unsent = npages;

	do
		src.sock = accept(lsock, NULL, NULL);
	while (src.sock < 0 && errno == EINTR);
	if (src.sock < 0)
		fatal("accept: %s", strerror(errno));
	close(lsock);
	set_nodelay(src.sock);

	h.flags = psize;
	h.arg = npages;
	if (send_full(src.sock, &h, sizeof(h)))
		fatal("connection to the destination lost: %s", lost());
	src_serve();
	close(src.sock);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Destination */

static struct {
	char *area;
	int uffd, sock;
	int stop[2];			/* wakes the fault thread */
	uint8_t *requested;		/* set by the fault thread */
	uint8_t *received;		/* set by the receiver */
	uint64_t *t_fault;		/* fault read time, per page */
	uint64_t *lat;			/* latency samples (receiver) */
	size_t nlat;

	/* fault thread */
	uint64_t faults, requests, same_page, stale;
	/* receiver */
	uint64_t n_received, demand, background, zero, eexist, wakes;
	uint64_t bytes_in, bytes_out;
	uint64_t t_ready, src_sum;
	struct src_stats src_st;
	bool got_done;
	/* workload */
	uint64_t started, finished, accesses, writes, errors;
	uint64_t t_work_start, t_work_end;

	pthread_mutex_t mu;
	pthread_cond_t cv;
} dst = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
};

static void notify(void)
{
	pthread_mutex_lock(&dst.mu);
	pthread_cond_broadcast(&dst.cv);
	pthread_mutex_unlock(&dst.mu);
}

static void uffd_wake(size_t p)
{
	struct uffdio_range r = {
		.start = (uintptr_t)dst.area + p * psize,
		.len = psize,
	};

	if (ioctl(dst.uffd, UFFDIO_WAKE, &r))
		fatal("UFFDIO_WAKE page %zu: %s", p, strerror(errno));
	ADD(dst.wakes, 1);
}

static void *fault_thread(void *arg)
{
	struct uffd_msg msg[64];
	uint64_t req[64];
	struct pollfd pfd[2] = {
		{ .fd = dst.uffd, .events = POLLIN },
		{ .fd = dst.stop[0], .events = POLLIN },
	};
	uintptr_t base = (uintptr_t)dst.area;

	(void)arg;
	prctl(PR_SET_NAME, "uffd-fault");
	for (;;) {
		ssize_t n;
		size_t i, nreq = 0;
		uint64_t t;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll(uffd): %s", strerror(errno));
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			fatal("poll(uffd): revents 0x%x", pfd[0].revents);
		if (!(pfd[0].revents & POLLIN))
			continue;
		n = read(dst.uffd, msg, sizeof(msg));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			fatal("read(uffd): %s", strerror(errno));
		if (n == 0 || n % sizeof(msg[0]))
			fatal("read(uffd): %zd bytes", n);
		t = now_ns();
		for (i = 0; i < n / sizeof(msg[0]); i++) {
			uint64_t a = msg[i].arg.pagefault.address;
			size_t p;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				fatal("unexpected uffd event 0x%x",
				      msg[i].event);
			if (a < base || a >= base + npages * psize ||
			    (a - base) % psize)
				fatal("fault at 0x%" PRIx64
				      ", outside the area or not aligned", a);
			p = (a - base) / psize;
			ADD(dst.faults, 1);
			if (LOAD(dst.received[p])) {
				/* Installed since: the copy woke it. */
				ADD(dst.stale, 1);
				uffd_wake(p);
				continue;
			}
			if (dst.requested[p]) {
				/* Another thread on the same page. */
				ADD(dst.same_page, 1);
				continue;
			}
			dst.t_fault[p] = t;
			STORE(dst.requested[p], 1);
			req[nreq++] = p;
		}
		if (!nreq)
			continue;
		if (send_full(dst.sock, req, nreq * 8))
			fatal("connection to the source lost: %s", lost());
		ADD(dst.requests, nreq);
		ADD(dst.bytes_out, nreq * 8);
	}
	return NULL;
}

/* UFFDIO_COPY or UFFDIO_ZEROPAGE of page p; returns 0 or an errno. */
static int install(size_t p, const void *buf, bool zero)
{
	uintptr_t dst_addr = (uintptr_t)dst.area + p * psize;
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		int r;
		int64_t done;

		if (zero) {
			struct uffdio_zeropage z = {
				.range = { .start = dst_addr, .len = psize },
			};

			r = ioctl(dst.uffd, UFFDIO_ZEROPAGE, &z);
			done = z.zeropage;
		} else {
			struct uffdio_copy c = {
				.dst = dst_addr,
				.src = (uintptr_t)buf,
				.len = psize,
			};

			r = ioctl(dst.uffd, UFFDIO_COPY, &c);
			done = c.copy;
		}
		if (!r)
			return 0;
		if (errno == EAGAIN && done == (int64_t)psize)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return errno;
	}
	return EAGAIN;
}

static void *recv_thread(void *arg)
{
	struct msg_hdr h;
	char *buf;

	(void)arg;
	prctl(PR_SET_NAME, "uffd-recv");
	buf = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		fatal("mmap: %s", strerror(errno));

	if (recv_full(dst.sock, &h, sizeof(h)))
		fatal("connection to the source lost: %s", lost());
	if (h.type != MSG_HELLO || h.arg != npages || h.flags != psize)
		fatal("protocol error: bad hello (type %u, %" PRIu64
		      " pages of %u bytes)", h.type, h.arg, h.flags);
	STORE(dst.t_ready, now_ns());
	ADD(dst.bytes_in, sizeof(h));

	for (;;) {
		bool zero;
		size_t p;
		int err;

		if (recv_full(dst.sock, &h, sizeof(h)))
			fatal("connection to the source lost: %s", lost());
		ADD(dst.bytes_in, sizeof(h));
		if (h.type == MSG_BYE) {
			if (recv_full(dst.sock, &dst.src_st,
				      sizeof(dst.src_st)))
				fatal("connection to the source lost: %s",
				      lost());
			ADD(dst.bytes_in, sizeof(dst.src_st));
			break;
		}
		if (h.type == MSG_DONE) {
			dst.src_sum = h.arg;
			STORE(dst.got_done, true);
			notify();
			continue;
		}
		if (h.type != MSG_PAGE || h.arg >= npages)
			fatal("protocol error: message type %u arg %" PRIu64,
			      h.type, h.arg);
		p = h.arg;
		zero = h.flags & F_ZERO;
		if (!zero) {
			if (recv_full(dst.sock, buf, psize))
				fatal("connection to the source lost: %s",
				      lost());
			ADD(dst.bytes_in, psize);
		}
		err = install(p, buf, zero);
		if (err == EEXIST) {
			if (!dst.received[p])
				fatal("%s page %zu: EEXIST, but it was never "
				      "installed", zero ? "UFFDIO_ZEROPAGE" :
				      "UFFDIO_COPY", p);
			ADD(dst.eexist, 1);
			if (h.flags & F_DEMAND)
				uffd_wake(p);
			continue;
		}
		if (err)
			fatal("%s page %zu: %s", zero ? "UFFDIO_ZEROPAGE" :
			      "UFFDIO_COPY", p, strerror(err));
		if (dst.received[p])
			fatal("page %zu installed twice", p);
		STORE(dst.received[p], 1);
		if (LOAD(dst.requested[p]))
			dst.lat[dst.nlat++] = now_ns() - dst.t_fault[p];
		if (h.flags & F_DEMAND)
			ADD(dst.demand, 1);
		else
			ADD(dst.background, 1);
		if (zero)
			ADD(dst.zero, 1);
		if (ADD(dst.n_received, 1) == npages)
			notify();
	}
	munmap(buf, psize);
	return NULL;
}

/* A bijection of [0, npages): the hot pages are perm(0 .. nhot - 1). */
static uint64_t perm_mul, perm_add;

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static size_t perm(size_t r)
{
	return (r * perm_mul + perm_add) % npages;
}

static void work_error(size_t p, size_t w, uint64_t want, uint64_t got)
{
	if (ADD(dst.errors, 1) <= 10)
		fprintf(stderr, "%s: destination: page %zu word %zu: "
			"expected 0x%016" PRIx64 ", found 0x%016" PRIx64 "\n",
			PROG, p, w, want, got);
}

static void *work_thread(void *arg)
{
	unsigned long id = (uintptr_t)arg, i;
	uint64_t rng = mix64(seed_key + 0x9e3779b97f4a7c15ULL * (id + 1));
	size_t nhot = npages / 5 ? npages / 5 : 1;
	uint64_t writes = 0;
	char name[16];

	snprintf(name, sizeof(name), "uffd-work%lu", id);
	prctl(PR_SET_NAME, name);
	if (ADD(dst.started, 1) == opt.threads)
		STORE(dst.t_work_start, now_ns());

	for (i = 0; i < opt.accesses; i++) {
		uint64_t *q;
		size_t p, w;
		bool zero;

		rng = mix64(rng + i);
		if (rng % 100 < 80 || nhot == npages)
			p = perm((rng >> 8) % nhot);
		else
			p = perm(nhot + (rng >> 8) % (npages - nhot));
		q = (uint64_t *)(dst.area + p * psize);
		zero = page_is_zero(p);

		if ((rng >> 40) % 100 < opt.write_pct) {
			int k;

			writes++;
			for (k = 0; k < 4; k++) {
				uint64_t want, cur;
				bool same;

				rng = mix64(rng);
				w = rng % wpp;
				want = expected_z(zero, p, w);
				cur = want;
				/* A write access that also checks. */
				same = __atomic_compare_exchange_n(&q[w],
						&cur, want, false,
						__ATOMIC_RELAXED,
						__ATOMIC_RELAXED);
				if (!same)
					work_error(p, w, want, cur);
			}
			continue;
		}
		for (w = 0; w < wpp; w++) {
			uint64_t want = expected_z(zero, p, w);
			uint64_t got = __atomic_load_n(&q[w],
						       __ATOMIC_RELAXED);

			if (got != want) {
				work_error(p, w, want, got);
				break;
			}
		}
	}
	ADD(dst.accesses, opt.accesses);
	ADD(dst.writes, writes);
	if (ADD(dst.finished, 1) == opt.threads) {
		STORE(dst.t_work_end, now_ns());
		notify();
	}
	return NULL;
}

static void progress(void)
{
	printf("progress: %" PRIu64 "/%zu pages (demand %" PRIu64
	       ", pushed %" PRIu64 "), workload %" PRIu64 "/%lu threads done\n",
	       LOAD(dst.n_received), npages, LOAD(dst.demand),
	       LOAD(dst.background), LOAD(dst.finished), opt.threads);
}

static bool finished(void)
{
	return LOAD(dst.finished) == opt.threads &&
		LOAD(dst.n_received) == npages && LOAD(dst.got_done);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted samples. */
static uint64_t pct(const uint64_t *s, size_t n, unsigned int q)
{
	size_t rank = (q * n + 99) / 100;

	return s[rank ? rank - 1 : 0];
}

static void dst_setup(int port)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct uffdio_api api = { .api = UFFD_API, .features = 0 };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	uint64_t need = 1ULL << _UFFDIO_COPY | 1ULL << _UFFDIO_ZEROPAGE |
			1ULL << _UFFDIO_WAKE;
	int rcvbuf = DEST_RCVBUF;

	dst.area = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dst.requested = calloc(npages, 1);
	dst.received = calloc(npages, 1);
	dst.t_fault = calloc(npages, 8);
	dst.lat = calloc(npages, 8);
	if (dst.area == MAP_FAILED || !dst.requested || !dst.received ||
	    !dst.t_fault || !dst.lat)
		fatal("out of memory for %zu pages", npages);

	dst.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (dst.uffd < 0)
		fatal("userfaultfd: %s%s", strerror(errno),
		      errno == ENOSYS ? " (kernel without userfaultfd)" :
		      errno == EPERM ? " (see vm.unprivileged_userfaultfd)" :
		      "");
	if (ioctl(dst.uffd, UFFDIO_API, &api))
		fatal("UFFDIO_API: %s", strerror(errno));
	reg.range.start = (uintptr_t)dst.area;
	reg.range.len = npages * psize;
	if (ioctl(dst.uffd, UFFDIO_REGISTER, &reg))
		fatal("UFFDIO_REGISTER: %s", strerror(errno));
	if ((reg.ioctls & need) != need)
		fatal("UFFDIO_REGISTER: ioctls 0x%llx lack COPY, ZEROPAGE "
		      "or WAKE", (unsigned long long)reg.ioctls);

	dst.sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (dst.sock < 0)
		fatal("socket: %s", strerror(errno));
	setsockopt(dst.sock, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	set_nodelay(dst.sock);
	while (connect(dst.sock, (struct sockaddr *)&sa, sizeof(sa)))
		if (errno != EINTR)
			fatal("connect to 127.0.0.1:%d: %s", port,
			      strerror(errno));
	if (pipe2(dst.stop, O_CLOEXEC))
		fatal("pipe: %s", strerror(errno));
}

static int destination_main(int port)
{
	pthread_t recv_tid, fault_tid, *work_tid;
	pthread_condattr_t ca;
	struct uffdio_range range;
	sigset_t alrm, old;
	uint64_t next_tick, sum, t_end, bye = REQ_BYE;
	unsigned long i;
	int st, err, ok;

	prctl(PR_SET_NAME, "uffd-dest");
	alarm(opt.timeout);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&dst.cv, &ca);
	work_tid = calloc(opt.threads, sizeof(*work_tid));
	if (!work_tid)
		fatal("out of memory");

	dst_setup(port);

	/* Only the main thread takes the watchdog's signal. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	err = pthread_create(&recv_tid, NULL, recv_thread, NULL);
	if (!err)
		err = pthread_create(&fault_tid, NULL, fault_thread, NULL);
	for (i = 0; !err && i < opt.threads; i++)
		err = pthread_create(&work_tid[i], NULL, work_thread,
				     (void *)(uintptr_t)i);
	if (err)
		fatal("pthread_create: %s", strerror(err));
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	next_tick = now_ns() + NSEC;
	pthread_mutex_lock(&dst.mu);
	while (!finished()) {
		struct timespec ts = {
			.tv_sec = next_tick / NSEC,
			.tv_nsec = next_tick % NSEC,
		};

		pthread_cond_timedwait(&dst.cv, &dst.mu, &ts);
		if (now_ns() >= next_tick) {
			progress();
			next_tick += NSEC;
		}
	}
	pthread_mutex_unlock(&dst.mu);

	/* Every page is in: stop asking, say goodbye, wait for the reply. */
	if (write(dst.stop[1], "x", 1) != 1)
		fatal("write(pipe): %s", strerror(errno));
	pthread_join(fault_tid, NULL);
	if (send_full(dst.sock, &bye, sizeof(bye)))
		fatal("connection to the source lost: %s", lost());
	ADD(dst.bytes_out, sizeof(bye));
	pthread_join(recv_tid, NULL);
	for (i = 0; i < opt.threads; i++)
		pthread_join(work_tid[i], NULL);
	close(dst.sock);

	range.start = (uintptr_t)dst.area;
	range.len = npages * psize;
	if (ioctl(dst.uffd, UFFDIO_UNREGISTER, &range))
		fatal("UFFDIO_UNREGISTER: %s", strerror(errno));
	close(dst.uffd);
	sum = checksum(dst.area);
	t_end = now_ns();

	st = reap_source(-1);
	if (st == -1)
		fprintf(stderr, "%s: destination: cannot reap the source: %s\n",
			PROG, strerror(errno));
	else if (st != 0)
		describe_status(st);

	printf("summary:\n");
	printf("pages: %zu of %zu bytes: demanded %" PRIu64 ", pushed "
	       "(background) %" PRIu64 "; %" PRIu64 " of them zero pages\n",
	       npages, psize, dst.demand, dst.background, dst.zero);
	printf("faults: %" PRIu64 " fault messages, %" PRIu64 " requests, %"
	       PRIu64 " for a page already requested, %" PRIu64
	       " for a page already installed\n",
	       dst.faults, dst.requests, dst.same_page, dst.stale);
	printf("duplicates: %" PRIu64 " sent twice by the source (a request "
	       "raced the stream), %" PRIu64 " EEXIST at the destination, %"
	       PRIu64 " UFFDIO_WAKE\n", dst.src_st.dups, dst.eexist,
	       dst.wakes);
	printf("bytes moved: %.2f MiB source->destination (%" PRIu64
	       " bytes), %" PRIu64 " bytes destination->source\n",
	       dst.bytes_in / MIB, dst.bytes_in, dst.bytes_out);
	printf("source ready: %.3f ms after start (image filled, "
	       "connection accepted)\n", ms(dst.t_ready - t_start));
	printf("workload start: %.3f ms after start (%lu threads running)\n",
	       ms(dst.t_work_start - t_start), opt.threads);
	printf("workload: %" PRIu64 " accesses (%" PRIu64 " writes) in %.3f "
	       "ms, %" PRIu64 " content errors\n", dst.accesses, dst.writes,
	       ms(dst.t_work_end - dst.t_work_start), dst.errors);
	printf("total time: %.3f ms\n", ms(t_end - t_start));
	printf("BENCH demo_total %.3f ms\n", ms(t_end - t_start));
	if (dst.nlat) {
		qsort(dst.lat, dst.nlat, sizeof(dst.lat[0]), cmp_u64);
		printf("fault latency (fault thread read -> page installed): "
		       "p50 %.3f ms, p99 %.3f ms, max %.3f ms, %zu pages\n",
		       ms(pct(dst.lat, dst.nlat, 50)),
		       ms(pct(dst.lat, dst.nlat, 99)),
		       ms(dst.lat[dst.nlat - 1]), dst.nlat);
		/* for scripts/bench-report.sh (make bench) */
		printf("BENCH demo_fault_p50 %.3f ms\n",
		       ms(pct(dst.lat, dst.nlat, 50)));
		printf("BENCH demo_fault_p99 %.3f ms\n",
		       ms(pct(dst.lat, dst.nlat, 99)));
	} else {
		printf("fault latency: no demand faults\n");
	}
	ok = sum == dst.src_sum;
	printf("checksum: %s (destination 0x%016" PRIx64 ", source 0x%016"
	       PRIx64 ")\n", ok ? "match" : "MISMATCH", sum, dst.src_sum);
	if (!ok) {
		size_t p, w, bad = 0;

		for (p = 0; p < npages; p++) {
			const uint64_t *q =
				(const uint64_t *)(dst.area + p * psize);

			for (w = 0; w < wpp && q[w] == expected(p, w); w++)
				;
			if (w < wpp && bad++ < 10)
				printf("page %zu differs from its expected "
				       "content at word %zu\n", p, w);
		}
		printf("%zu pages differ from their expected content\n", bad);
	}
	ok = ok && !dst.errors && st == 0;
	printf("%s: %s\n", PROG, ok ? "PASSED" : "FAILED");
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: %s [options]\n"
"Move a memory image lazily from a source process (the child) to a\n"
"destination process (the parent) over TCP on 127.0.0.1, as postcopy live\n"
"migration does: the destination runs its workload at once and userfaultfd\n"
"fetches each missing page on demand while the rest streams in behind.\n"
"  -s MIB    size of the image in MiB (default %lu)\n"
"  -t N      workload threads (default %lu)\n"
"  -a N      accesses per workload thread (default %lu)\n"
"  -w PCT    percentage of the accesses that write (default %lu)\n"
"  -z PCT    percentage of zero pages in the image (default %lu)\n"
"  -b MIBPS  background stream limit in MiB/s, 0: none (default %g)\n"
"  -p PORT   TCP port on 127.0.0.1, 0: any free one (default %lu)\n"
"  -S SEED   seed of the content and of the workload (default %" PRIu64 ")\n"
"  -T SECS   watchdog: fail after SECS seconds (default %lu)\n"
"  -K N      test: the source kills itself after sending N pages\n"
"  -h        this help\n"
"Exit status: 0 success, 1 failure, 2 usage.\n",
		PROG, opt.size_mib, opt.threads, opt.accesses, opt.write_pct,
		opt.zero_pct, opt.bw_mib, opt.port, opt.seed, opt.timeout);
}

static void __attribute__((noreturn)) bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s -h' for more information.\n", PROG);
	exit(2);
}

static unsigned long long parse_num(int c, const char *s,
				    unsigned long long min,
				    unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	while (*s == ' ')
		s++;
	if (*s == '-' || *s == '+' || !*s)
		bad_usage("-%c: '%s' is not a number", c, s);
	v = strtoull(s, &end, 0);
	if (*end || errno)
		bad_usage("-%c: '%s' is not a number", c, s);
	if (v < min || v > max)
		bad_usage("-%c: %s is out of range [%llu, %llu]", c, s, min,
			  max);
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t salen = sizeof(sa);
	struct sigaction act = { .sa_handler = on_alarm };
	int c, lsock, one = 1, port;
	char *end;
	pid_t pid, parent;

	t_start = now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);

	while ((c = getopt(argc, argv, ":s:t:a:w:z:b:p:S:T:K:h")) != -1) {
		switch (c) {
		case 's':
			opt.size_mib = parse_num(c, optarg, 1, 65536);
			break;
		case 't':
			opt.threads = parse_num(c, optarg, 1, 1024);
			break;
		case 'a':
			opt.accesses = parse_num(c, optarg, 0, 1000000000);
			break;
		case 'w':
			opt.write_pct = parse_num(c, optarg, 0, 100);
			break;
		case 'z':
			opt.zero_pct = parse_num(c, optarg, 0, 100);
			break;
		case 'b':
			errno = 0;
			opt.bw_mib = strtod(optarg, &end);
			if (end == optarg || *end || errno ||
			    !(opt.bw_mib >= 0 && opt.bw_mib <= 1e6))
				bad_usage("-b: '%s' is not a bandwidth in "
					  "MiB/s in [0, 1e6]", optarg);
			break;
		case 'p':
			opt.port = parse_num(c, optarg, 0, 65535);
			break;
		case 'S':
			opt.seed = parse_num(c, optarg, 0, UINT64_MAX);
			break;
		case 'T':
			opt.timeout = parse_num(c, optarg, 1, 86400);
			break;
		case 'K':
			opt.kill_after = parse_num(c, optarg, 1, UINT64_MAX);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			bad_usage("option -%c needs an argument", optopt);
		default:
			bad_usage("unknown option -%c", optopt);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);

	psize = sysconf(_SC_PAGESIZE);
	wpp = psize / 8;
	npages = opt.size_mib * (size_t)(MIB / psize);
	seed_key = mix64(opt.seed ^ 0x243f6a8885a308d3ULL);
	perm_mul = mix64(seed_key) % npages;
	while (perm_mul == 0 || gcd(perm_mul, npages) != 1)
		perm_mul = (perm_mul + 1) % npages + (npages == 1);
	perm_add = mix64(seed_key + 1) % npages;

	sigaction(SIGALRM, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0)
		fatal("socket: %s", strerror(errno));
	setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons(opt.port);
	if (bind(lsock, (struct sockaddr *)&sa, sizeof(sa)))
		fatal("bind to 127.0.0.1:%lu: %s", opt.port, strerror(errno));
	if (listen(lsock, 1) ||
	    getsockname(lsock, (struct sockaddr *)&sa, &salen))
		fatal("listen: %s", strerror(errno));
	port = ntohs(sa.sin_port);

	printf("%s: %lu MiB (%zu pages), %lu threads x %lu accesses "
	       "(%lu%% writes), background ", PROG, opt.size_mib, npages,
	       opt.threads, opt.accesses, opt.write_pct);
	if (opt.bw_mib > 0)
		printf("%g MiB/s", opt.bw_mib);
	else
		printf("unlimited");
	printf(", %lu%% zero pages, seed %" PRIu64 ", port %d\n",
	       opt.zero_pct, opt.seed, port);
	fflush(stdout);

	parent = getpid();
	pid = fork();
	if (pid < 0)
		fatal("fork: %s", strerror(errno));
	if (pid == 0)
		_exit(source_main(lsock, parent));
	child_pid = pid;
	close(lsock);
	return destination_main(port);
}

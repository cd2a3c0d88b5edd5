// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin for `make icount`: counts the guest instructions
 * executed between two marker instructions of the guest program
 * (bench/uffd-icount.c), kernel and user mode apart, and the kernel
 * translation blocks run (each ends at a jump, a call or a return), and
 * prints "ICOUNT <kernel> <user> <kernel blocks>" at each stop marker
 * (QEMU's -d plugin log).
 * Start marker: nopw 0x1234(%rax,%rax,1); stop: nopw 0x5678(%rax,%rax,1).
 * Meant for a guest with one vCPU: what another vCPU runs would count too.
 *
 * ICOUNT_SECT=N (the QEMU process's environment) also prints, for the N-th
 * section (from 0), "PROF <address> <instructions>" for every kernel
 * translation block run in it, for scripts/icount-prof.py.
 *
 * Debian's QEMU 7.2 supports plugins but ships no qemu-plugin.h: the few
 * functions of its plugin API (version 1) used here are declared below.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb_t)(unsigned int vcpu, void *udata);

#define QEMU_PLUGIN_INLINE_ADD_U64	0
#define QEMU_PLUGIN_CB_NO_REGS		0

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      int op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  vcpu_udata_cb_t cb, int flags,
					  void *udata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    vcpu_udata_cb_t cb, int flags,
					    void *udata);
void qemu_plugin_outs(const char *string);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

static const unsigned char start_marker[] = {
	0x66, 0x0f, 0x1f, 0x84, 0x00, 0x34, 0x12, 0x00, 0x00 };
static const unsigned char stop_marker[] = {
	0x66, 0x0f, 0x1f, 0x84, 0x00, 0x78, 0x56, 0x00, 0x00 };

/* Running totals (inline adds), and their values at the start marker. */
static uint64_t kernel_insns, user_insns, kernel_tbs;
static uint64_t kernel_at_start, user_at_start, tbs_at_start;

/* The profile of one section: a record per kernel translation block. */
struct tb_prof {
	uint64_t vaddr;
	uint64_t insns;		/* in the block */
	uint64_t count;		/* instructions run in the profiled section */
};
static struct tb_prof **profs;
static size_t nr_profs, max_profs;
static int prof_section = -1, section;
static bool profiling;

static void tb_exec(unsigned int vcpu, void *udata)
{
	struct tb_prof *p = udata;

	if (profiling)
		p->count += p->insns;
}

static void on_start(unsigned int vcpu, void *udata)
{
	kernel_at_start = kernel_insns;
	user_at_start = user_insns;
	tbs_at_start = kernel_tbs;
	profiling = section == prof_section;
}

static void on_stop(unsigned int vcpu, void *udata)
{
	char line[128];
	size_t i;

	snprintf(line, sizeof(line), "ICOUNT %llu %llu %llu\n",
		 (unsigned long long)(kernel_insns - kernel_at_start),
		 (unsigned long long)(user_insns - user_at_start),
		 (unsigned long long)(kernel_tbs - tbs_at_start));
	qemu_plugin_outs(line);
	if (profiling) {
		profiling = false;
		for (i = 0; i < nr_profs; i++) {
			if (!profs[i]->count)
				continue;
			snprintf(line, sizeof(line), "PROF %llx %llu\n",
				 (unsigned long long)profs[i]->vaddr,
				 (unsigned long long)profs[i]->count);
			qemu_plugin_outs(line);
			profs[i]->count = 0;
		}
	}
	section++;
}

static void profile_tb(struct qemu_plugin_tb *tb, size_t n)
{
	struct tb_prof *p = calloc(1, sizeof(*p));

	if (!p)
		return;
	if (nr_profs == max_profs) {
		size_t max = max_profs ? 2 * max_profs : 4096;
		struct tb_prof **more = realloc(profs, max * sizeof(*profs));

		if (!more) {
			free(p);
			return;
		}
		profs = more;
		max_profs = max;
	}
	p->vaddr = qemu_plugin_tb_vaddr(tb);
	p->insns = n;
	profs[nr_profs++] = p;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec,
					     QEMU_PLUGIN_CB_NO_REGS, p);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i;
	bool kernel = qemu_plugin_tb_vaddr(tb) >> 63;

	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64,
						 kernel ? &kernel_insns :
							  &user_insns, n);
	if (kernel) {
		qemu_plugin_register_vcpu_tb_exec_inline(tb,
				QEMU_PLUGIN_INLINE_ADD_U64, &kernel_tbs, 1);
		if (prof_section >= 0)
			profile_tb(tb, n);
		return;
	}
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const void *data = qemu_plugin_insn_data(insn);
		size_t size = qemu_plugin_insn_size(insn);

		if (size == sizeof(start_marker) &&
		    !memcmp(data, start_marker, size))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start,
					QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (size == sizeof(stop_marker) &&
			 !memcmp(data, stop_marker, size))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_stop,
					QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info,
			       int argc, char **argv)
{
	const char *sect = getenv("ICOUNT_SECT");

	if (sect)
		prof_section = atoi(sect);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	return 0;
}

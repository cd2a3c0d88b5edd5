# userfaultfd for Linux 6.1: build, boot and test harness.
#   make          set up, build the guest kernel, boot it and run the main job
#   make check    the whole test plan on the debug kernel; non-zero on failure
# See README.md for every target.

S := scripts
PLANS := tests/plans
MAIN_PLANS := smoke demo
CHECK_PLANS := smoke mm uffd demo man qemu criu fuzz leak
TREE := build/linux/.git

.PHONY: all main check check-base check-bisect checkpatch deps tree export \
	check-export check-docs check-cross lint fuzz bench icount shell clean \
	distclean

all: main

# Kept between runs: make would delete them as intermediate files.
.PRECIOUS: build/obj-%/.config build/plans/%.plan

deps:
	@$(S)/deps.sh

$(TREE):
	@$(MAKE) --no-print-directory deps
	$(S)/tree.sh

tree: deps
	$(S)/tree.sh

export: $(TREE)
	$(S)/export.sh

check-export: $(TREE)
	@$(S)/check-export.sh

checkpatch: $(TREE)
	@$(S)/checkpatch.sh

# Man pages lint and render, kernel-doc is quiet, the man example is extracted.
check-docs: deps $(TREE)
	@$(S)/check-docs.sh

# Each patch of the series builds and boots on its own.
check-bisect: deps build/obj-debug/.config
	$(S)/check-bisect.sh

# The series compiles for arm64 too (not part of check).
check-cross: $(TREE)
	$(S)/check-cross.sh

build/obj-%/.config: config/*.config | $(TREE)
	$(S)/configure.sh $*

kernel-%: build/obj-%/.config
	$(S)/build-kernel.sh $*

build/plans/%.plan: $(PLANS)/*.plan
	@mkdir -p build/plans
	@cat $(foreach p,$(PLANS_$*),$(PLANS)/$(p).plan) >$@

PLANS_main := $(MAIN_PLANS)
PLANS_check := $(CHECK_PLANS)
PLANS_base := base mm

main: deps kernel-guest build/plans/main.plan
	$(S)/run-plan.sh build/plans/main.plan

check: deps check-docs kernel-debug lint build/plans/check.plan
	$(S)/run-plan.sh build/plans/check.plan

# Static analysis of the files the series touches: sparse, W=1, kernel-doc
# and coccinelle; only what the base does not have counts (lint/).
lint: deps kernel-debug
	$(S)/lint.sh

# The randomized exerciser for as long as asked (SECONDS, SEED, INJECT=1).
fuzz: deps kernel-debug
	SECONDS="$(SECONDS)" SEED="$(SEED)" INJECT="$(INJECT)" $(S)/fuzz.sh

# Issue 3's checks of the prepared base: nothing of userfaultfd is left,
# it builds with both configurations, boots, and mm behaves.
check-base: deps $(TREE)
	$(S)/check-base.sh

# Issue 7: upstream 6.1's userfaultfd against ours, ABAB (BENCH_REPS=5).
bench: deps $(TREE)
	$(S)/bench.sh

# Guest instructions per userfaultfd operation, ours against upstream 6.1
# (a TCG plugin counts them; ICOUNT_SECT=N profiles section N).
icount: deps $(TREE)
	$(S)/icount.sh

shell: build/plans/main.plan
	@[ -f build/bzImage ] || $(MAKE) --no-print-directory kernel-guest
	$(S)/build-tests.sh build/plans/main.plan
	$(S)/mkinitramfs.sh build/plans/main.plan
	$(S)/run-guest.sh build/plans/main.plan shell

clean:
	rm -rf build/obj-* build/guest build/logs build/plans build/bzImage* \
		build/initramfs-* build/headers build/kernel-kind

distclean:
	rm -rf build

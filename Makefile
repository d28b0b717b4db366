# SPDX-License-Identifier: GPL-2.0-only
#
# xt_COLO: the in-kernel COLO packet comparator, out of tree.
#
# This Makefile wraps Kbuild ($(MAKE) -C $(KDIR) M=$(CURDIR)) for the module
# and userspace/Makefile for coloctl and libxt_COLO.so, and drives the QEMU
# test harness (selftests/qemu/). `make help` lists the targets.

VERSION := $(shell sed -n 's/^\#define XT_COLO_VERSION "\(.*\)"/\1/p' kernel/version.h)

PREFIX ?= /usr/local
DESTDIR ?=
DKMSDIR ?= /usr/src/xt_COLO-$(VERSION)
BUILDDIR ?= $(CURDIR)/build
XTLIBDIR ?= $(shell pkg-config --variable=xtlibdir xtables 2>/dev/null)

# Kernel headers: KDIR if given, else the running kernel's build directory,
# else the newest Debian linux-headers-*-amd64 installed.
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
ifneq ($(KDIR),)
KDIR_WHY := given
else ifneq ($(wildcard $(RUNNING_KDIR)/Makefile),)
KDIR := $(RUNNING_KDIR)
KDIR_WHY := the running kernel's build directory
else
KDIR := $(lastword $(shell ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V))
KDIR_WHY := the newest installed Debian headers
endif
# The release the module is built for (Debian's kernel.release is not it).
KVER = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

KBUILD = $(MAKE) -C $(KDIR) M=$(CURDIR)

# Debian 12 packages needed to build, test and benchmark. dwarves: pahole,
# which Kbuild runs for the BTF of a module when the headers ship vmlinux
# (Debian's 6.12 headers do; the build fails without it). shellcheck: make
# lint's check of the shell scripts.
DEPS := build-essential kmod pkg-config python3 xz-utils \
	linux-headers-amd64 linux-image-amd64 linux-source-6.1 \
	libmnl-dev libnftnl-dev libxtables-dev libjansson-dev \
	qemu-system-x86 busybox-static cpio \
	iproute2 nftables iptables iputils-ping ethtool socat tcpdump procps jq \
	dkms sparse dwarves shellcheck

# checkpatch.pl: from an unpacked /usr/src/linux-source-6.1, else unpacked
# (scripts/ only) from Debian's tarball into the build directory.
LINUX_SOURCE_TAR := /usr/src/linux-source-6.1.tar.xz
CHECKPATCH := $(firstword $(wildcard /usr/src/linux-source-6.1/scripts/checkpatch.pl) \
	$(BUILDDIR)/linux-source-6.1/scripts/checkpatch.pl)

all: module tools

module: kdir
	@echo "  KDIR    $(KDIR) ($(KDIR_WHY), $(KVER))"
	@$(KBUILD) modules

module-debug: kdir
	@echo "  KDIR    $(KDIR) ($(KDIR_WHY), $(KVER))"
	@$(KBUILD) KCFLAGS="-DDEBUG -g" modules

tools:
	@$(MAKE) -C userspace
	@$(MAKE) -C selftests/tools

kdir:
	@test -f "$(KDIR)/Makefile" || { \
		echo "xt_COLO: no kernel headers at '$(KDIR)': run 'make deps' or pass KDIR=" >&2; \
		exit 1; }

install: module-install tools-install

# Like modules_install with INSTALL_MOD_STRIP=1, without its attempt to sign
# with a key that Debian's headers do not ship.
module-install: module
	@install -D -m 0644 xt_COLO.ko $(DESTDIR)/lib/modules/$(KVER)/updates/xt_COLO.ko
	@strip --strip-debug $(DESTDIR)/lib/modules/$(KVER)/updates/xt_COLO.ko
	@echo "  INSTALL $(DESTDIR)/lib/modules/$(KVER)/updates/xt_COLO.ko"
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER); fi

tools-install: tools
	@$(MAKE) -C userspace install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) XTLIBDIR=$(XTLIBDIR)

# Copy the module sources to /usr/src/xt_COLO-$(VERSION) for `dkms add`.
dkms-install:
	@install -d $(DESTDIR)$(DKMSDIR)
	@install -m 0644 Kbuild Makefile $(DESTDIR)$(DKMSDIR)/
	@sed 's/@VERSION@/$(VERSION)/' dkms.conf >$(DESTDIR)$(DKMSDIR)/dkms.conf
	@cd kernel && find . -name '*.[ch]' -exec install -D -m 0644 {} $(DESTDIR)$(DKMSDIR)/kernel/{} \;
	@echo "xt_COLO sources in $(DESTDIR)$(DKMSDIR); next: dkms add xt_COLO/$(VERSION)"

clean:
	@if [ -f "$(KDIR)/Makefile" ]; then $(KBUILD) clean; fi
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	@$(MAKE) -C selftests/tools clean
	@if [ -f tests/unit/Makefile ]; then $(MAKE) -C tests/unit clean; fi
	@$(MAKE) -C selftests/stress clean
	@$(MAKE) -C bench clean
	@$(MAKE) -C selftests/fault clean
	@if [ -f "$(KDIR)/Makefile" ]; then $(MAKE) -C selftests/qemu/warn KDIR=$(KDIR) clean; fi
	@rm -rf $(BUILDDIR)

# Install what is missing; quiet when nothing is.
deps:
	@missing=; for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || \
			missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS   $$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing || exit 1; \
	fi
	@if [ -z "$(wildcard /usr/src/linux-source-6.1/scripts/checkpatch.pl)" ] && \
	    [ ! -f $(BUILDDIR)/linux-source-6.1/scripts/checkpatch.pl ]; then \
		echo "  UNPACK  $(LINUX_SOURCE_TAR) scripts/ -> $(BUILDDIR)"; \
		mkdir -p $(BUILDDIR) && \
		tar -C $(BUILDDIR) -xf $(LINUX_SOURCE_TAR) linux-source-6.1/scripts; \
	fi
	@if [ "$(origin KVER)" = "command line" ]; then \
		selftests/qemu/kernel-root $(KVER) $(KERNEL_CACHE) >/dev/null; fi

# The kernel release the test guest boots (a shell expansion), and the build
# for it: deps, then module and tools against that release's headers.
# Debian's newest installed kernel, or KVER=<release> given on the command
# line (e.g. Debian 12's 6.12: `apt-cache search linux-headers-6.12`); a
# release that is not installed is unpacked from Debian's packages under
# KERNEL_CACHE and used from there (selftests/qemu/kernel-root says why).
KERNEL_CACHE ?= $(HOME)/.cache/xt_COLO/kernels
ifeq ($(origin KVER),command line)
GUEST_KVER = $(KVER)
else
GUEST_KVER = $$(selftests/qemu/guest-kernel)
endif
# Sets kver and root (where its boot/, lib/modules/ and usr/src/ are) in
# the recipe's shell; GUEST_RUN is selftests/qemu/run's kernel arguments.
GUEST_KERNEL = kver=$(GUEST_KVER) && root=$$(selftests/qemu/kernel-root $$kver $(KERNEL_CACHE))
GUEST_RUN = --kernel $$kver $$([ "$$root" = / ] || \
	echo --vmlinuz $$root/boot/vmlinuz-$$kver --modules $$root)

guest-build:
	@$(MAKE) --no-print-directory deps
	@$(GUEST_KERNEL) && $(MAKE) --no-print-directory all KDIR=$${root%/}/usr/src/linux-headers-$$kver

# Build, run the host-side unit tests, then boot Debian's kernel under QEMU
# and run the selftests there (T=name for one, without the unit tests).
check: guest-build
	@if [ -z "$(T)" ]; then $(MAKE) --no-print-directory unit; fi
	@$(GUEST_KERNEL) && selftests/qemu/run $(GUEST_RUN) --build $(BUILDDIR)/check \
		$(foreach t,$(T),--test $(t))

# Fuzz, load and lifecycle runs (selftests/stress/, not part of check; T=name
# for one; STRESS_FRAMES, STRESS_SEED... scale them, see the README).
check-stress: guest-build
	@$(MAKE) --no-print-directory -C selftests/stress
	@$(GUEST_KERNEL) && selftests/qemu/run $(GUEST_RUN) --build $(BUILDDIR)/stress \
		--dir selftests/stress $(foreach t,$(T),--test $(t))

# The same selftests on a debug 6.1 kernel (KASAN, kmemleak, lockdep, UBSAN,
# fault injection: selftests/debug/config), built once from linux-source-6.1
# into COLO_DEBUG_CACHE by selftests/debug/build-kernel. xt_COLO is built
# against it in a copy of Kbuild + kernel/ (the tree's own objects stay
# Debian's); the guest fails the run on any kernel report, and on kmemleak's
# suspected leaks that involve xt_COLO, netfilter or skbs. The module's flow
# cache is flagged for failslab's cache-filter (slub_debug's A; harmless
# unless a test sets cache-filter: selftests/fault/fault_lost.sh). Tests get
# COLO_TIMEOUT_SCALE times their timeout (4 by default here).
COLO_DEBUG_CACHE ?= $(HOME)/.cache/xt_COLO/debug-kernel
DEBUG_DEPS := flex bison bc libelf-dev libssl-dev
DEBUG_MODDIR := $(BUILDDIR)/check-debug-module

debug-kernel:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(DEBUG_DEPS)"
	@selftests/debug/build-kernel $(COLO_DEBUG_CACHE)

# module_copy DIR: a fresh copy of Kbuild and kernel/'s sources in DIR, to
# build the module there against another kernel or with other flags
define module_copy
	@rm -rf $(1) && mkdir -p $(1)
	@install -m 0644 Kbuild $(1)/
	@cd kernel && find . -name '*.[ch]' -exec install -D -m 0644 {} $(abspath $(1))/kernel/{} \;
endef

module-check-debug: debug-kernel
	$(call module_copy,$(DEBUG_MODDIR))
	@echo "  KDIR    $(COLO_DEBUG_CACHE)/obj ($$(cat $(COLO_DEBUG_CACHE)/release))"
	@$(MAKE) -C $(COLO_DEBUG_CACHE)/obj M=$(DEBUG_MODDIR) KCFLAGS=-g modules

DEBUG_RUN = COLO_TIMEOUT_SCALE=$${COLO_TIMEOUT_SCALE:-4} selftests/qemu/run \
		--kernel $$(cat $(COLO_DEBUG_CACHE)/release) \
		--vmlinuz $(COLO_DEBUG_CACHE)/obj/arch/x86/boot/bzImage \
		--modules $(COLO_DEBUG_CACHE)/mod --module $(DEBUG_MODDIR)/xt_COLO.ko \
		--kmemleak --append 'kasan_multi_shot slub_debug=FZPU;FZPUA,colo_flow'

check-debug: module-check-debug tools
	@$(DEBUG_RUN) --build $(BUILDDIR)/check-debug $(foreach t,$(T),--test $(t))

# Fault injection on the same kernel (selftests/fault/, not part of
# check-debug): every allocation of each configuration command failed in
# turn through /proc/thread-self/fail-nth (fault_config), and atomic
# allocations failing at random while traffic is held, compared, released
# at checkpoints and failed over (fault_traffic). T=name for one;
# FAULT_WALKS and FAULT_LAST narrow the walks (selftests/fault/*.sh).
check-fault: module-check-debug tools
	@$(MAKE) --no-print-directory -C selftests/fault
	@$(MAKE) --no-print-directory -C selftests/stress
	@$(DEBUG_RUN) --build $(BUILDDIR)/check-fault --dir selftests/fault \
		$(foreach t,$(T),--test $(t))

# colo-quick's systemd units under a real systemd (selftests/systemd/; not
# part of check, it takes minutes): the test guest boots a systemd-nspawn
# container in the primary host's namespace of the selftests' topology,
# with the tools and units installed by userspace's `make install`, and
# checks enable --now, the helper's restart, nftables restart and reload,
# a reboot of the container and stop; then the same for the secondary
# host's role, with netfilter-persistent as its firewall (README,
# "colo-quick under systemd"). The guest runs the build machine's root, so
# the packages it needs are installed here: iptables-persistent brings
# netfilter-persistent (its postinst saves the build machine's current
# rules to /etc/iptables/; the test writes its own in the container).
SYSTEMD_DEPS := systemd-container iptables-persistent

check-systemd: guest-build
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(SYSTEMD_DEPS)"
	@$(GUEST_KERNEL) && selftests/qemu/run $(GUEST_RUN) --build $(BUILDDIR)/check-systemd \
		--dir selftests/systemd $(foreach t,$(T),--test $(t))

# Debian packages (debian/): xt-colo-dkms and xt-colo-tools, built with
# dpkg-buildpackage in a copy of the tree (so the tree's build/ and ../ stay
# as they were) into $(DEBDIR), then checked by lintian (it fails on an
# error or warning; tags kept on purpose are overridden in debian/, with why;
# as nobody when it can read them, since it warns against running as root).
DEB_DEPS := debhelper dh-dkms dpkg-dev lintian
DEBDIR := $(BUILDDIR)/deb
DEBSRC := $(DEBDIR)/xt-colo-$(VERSION)

deb:
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(DEB_DEPS)"
	@rm -rf $(DEBDIR) && mkdir -p $(DEBSRC)
	@if git -C $(CURDIR) rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git -C $(CURDIR) ls-files -z --cached --others --exclude-standard | \
			xargs -0 cp -P --parents -t $(DEBSRC); \
	else \
		tar -C $(CURDIR) --exclude=./build --exclude='*.o' --exclude='*.ko' -cf - . | \
			tar -C $(DEBSRC) -xf -; \
	fi
	@echo "  DPKG-BUILDPACKAGE $(DEBSRC) (log: $(DEBDIR)/build.log)"
	@cd $(DEBSRC) && dpkg-buildpackage -us -uc -b >$(DEBDIR)/build.log 2>&1 || { \
		tail -n 40 $(DEBDIR)/build.log; echo "deb: dpkg-buildpackage failed" >&2; exit 1; }
	@rm -rf $(DEBSRC)
	@cd $(DEBDIR) && ls -l *.deb | awk '{ print "  DEB     " $$NF " (" $$5 " bytes)" }'
	@echo "  LINTIAN $(DEBDIR)/*.changes"
	@as=; if [ "$$(id -u)" = 0 ] && runuser -u nobody -- test -r $(DEBDIR)/xt-colo_$(VERSION)_*.changes; then \
		as="runuser -u nobody --"; fi; \
	$$as lintian --info --display-info --fail-on error,warning $(DEBDIR)/*.changes && \
	echo "  LINTIAN no error or warning (any tag shown above is info; overrides in debian/ say why)"

# Install both packages in the test guest, let DKMS build the module for
# its kernel, load that, use the installed tools, protect the selftests'
# pair with the installed colo-quick from configs made from the shipped
# examples and pass traffic, purge (selftests/deb/*.sh in one boot, in
# name order; not part of make check). The guest gets no module from the
# tree.
check-deb: deb
	@selftests/qemu/run --kernel $(GUEST_KVER) --build $(BUILDDIR)/check-deb \
		--dir selftests/deb --module none

# The same tests with xt-colo-tools alone installed and the tree's module,
# as make check has it (minutes, not DKMS's half hour in the guest; .ci/run
# runs it, and builds the module with DKMS on the host).
check-deb-tools: deb guest-build
	@$(GUEST_KERNEL) && selftests/qemu/run $(GUEST_RUN) --build $(BUILDDIR)/check-deb-tools \
		--dir selftests/deb

# Host-side unit tests: userspace's, and the comparison engine's (tests/unit).
unit:
	@if [ -f userspace/tests/run.sh ]; then $(MAKE) --no-print-directory -C userspace test; fi
	@if [ -f tests/unit/Makefile ]; then $(MAKE) --no-print-directory -C tests/unit test; fi

# Host-side micro-benchmarks of the comparison engine (bench/engine/run;
# BENCH_ENGINE_ARGS, e.g. --base HEAD~1 --json FILE).
bench-engine:
	@bench/engine/run $(BENCH_ENGINE_ARGS)

# demo/demo.sh, narrated, in the same QEMU guest as the selftests (this
# machine cannot load modules itself).
demo: guest-build
	@$(GUEST_KERNEL) && selftests/qemu/run $(GUEST_RUN) --build $(BUILDDIR)/demo \
		--dir demo --test demo --raw --timeout 1800

# What xt_COLO costs (bench/: not part of check): throughput and latency
# protected vs plain forwarding and QEMU's colo-compare against the module,
# in the test guest; the table, JSON and plots go to bench/results/.
BENCH_DEPS := gnuplot-nox linux-perf

bench: guest-build
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(BENCH_DEPS)"
	@$(MAKE) --no-print-directory -C bench
	@bench/run --kernel $(GUEST_KVER) --build $(BUILDDIR)/bench

# The checkpoint flush (BENCH_PHASES, default flush) with a module that
# releases everything inline, as xt_COLO did before releases were paced:
# the comparison for the flush's softirq waits and backlog drops. The
# module is a copy of Kbuild + kernel/ built with COLO_RELEASE_INLINE
# U32_MAX in $(BUILDDIR)/bench-unpaced-module.
UNPACED_MODDIR := $(BUILDDIR)/bench-unpaced-module
bench-unpaced: guest-build
	@$(MAKE) --no-print-directory deps DEPS="$(DEPS) $(BENCH_DEPS)"
	@$(MAKE) --no-print-directory -C bench
	$(call module_copy,$(UNPACED_MODDIR))
	@$(GUEST_KERNEL) && $(MAKE) -C $${root%/}/usr/src/linux-headers-$$kver M=$(abspath $(UNPACED_MODDIR)) \
		KCFLAGS=-DCOLO_RELEASE_INLINE=U32_MAX modules
	@BENCH_PHASES="$${BENCH_PHASES:-flush}" BENCH_HOST_QEMU=$${BENCH_HOST_QEMU:-0} \
		BENCH_ENGINE=$${BENCH_ENGINE:-0} BENCH_MODULE=$(UNPACED_MODDIR)/xt_COLO.ko \
		bench/run --kernel $(GUEST_KVER) --build $(BUILDDIR)/bench-unpaced

# The QEMU that runs the COLO pair of check-qemu-colo: Debian 12's QEMU
# 7.2 source with the two fixes COLO needs under TCG (selftests/qemu-colo/
# build-qemu says which and why), built once into QEMU_COLO_DIR, outside
# the tree like the kernels above, so that a new clone does not build it
# again.
QEMU_COLO_DIR ?= $(HOME)/.cache/xt_COLO/qemu
QEMU_COLO ?= $(QEMU_COLO_DIR)/install/bin/qemu-system-x86_64

qemu-colo:
	@selftests/qemu-colo/build-qemu $(QEMU_COLO_DIR)

# xt_COLO protecting a real QEMU COLO pair (not part of check: see README).
check-qemu-colo: guest-build
	@if [ "$(QEMU_COLO)" = "$(QEMU_COLO_DIR)/install/bin/qemu-system-x86_64" ]; then \
		$(MAKE) --no-print-directory qemu-colo; fi
	@selftests/qemu-colo/run --qemu $(QEMU_COLO)

# Prove the harness's verdicts: pass, fail, skip, timeout and a provoked WARN.
check-harness:
	@$(MAKE) --no-print-directory deps
	@kver=$(GUEST_KVER) && \
		$(MAKE) --no-print-directory -C selftests/qemu/warn KDIR=/usr/src/linux-headers-$$kver && \
		selftests/qemu/check-harness --kernel $$kver --build $(BUILDDIR)/check-harness

# checkpatch, sparse and W=1 over the module; warnings in the userspace build;
# shellcheck over every shell script (scripts/lint-shell finds them).
lint:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory lint-only

lint-only: kdir
	@mkdir -p $(BUILDDIR); rc=0; \
	echo "  CHECKPATCH kernel/"; \
	perl $(CHECKPATCH) --strict --no-tree --no-summary --quiet -f \
		$(wildcard kernel/*.c kernel/*.h kernel/uapi/linux/*.h) || rc=1; \
	echo "  SPARSE+W=1 xt_COLO.ko"; \
	$(KBUILD) C=2 W=1 modules >$(BUILDDIR)/lint-kernel.log 2>&1 || rc=1; \
	if grep -E 'warning:|error:' $(BUILDDIR)/lint-kernel.log; then rc=1; fi; \
	echo "  SPDX    every tracked file"; \
	scripts/check-spdx || rc=1; \
	echo "  WERROR  userspace/"; \
	$(MAKE) -C userspace -B >$(BUILDDIR)/lint-userspace.log 2>&1 || rc=1; \
	if grep -E 'warning:|error:' $(BUILDDIR)/lint-userspace.log; then rc=1; fi; \
	echo "  SHELLCHECK $$(scripts/lint-shell --list | wc -l) shell scripts"; \
	scripts/lint-shell || rc=1; \
	if [ $$rc -ne 0 ]; then echo "lint: findings above (logs in $(BUILDDIR))" >&2; fi; \
	exit $$rc

version:
	@echo $(VERSION)

help:
	@echo "make [all]          module (KDIR=$(KDIR)) and userspace tools"
	@echo "make module         the module only; module-debug with -DDEBUG"
	@echo "make tools          the userspace tools only"
	@echo "make install        module into /lib/modules/<ver>/updates, tools under PREFIX=$(PREFIX)"
	@echo "make dkms-install   sources into $(DKMSDIR) for dkms add/build/install"
	@echo "make deb            Debian packages xt-colo-dkms and xt-colo-tools into $(DEBDIR), lintian"
	@echo "make check-deb      make deb, then install them in the QEMU guest, protect a pair with them, purge"
	@echo "make check-deb-tools  the same with xt-colo-tools alone and the tree's module (CI)"
	@echo "make deps           install the Debian packages needed to build, test, benchmark"
	@echo "make check [T=name] [KVER=release]  unit tests, then selftests/*.sh (or those named) in a QEMU guest of Debian's kernel"
	@echo "make check-stress [T=name]  fuzz, load and lifecycle runs (selftests/stress) in the guest"
	@echo "make check-debug [T=name]  selftests/*.sh (or one) on a debug kernel (KASAN, lockdep, kmemleak, UBSAN)"
	@echo "make check-fault [T=name]  failslab/fail_page_alloc through config commands and traffic, on that kernel"
	@echo "make unit           the host-side unit tests only (userspace/tests, tests/unit)"
	@echo "make bench-engine   host micro-benchmarks of the engine (bench/engine/run)"
	@echo "make check-systemd  colo-quick's units under systemd in a container in the guest (minutes)"
	@echo "make check-harness  prove the harness's verdicts (pass, fail, skip, timeout, WARN)"
	@echo "make check-qemu-colo  a real QEMU COLO pair protected by xt_COLO (builds QEMU first)"
	@echo "make qemu-colo      Debian's QEMU 7.2 with the COLO fix, into QEMU_COLO_DIR"
	@echo "make demo           demo/demo.sh in the QEMU guest"
	@echo "make bench          throughput, QEMU colo-compare, latency in the guest (bench/results/)"
	@echo "make bench-unpaced  the checkpoint flush with a module that releases inline (the comparison)"
	@echo "make lint           checkpatch --strict, sparse, W=1, SPDX headers, userspace warnings, shellcheck"
	@echo "make lint-only      the same without make deps first"
	@echo "make version        the version number (kernel/version.h)"
	@echo "make clean"

.PHONY: all module module-debug tools kdir install module-install tools-install \
	dkms-install clean deps guest-build check check-stress unit bench-engine demo check-harness lint lint-only \
	debug-kernel module-check-debug check-debug check-fault \
	qemu-colo check-qemu-colo bench bench-unpaced deb check-deb check-deb-tools check-systemd \
	version help

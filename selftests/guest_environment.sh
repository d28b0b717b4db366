#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The test environment `make check` promises the other tests: the host's root
# read-only over 9p under a writable tmpfs overlay, fresh /tmp and /run (for
# /run/xtables.lock and /run/netns), the freshly built xt_COLO.ko resolvable by
# plain modprobe from updates/, the built coloctl first on PATH, and
# XTABLES_LIBDIR naming the built libxt_COLO.so's directory first. It
# skips outside the harness.

source "$(dirname "$0")/lib.sh"

require_root

[ "${COLO_CHECK_GUEST:-}" = 1 ] || skip "not in the make check guest"

expect_match "root is a tmpfs overlay on the host root" '^overlay / overlay rw,.*lowerdir=/lower' \
	"$(cat /proc/mounts)"
expect_match "the host root came over virtio-9p" '^virtio[0-9]+$' \
	"$(ls /sys/bus/virtio/drivers/9pnet_virtio/ 2>&1)"
expect_eq "/tmp is a tmpfs" tmpfs "$(stat -f -c %T /tmp)"
expect_eq "/run is a tmpfs" tmpfs "$(stat -f -c %T /run)"
expect_ok "/run/xtables.lock can be created" touch /run/xtables.lock
expect_ok "/etc is writable through the overlay" sh -c 'echo x >/etc/colo-guest-write && rm /etc/colo-guest-write'
expect_eq "bash process substitution works (/dev/fd)" ok "$(cat <(echo ok))"
expect_ok "/var/run reaches /run" test "$(readlink -f /var/run)" = /run

kver=$(uname -r)
expect_eq "modprobe resolves xt_COLO to the built one in updates/" \
	"/lib/modules/$kver/updates/xt_COLO.ko" "$(modinfo -k "$kver" -n xt_COLO 2>&1)"
if [ -n "${COLO_MODULE:-}" ]; then
	expect_ok "updates/xt_COLO.ko is the freshly built $COLO_MODULE" \
		cmp "/lib/modules/$kver/updates/xt_COLO.ko" "$COLO_MODULE"
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
expect_eq "coloctl on PATH is the built one" "$repo/userspace/coloctl" "$(command -v coloctl)"
expect_match "XTABLES_LIBDIR starts with the built extension's directory" \
	"^$repo/userspace:" "${XTABLES_LIBDIR:-}"
expect_ok "the system xtables directory is in XTABLES_LIBDIR too" \
	test -f "${XTABLES_LIBDIR#*:}/libxt_mark.so"

ktap_finished

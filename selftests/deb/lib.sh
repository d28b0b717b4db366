# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables are for the tests that source it
#
# What make check-deb's and make check-deb-tools' tests share. The harness
# (selftests/qemu/run --dir selftests/deb) runs them in the order of their
# names in one boot of the test guest, whose root is an overlay (dpkg
# changes nothing on the host), and the packages stay installed from the
# first to the last: DKMS builds the module once, which under TCG takes
# many minutes.
#   deb_install.sh  nothing of the packages there; dpkg -i, DKMS building
#                   the module; that module loads; the installed coloctl,
#                   libxt_COLO.so and man pages work
#   deb_pair.sh     the installed colo-quick protects the selftests' pair
#                   from configs made from the examples the package ships
#   deb_purge.sh    dpkg --purge; nothing of the packages left
# Each says what it needs of the one before it.
#
# Which packages: make check-deb boots the guest with no module of the
# tree's (selftests/qemu/run --module none, COLO_MODULE=none in the guest),
# so both are installed and DKMS builds the module there (20 minutes and
# more under TCG). make check-deb-tools (run by CI) boots it with the
# tree's module, as make check does: xt-colo-tools alone is installed,
# and its coloctl, colo-quick, libxt_COLO.so and man pages are used with
# that module (DEB_DKMS=0; .ci/run builds the module with DKMS on the
# host instead).
#
# Source it after ../lib.sh (or ../lib/topology.sh, which sources that):
# it takes the tree's coloctl and libxt_COLO.so, which the harness puts
# first for the other selftests, off PATH and XTABLES_LIBDIR, so that only
# what the packages installed is used.

unset XTABLES_LIBDIR
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive	# no terminal here for debconf

REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DEBDIR=$REPO/build/deb
KVER=$(uname -r)
VERSION=$(sed -n 's/^#define XT_COLO_VERSION "\(.*\)"/\1/p' "$REPO/kernel/version.h")
[ -n "$VERSION" ] || fail "expected XT_COLO_VERSION in kernel/version.h"
ARCH=$(dpkg --print-architecture)
DKMS_DEB=$DEBDIR/xt-colo-dkms_${VERSION}_all.deb
TOOLS_DEB=$DEBDIR/xt-colo-tools_${VERSION}_$ARCH.deb
if [ "${COLO_MODULE:-none}" = none ]; then
	DEB_DKMS=1
	PACKAGES=(xt-colo-dkms xt-colo-tools)
	DEBS=("$DKMS_DEB" "$TOOLS_DEB")
else
	DEB_DKMS=0
	PACKAGES=(xt-colo-tools)
	DEBS=("$TOOLS_DEB")
	# the module the harness installed (make check's): the one that loads
	TREE_MODULE=/lib/modules/$KVER/updates/xt_COLO.ko
fi
XTLIB=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)/xtables/libxt_COLO.so
# the example configs (userspace/Makefile's DOCDIR/examples)
EXAMPLES=/usr/share/doc/xt-colo-tools/examples
# files the packages install, each checked absent before, there after the
# install and absent after the purge
FILES=(/usr/sbin/coloctl /usr/sbin/colo-quick "$XTLIB"
       /usr/share/man/man8/coloctl.8.gz /usr/share/man/man8/xt_COLO.8.gz
       /usr/share/man/man8/colo-quick.8.gz
       /usr/share/bash-completion/completions/coloctl
       /lib/systemd/system/colo-quick@.service
       "$EXAMPLES/primary.conf" "$EXAMPLES/secondary.conf")
[ "$DEB_DKMS" = 0 ] || FILES+=("/usr/src/xt_COLO-$VERSION/dkms.conf")

# "installed" / "not-installed" / "config-files"... as dpkg knows the package.
pkg_state() {
	dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || echo not-installed
}

# The files of the module DKMS may have put under /lib/modules/$KVER.
modules_found() {
	find "/lib/modules/$KVER" -name 'xt_COLO.ko*' 2>/dev/null
}

# Seconds since $1 (date +%s%N), one decimal.
secs_since() {
	local ms=$((($(date +%s%N) - $1) / 1000000))
	printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# deb_require_installed: the packages installed (deb_install.sh's doing),
# else the test fails at once
deb_require_installed() {
	local p
	for p in "${PACKAGES[@]}"; do
		[ "$(pkg_state "$p")" = installed ] ||
			fail "expected $p installed (deb_install.sh runs first), saw $(pkg_state "$p")"
	done
}

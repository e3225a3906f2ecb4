#!/bin/sh
# SPDX-License-Identifier: ISC
# From a clean clone on Debian 12 to a built tree: installs the Debian
# packages that are missing (haproxy, iproute2, iptables and nftables are
# for the PROXY protocol and transparent-mode tests; mandoc and groff-base
# lint the manual pages, logrotate and systemd check the service files)
# (apt-get, as root or through sudo), then autoreconf, configure and make.
# Arguments go to configure, after any in $XG_CONFIGURE_FLAGS (CI sets
# --enable-werror there). Safe to run again: apt is skipped when everything
# is installed, and make only rebuilds what changed. `bootstrap.sh --packages` prints the package list and exits.

set -eu

PACKAGES="build-essential autoconf automake libtool pkg-config
libevent-dev libssl-dev libpcre2-dev libcjson-dev libexpat1-dev
prosody python3 python3-slixmpp clang libclang-rt-14-dev clang-format
ca-certificates openssl haproxy iproute2 iptables nftables curl
mandoc groff-base logrotate systemd procps"

if [ "${1:-}" = --packages ]; then
	echo $PACKAGES
	exit 0
fi

cd "$(dirname "$0")/../.."

missing=
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing$missing"
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null ||
			{ echo "bootstrap: run as root to install:$missing" >&2; exit 1; }
		sudo=sudo
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086 # the list is meant to split
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends $missing
fi

autoreconf -fi
# shellcheck disable=SC2086 # flags are meant to split
./configure ${XG_CONFIGURE_FLAGS:-} "$@"
make -j"$(nproc)"

#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Makes the test certificates the TLS examples refer to: a test CA (ca.pem,
# ca.key) and a server certificate it signs (server.pem, server.key) for
# localhost, 127.0.0.1 and ::1, or for the names given. All keys are EC
# P-256, written mode 0600. An existing CA in DIR is kept (a client that
# already trusts it keeps working); the server certificate is made anew.
#
#   examples/make-certs.sh [-o DIR] [NAME...]
#
# DIR defaults to the certs/ directory next to this script, which is what
# the examples name (examples/certs/..., relative to the directory xmppgate
# is started in: the top of the source tree). It is git-ignored and left out
# of release tarballs. These are test certificates: never use the CA for
# anything but your own tests.

set -eu

usage() {
	echo "usage: $0 [-o DIR] [NAME...]" >&2
	exit 2
}

dir=$(dirname "$0")/certs
while getopts o:h opt; do
	case $opt in
	o) dir=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- localhost 127.0.0.1 ::1

command -v openssl >/dev/null 2>&1 || {
	echo "$0: the openssl command is missing (apt-get install openssl)" >&2
	exit 1
}

# subjectAltName from the names: addresses as IP, the rest as DNS.
san=
for name in "$@"; do
	case $name in
	*[!0-9.]* | '')
		case $name in
		*:*) entry="IP:$name" ;;
		*) entry="DNS:$name" ;;
		esac
		;;
	*) entry="IP:$name" ;;
	esac
	san=${san:+$san,}$entry
done

umask 077
mkdir -p "$dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xg-certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

if [ -s "$dir/ca.pem" ] && [ -s "$dir/ca.key" ]; then
	echo "keeping the CA in $dir (ca.pem, ca.key)"
else
	# shellcheck disable=SC2086 # $ec is a list of options
	openssl req -x509 $ec -sha256 -days 3650 \
		-subj "/O=xmppgate/CN=xmppgate test CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" \
		-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		exit 1
	}
	mv -f "$tmp/ca.key" "$dir/ca.key"
	mv -f "$tmp/ca.pem" "$dir/ca.pem"
	echo "made a test CA in $dir (ca.pem, ca.key)"
fi

cat >"$tmp/ext.cnf" <<EOF
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
EOF
serial=0x$(openssl rand -hex 16)
# shellcheck disable=SC2086
if ! openssl req -new $ec -subj "/CN=$1" \
	-keyout "$tmp/server.key" -out "$tmp/server.csr" 2>"$tmp/err" ||
	! openssl x509 -req -sha256 -days 825 -in "$tmp/server.csr" \
		-CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "$serial" \
		-extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>"$tmp/err"; then
	cat "$tmp/err" >&2
	exit 1
fi
chmod 600 "$tmp/server.key" "$dir/ca.key"
chmod 644 "$tmp/server.pem" "$dir/ca.pem"
mv -f "$tmp/server.key" "$dir/server.key"
mv -f "$tmp/server.pem" "$dir/server.pem"
echo "made server.pem and server.key in $dir for $san"

#!/bin/sh
# Installs the Debian 12 packages that ifg's build, tests and demo need, when
# any is missing.  Needs root (apt-get); does nothing when all are present.
# (python3-tqdm: Kronfluence, run beside ifg by make bench, imports it.)
set -eu
pkgs="build-essential pkg-config libopenblas-dev liblapacke-dev libzstd-dev zstd
libmsgpack-dev check libjansson-dev libpcre2-dev libutf8proc-dev mandoc clang libclang-rt-14-dev
python3-torch python3-numpy python3-msgpack python3-tqdm parallel gnuplot-nox ca-certificates"
# node and npm may come from elsewhere than Debian (a newer build): take them
# from Debian only when there are none.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: not root; run: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# deps.sh — installs the Debian 12 packages dejaview needs to build, run and
# test. As root it runs apt-get; otherwise it prints the command to run.
# Packages already installed are not fetched again (apt-get update is skipped
# when nothing is missing), unless DV_DEPS_FORCE=1.
set -eu
PKGS="build-essential autoconf automake libtool pkg-config
libevent-dev libyaml-dev libluajit-5.1-dev libpq-dev libopenblas-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev darknet libdnnl-dev
postgresql postgresql-client curl util-linux ca-certificates wrk libjemalloc-dev libhnswlib-dev"
# deps.sh --test: also what the test suite alone needs (the browser test's
# chromium; the cluster test's haproxy and ss; dlib itself, the alignment test's reference); --cluster: scripts/cluster.sh's haproxy
[ "${1:-}" = "--test" ] && PKGS="$PKGS chromium haproxy iproute2 libdlib-dev"
[ "${1:-}" = "--cluster" ] && PKGS="$PKGS haproxy"
# --bench: make bench's reference rows (hnswlib's and FAISS's own Python bindings beside match_hnsw)
[ "${1:-}" = "--bench" ] && PKGS="$PKGS python3-hnswlib python3-faiss python3-numpy"
missing=""
for p in $PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ] && [ "${DV_DEPS_FORCE:-0}" != 1 ]; then
	echo "deps.sh: every package is installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends ${missing:-$PKGS} >/dev/null
echo "deps.sh: installed:${missing:- (forced) all}"

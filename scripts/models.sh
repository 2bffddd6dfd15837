#!/bin/sh
# models.sh — fetches the face networks and converts them for Darknet.
#
#   scripts/models.sh [OUT_DIR] [CONVERTER]      (make models runs it)
#
# 1. `npm pack @vladmandic/face-api@1.7.15` (the only network access), kept
#    in OUT_DIR/npm; its sha256 must equal the pinned one.
# 2. Our converter (models/dv_model_convert.c) writes OUT_DIR/NET.weights.
# 3. Each .weights must have the exact size and sha256 recorded in
#    models/weights.sha256 before anything loads it: Darknet exits the
#    process on a missing file and silently loads garbage from a short one.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/models}
conv=${2:-$here/models/dv_model_convert}
PKG=@vladmandic/face-api
VER=1.7.15
SHA=0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031
NETS="face_recognition tiny_face_detector face_landmark_68 face_landmark_68_tiny"

mkdir -p "$out/npm"
tgz="$out/npm/vladmandic-face-api-$VER.tgz"
have() { [ -f "$tgz" ] && echo "$SHA  $tgz" | sha256sum -c --status; }
if ! have; then
	if ! command -v npm >/dev/null 2>&1; then
		echo "models.sh: npm is needed to fetch $PKG@$VER (apt-get install npm)" >&2
		exit 1
	fi
	rm -f "$tgz"
	echo "models.sh: fetching $PKG@$VER with npm pack"
	if ! (cd "$out/npm" && npm pack "$PKG@$VER" --silent >/dev/null 2>"$out/npm/npm.log"); then
		echo "models.sh: npm pack $PKG@$VER failed (offline, or the registry is unreachable):" >&2
		tail -5 "$out/npm/npm.log" >&2
		exit 1
	fi
	if ! have; then
		echo "models.sh: checksum mismatch for $tgz" >&2
		echo "  expected sha256 $SHA" >&2
		echo "  got      sha256 $(sha256sum "$tgz" | cut -d' ' -f1)" >&2
		rm -f "$tgz"
		exit 1
	fi
fi
rm -rf "$out/npm/package"
tar -xzf "$tgz" -C "$out/npm" package/model
for net in $NETS; do
	w="$out/$net.weights"
	want=$(grep " $net.weights\$" "$here/models/weights.sha256" | cut -d' ' -f1)
	size=$(grep " $net.weights\$" "$here/models/weights.size" | cut -d' ' -f1)
	if [ -f "$w" ] && [ "$(wc -c <"$w")" = "$size" ] && [ "$(sha256sum "$w" | cut -d' ' -f1)" = "$want" ]; then
		echo "models.sh: $net.weights is up to date"
		continue
	fi
	"$conv" "$net" "$out/npm/package/model" "$w.new" >/dev/null
	got=$(wc -c <"$w.new")
	if [ "$got" != "$size" ]; then
		echo "models.sh: $net.weights has $got bytes, expected $size" >&2
		exit 1
	fi
	sum=$(sha256sum "$w.new" | cut -d' ' -f1)
	if [ "$sum" != "$want" ]; then
		echo "models.sh: $net.weights sha256 is $sum, expected $want" >&2
		exit 1
	fi
	mv "$w.new" "$w"
	echo "models.sh: $net.weights converted ($size bytes, sha256 verified)"
done
# plugins find the cfgs and the pinned sizes and sums next to the weights
if [ "$out" != "$here/models" ]; then
	cp "$here"/models/*.cfg "$here"/models/*.calibration.tsv "$here"/models/*.int8.tsv "$here/models/weights.size" "$here/models/weights.sha256" "$out/"
fi

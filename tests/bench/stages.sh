#!/bin/sh
# stages.sh — where one recognition's time goes, for make bench's end-to-end
# part: N requests of one client (curl, one after the other) with PHOTO, and
# per stage the median of the replies' timings_ms (decode ... record, hooks),
# their sum, and the whole request as curl saw it (HTTP, hand-off, reply).
#   tests/bench/stages.sh URL API_KEY PHOTO LABEL [N]    (stages.sh --header: the header line)
set -eu
cols="decode detect landmarks align embed match record hooks"
if [ "$1" = --header ]; then
	printf '%-28s' "photo (median of each, ms)"
	for c in $cols; do printf ' %9s' "$c"; done
	printf ' %9s %9s\n' "sum" "curl"
	exit 0
fi
url=$1 key=$2 photo=$3 label=$4 n=${5:-21}
out=$(mktemp)
i=0
while [ "$i" -lt "$n" ]; do
	# the reply, then curl's total on a line of its own
	curl -s -H "Authorization: Bearer $key" -H 'Content-Type: application/octet-stream' --data-binary @"$photo" \
		-w '\nCURL %{time_total}\n' "$url" >>"$out"
	echo >>"$out"
	i=$((i + 1))
done
awk -v cols="$cols" -v label="$label" '
function median(name,   k, m, t, a, b) {
	m = cnt[name]
	if (!m) return -1
	for (a = 1; a <= m; a++) t[a] = v[name, a]
	for (a = 2; a <= m; a++) { k = t[a]; for (b = a - 1; b >= 1 && t[b] > k; b--) t[b + 1] = t[b]; t[b + 1] = k }
	return m % 2 ? t[(m + 1) / 2] : (t[m / 2] + t[m / 2 + 1]) / 2
}
/^CURL / { cnt["curl"]++; v["curl", cnt["curl"]] = $2 * 1000; next }
/"timings_ms":/ {
	s = $0; sub(/.*"timings_ms":\{/, "", s); sub(/\}.*/, "", s)
	np = split(s, parts, ",")
	total = 0
	for (p = 1; p <= np; p++) {
		split(parts[p], kv, ":"); k = kv[1]; gsub(/"/, "", k)
		if (k == "queue") continue
		cnt[k]++; v[k, cnt[k]] = kv[2] + 0; total += kv[2]
	}
	cnt["sum"]++; v["sum", cnt["sum"]] = total
}
END {
	printf "%-28s", label
	nc = split(cols " sum curl", c, " ")
	for (i = 1; i <= nc; i++) { m = median(c[i]); if (m < 0) printf " %9s", "-"; else printf " %9.2f", m }
	printf "\n"
}' "$out"
rm -f "$out"

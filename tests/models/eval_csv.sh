#!/bin/sh
# make eval's pairs file (tests/eval/dv_eval.c): the columns are found by the
# header's names; without a set column every pair counts in one set named
# after the file; a file with no usable pair, or a header without img_a,
# img_b and same, is an error that says so (it used to print an empty table).
# Needs `make models` and ../shared/testdata.
. "$top_srcdir/tests/e2e/lib.sh"
D="$top_srcdir/../shared/testdata"
[ -f "$top_builddir/models/face_recognition.weights" ] || skip_all "models are not converted: run make models"
[ -f "$D/pairs.csv" ] || skip_all "../shared/testdata/pairs.csv is absent"
EVAL="$top_builddir/tests/eval/dv_eval"
sed -e 's|^plugin_dir:.*||' -e 's|^model_dir:.*||' -e "s|\.\./scripts/|$top_srcdir/scripts/|g" "$top_srcdir/conf/dejaview.yaml" >"$T/eval.yaml"
echo "plugin_dir: \"$DV_PLUGIN_BUILD_DIR\"" >>"$T/eval.yaml"
echo "model_dir: \"$top_builddir/models\"" >>"$T/eval.yaml"
# paths are relative to the pairs file: a folder of links to testdata's sets
mkdir -p "$T/t" && ln -s "$D"/* "$T/t/"
# four pairs of the shared file, without its set column, the columns reordered
{ echo "same,img_b,img_a"; sed -n '2,5p' "$D/pairs.csv" | awk -F, '{print $3 "," $2 "," $1}'; } >"$T/t/mini.csv"
out=$("$EVAL" -c "$T/eval.yaml" "$T/t/mini.csv" 2>"$T/err")
is "$?" 0 "a pairs file without a set column is evaluated"
has "$out" "mini " "as one set named after the file"
check "with its four pairs" sh -c "printf '%s\n' '$out' | grep -Eq '^mini +4 '"
printf 'a,b,c\nx.jpg,y.jpg,1\n' >"$T/t/badhead.csv"
"$EVAL" -c "$T/eval.yaml" "$T/t/badhead.csv" >/dev/null 2>"$T/err"
is "$?" 1 "a header without the columns: exit 1"
has "$(cat "$T/err")" "the header must name the columns img_a, img_b and same" "saying which columns"
printf 'img_a,img_b,same\nonly-one-column\n' >"$T/t/empty.csv"
"$EVAL" -c "$T/eval.yaml" "$T/t/empty.csv" >/dev/null 2>"$T/err"
is "$?" 1 "no usable pair: exit 1"
has "$(cat "$T/err")" "empty.csv:2: expected img_a,img_b,same(0 or 1)[,set]" "naming the line"
done_testing

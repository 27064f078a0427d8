#!/usr/bin/python3
"""debian-text.py: clean English text from unpacked Debian packages, as JSONL.

    /usr/bin/python3 pipelines/debian-text.py ROOT OUTDIR

ROOT holds one directory per package, each the output of `dpkg-deb -x`
(ROOT/r-cran-janeaustenr, ROOT/sword-text-kjv, ROOT/wordnet-base,
ROOT/fortunes, ROOT/fortunes-min).  OUTDIR gets one file per source, one
document a line, {"id": ..., "text": ..., "src": ...}:

    austen.jsonl    Jane Austen's six novels, a document per chapter
    kjv.jsonl       the King James Bible, a document per chapter
    wordnet.jsonl   WordNet 3.0 glosses and examples, 20 synsets a document
    fortunes.jsonl  fortune(6) cookies, one per record (not the offensive set)

and each package's copyright file beside, as LICENSE.SOURCE.  Python's
standard library only: nothing of R or SWORD is needed.  Called by
pipelines/fetch-data.sh; exit status 1 when something is not as expected.
"""
import bz2
import gzip
import json
import lzma
import os
import re
import struct
import sys
import zlib


def fail(msg):
    sys.stderr.write("debian-text: %s\n" % msg)
    sys.exit(1)


# ---- R's serialisation format (XDR, versions 2 and 3), enough of it for data.

class RObj:
    """An R object that is not a plain vector: type code, value, attributes."""
    def __init__(self, kind, value=None, attr=None):
        self.kind, self.value, self.attr = kind, value, attr


class RReader:
    NILVALUE, REF, GLOBALENV, UNBOUND, MISSING = 254, 255, 253, 252, 251
    BASENS, NAMESPACE, PACKAGE, PERSIST = 250, 249, 248, 247
    EMPTYENV, BASEENV, ATTRLANG, ATTRLIST, ALTREP = 242, 241, 240, 239, 238
    PAIRLISTS = (2, 3, 5, 6, 17)	# LIST, CLO, PROM, LANG, DOT

    def __init__(self, buf):
        self.b, self.p, self.refs = buf, 0, []
        if self.take(2) != b"X\n":
            fail("R data: not in XDR format")
        version = self.int()
        self.int(), self.int()		# writer's and minimum R version
        if version == 3:
            self.take(self.int())	# native encoding
        elif version != 2:
            fail("R data: serialisation version %d" % version)

    def take(self, n):
        if n < 0 or self.p + n > len(self.b):
            fail("R data: truncated")
        s = self.b[self.p:self.p + n]
        self.p += n
        return s

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + (lo & 0xffffffff)
        return n

    def strvec(self):		# the names of a namespace, package or persistent ref
        self.int()
        return [self.item() for _ in range(self.int())]

    def charsxp(self, levels):
        n = self.int()
        if n == -1:
            return None		# NA_character_
        raw = self.take(n)
        return raw.decode("latin-1" if levels & 4 else "utf-8", "replace")

    def item(self):
        flags = self.int()
        kind, levels = flags & 0xff, flags >> 12
        has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
        if kind in (self.NILVALUE, self.GLOBALENV, self.UNBOUND, self.MISSING,
                    self.BASENS, self.EMPTYENV, self.BASEENV):
            return None
        if kind == self.REF:
            i = flags >> 8 or self.int()
            return self.refs[i - 1]
        if kind in (self.PERSIST, self.NAMESPACE, self.PACKAGE):
            o = RObj(kind, self.strvec())
            self.refs.append(o)
            return o
        if kind == self.ALTREP:
            info, state, attr = self.item(), self.item(), self.item()
            return RObj(kind, state, attr)
        if kind in self.PAIRLISTS or kind in (self.ATTRLANG, self.ATTRLIST):
            cells = []
            while True:		# a pairlist's cdr chain, read as a loop
                attr = self.item() if has_attr else None
                tag = self.item() if has_tag else None
                cells.append((tag.value if isinstance(tag, RObj) else tag, self.item()))
                flags = self.int()
                kind = flags & 0xff
                has_attr, has_tag = flags & (1 << 9), flags & (1 << 10)
                if not (kind in self.PAIRLISTS or kind in (self.ATTRLANG, self.ATTRLIST)):
                    self.p -= 4
                    self.item()	# the last cdr (NULL for a proper list)
                    return RObj(2, cells, attr)
        if kind == 1:			# SYMSXP
            o = RObj(1)
            self.refs.append(o)
            o.value = self.item()
            return o
        if kind == 4:			# ENVSXP
            o = RObj(4)
            self.refs.append(o)
            self.int()
            o.value = [self.item() for _ in range(4)]	# enclos, frame, hashtab, attrib
            return o
        if kind == 9:
            return self.charsxp(levels)
        if kind in (7, 8):		# SPECIALSXP, BUILTINSXP
            return RObj(kind, self.take(self.int()).decode())
        if kind == 22:			# EXTPTRSXP
            o = RObj(kind)
            self.refs.append(o)
            o.value = (self.item(), self.item())
        elif kind == 23:		# WEAKREFSXP
            o = RObj(kind)
            self.refs.append(o)
        elif kind in (10, 13):		# LGLSXP, INTSXP
            n = self.length()
            o = list(struct.unpack(">%di" % n, self.take(4 * n)))
        elif kind == 14:		# REALSXP
            n = self.length()
            o = list(struct.unpack(">%dd" % n, self.take(8 * n)))
        elif kind == 15:		# CPLXSXP
            n = self.length()
            self.take(16 * n)
            o = RObj(kind)
        elif kind == 16:		# STRSXP
            n = self.length()
            o = [self.item() for _ in range(n)]
        elif kind in (19, 20):		# VECSXP, EXPRSXP
            n = self.length()
            o = RObj(kind, [self.item() for _ in range(n)])
        elif kind == 24:		# RAWSXP
            o = RObj(kind, self.take(self.length()))
        elif kind == 25:		# S4SXP
            o = RObj(kind)
        else:
            fail("R data: SEXP type %d not handled" % kind)
        if has_attr:
            attr = self.item()
            if isinstance(o, RObj):
                o.attr = attr
        return o


def r_attr(o, name):
    if isinstance(o, RObj) and isinstance(o.attr, RObj):
        for tag, v in o.attr.value:
            if isinstance(tag, str) and tag == name:
                return v
    return None


def r_unserialize(buf):
    return RReader(buf).item()


def lazyload(prefix):
    """The objects of an R lazy-load database PREFIX.rdb/.rdx, name -> value."""
    with open(prefix + ".rdx", "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    else:
        raw = zlib.decompress(raw[4:])
    index = r_unserialize(raw)
    names = r_attr(index, "names")
    fields = dict(zip(names, index.value))
    compressed = fields.get("compressed", [1])
    ctype = compressed[0] if isinstance(compressed, list) and compressed else 1
    with open(prefix + ".rdb", "rb") as f:
        rdb = f.read()
    out = {}
    variables = fields["variables"]
    for name, (off, size) in zip(r_attr(variables, "names"), variables.value):
        blob = rdb[int(off):int(off) + int(size)]
        ulen = struct.unpack(">I", blob[:4])[0]
        if ctype in (2, 3):		# a type byte after the length
            kind, blob = blob[4:5], blob[5:]
            data = {b"Z": zlib.decompress, b"2": bz2.decompress,
                    b"X": lzma.decompress, b"0": bytes}[kind](blob)
        else:
            data = zlib.decompress(blob[4:])
        if len(data) != ulen:
            fail("%s: %s: %d bytes, expected %d" % (prefix, name, len(data), ulen))
        out[name] = r_unserialize(data)
    return out


# ---- Jane Austen (janeaustenr): character vectors, one line of text each.

AUSTEN = [("sensesensibility", "Sense and Sensibility"),
          ("prideprejudice", "Pride and Prejudice"),
          ("mansfieldpark", "Mansfield Park"),
          ("emma", "Emma"),
          ("northangerabbey", "Northanger Abbey"),
          ("persuasion", "Persuasion")]

AUSTEN_RULE = re.compile(r"^(VOLUME [IVX]+|THE END|Finis|FINIS|[* ]+)$")	# not prose
CHAPTER = re.compile(r"^(CHAPTER|Chapter)\s+([0-9IVXLC]+)\.?$|^(CHAPTER|Chapter) [A-Z]+$")


def austen(root):
    db = lazyload(os.path.join(root, "r-cran-janeaustenr/usr/lib/R/site-library/"
                               "janeaustenr/data/Rdata"))
    docs = []
    for key, title in AUSTEN:
        lines = db.get(key)
        if not isinstance(lines, list) or not all(isinstance(s, (str, type(None))) for s in lines):
            fail("janeaustenr: %s is not a character vector" % key)
        chapters, cur, started = [], [], False
        for s in lines:
            s = (s or "").strip()
            if CHAPTER.match(s):
                if started and cur:
                    chapters.append(cur)
                cur, started = [], True
                continue
            if started:
                cur.append(s)
        if cur:
            chapters.append(cur)
        if len(chapters) < 20:
            fail("janeaustenr: %s: only %d chapters" % (key, len(chapters)))
        for i, ch in enumerate(chapters, 1):
            paras = [" ".join(p.split("\n")) for p in "\n".join(ch).split("\n\n")]
            paras = [re.sub(r"\s+", " ", p).strip() for p in paras]
            text = "\n\n".join(p for p in paras if p and not AUSTEN_RULE.match(p))
            text = re.sub(r"_([^_]+)_", r"\1", text)	# Gutenberg's _italics_
            if text:
                docs.append({"id": "austen/%s/%d" % (key, i), "text": text,
                             "src": "austen:" + title})
    return docs


# ---- The King James Bible (SWORD zText, OSIS markup), a document per chapter.

NOTE = re.compile(r"<note\b[^>]*/>|<note\b.*?</note>", re.S)
TAG = re.compile(r"<[^>]*>")
USFM = re.compile(r"\\\+?[a-z]+[0-9]*\*?\s*")	# a stray USFM marker, as \nd
CHAPTER_TAG = re.compile(r'<chapter\b[^>]*\bosisID="([^"]+)"[^>]*sID=[^>]*>')


def kjv_testament(d, name):
    with open(os.path.join(d, name + ".bzs"), "rb") as f:
        bzs = f.read()
    with open(os.path.join(d, name + ".bzz"), "rb") as f:
        bzz = f.read()
    with open(os.path.join(d, name + ".bzv"), "rb") as f:
        bzv = f.read()
    blocks = []
    for i in range(0, len(bzs) - 11, 12):
        off, size, usize = struct.unpack("<III", bzs[i:i + 12])
        b = zlib.decompress(bzz[off:off + size])
        if len(b) != usize:
            fail("%s.bzz block %d: %d bytes, expected %d" % (name, i // 12, len(b), usize))
        blocks.append(b)
    verses = []
    for i in range(0, len(bzv) - 9, 10):
        blk, off, size = struct.unpack("<IIH", bzv[i:i + 10])
        if size:
            verses.append(blocks[blk][off:off + size].decode("utf-8"))
    return " ".join(verses)


def kjv(root):
    d = os.path.join(root, "sword-text-kjv/usr/share/sword/modules/texts/ztext/engKJV2006eb")
    docs = []
    for t in ("ot", "nt"):
        osis = NOTE.sub("", kjv_testament(d, t))
        parts = CHAPTER_TAG.split(osis)	# text, id, text, id, text ...
        for i in range(1, len(parts), 2):
            body = parts[i + 1].split("<chapter eID=")[0]	# not the next book's title
            body = USFM.sub("", body)
            body = re.sub(r"<title\b[^>]*>", "\n", body)	# headings on a line
            body = re.sub(r"</title>", "\n", body)
            text = TAG.sub("", body).replace("\u00b6", "")
            lines = [re.sub(r"\s+", " ", s).strip() for s in text.split("\n")]
            text = "\n".join(s for s in lines if s)
            if text:
                docs.append({"id": "kjv/" + parts[i], "text": text, "src": "kjv"})
    if len(docs) != 1189:
        fail("KJV: %d chapters, expected 1189" % len(docs))
    return docs


# ---- WordNet: the gloss of each synset (definitions and quoted examples).

def wordnet(root, per_doc=20):
    d = os.path.join(root, "wordnet-base/usr/share/wordnet")
    docs = []
    for pos in ("noun", "verb", "adj", "adv"):
        glosses = []
        with open(os.path.join(d, "data." + pos), encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):	# the licence header
                    continue
                i = line.find(" | ")
                if i < 0:
                    continue
                g = line[i + 3:].strip()
                if g:
                    glosses.append(g[0].upper() + g[1:] + ("" if g[-1] in ".!?\"'" else "."))
        if len(glosses) < 1000:
            fail("WordNet: data.%s: only %d glosses" % (pos, len(glosses)))
        for j in range(0, len(glosses), per_doc):
            docs.append({"id": "wordnet/%s/%d" % (pos, j // per_doc + 1),
                         "text": "\n".join(glosses[j:j + per_doc]), "src": "wordnet:" + pos})
    return docs


# ---- fortune(6) cookies: records separated by "%" lines.

FORTUNES_SKIP = {"ascii-art", "translate-me"}	# pictures; Latin and puns on it
OVERSTRIKE = re.compile(r".\x08")
MOJIBAKE = re.compile("[\u00c2-\u00c3\u00e2][\u0080-\u00bf]")


def demojibake(s):
    """UTF-8 that was decoded as Latin-1 and encoded again (maybe twice)."""
    for _ in range(3):
        if not MOJIBAKE.search(s):
            break
        try:
            s = s.encode("latin-1").decode("utf-8")
        except UnicodeError:
            break
    return s


def fortunes(root):
    docs = []
    for pkg in ("fortunes-min", "fortunes"):
        d = os.path.join(root, pkg, "usr/share/games/fortunes")
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            if "." in name or name in FORTUNES_SKIP or os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as f:
                raw = f.read().decode("utf-8", "replace")
            recs = re.split(r"\n%\n", "\n" + raw.replace("\r", "") + "\n")
            for k, rec in enumerate(recs, 1):
                rec = demojibake(OVERSTRIKE.sub("", rec))
                rec = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", "", rec)
                lines = [re.sub(r"[ \t]+", " ", s).strip() for s in rec.strip("\n%").split("\n")]
                text = "\n".join(lines).strip()
                if text:
                    docs.append({"id": "fortunes/%s/%d" % (name, k), "text": text,
                                 "src": "fortunes:" + name})
    if len(docs) < 1000:
        fail("fortunes: only %d records" % len(docs))
    return docs


SOURCES = [("austen", austen, "r-cran-janeaustenr"), ("kjv", kjv, "sword-text-kjv"),
           ("wordnet", wordnet, "wordnet-base"), ("fortunes", fortunes, "fortunes")]


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: debian-text.py ROOT OUTDIR\n")
        return 2
    root, out = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    for name, fn, pkg in SOURCES:
        docs = fn(root)
        tmp = os.path.join(out, name + ".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for doc in docs:
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        os.replace(tmp, os.path.join(out, name + ".jsonl"))
        with open(os.path.join(root, pkg, "usr/share/doc", pkg, "copyright"), "rb") as f:
            lic = f.read()
        with open(os.path.join(out, "LICENSE." + name), "wb") as f:
            f.write(lic)
        chars = sum(len(d["text"]) for d in docs)
        print("debian-text: %s.jsonl: %d documents, %d characters" % (name, len(docs), chars))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

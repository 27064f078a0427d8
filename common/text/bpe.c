/* bpe.c: byte-level BPE: loading GPT-2 and Hugging Face files, encoding with
 * a rank hash table and a word cache, decoding.  See bpe.h. */
#include "bpe.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pretok.h"
#include "rec.h"
#include "sha256.h"
#include "util.h"

#define NO_ID UINT32_MAX
#define NO_MERGE UINT64_MAX
/* Pieces up to this many bytes are merged with a rank array and cached;
 * longer ones are merged with a heap and not cached. */
#define SMALL_WORD 128
/* Word cache: slots (power of two); emptied when 3/4 full. */
#define CACHE_SLOTS (1u << 17)

enum { TF_PRESENT = 1, TF_SPECIAL = 2, TF_ADDED = 4 };

/* Added tokens are found with a byte trie: leftmost match, longest first. */
struct trie_node {
	uint32_t child;		/* first child, 0 = none (node 0 is the root) */
	uint32_t sibling;	/* next sibling, 0 = none */
	uint32_t id;		/* token ending here, NO_ID = none */
	uint8_t byte;
	uint8_t special;
};

struct trie {
	struct trie_node *v;
	size_t n, cap;
	uint32_t root_child[256];	/* direct index of the root's children */
};

struct cache_slot {
	uint64_t h;
	uint32_t koff, klen;	/* key bytes in ckeys; klen 0 = empty slot */
	uint32_t ioff, nids;	/* ids in cids */
};

struct ifg_bpe {
	uint32_t nvocab;	/* 1 + largest id */
	struct ifg_bytes pool;	/* every token's bytes */
	uint64_t *off;		/* [nvocab] offset of token id in pool */
	uint32_t *len;		/* [nvocab] */
	uint8_t *flag;		/* [nvocab] TF_* */
	uint32_t *tid;		/* token bytes -> id, open addressing */
	size_t tid_mask;
	uint32_t byte_id[256];	/* id of each single byte, NO_ID if none */
	bool missing_bytes;	/* some byte has no token: see ifg_bpe_encode */
	uint64_t *mkey, *mval;	/* (left << 32 | right) -> (rank << 32 | merged) */
	size_t m_mask, nmerges;
	struct trie raw, norm;	/* added tokens matched before / after NFC */
	bool nfc, prefix_space, use_regex, ignore_merges, special_default;
	int64_t eot;
	char sha[65];
	char *name;
	/* word cache */
	struct cache_slot *cache;
	size_t cache_used;
	struct ifg_bytes ckeys;
	struct ifg_ids cids;
	struct ifg_bytes scratch;	/* NFC output */
};

/* ---- small containers ---- */

void ifg_ids_push(struct ifg_ids *a, uint32_t id)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->v = ifg_xrealloc(a->v, a->cap, sizeof *a->v);
	}
	a->v[a->n++] = id;
}

void ifg_ids_release(struct ifg_ids *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Hash of a byte string, eight bytes at a time. */
static inline uint64_t hash_bytes(const uint8_t *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 29;
		s += 8, n -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, n);
	h = (h ^ w) * 0x100000001b3ull;
	return mix64(h);
}

/* ---- GPT-2's byte <-> character map ---- */

uint32_t ifg_bpe_byte_char(uint8_t b)
{
	/* Printable bytes stand for themselves; the other 68 are shifted to
	 * U+0100.. in byte order (encoder.py's bytes_to_unicode). */
	if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae))
		return b;
	uint32_t k = 0;
	for (uint32_t c = 0; c < b; c++)
		if (!((c >= '!' && c <= '~') || (c >= 0xa1 && c <= 0xac) || (c >= 0xae)))
			k++;
	return 256 + k;
}

/* Inverse map, code point -> byte, -1 outside the 256. */
static int char_byte(int32_t cp)
{
	static int16_t inv[324];
	static int init;
	if (!init) {
		for (int i = 0; i < 324; i++)
			inv[i] = -1;
		for (int b = 0; b < 256; b++)
			inv[ifg_bpe_byte_char((uint8_t)b)] = (int16_t)b;
		init = 1;
	}
	return cp >= 0 && cp < 324 ? inv[cp] : -1;
}

/* The bytes a byte-level token string stands for.  A string with characters
 * outside the map (a Hugging Face token such as "[PAD]" is inside it, but
 * not every tokenizer keeps to it) stands for its own UTF-8.  */
static void bytelevel_decode(const char *s, size_t n, struct ifg_bytes *out)
{
	size_t start = out->n;
	for (size_t i = 0; i < n;) {
		int32_t cp;
		int l = ifg_utf8_decode((const uint8_t *)s + i, n - i, &cp);
		int b = char_byte(cp);
		if (b < 0) {
			out->n = start;
			ifg_bytes_append(out, s, n);
			return;
		}
		uint8_t c = (uint8_t)b;
		ifg_bytes_append(out, &c, 1);
		i += (size_t)l;
	}
}

/* ---- token table ---- */

static void tok_reserve(struct ifg_bpe *t, uint32_t nvocab)
{
	if (nvocab <= t->nvocab)
		return;
	t->off = ifg_xrealloc(t->off, nvocab, sizeof *t->off);
	t->len = ifg_xrealloc(t->len, nvocab, sizeof *t->len);
	t->flag = ifg_xrealloc(t->flag, nvocab, 1);
	memset(t->flag + t->nvocab, 0, nvocab - t->nvocab);
	for (uint32_t i = t->nvocab; i < nvocab; i++)
		t->off[i] = 0, t->len[i] = 0;
	t->nvocab = nvocab;
}

/* Sets token id's bytes (a later call for the same id replaces them). */
static void tok_set(struct ifg_bpe *t, uint32_t id, const void *s, size_t n, uint8_t flags)
{
	tok_reserve(t, id + 1);
	t->off[id] = t->pool.n;
	t->len[id] = (uint32_t)n;
	t->flag[id] |= (uint8_t)(TF_PRESENT | flags);
	ifg_bytes_append(&t->pool, s, n);
}

static void tid_build(struct ifg_bpe *t)
{
	size_t cap = 64;
	while (cap < 2 * (size_t)t->nvocab)
		cap *= 2;
	free(t->tid);
	t->tid = ifg_xmalloc(cap, sizeof *t->tid);
	for (size_t i = 0; i < cap; i++)
		t->tid[i] = NO_ID;
	t->tid_mask = cap - 1;
	for (uint32_t id = 0; id < t->nvocab; id++) {
		if (!(t->flag[id] & TF_PRESENT))
			continue;
		const uint8_t *s = t->pool.p + t->off[id];
		size_t h = hash_bytes(s, t->len[id]) & t->tid_mask;
		for (;; h = (h + 1) & t->tid_mask) {
			uint32_t o = t->tid[h];
			if (o == NO_ID) {
				t->tid[h] = id;
				break;
			}
			/* Two ids with the same bytes: the first one stays. */
			if (t->len[o] == t->len[id] && !memcmp(t->pool.p + t->off[o], s, t->len[id]))
				break;
		}
	}
	t->missing_bytes = false;
	for (int b = 0; b < 256; b++) {
		uint8_t c = (uint8_t)b;
		int64_t id = ifg_bpe_lookup(t, &c, 1);
		t->byte_id[b] = id < 0 ? NO_ID : (uint32_t)id;
		t->missing_bytes |= id < 0;
	}
}

int64_t ifg_bpe_lookup(const struct ifg_bpe *t, const void *s, size_t n)
{
	if (!t->tid)
		return -1;
	for (size_t h = hash_bytes(s, n) & t->tid_mask;; h = (h + 1) & t->tid_mask) {
		uint32_t o = t->tid[h];
		if (o == NO_ID)
			return -1;
		if (t->len[o] == n && !memcmp(t->pool.p + t->off[o], s, n))
			return o;
	}
}

/* ---- merges ---- */

static inline size_t mslot(uint64_t key, size_t mask)
{
	return (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & mask;
}

static void merges_alloc(struct ifg_bpe *t, size_t n)
{
	size_t cap = 64;
	while (cap < 2 * n)
		cap *= 2;
	t->mkey = ifg_xmalloc(cap, sizeof *t->mkey);
	t->mval = ifg_xmalloc(cap, sizeof *t->mval);
	for (size_t i = 0; i < cap; i++)
		t->mval[i] = NO_MERGE;
	t->m_mask = cap - 1;
}

/* A later merge of the same pair replaces the earlier one, as in GPT-2's
 * encoder.py (a dict) and Hugging Face's BPE (a HashMap). */
static void merge_put(struct ifg_bpe *t, uint32_t a, uint32_t b, uint32_t rank, uint32_t id)
{
	uint64_t key = (uint64_t)a << 32 | b;
	for (size_t h = mslot(key, t->m_mask);; h = (h + 1) & t->m_mask) {
		if (t->mval[h] == NO_MERGE) {
			t->mkey[h] = key;
			t->nmerges++;
			break;
		}
		if (t->mkey[h] == key)
			break;
	}
	for (size_t h = mslot(key, t->m_mask);; h = (h + 1) & t->m_mask)
		if (t->mkey[h] == key || t->mval[h] == NO_MERGE) {
			t->mval[h] = (uint64_t)rank << 32 | id;
			return;
		}
}

/* (rank << 32 | merged id) of the pair, or NO_MERGE. */
static inline uint64_t merge_get(const struct ifg_bpe *t, uint32_t a, uint32_t b)
{
	uint64_t key = (uint64_t)a << 32 | b;
	for (size_t h = mslot(key, t->m_mask);; h = (h + 1) & t->m_mask) {
		uint64_t v = t->mval[h];
		if (v == NO_MERGE || t->mkey[h] == key)
			return v;
	}
}

/* Adds the merge of byte-level strings a and b; rank is its line. */
static int merge_add_str(struct ifg_bpe *t, const char *a, size_t na, const char *b, size_t nb,
			 uint32_t rank, struct ifg_bytes *tmp)
{
	tmp->n = 0;
	bytelevel_decode(a, na, tmp);
	size_t la = tmp->n;
	bytelevel_decode(b, nb, tmp);
	int64_t ia = ifg_bpe_lookup(t, tmp->p, la);
	int64_t ib = ifg_bpe_lookup(t, tmp->p + la, tmp->n - la);
	int64_t im = ifg_bpe_lookup(t, tmp->p, tmp->n);
	if (ia < 0 || ib < 0 || im < 0)
		return ifg_seterr("merge %u '%.*s %.*s': %s not in the vocabulary", rank + 1,
				  (int)na, a, (int)nb, b,
				  ia < 0 ? "left part" : ib < 0 ? "right part" : "result");
	merge_put(t, (uint32_t)ia, (uint32_t)ib, rank, (uint32_t)im);
	return 0;
}

/* ---- added tokens: trie ---- */

static uint32_t trie_new(struct trie *tr, uint8_t byte)
{
	if (tr->n == tr->cap) {
		tr->cap = tr->cap ? 2 * tr->cap : 64;
		tr->v = ifg_xrealloc(tr->v, tr->cap, sizeof *tr->v);
	}
	tr->v[tr->n] = (struct trie_node){ 0, 0, NO_ID, byte, 0 };
	return (uint32_t)tr->n++;
}

static uint32_t trie_child(const struct trie *tr, uint32_t node, uint8_t c)
{
	if (node == 0)
		return tr->root_child[c];
	for (uint32_t k = tr->v[node].child; k; k = tr->v[k].sibling)
		if (tr->v[k].byte == c)
			return k;
	return 0;
}

static void trie_add(struct trie *tr, const uint8_t *s, size_t n, uint32_t id, bool special)
{
	if (tr->n == 0)
		trie_new(tr, 0);
	uint32_t node = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = trie_child(tr, node, s[i]);
		if (!k) {
			k = trie_new(tr, s[i]);
			if (node == 0) {
				tr->root_child[s[i]] = k;
			} else {
				tr->v[k].sibling = tr->v[node].child;
				tr->v[node].child = k;
			}
		}
		node = k;
	}
	if (tr->v[node].id == NO_ID) {
		tr->v[node].id = id;
		tr->v[node].special = special;
	}
}

/* Leftmost-longest match at or after from: its start (n if none), length
 * and id.  Special tokens count only when specials is true. */
static size_t trie_find(const struct trie *tr, const uint8_t *s, size_t n, size_t from,
			bool specials, size_t *mlen, uint32_t *mid)
{
	if (tr->n == 0)
		return n;
	for (size_t i = from; i < n; i++) {
		uint32_t node = tr->root_child[s[i]];
		if (!node)
			continue;
		size_t best = 0;
		for (size_t j = i + 1;; j++) {
			const struct trie_node *nd = &tr->v[node];
			if (nd->id != NO_ID && (specials || !nd->special)) {
				best = j - i;
				*mid = nd->id;
			}
			if (j == n || !(node = trie_child(tr, node, s[j])))
				break;
		}
		if (best) {
			*mlen = best;
			return i;
		}
	}
	return n;
}

/* ---- loading ---- */

static int read_file(const char *path, struct ifg_bytes *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return ifg_seterr("'%s': %s", path, strerror(errno));
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof buf, f)) > 0)
		ifg_bytes_append(b, buf, k);
	int bad = ferror(f);
	fclose(f);
	if (bad)
		return ifg_seterr("'%s': read error", path);
	/* every tokenizer file holds something (merges.txt its #version line) */
	if (b->n == 0)
		return ifg_seterr("'%s': empty file", path);
	return 0;
}

static struct ifg_bpe *bpe_new(void)
{
	struct ifg_bpe *t = ifg_xcalloc(1, sizeof *t);
	t->eot = -1;
	t->use_regex = true;
	return t;
}

static const struct {
	const char *sha, *name;
} known[] = {
	{ "00f404d36600411e497efb3df08d3b4e094f0820e2595afcb7cbd0c4353d4fcb", "gpt2" },
	{ "503a6edd4ed5739c5ef9b1af11e9b724d5140f803dc7fcf1e71ea3fb8a1e73e4", "gpt-neox-20b" },
};

/* Name: a known hash's, else the path's base name without extension. */
static void set_default_name(struct ifg_bpe *t, const char *path)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strcmp(t->sha, known[i].sha)) {
			t->name = ifg_xstrdup(known[i].name);
			return;
		}
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	size_t e = n;
	for (size_t i = n; i > b; i--)
		if (path[i - 1] == '.') {
			e = i - 1;
			break;
		}
	if (e == b)
		e = n;
	t->name = ifg_xmalloc(e - b + 1, 1);
	memcpy(t->name, path + b, e - b);
	t->name[e - b] = 0;
}

/* Common end of loading: lookup tables, eot, cache. */
static int finish(struct ifg_bpe *t)
{
	if (t->nvocab == 0)
		return ifg_seterr("empty vocabulary");
	t->cache = ifg_xcalloc(CACHE_SLOTS, sizeof *t->cache);
	static const char eot[] = "<|endoftext|>";
	if (t->eot < 0)
		t->eot = ifg_bpe_lookup(t, eot, sizeof eot - 1);
	return 0;
}

/* Vocabulary object {token: id}: byte-level strings. */
static int load_vocab_obj(struct ifg_bpe *t, json_t *vocab)
{
	if (!json_is_object(vocab))
		return ifg_seterr("vocabulary is not a JSON object");
	uint32_t maxid = 0;
	const char *k;
	json_t *v;
	json_object_foreach(vocab, k, v) {
		json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
		if (id < 0 || id >= IFG_MAX_VOCAB)
			return ifg_seterr("vocabulary: token '%s' has no valid id (0 to %d)", k,
					  IFG_MAX_VOCAB - 1);
		if ((uint32_t)id > maxid)
			maxid = (uint32_t)id;
	}
	tok_reserve(t, maxid + 1);
	struct ifg_bytes tmp = { 0 };
	json_object_foreach(vocab, k, v) {
		size_t klen = strlen(k);
		tmp.n = 0;
		bytelevel_decode(k, klen, &tmp);
		uint32_t id = (uint32_t)json_integer_value(v);
		if (t->flag[id] & TF_PRESENT) {
			ifg_bytes_release(&tmp);
			return ifg_seterr("vocabulary: id %u given to two tokens", id);
		}
		tok_set(t, id, tmp.p, tmp.n, 0);
	}
	ifg_bytes_release(&tmp);
	tid_build(t);
	return 0;
}

struct ifg_bpe *ifg_bpe_load_gpt2(const char *vocab_path, const char *merges_path)
{
	struct ifg_bpe *t = bpe_new();
	struct ifg_bytes vb = { 0 }, mb = { 0 }, tmp = { 0 };
	json_t *vocab = NULL;
	if (read_file(vocab_path, &vb) < 0 || read_file(merges_path, &mb) < 0)
		goto fail;
	struct ifg_sha256 c;
	ifg_sha256_init(&c);
	ifg_sha256_update(&c, vb.p, vb.n);
	ifg_sha256_update(&c, mb.p, mb.n);
	ifg_sha256_final(&c, t->sha);
	json_error_t je;
	vocab = json_loadb((const char *)vb.p, vb.n, 0, &je);
	if (!vocab) {
		ifg_seterr("'%s': line %d: %s", vocab_path, je.line, je.text);
		goto fail;
	}
	if (load_vocab_obj(t, vocab) < 0) {
		ifg_prefixerr("'%s'", vocab_path);
		goto fail;
	}
	/* merges: "#version: ..." first, then "left right" a line. */
	size_t nl = 0;
	for (size_t i = 0; i < mb.n; i++)
		nl += mb.p[i] == '\n';
	merges_alloc(t, nl + 1);
	uint32_t rank = 0;
	size_t lineno = 0;
	for (size_t i = 0; i < mb.n;) {
		size_t e = i;
		while (e < mb.n && mb.p[e] != '\n')
			e++;
		lineno++;
		const char *line = (const char *)mb.p + i;
		size_t n = e - i;
		if (n && line[n - 1] == '\r')
			n--;
		i = e + 1;
		if (n == 0 || (lineno == 1 && n >= 9 && !memcmp(line, "#version:", 9)))
			continue;
		const char *sp = memchr(line, ' ', n);
		if (!sp || sp == line || sp == line + n - 1 || memchr(sp + 1, ' ', line + n - sp - 1)) {
			ifg_seterr("'%s': line %zu: not two tokens", merges_path, lineno);
			goto fail;
		}
		if (merge_add_str(t, line, (size_t)(sp - line), sp + 1, (size_t)(line + n - sp - 1),
				  rank++, &tmp) < 0) {
			ifg_prefixerr("'%s': line %zu", merges_path, lineno);
			goto fail;
		}
	}
	/* GPT-2 files name no special tokens; <|endoftext|> is the one. */
	static const char eot[] = "<|endoftext|>";
	int64_t e = ifg_bpe_lookup(t, eot, sizeof eot - 1);
	if (e >= 0) {
		t->flag[e] |= TF_SPECIAL;
		trie_add(&t->raw, (const uint8_t *)eot, sizeof eot - 1, (uint32_t)e, true);
	}
	t->special_default = false;
	if (finish(t) < 0)
		goto fail;
	set_default_name(t, vocab_path);
	json_decref(vocab);
	ifg_bytes_release(&vb);
	ifg_bytes_release(&mb);
	ifg_bytes_release(&tmp);
	return t;
fail:
	json_decref(vocab);
	ifg_bytes_release(&vb);
	ifg_bytes_release(&mb);
	ifg_bytes_release(&tmp);
	ifg_bpe_free(t);
	return NULL;
}

static bool jbool(json_t *o, const char *key, bool dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

static const char *jtype(json_t *o)
{
	json_t *v = json_is_object(o) ? json_object_get(o, "type") : NULL;
	return json_is_string(v) ? json_string_value(v) : "";
}

/* normalizer: null, NFC, or a Sequence of those. */
static int hf_normalizer(struct ifg_bpe *t, json_t *n)
{
	if (!n || json_is_null(n))
		return 0;
	const char *ty = jtype(n);
	if (!strcmp(ty, "NFC")) {
		t->nfc = true;
		return 0;
	}
	if (!strcmp(ty, "Sequence")) {
		json_t *a = json_object_get(n, "normalizers"), *x;
		size_t i;
		json_array_foreach(a, i, x)
			if (hf_normalizer(t, x) < 0)
				return -1;
		return 0;
	}
	return ifg_seterr("normalizer '%s' is not supported (only NFC)", ty);
}

/* pre_tokenizer: ByteLevel, or a Sequence holding exactly one ByteLevel. */
static int hf_pretok(struct ifg_bpe *t, json_t *p)
{
	const char *ty = jtype(p);
	if (!strcmp(ty, "Sequence")) {
		json_t *a = json_object_get(p, "pretokenizers");
		if (json_array_size(a) != 1)
			return ifg_seterr("pre_tokenizer Sequence: only a single ByteLevel is supported");
		return hf_pretok(t, json_array_get(a, 0));
	}
	if (strcmp(ty, "ByteLevel"))
		return ifg_seterr("pre_tokenizer '%s' is not supported (only ByteLevel)", ty);
	t->prefix_space = jbool(p, "add_prefix_space", true);
	t->use_regex = jbool(p, "use_regex", true);
	return 0;
}

static int load_hf(struct ifg_bpe *t, const char *path, json_t *root)
{
	json_t *model = json_object_get(root, "model");
	const char *ty = jtype(model);
	if (*ty && strcmp(ty, "BPE"))
		return ifg_seterr("model type '%s' is not BPE", ty);
	json_t *v;
	if ((v = json_object_get(model, "dropout")) && !json_is_null(v))
		return ifg_seterr("BPE dropout is not supported");
	if ((v = json_object_get(model, "continuing_subword_prefix")) && !json_is_null(v) &&
	    json_string_length(v))
		return ifg_seterr("continuing_subword_prefix is not supported");
	if ((v = json_object_get(model, "end_of_word_suffix")) && !json_is_null(v) &&
	    json_string_length(v))
		return ifg_seterr("end_of_word_suffix is not supported");
	if (jbool(model, "byte_fallback", false))
		return ifg_seterr("byte_fallback is not supported");
	t->ignore_merges = jbool(model, "ignore_merges", false);
	if (hf_normalizer(t, json_object_get(root, "normalizer")) < 0 ||
	    hf_pretok(t, json_object_get(root, "pre_tokenizer")) < 0)
		return -1;

	json_t *added = json_object_get(root, "added_tokens"), *a;
	size_t i;
	uint32_t maxid = 0;
	json_array_foreach(added, i, a) {
		json_int_t id = json_integer_value(json_object_get(a, "id"));
		if (id < 0 || id >= IFG_MAX_VOCAB || !json_is_string(json_object_get(a, "content")))
			return ifg_seterr("added token %zu: no valid id (0 to %d) or content", i,
					  IFG_MAX_VOCAB - 1);
		if ((uint32_t)id > maxid)
			maxid = (uint32_t)id;
	}
	if (load_vocab_obj(t, json_object_get(model, "vocab")) < 0)
		return ifg_prefixerr("model");
	tok_reserve(t, maxid + 1);

	/* merges: ["a b", ...] (older files) or [["a", "b"], ...] (newer). */
	json_t *merges = json_object_get(model, "merges"), *m;
	if (!json_is_array(merges))
		return ifg_seterr("model: no merges array");
	merges_alloc(t, json_array_size(merges));
	struct ifg_bytes tmp = { 0 };
	json_array_foreach(merges, i, m) {
		const char *l, *r;
		size_t nl, nr;
		if (json_is_string(m)) {
			l = json_string_value(m);
			const char *sp = strchr(l, ' ');
			if (!sp || strchr(sp + 1, ' ')) {
				ifg_bytes_release(&tmp);
				return ifg_seterr("merge %zu: not two tokens", i + 1);
			}
			nl = (size_t)(sp - l), r = sp + 1, nr = strlen(r);
		} else if (json_is_array(m) && json_array_size(m) == 2 &&
			   json_is_string(json_array_get(m, 0)) &&
			   json_is_string(json_array_get(m, 1))) {
			l = json_string_value(json_array_get(m, 0));
			r = json_string_value(json_array_get(m, 1));
			nl = json_string_length(json_array_get(m, 0));
			nr = json_string_length(json_array_get(m, 1));
		} else {
			ifg_bytes_release(&tmp);
			return ifg_seterr("merge %zu: not two tokens", i + 1);
		}
		if (merge_add_str(t, l, nl, r, nr, (uint32_t)i, &tmp) < 0) {
			ifg_bytes_release(&tmp);
			return -1;
		}
	}
	ifg_bytes_release(&tmp);

	/* Added tokens: their content is plain text, not byte-level. */
	json_array_foreach(added, i, a) {
		uint32_t id = (uint32_t)json_integer_value(json_object_get(a, "id"));
		json_t *c = json_object_get(a, "content");
		const char *s = json_string_value(c);
		size_t n = json_string_length(c);
		bool special = jbool(a, "special", false);
		if (jbool(a, "single_word", false) || jbool(a, "lstrip", false) ||
		    jbool(a, "rstrip", false))
			return ifg_seterr("added token '%s': single_word, lstrip and rstrip "
					  "are not supported", s);
		if (n == 0)
			return ifg_seterr("added token %u is empty", id);
		tok_set(t, id, s, n, (uint8_t)(TF_ADDED | (special ? TF_SPECIAL : 0)));
		trie_add(jbool(a, "normalized", !special) ? &t->norm : &t->raw,
			 (const uint8_t *)s, n, id, special);
	}
	tid_build(t);
	t->special_default = true;
	if (finish(t) < 0)
		return -1;
	set_default_name(t, path);
	return 0;
}

static struct ifg_bpe *load_hf_file(const char *path)
{
	struct ifg_bpe *t = bpe_new();
	struct ifg_bytes b = { 0 };
	json_t *root = NULL;
	if (read_file(path, &b) < 0)
		goto fail;
	struct ifg_sha256 c;
	ifg_sha256_init(&c);
	ifg_sha256_update(&c, b.p, b.n);
	ifg_sha256_final(&c, t->sha);
	json_error_t je;
	root = json_loadb((const char *)b.p, b.n, 0, &je);
	if (!root) {
		ifg_seterr("'%s': line %d: %s", path, je.line, je.text);
		goto fail;
	}
	if (!json_is_object(root) || !json_object_get(root, "model")) {
		ifg_seterr("'%s': not a tokenizer.json (no \"model\")", path);
		goto fail;
	}
	if (load_hf(t, path, root) < 0) {
		ifg_prefixerr("'%s'", path);
		goto fail;
	}
	json_decref(root);
	ifg_bytes_release(&b);
	return t;
fail:
	json_decref(root);
	ifg_bytes_release(&b);
	ifg_bpe_free(t);
	return NULL;
}

static bool is_file(const char *dir, const char *name, char **out)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = ifg_xmalloc(n, 1);
	snprintf(p, n, "%s/%s", dir, name);
	struct stat st;
	if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
		*out = p;
		return true;
	}
	free(p);
	return false;
}

struct ifg_bpe *ifg_bpe_load(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		ifg_seterr("'%s': %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode))
		return load_hf_file(path);
	char *v = NULL, *m = NULL;
	struct ifg_bpe *t = NULL;
	if (is_file(path, "tokenizer.json", &v)) {
		t = load_hf_file(v);
	} else if ((is_file(path, "vocab.json", &v) && is_file(path, "merges.txt", &m)) ||
		   (free(v), v = NULL,
		    is_file(path, "encoder.json", &v) && is_file(path, "vocab.bpe", &m))) {
		t = ifg_bpe_load_gpt2(v, m);
		if (t && strcmp(t->name, "gpt2")) {
			free(t->name);
			t->name = NULL;
			set_default_name(t, path);
		}
	} else {
		ifg_seterr("'%s': no tokenizer.json, vocab.json + merges.txt, or "
			   "encoder.json + vocab.bpe in this directory", path);
	}
	free(v);
	free(m);
	return t;
}

void ifg_bpe_free(struct ifg_bpe *t)
{
	if (!t)
		return;
	ifg_bytes_release(&t->pool);
	free(t->off);
	free(t->len);
	free(t->flag);
	free(t->tid);
	free(t->mkey);
	free(t->mval);
	free(t->raw.v);
	free(t->norm.v);
	free(t->name);
	free(t->cache);
	ifg_bytes_release(&t->ckeys);
	ifg_ids_release(&t->cids);
	ifg_bytes_release(&t->scratch);
	free(t);
}

/* ---- identity ---- */

uint32_t ifg_bpe_vocab_size(const struct ifg_bpe *t) { return t->nvocab; }
int64_t ifg_bpe_eot(const struct ifg_bpe *t) { return t->eot; }
const char *ifg_bpe_sha256(const struct ifg_bpe *t) { return t->sha; }
const char *ifg_bpe_name(const struct ifg_bpe *t) { return t->name; }

void ifg_bpe_set_name(struct ifg_bpe *t, const char *name)
{
	free(t->name);
	t->name = ifg_xstrdup(name);
}

const uint8_t *ifg_bpe_token(const struct ifg_bpe *t, uint32_t id, size_t *len)
{
	if (id >= t->nvocab || !(t->flag[id] & TF_PRESENT))
		return NULL;
	*len = t->len[id];
	return t->pool.p + t->off[id];
}

bool ifg_bpe_is_special(const struct ifg_bpe *t, uint32_t id)
{
	return id < t->nvocab && (t->flag[id] & TF_SPECIAL);
}

void ifg_bpe_pack_identity(msgpack_packer *pk, const struct ifg_bpe *t)
{
	msgpack_pack_map(pk, 4);
	ifg_pack_kv_str(pk, "name", t->name);
	ifg_pack_kv_str(pk, "sha256", t->sha);
	ifg_pack_kv_i64(pk, "vocab_size", t->nvocab);
	ifg_pack_kv_i64(pk, "eot", t->eot);
}

int ifg_bpe_check_identity(const struct ifg_bpe *t, const msgpack_object *tok)
{
	const char *sha, *name = "?";
	size_t nsha, nname = 1;
	int64_t vs;
	if (!tok || tok->type != MSGPACK_OBJECT_MAP)
		return ifg_seterr("no tokenizer map in the header");
	if (ifg_get_str(NULL, tok, "sha256", &sha, &nsha) < 0 ||
	    ifg_get_i64(NULL, tok, "vocab_size", 0, INT64_MAX, &vs) < 0)
		return ifg_prefixerr("tokenizer");
	const msgpack_object *nm = ifg_get(tok, "name");
	if (nm && nm->type == MSGPACK_OBJECT_STR)
		name = nm->via.str.ptr, nname = nm->via.str.size;
	if (nsha != 64 || memcmp(sha, t->sha, 64) || vs != t->nvocab)
		return ifg_seterr("made with tokenizer '%.*s' (sha256 %.*s, %" PRId64
				  " tokens), not '%s' (sha256 %s, %u tokens)",
				  (int)nname, name, (int)nsha, sha, vs, t->name, t->sha,
				  t->nvocab);
	return 0;
}

/* ---- merging one piece ---- */

/* Lowest-ranked adjacent pair first, leftmost among equals, until no pair
 * has a merge.  val[i] holds the merge of (sym[i], sym[i + 1]), so after a
 * merge only its two neighbours are looked up again: O(n) lookups and
 * O(n^2) scanning for an n-byte piece, which is cheap for n <= SMALL_WORD. */
static void merge_small(const struct ifg_bpe *t, uint32_t *sym, size_t m, struct ifg_ids *out)
{
	uint64_t val[SMALL_WORD];
	for (size_t i = 0; i + 1 < m; i++)
		val[i] = merge_get(t, sym[i], sym[i + 1]);
	while (m > 1) {
		size_t k = 0;
		uint64_t best = val[0];
		for (size_t i = 1; i + 1 < m; i++)
			if (val[i] < best)
				best = val[i], k = i;
		if (best == NO_MERGE)
			break;
		sym[k] = (uint32_t)best;
		memmove(sym + k + 1, sym + k + 2, (m - k - 2) * sizeof *sym);
		memmove(val + k + 1, val + k + 2, (m >= k + 3 ? m - k - 3 : 0) * sizeof *val);
		m--;
		if (k > 0)
			val[k - 1] = merge_get(t, sym[k - 1], sym[k]);
		if (k + 1 < m)
			val[k] = merge_get(t, sym[k], sym[k + 1]);
	}
	for (size_t i = 0; i < m; i++)
		ifg_ids_push(out, sym[i]);
}

/* The same order of merges on a linked list with a binary heap of candidate
 * pairs (rank, left position): O(n log n) for a piece of n bytes.  A popped
 * candidate is stale when its left symbol was absorbed or its pair changed;
 * equal ranks mean the same pair, so the rank alone tells. */
struct cand {
	uint32_t rank, pos;
};

static inline bool cand_less(struct cand a, struct cand b)
{
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos);
}

static void heap_push(struct cand *h, size_t *n, struct cand c)
{
	size_t i = (*n)++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!cand_less(c, h[p]))
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = c;
}

static struct cand heap_pop(struct cand *h, size_t *n)
{
	struct cand top = h[0], last = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		struct cand best = last;
		if (l < *n && cand_less(h[l], best))
			best = h[l], s = l;
		if (r < *n && cand_less(h[r], best))
			s = r;
		if (s == i)
			break;
		h[i] = h[s];
		i = s;
	}
	h[i] = last;
	return top;
}

static void merge_large(const struct ifg_bpe *t, const uint32_t *sym0, size_t m,
			struct ifg_ids *out)
{
	uint32_t *sym = ifg_xmalloc(m, sizeof *sym);
	uint32_t *next = ifg_xmalloc(m, sizeof *next);	/* m = none */
	uint32_t *prev = ifg_xmalloc(m, sizeof *prev);	/* UINT32_MAX = none */
	/* Every merge adds at most two candidates: n - 1 + 2 (n - 1) entries. */
	struct cand *heap = ifg_xmalloc(3 * m, sizeof *heap);
	size_t nh = 0;
	memcpy(sym, sym0, m * sizeof *sym);
	for (size_t i = 0; i < m; i++) {
		next[i] = (uint32_t)(i + 1);
		prev[i] = i ? (uint32_t)(i - 1) : UINT32_MAX;
	}
	for (size_t i = 0; i + 1 < m; i++) {
		uint64_t v = merge_get(t, sym[i], sym[i + 1]);
		if (v != NO_MERGE)
			heap_push(heap, &nh, (struct cand){ (uint32_t)(v >> 32), (uint32_t)i });
	}
	while (nh) {
		struct cand c = heap_pop(heap, &nh);
		uint32_t p = c.pos, q = next[p];
		if (sym[p] == NO_ID || q >= m)
			continue;
		uint64_t v = merge_get(t, sym[p], sym[q]);
		if (v == NO_MERGE || (uint32_t)(v >> 32) != c.rank)
			continue;
		sym[p] = (uint32_t)v;
		sym[q] = NO_ID;
		next[p] = next[q];
		if (next[q] < m)
			prev[next[q]] = p;
		if (prev[p] != UINT32_MAX) {
			uint64_t w = merge_get(t, sym[prev[p]], sym[p]);
			if (w != NO_MERGE)
				heap_push(heap, &nh, (struct cand){ (uint32_t)(w >> 32), prev[p] });
		}
		if (next[p] < m) {
			uint64_t w = merge_get(t, sym[p], sym[next[p]]);
			if (w != NO_MERGE)
				heap_push(heap, &nh, (struct cand){ (uint32_t)(w >> 32), p });
		}
	}
	for (uint32_t i = 0; i < m; i = next[i])
		ifg_ids_push(out, sym[i]);
	free(sym);
	free(next);
	free(prev);
	free(heap);
}

int ifg_bpe_encode_word(const struct ifg_bpe *t, const uint8_t *w, size_t n, struct ifg_ids *out)
{
	if (n == 0)
		return 0;
	if (t->ignore_merges) {
		int64_t id = ifg_bpe_lookup(t, w, n);
		if (id >= 0) {
			ifg_ids_push(out, (uint32_t)id);
			return 0;
		}
	}
	uint32_t small[SMALL_WORD];
	uint32_t *sym = n <= SMALL_WORD ? small : ifg_xmalloc(n, sizeof *sym);
	for (size_t i = 0; i < n; i++) {
		sym[i] = t->byte_id[w[i]];
		if (sym[i] == NO_ID) {
			if (sym != small)
				free(sym);
			return ifg_seterr("byte 0x%02x has no token in this vocabulary", w[i]);
		}
	}
	if (n <= SMALL_WORD) {
		merge_small(t, sym, n, out);
	} else {
		merge_large(t, sym, n, out);
		free(sym);
	}
	return 0;
}

/* ---- the word cache ---- */

static int encode_piece(struct ifg_bpe *t, const uint8_t *w, size_t n, struct ifg_ids *out)
{
	if (n == 1 && t->byte_id[w[0]] != NO_ID && !t->ignore_merges) {
		ifg_ids_push(out, t->byte_id[w[0]]);
		return 0;
	}
	if (n > SMALL_WORD / 2)
		return ifg_bpe_encode_word(t, w, n, out);
	uint64_t h = hash_bytes(w, n);
	size_t mask = CACHE_SLOTS - 1, s = (size_t)h & mask;
	for (;; s = (s + 1) & mask) {
		struct cache_slot *c = &t->cache[s];
		if (c->klen == 0)
			break;
		if (c->h == h && c->klen == n && !memcmp(t->ckeys.p + c->koff, w, n)) {
			for (uint32_t i = 0; i < c->nids; i++)
				ifg_ids_push(out, t->cids.v[c->ioff + i]);
			return 0;
		}
	}
	size_t before = out->n;
	if (ifg_bpe_encode_word(t, w, n, out) < 0)
		return -1;
	if (t->cache_used >= CACHE_SLOTS / 4 * 3) {
		/* Full: start again (text's vocabulary drifts slowly). */
		memset(t->cache, 0, CACHE_SLOTS * sizeof *t->cache);
		t->cache_used = 0;
		t->ckeys.n = 0;
		t->cids.n = 0;
		s = (size_t)h & mask;
		while (t->cache[s].klen)
			s = (s + 1) & mask;
	}
	struct cache_slot *c = &t->cache[s];
	c->h = h;
	c->koff = (uint32_t)t->ckeys.n;
	c->klen = (uint32_t)n;
	c->ioff = (uint32_t)t->cids.n;
	c->nids = (uint32_t)(out->n - before);
	ifg_bytes_append(&t->ckeys, w, n);
	for (size_t i = before; i < out->n; i++)
		ifg_ids_push(&t->cids, out->v[i]);
	t->cache_used++;
	return 0;
}

/* ---- encoding ---- */

/* A stretch without added tokens: pre-tokens, then merges. */
static int encode_plain(struct ifg_bpe *t, const uint8_t *s, size_t n, struct ifg_ids *out)
{
	if (n == 0)
		return 0;
	uint8_t *w = NULL;
	if (t->prefix_space && s[0] != ' ') {
		/* Hugging Face's add_prefix_space puts a space before every
		 * stretch that does not start with one. */
		w = ifg_xmalloc(n + 1, 1);
		w[0] = ' ';
		memcpy(w + 1, s, n);
		s = w, n++;
	}
	int rc = 0;
	if (!t->use_regex) {
		rc = encode_piece(t, s, n, out);
	} else {
		for (size_t i = 0; i < n && rc == 0;) {
			size_t e = ifg_pretok_next(s, n, i);
			rc = encode_piece(t, s + i, e - i, out);
			i = e;
		}
	}
	free(w);
	return rc;
}

/* Normalised text: added tokens with normalized=true, and the rest. */
static int encode_normalized(struct ifg_bpe *t, const uint8_t *s, size_t n, bool specials,
			     struct ifg_ids *out)
{
	size_t i = 0;
	while (i < n) {
		size_t ml = 0;
		uint32_t id = 0;
		size_t at = trie_find(&t->norm, s, n, i, specials, &ml, &id);
		if (encode_plain(t, s + i, at - i, out) < 0)
			return -1;
		if (at == n)
			break;
		ifg_ids_push(out, id);
		i = at + ml;
	}
	return 0;
}

/* A stretch between raw added tokens: normalised (NFC), then encoded. */
static int encode_stretch(struct ifg_bpe *t, const uint8_t *s, size_t n, bool specials,
			  struct ifg_ids *out)
{
	if (n == 0)
		return 0;
	if (!t->nfc || ifg_nfc_trivial(s, n))
		return encode_normalized(t, s, n, specials, out);
	t->scratch.n = 0;
	if (ifg_nfc_append(s, n, &t->scratch.p, &t->scratch.n, &t->scratch.cap) < 0)
		return -1;
	return encode_normalized(t, t->scratch.p, t->scratch.n, specials, out);
}

/* *copy: the text with each byte that has no token replaced by U+FFFD (see
 * bpe.h), or NULL when every byte has one.  -1 with a message when U+FFFD's
 * own bytes have no token either (the copy would lack tokens again). */
static int replace_missing(const struct ifg_bpe *t, const uint8_t *s, size_t *len,
			   uint8_t **copy)
{
	static const uint8_t fffd[] = { 0xef, 0xbf, 0xbd };
	size_t n = *len, k = 0, first = 0;
	for (size_t i = 0; i < n; i++)
		if (t->byte_id[s[i]] == NO_ID && k++ == 0)
			first = i;
	*copy = NULL;
	if (k == 0)
		return 0;
	for (int j = 0; j < 3; j++)
		if (t->byte_id[fffd[j]] == NO_ID)
			return ifg_seterr("byte 0x%02x at offset %zu has no token, and the vocabulary "
					  "has none for byte 0x%02x of U+FFFD, which would stand for it",
					  s[first], first, fffd[j]);
	uint8_t *r = ifg_xmalloc(n + 2 * k, 1), *p = r;
	for (size_t i = 0; i < n; i++) {
		if (t->byte_id[s[i]] != NO_ID) {
			*p++ = s[i];
		} else {
			memcpy(p, fffd, 3);
			p += 3;
		}
	}
	*len = n + 2 * k;
	*copy = r;
	return 0;
}

int ifg_bpe_encode(struct ifg_bpe *t, const void *text, size_t len, int special,
		   struct ifg_ids *out)
{
	const uint8_t *s = text;
	uint8_t *copy = NULL;
	if (t->missing_bytes && replace_missing(t, s, &len, &copy) < 0)
		return -1;
	if (copy) {	/* every byte of it has a token: this recursion ends */
		int rc = ifg_bpe_encode(t, copy, len, special, out);
		free(copy);
		return rc;
	}
	bool specials = special == IFG_BPE_SPECIAL_DEFAULT ? t->special_default : special != 0;
	size_t i = 0;
	while (i < len) {
		size_t ml = 0;
		uint32_t id = 0;
		size_t at = trie_find(&t->raw, s, len, i, specials, &ml, &id);
		if (encode_stretch(t, s + i, at - i, specials, out) < 0)
			return -1;
		if (at == len)
			break;
		ifg_ids_push(out, id);
		i = at + ml;
	}
	return 0;
}

int ifg_bpe_decode(const struct ifg_bpe *t, const uint32_t *ids, size_t n, bool skip_special,
		   struct ifg_bytes *out)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		if (id >= t->nvocab || !(t->flag[id] & TF_PRESENT))
			return ifg_seterr("token %zu: id %u is not in the vocabulary", i, id);
		if (skip_special && (t->flag[id] & TF_SPECIAL))
			continue;
		ifg_bytes_append(out, t->pool.p + t->off[id], t->len[id]);
	}
	return 0;
}

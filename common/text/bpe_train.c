/* bpe_train.c: byte-level BPE training with incremental pair counts.
 * See bpe_train.h. */
#include "bpe_train.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "pretok.h"
#include "stream.h"
#include "util.h"

/* Open-addressing map from byte strings (in a pool) to indices. */
struct strmap {
	uint32_t *slot;		/* index + 1, 0 = empty */
	size_t mask, n;
	uint8_t *pool;
	size_t pn, pcap;
	uint64_t *off;
	uint32_t *len;
	size_t cap;
};

static uint64_t hash_str(const uint8_t *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ull;
	return h ^ (h >> 31);
}

static void strmap_grow(struct strmap *m)
{
	size_t cap = m->mask ? 2 * (m->mask + 1) : 1024;
	uint32_t *s = ifg_xcalloc(cap, sizeof *s);
	for (size_t i = 0; i < m->n; i++) {
		size_t h = hash_str(m->pool + m->off[i], m->len[i]) & (cap - 1);
		while (s[h])
			h = (h + 1) & (cap - 1);
		s[h] = (uint32_t)i + 1;
	}
	free(m->slot);
	m->slot = s;
	m->mask = cap - 1;
}

/* Index of s, added when absent (*added set). */
static uint32_t strmap_put(struct strmap *m, const uint8_t *s, size_t n, bool *added)
{
	if (2 * (m->n + 1) > m->mask + 1)
		strmap_grow(m);
	size_t h = hash_str(s, n) & m->mask;
	for (; m->slot[h]; h = (h + 1) & m->mask) {
		uint32_t i = m->slot[h] - 1;
		if (m->len[i] == n && !memcmp(m->pool + m->off[i], s, n)) {
			*added = false;
			return i;
		}
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->off = ifg_xrealloc(m->off, m->cap, sizeof *m->off);
		m->len = ifg_xrealloc(m->len, m->cap, sizeof *m->len);
	}
	if (m->pn + n > m->pcap) {
		m->pcap = m->pcap ? 2 * m->pcap : 65536;
		while (m->pcap < m->pn + n)
			m->pcap *= 2;
		m->pool = ifg_xrealloc(m->pool, m->pcap, 1);
	}
	memcpy(m->pool + m->pn, s, n);
	m->off[m->n] = m->pn;
	m->len[m->n] = (uint32_t)n;
	m->pn += n;
	m->slot[h] = (uint32_t)m->n + 1;
	*added = true;
	return (uint32_t)m->n++;
}

static void strmap_release(struct strmap *m)
{
	free(m->slot);
	free(m->pool);
	free(m->off);
	free(m->len);
	memset(m, 0, sizeof *m);
}

/* A pair of adjacent tokens, its weighted count and the words holding it. */
struct pair {
	uint64_t key;		/* left << 32 | right */
	int64_t count;
	uint32_t *where;	/* word indices (may repeat or be stale) */
	uint32_t nwhere, capwhere;
	uint32_t pushed;	/* merge step it was last pushed on the heap */
};

struct hent {
	int64_t count;
	uint64_t key;
};

struct ifg_bpe_trainer {
	struct strmap words;	/* distinct pre-tokens */
	uint64_t *wcount;	/* [words.n] occurrences */
	size_t wcap;
	uint64_t total;
	/* learning */
	uint32_t *sym;		/* symbols of every word, word w at woff[w] */
	uint64_t *woff;
	uint32_t *wlen;
	struct pair *pairs;
	size_t npairs, cappairs;
	uint32_t *pslot;	/* pair key -> index + 1 */
	size_t pmask;
	struct hent *heap;
	size_t nheap, capheap;
	struct strmap toks;	/* token bytes -> id */
	uint64_t *touched;	/* pairs that gained counts in this merge step */
	size_t ntouched, captouched;
	uint32_t *merges;	/* [2 * nmerges] left, right */
	size_t nmerges;
	int64_t eot;
};

struct ifg_bpe_trainer *ifg_bpe_trainer_new(void)
{
	struct ifg_bpe_trainer *tr = ifg_xcalloc(1, sizeof *tr);
	tr->eot = -1;
	return tr;
}

void ifg_bpe_trainer_free(struct ifg_bpe_trainer *tr)
{
	if (!tr)
		return;
	strmap_release(&tr->words);
	strmap_release(&tr->toks);
	free(tr->wcount);
	free(tr->sym);
	free(tr->woff);
	free(tr->wlen);
	for (size_t i = 0; i < tr->npairs; i++)
		free(tr->pairs[i].where);
	free(tr->pairs);
	free(tr->pslot);
	free(tr->heap);
	free(tr->merges);
	free(tr->touched);
	free(tr);
}

void ifg_bpe_trainer_add(struct ifg_bpe_trainer *tr, const void *text, size_t len)
{
	const uint8_t *s = text;
	for (size_t i = 0; i < len;) {
		size_t e = ifg_pretok_next(s, len, i);
		if (e - i <= IFG_BPE_TRAIN_MAXWORD) {
			bool added;
			uint32_t w = strmap_put(&tr->words, s + i, e - i, &added);
			if (added) {
				if (w == tr->wcap) {
					tr->wcap = tr->wcap ? 2 * tr->wcap : 1024;
					tr->wcount = ifg_xrealloc(tr->wcount, tr->wcap, sizeof *tr->wcount);
				}
				tr->wcount[w] = 0;
			}
			tr->wcount[w]++;
			tr->total++;
		}
		i = e;
	}
}

uint64_t ifg_bpe_trainer_words(const struct ifg_bpe_trainer *tr) { return tr->total; }
uint64_t ifg_bpe_trainer_distinct(const struct ifg_bpe_trainer *tr) { return tr->words.n; }

/* ---- pairs ---- */

static inline size_t pslot_of(uint64_t key, size_t mask)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & mask;
}

static void pairs_rehash(struct ifg_bpe_trainer *tr)
{
	size_t cap = tr->pmask ? 2 * (tr->pmask + 1) : 4096;
	uint32_t *s = ifg_xcalloc(cap, sizeof *s);
	for (size_t i = 0; i < tr->npairs; i++) {
		size_t h = pslot_of(tr->pairs[i].key, cap - 1);
		while (s[h])
			h = (h + 1) & (cap - 1);
		s[h] = (uint32_t)i + 1;
	}
	free(tr->pslot);
	tr->pslot = s;
	tr->pmask = cap - 1;
}

static struct pair *pair_get(struct ifg_bpe_trainer *tr, uint32_t a, uint32_t b)
{
	uint64_t key = (uint64_t)a << 32 | b;
	if (2 * (tr->npairs + 1) > tr->pmask + 1)
		pairs_rehash(tr);
	size_t h = pslot_of(key, tr->pmask);
	for (; tr->pslot[h]; h = (h + 1) & tr->pmask) {
		struct pair *p = &tr->pairs[tr->pslot[h] - 1];
		if (p->key == key)
			return p;
	}
	if (tr->npairs == tr->cappairs) {
		tr->cappairs = tr->cappairs ? 2 * tr->cappairs : 4096;
		tr->pairs = ifg_xrealloc(tr->pairs, tr->cappairs, sizeof *tr->pairs);
	}
	struct pair *p = &tr->pairs[tr->npairs];
	memset(p, 0, sizeof *p);
	p->key = key;
	p->pushed = UINT32_MAX;
	tr->pslot[h] = (uint32_t)++tr->npairs;
	return p;
}

static void pair_where(struct pair *p, uint32_t w)
{
	if (p->nwhere && p->where[p->nwhere - 1] == w)
		return;
	if (p->nwhere == p->capwhere) {
		p->capwhere = p->capwhere ? 2 * p->capwhere : 4;
		p->where = ifg_xrealloc(p->where, p->capwhere, sizeof *p->where);
	}
	p->where[p->nwhere++] = w;
}

/* ---- max-heap of (count, key): larger count first, then smaller key ---- */

static inline bool hbefore(struct hent x, struct hent y)
{
	return x.count > y.count || (x.count == y.count && x.key < y.key);
}

static void hpush(struct ifg_bpe_trainer *tr, int64_t count, uint64_t key)
{
	if (tr->nheap == tr->capheap) {
		tr->capheap = tr->capheap ? 2 * tr->capheap : 4096;
		tr->heap = ifg_xrealloc(tr->heap, tr->capheap, sizeof *tr->heap);
	}
	struct hent e = { count, key };
	size_t i = tr->nheap++;
	while (i > 0 && hbefore(e, tr->heap[(i - 1) / 2])) {
		tr->heap[i] = tr->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	tr->heap[i] = e;
}

static struct hent hpop(struct ifg_bpe_trainer *tr)
{
	struct hent top = tr->heap[0], last = tr->heap[--tr->nheap];
	size_t i = 0, n = tr->nheap;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		struct hent b = last;
		if (l < n && hbefore(tr->heap[l], b))
			b = tr->heap[l], s = l;
		if (r < n && hbefore(tr->heap[r], b))
			s = r;
		if (s == i)
			break;
		tr->heap[i] = tr->heap[s];
		i = s;
	}
	if (n)
		tr->heap[i] = last;
	return top;
}

/* ---- learning ---- */

static uint32_t tok_add(struct ifg_bpe_trainer *tr, const uint8_t *s, size_t n)
{
	bool added;
	return strmap_put(&tr->toks, s, n, &added);
}

/* Adds count to pair (a, b) of word w; remembers it for the heap. */
static void bump(struct ifg_bpe_trainer *tr, uint32_t a, uint32_t b, int64_t c, uint32_t w,
		 uint32_t step)
{
	struct pair *p = pair_get(tr, a, b);
	p->count += c;
	if (c > 0) {
		pair_where(p, w);
		if (p->pushed != step) {
			/* pushed on the heap after the step, when counts are final */
			p->pushed = step;
			if (tr->ntouched == tr->captouched) {
				tr->captouched = tr->captouched ? 2 * tr->captouched : 256;
				tr->touched = ifg_xrealloc(tr->touched, tr->captouched,
							   sizeof *tr->touched);
			}
			tr->touched[tr->ntouched++] = p->key;
		}
	}
}

/* Merges every (a, b) in word w into z, updating pair counts. */
static void merge_word(struct ifg_bpe_trainer *tr, uint32_t w, uint32_t a, uint32_t b, uint32_t z,
		       uint32_t step)
{
	uint32_t *s = tr->sym + tr->woff[w];
	uint32_t n = tr->wlen[w];
	int64_t c = (int64_t)tr->wcount[w];
	for (uint32_t i = 0; i + 1 < n; i++) {
		if (s[i] != a || s[i + 1] != b)
			continue;
		if (i > 0) {
			bump(tr, s[i - 1], a, -c, w, step);
			bump(tr, s[i - 1], z, c, w, step);
		}
		bump(tr, a, b, -c, w, step);
		if (i + 2 < n) {
			bump(tr, b, s[i + 2], -c, w, step);
			bump(tr, z, s[i + 2], c, w, step);
		}
		s[i] = z;
		memmove(s + i + 1, s + i + 2, (n - i - 2) * sizeof *s);
		n--;
	}
	tr->wlen[w] = n;
}

int64_t ifg_bpe_trainer_learn(struct ifg_bpe_trainer *tr, uint32_t vocab_size)
{
	if (vocab_size < 257 || vocab_size > (1u << 31))
		return ifg_seterr("vocabulary size %u is not in [257, 2^31]", vocab_size);
	if (tr->sym)
		return ifg_seterr("the trainer has learnt already");
	/* The 256 bytes, in GPT-2's order: by the character that shows them. */
	uint32_t byte_id[256], chars[256];
	for (int b = 0; b < 256; b++)
		chars[b] = ifg_bpe_byte_char((uint8_t)b);
	for (uint32_t ch = 0, k = 0; k < 256; ch++)
		for (int b = 0; b < 256; b++)
			if (chars[b] == ch) {
				uint8_t c = (uint8_t)b;
				byte_id[b] = tok_add(tr, &c, 1);
				k++;
			}
	/* Words as symbols, and the first pair counts. */
	size_t nw = tr->words.n;
	tr->woff = ifg_xmalloc(nw + 1, sizeof *tr->woff);
	tr->wlen = ifg_xmalloc(nw + 1, sizeof *tr->wlen);
	tr->sym = ifg_xmalloc(tr->words.pn + 1, sizeof *tr->sym);
	for (size_t w = 0; w < nw; w++) {
		const uint8_t *s = tr->words.pool + tr->words.off[w];
		tr->woff[w] = tr->words.off[w];
		tr->wlen[w] = tr->words.len[w];
		for (uint32_t i = 0; i < tr->wlen[w]; i++)
			tr->sym[tr->woff[w] + i] = byte_id[s[i]];
	}
	for (size_t w = 0; w < nw; w++) {
		const uint32_t *s = tr->sym + tr->woff[w];
		for (uint32_t i = 0; i + 1 < tr->wlen[w]; i++) {
			struct pair *p = pair_get(tr, s[i], s[i + 1]);
			p->count += (int64_t)tr->wcount[w];
			pair_where(p, (uint32_t)w);
		}
	}
	for (size_t i = 0; i < tr->npairs; i++)
		hpush(tr, tr->pairs[i].count, tr->pairs[i].key);

	size_t capm = 0;
	struct ifg_bytes tb = { 0 };
	uint32_t step = 0;
	while (tr->toks.n + 1 < vocab_size && tr->nheap) {
		struct hent e = hpop(tr);
		uint32_t a = (uint32_t)(e.key >> 32), b = (uint32_t)e.key;
		struct pair *p = pair_get(tr, a, b);
		if (p->count <= 0)
			continue;
		if (p->count != e.count) {
			hpush(tr, p->count, p->key);	/* stale: counts only fall */
			continue;
		}
		/* New token: the bytes of a then b (an id already holding those
		 * bytes, from another pair, is reused). */
		tb.n = 0;
		ifg_bytes_append(&tb, tr->toks.pool + tr->toks.off[a], tr->toks.len[a]);
		ifg_bytes_append(&tb, tr->toks.pool + tr->toks.off[b], tr->toks.len[b]);
		uint32_t z = tok_add(tr, tb.p, tb.n);
		if (tr->nmerges == capm) {
			capm = capm ? 2 * capm : 1024;
			tr->merges = ifg_xrealloc(tr->merges, 2 * capm, sizeof *tr->merges);
		}
		tr->merges[2 * tr->nmerges] = a;
		tr->merges[2 * tr->nmerges + 1] = b;
		tr->nmerges++;
		/* Detach the pair's word list: merging appends to others' lists
		 * and may move the pair array. */
		uint32_t *where = p->where, nwhere = p->nwhere;
		p->where = NULL;
		p->nwhere = p->capwhere = 0;
		tr->ntouched = 0;
		for (uint32_t k = 0; k < nwhere; k++)
			if (k == 0 || where[k] != where[k - 1])
				merge_word(tr, where[k], a, b, z, step);
		free(where);
		for (size_t i = 0; i < tr->ntouched; i++) {
			uint64_t key = tr->touched[i];
			struct pair *q = pair_get(tr, (uint32_t)(key >> 32), (uint32_t)key);
			if (q->count > 0)
				hpush(tr, q->count, q->key);
		}
		step++;
	}
	ifg_bytes_release(&tb);
	static const char eot[] = "<|endoftext|>";
	tr->eot = tok_add(tr, (const uint8_t *)eot, sizeof eot - 1);
	return (int64_t)tr->toks.n;
}

/* ---- writing ---- */

/* A token's bytes as GPT-2's characters, JSON-escaped where needed. */
static void put_token(struct ifg_bytes *o, const uint8_t *s, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = ifg_bpe_byte_char(s[i]);
		uint8_t u[2];
		if (c < 0x80) {
			if (json && (c == '"' || c == '\\'))
				ifg_bytes_append(o, "\\", 1);
			u[0] = (uint8_t)c;
			ifg_bytes_append(o, u, 1);
		} else {
			u[0] = (uint8_t)(0xc0 | (c >> 6));
			u[1] = (uint8_t)(0x80 | (c & 0x3f));
			ifg_bytes_append(o, u, 2);
		}
	}
}

static int write_file(const char *path, const struct ifg_bytes *b)
{
	struct ifg_out *out = ifg_out_open(path, IFG_COMPRESS_NO, 0);
	if (!out)
		return -1;
	if (ifg_out_write(out, b->p, b->n) < 0) {
		ifg_out_abort(out);
		return -1;
	}
	return ifg_out_close(out);
}

int ifg_bpe_trainer_write(const struct ifg_bpe_trainer *tr, const char *vocab_path,
			  const char *merges_path)
{
	if (tr->eot < 0)
		return ifg_seterr("nothing learnt yet");
	const struct strmap *t = &tr->toks;
	struct ifg_bytes v = { 0 }, m = { 0 };
	ifg_bytes_append(&v, "{", 1);
	for (size_t id = 0; id < t->n; id++) {
		char num[32];
		ifg_bytes_append(&v, id ? ", \"" : "\"", id ? 3 : 1);
		if ((int64_t)id == tr->eot)
			ifg_bytes_append(&v, t->pool + t->off[id], t->len[id]);
		else
			put_token(&v, t->pool + t->off[id], t->len[id], true);
		int k = snprintf(num, sizeof num, "\": %zu", id);
		ifg_bytes_append(&v, num, (size_t)k);
	}
	ifg_bytes_append(&v, "}\n", 2);
	ifg_bytes_append(&m, "#version: 0.2\n", 14);
	for (size_t i = 0; i < tr->nmerges; i++) {
		uint32_t a = tr->merges[2 * i], b = tr->merges[2 * i + 1];
		put_token(&m, t->pool + t->off[a], t->len[a], false);
		ifg_bytes_append(&m, " ", 1);
		put_token(&m, t->pool + t->off[b], t->len[b], false);
		ifg_bytes_append(&m, "\n", 1);
	}
	int rc = write_file(vocab_path, &v);
	if (rc == 0)
		rc = write_file(merges_path, &m);
	ifg_bytes_release(&v);
	ifg_bytes_release(&m);
	return rc;
}

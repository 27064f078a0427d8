/* rad.c: reward-augmented decoding with the n-gram toxicity classifier
 * (rad.h). */
#include "rad.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the text of a sequence ---- */

void ifg_rad_text_init(struct ifg_rad_text *t, const struct ifg_toxclf *clf)
{
	memset(t, 0, sizeof *t);
	t->clf = clf;
	ifg_toxfeat_init(&t->f);
}

void ifg_rad_text_release(struct ifg_rad_text *t)
{
	free(t->key), free(t->cnt);
	ifg_bytes_release(&t->prev), ifg_bytes_release(&t->tail), ifg_bytes_release(&t->tmp);
	ifg_toxfeat_release(&t->f);
	memset(t, 0, sizeof *t);
}

void ifg_rad_text_clear(struct ifg_rad_text *t)
{
	if (t->used)
		memset(t->key, 0, t->cap * sizeof *t->key);
	t->used = 0;
	t->Q = 0, t->D = 0;
	t->prev.n = 0, t->tail.n = 0;
}

static inline size_t slot_of(uint32_t idx, size_t cap)
{
	return (size_t)(((uint64_t)idx * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The table's slot for bucket idx: where it is, or the empty slot where it
 * would go. */
static inline size_t find(const struct ifg_rad_text *t, uint32_t idx)
{
	size_t i = slot_of(idx, t->cap);
	while (t->key[i] && t->key[i] != idx + 1)
		i = (i + 1) & (t->cap - 1);
	return i;
}

static inline uint32_t count_of(const struct ifg_rad_text *t, uint32_t idx)
{
	if (!t->cap)
		return 0;
	size_t i = find(t, idx);
	return t->key[i] ? t->cnt[i] : 0;
}

static void grow(struct ifg_rad_text *t)
{
	size_t ocap = t->cap, ncap = ocap ? 2 * ocap : 256;
	uint32_t *okey = t->key, *ocnt = t->cnt;
	t->key = ifg_xcalloc(ncap, sizeof *t->key);
	t->cnt = ifg_xmalloc(ncap, sizeof *t->cnt);
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (okey[i]) {
			size_t j = find(t, okey[i] - 1);
			t->key[j] = okey[i], t->cnt[j] = ocnt[i];
		}
	free(okey), free(ocnt);
}

/* Adds the counts in t->f to the stable part. */
static void add_stable(struct ifg_rad_text *t)
{
	const struct ifg_toxfeat *f = &t->f;
	for (size_t j = 0; j < f->n; j++) {
		if (2 * (t->used + 1) > t->cap)
			grow(t);
		size_t i = find(t, f->idx[j]);
		uint64_t old = t->key[i] ? t->cnt[i] : 0, c = (uint64_t)f->val[j];
		if (!t->key[i])
			t->key[i] = f->idx[j] + 1, t->used++;
		t->cnt[i] = (uint32_t)(old + c);
		t->Q += (old + c) * (old + c) - old * old;
		t->D += (double)t->clf->w[f->idx[j]] * (double)c;
	}
}

static inline int space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void ifg_rad_text_append(struct ifg_rad_text *t, const void *s, size_t n)
{
	if (!n)
		return;
	ifg_bytes_append(&t->tail, s, n);
	size_t cut = t->tail.n;	/* just after the last whitespace byte */
	while (cut > 0 && !space(t->tail.p[cut - 1]))
		cut--;
	if (!cut)
		return;
	ifg_toxfeat_counts(&t->f, (const char *)t->tail.p, cut, t->clf->bits,
			   t->prev.n ? (const char *)t->prev.p : NULL, t->prev.n);
	add_stable(t);
	size_t wn;
	const char *w = ifg_toxfeat_last_word(&t->f, &wn);
	if (w) {
		t->prev.n = 0;
		ifg_bytes_append(&t->prev, w, wn);
	}
	memmove(t->tail.p, t->tail.p + cut, t->tail.n - cut + 1);	/* with its NUL */
	t->tail.n -= cut;
}

/* t->f = the counts of tail + s[0..n) after the stable part. */
static void tail_counts(struct ifg_rad_text *t, const void *s, size_t n)
{
	t->tmp.n = 0;
	ifg_bytes_append(&t->tmp, t->tail.p ? t->tail.p : (const uint8_t *)"", t->tail.n);
	ifg_bytes_append(&t->tmp, s ? s : "", n);
	ifg_toxfeat_counts(&t->f, (const char *)t->tmp.p, t->tmp.n, t->clf->bits,
			   t->prev.n ? (const char *)t->prev.p : NULL, t->prev.n);
}

static inline double sigmoid(double z)
{
	if (z >= 0)
		return 1 / (1 + exp(-z));
	double e = exp(z);
	return e / (1 + e);
}

double ifg_rad_text_prob(struct ifg_rad_text *t, const void *s, size_t n)
{
	tail_counts(t, s, n);
	const struct ifg_toxfeat *f = &t->f;
	uint64_t Q = t->Q;
	double D = t->D;
	for (size_t j = 0; j < f->n; j++) {
		uint64_t old = count_of(t, f->idx[j]), c = (uint64_t)f->val[j];
		Q += (old + c) * (old + c) - old * old;
		D += (double)t->clf->w[f->idx[j]] * (double)c;
	}
	/* logit b + w . c / |c|; no n-gram at all: b (toxclf.h) */
	return sigmoid(t->clf->bias + (Q ? D / sqrt((double)Q) : 0.0));
}

void ifg_rad_text_counts(struct ifg_rad_text *t, const void *s, size_t n,
			 struct ifg_toxfeat *out)
{
	tail_counts(t, s, n);
	/* a dense copy of the stable part plus the tail's, over 2^bits buckets */
	size_t dim = (size_t)1 << t->clf->bits;
	uint32_t *c = ifg_xcalloc(dim, sizeof *c);
	for (size_t i = 0; i < t->cap; i++)
		if (t->key[i])
			c[t->key[i] - 1] += t->cnt[i];
	for (size_t j = 0; j < t->f.n; j++)
		c[t->f.idx[j]] += (uint32_t)t->f.val[j];
	out->n = 0;
	for (size_t i = 0; i < dim; i++)
		if (c[i]) {
			if (out->n == out->cap) {
				out->cap = out->cap ? 2 * out->cap : 256;
				out->idx = ifg_xrealloc(out->idx, out->cap, sizeof *out->idx);
				out->val = ifg_xrealloc(out->val, out->cap, sizeof *out->val);
			}
			out->idx[out->n] = (uint32_t)i;
			out->val[out->n++] = (float)c[i];
		}
	free(c);
}

/* ---- the decoder ---- */

void ifg_rad_init(struct ifg_rad *r, const struct ifg_toxclf *clf, const struct ifg_bpe *bpe,
		  double beta)
{
	memset(r, 0, sizeof *r);
	r->clf = clf, r->bpe = bpe, r->beta = beta, r->k = 20;
}

void ifg_rad_release(struct ifg_rad *r)
{
	for (int i = 0; i < r->ntext; i++)
		ifg_rad_text_release(&r->text[i]);
	free(r->text), free(r->row), free(r->cand), free(r->reward);
	ifg_bytes_release(&r->bytes);
	memset(r, 0, sizeof *r);
}

/* Rank order of sample.h on logits: larger first, then the lower id. */
static inline int before(const float *l, uint32_t a, uint32_t b)
{
	return l[a] > l[b] || (l[a] == l[b] && a < b);
}

/* top[0..m) = the m = min(k, V) first ids of the rank order, ranked.  One
 * pass, an insertion into the sorted list only for an id that beats its
 * last: about k ln(V / k) insertions on a row in random order. */
static size_t top_k(const float *l, size_t V, size_t k, uint32_t *top)
{
	size_t m = 0;
	for (uint32_t i = 0; i < V; i++) {
		if (m == k && !before(l, i, top[m - 1]))
			continue;
		size_t j = m < k ? m++ : m - 1;
		while (j > 0 && before(l, i, top[j - 1]))
			top[j] = top[j - 1], j--;
		top[j] = i;
	}
	return m;
}

long ifg_rad_warp(struct ifg_rad *r, struct ifg_rad_text *t, float *logits, size_t V,
		  int64_t eot, uint32_t *cand, double *reward)
{
	if (r->kcap < r->k) {
		free(r->cand), free(r->reward);
		r->cand = ifg_xmalloc((size_t)r->k, sizeof *r->cand);
		r->reward = ifg_xmalloc((size_t)r->k, sizeof *r->reward);
		r->kcap = r->k;
	}
	size_t m = top_k(logits, V, (size_t)r->k, r->cand);
	for (size_t j = 0; j < m; j++) {
		uint32_t c = r->cand[j];
		size_t len = 0;
		const uint8_t *b = (int64_t)c == eot ? NULL : ifg_bpe_token(r->bpe, c, &len);
		r->reward[j] = 1.0 - ifg_rad_text_prob(t, b, b ? len : 0);
		logits[c] = (float)((double)logits[c] + r->beta * r->reward[j]);
	}
	if (cand)
		memcpy(cand, r->cand, m * sizeof *cand);
	if (reward)
		memcpy(reward, r->reward, m * sizeof *reward);
	r->steps++, r->scored += m;
	return (long)m;
}

/* Texts for n sequences, each set to its prompt's (or empty). */
static int start_texts(struct ifg_rad *r, const struct ifg_gen *g, int n)
{
	if (r->ntext < n) {
		r->text = ifg_xrealloc(r->text, (size_t)n, sizeof *r->text);
		for (int i = r->ntext; i < n; i++)
			ifg_rad_text_init(&r->text[i], r->clf);
		r->ntext = n;
	}
	for (int i = 0; i < n; i++) {
		ifg_rad_text_clear(&r->text[i]);
		if (!r->prompt)
			continue;
		r->bytes.n = 0;
		if (ifg_bpe_decode(r->bpe, g[i].prompt, (size_t)g[i].prompt_len, true, &r->bytes) < 0)
			return -1;
		ifg_rad_text_append(&r->text[i], r->bytes.p, r->bytes.n);
	}
	return 0;
}

/* The hook's warp: sequence i's row copied and warped by RAD. */
static const float *rad_warp(void *ctx, int i, const float *logits, size_t V_sample)
{
	struct ifg_rad *r = ctx;
	if (r->rowcap < V_sample) {
		free(r->row);
		r->row = ifg_xmalloc(V_sample, sizeof *r->row);
		r->rowcap = V_sample;
	}
	memcpy(r->row, logits, V_sample * sizeof *r->row);
	ifg_rad_warp(r, &r->text[i], r->row, V_sample, r->eot, NULL, NULL);
	return r->row;
}

/* The hook's took: the drawn token's bytes join sequence i's text. */
static void rad_took(void *ctx, int i, uint32_t tok)
{
	struct ifg_rad *r = ctx;
	size_t len = 0;
	const uint8_t *b = ifg_bpe_token(r->bpe, tok, &len);
	if (b)
		ifg_rad_text_append(&r->text[i], b, len);
}

int ifg_rad_generate(struct ifg_rad *r, struct ifg_gpt *m, struct ifg_gpt_infer *s,
		     struct ifg_sampler *smp, struct ifg_gen *g, int n, int n_new, int64_t eot,
		     size_t V_sample)
{
	if (start_texts(r, g, n) < 0)
		return -1;
	r->eot = eot;
	const struct ifg_gen_hook h = { rad_warp, rad_took, r };
	return ifg_gpt_generate_hooked(m, s, smp, g, n, n_new, eot, V_sample, &h);
}

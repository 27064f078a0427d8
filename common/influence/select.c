/* select.c: toxic token selection (doc/method.md §6.1) over score streams.
 * See select.h for the algorithm, its numerics and the passes. */
#include "select.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpe.h"
#include "kinds.h"
#include "util.h"

/* ---- float32 keys ---- */

uint32_t ifg_sel_key(float x)
{
	uint32_t u;
	if (x == 0.0f)
		x = 0.0f;	/* -0 sorts, and compares, equal to +0 */
	memcpy(&u, &x, 4);
	return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

float ifg_sel_unkey(uint32_t k)
{
	uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
	float x;
	memcpy(&x, &u, 4);
	return x;
}

/* ---- exact streaming quantile: two-level radix selection ----
 * Pass 1 counts keys by their high 16 bits; the two ranks numpy needs,
 * k = floor(v) and k+1, then lie in known buckets at known residual ranks.
 * Pass 2 counts the low 16 bits of the keys in those buckets, which pins
 * both values exactly. */

#define QBUCKETS 65536

struct ifg_quantile {
	double p;
	double v;		/* (n-1)*p, as numpy computes it */
	uint64_t n;
	int stage;		/* 1: pass 1, 2: pass 2, 3: done */
	bool clamp;		/* v >= n-1: both ranks are the largest value */
	uint64_t rank[2];	/* 0-based sorted ranks of a and b */
	uint32_t bucket[2];	/* high 16 bits of their keys */
	uint64_t resid[2];	/* rank inside the bucket */
	uint64_t *hi;		/* [QBUCKETS] */
	uint64_t *lo[2];	/* [QBUCKETS] each; lo[1] unused when both share a bucket */
	float val[2];
};

struct ifg_quantile *ifg_quantile_new(double p)
{
	struct ifg_quantile *q = ifg_xcalloc(1, sizeof *q);
	q->p = p;
	q->stage = 1;
	q->hi = ifg_xcalloc(QBUCKETS, sizeof *q->hi);
	return q;
}

void ifg_quantile_free(struct ifg_quantile *q)
{
	if (!q)
		return;
	free(q->hi);
	free(q->lo[0]);
	free(q->lo[1]);
	free(q);
}

uint64_t ifg_quantile_count(const struct ifg_quantile *q) { return q->n; }

void ifg_quantile_add1(struct ifg_quantile *q, const float *x, size_t n)
{
	uint64_t *hi = q->hi;
	for (size_t i = 0; i < n; i++)
		hi[ifg_sel_key(x[i]) >> 16]++;
	q->n += n;
}

/* The bucket holding sorted rank r of hist [QBUCKETS], and r's rank in it. */
static uint32_t find_rank(const uint64_t *hist, uint64_t r, uint64_t *resid)
{
	uint64_t below = 0;
	uint32_t b = 0;
	for (; b < QBUCKETS - 1; b++) {
		if (below + hist[b] > r)
			break;
		below += hist[b];
	}
	*resid = r - below;
	return b;
}

int ifg_quantile_end1(struct ifg_quantile *q)
{
	if (q->stage != 1)
		return ifg_seterr("quantile: pass 1 already ended");
	if (q->n == 0) {
		q->stage = 3;
		return 0;
	}
	uint64_t last = q->n - 1;
	q->v = (double)last * q->p;
	if (q->v >= (double)last) {
		q->clamp = true;
		q->rank[0] = q->rank[1] = last;
	} else {
		q->rank[0] = (uint64_t)floor(q->v);
		q->rank[1] = q->rank[0] + 1;
	}
	for (int i = 0; i < 2; i++)
		q->bucket[i] = find_rank(q->hi, q->rank[i], &q->resid[i]);
	q->lo[0] = ifg_xcalloc(QBUCKETS, sizeof *q->lo[0]);
	if (q->bucket[1] != q->bucket[0])
		q->lo[1] = ifg_xcalloc(QBUCKETS, sizeof *q->lo[1]);
	q->stage = 2;
	return 1;
}

void ifg_quantile_add2(struct ifg_quantile *q, const float *x, size_t n)
{
	if (q->stage != 2)
		return;
	uint32_t b0 = q->bucket[0], b1 = q->bucket[1];
	for (size_t i = 0; i < n; i++) {
		uint32_t k = ifg_sel_key(x[i]);
		if (k >> 16 == b0)
			q->lo[0][k & 0xffff]++;
		else if (k >> 16 == b1)
			q->lo[1][k & 0xffff]++;
	}
}

int ifg_quantile_tau(struct ifg_quantile *q, double *tau)
{
	if (q->stage == 1 || (q->stage == 2 && !q->lo[0]))
		return ifg_seterr("quantile: passes not finished");
	if (q->n == 0) {
		*tau = NAN;
		return 0;
	}
	if (q->stage == 2) {
		for (int i = 0; i < 2; i++) {
			const uint64_t *h = q->lo[q->bucket[i] == q->bucket[0] ? 0 : 1];
			uint64_t resid;
			uint32_t low = find_rank(h, q->resid[i], &resid);
			q->val[i] = ifg_sel_unkey(q->bucket[i] << 16 | low);
		}
		q->stage = 3;
	}
	float a = q->val[0], b = q->val[1];
	if (q->clamp) {
		*tau = (double)b;
		return 0;
	}
	/* numpy's _lerp: d = b - a in float32 (both operands float32), then
	 * the products and sums in float64 (a 0-d float64 gamma promotes).
	 * One operation per statement, so nothing is fused into an FMA. */
	double g = q->v - floor(q->v);
	float d = b - a;
	if (g >= 0.5) {
		double t = (double)d * (1.0 - g);
		*tau = (double)b - t;
	} else {
		double t = (double)d * g;
		*tau = (double)a + t;
	}
	return 0;
}

int ifg_quantile_f32(const float *x, size_t n, double p, double *tau)
{
	struct ifg_quantile *q = ifg_quantile_new(p);
	ifg_quantile_add1(q, x, n);
	if (ifg_quantile_end1(q) > 0)
		ifg_quantile_add2(q, x, n);
	int rc = ifg_quantile_tau(q, tau);
	ifg_quantile_free(q);
	return rc;
}

/* ---- per-document statistics and masks ---- */

/* The window around j: [lo, hi) = [max(0, j-w), min(T, j+w+1)). */
static inline void window(uint32_t j, uint32_t T, uint32_t w, uint32_t *lo, uint32_t *hi)
{
	*lo = j > w ? j - w : 0;
	uint64_t h = (uint64_t)j + w + 1;
	*hi = h < T ? (uint32_t)h : T;
}

void ifg_sel_doc_stats(const float *s, uint32_t T, float tau32, uint32_t w,
		       struct ifg_sel_doc *d)
{
	uint32_t c = 0, u = 0, end = 0;
	double f = 0, sum = 0;
	for (uint32_t j = 0; j < T; j++) {
		sum += s[j];
		if (!(s[j] > tau32))
			continue;
		c++;
		f += s[j];
		/* Windows come in ascending j with one width, so what earlier
		 * windows cover inside this one is exactly [lo, end). */
		uint32_t lo, hi;
		window(j, T, w, &lo, &hi);
		if (lo < end)
			lo = end;
		if (hi > lo) {
			u += hi - lo;
			end = hi;
		}
	}
	d->T = T;
	d->c = c;
	d->u = u;
	d->f = f;
	d->sum = sum;
	d->r = 0;
}

uint32_t ifg_sel_doc_mask(const float *s, uint32_t T, float tau32, uint32_t w,
			  uint64_t *budget, bool *stopped, uint8_t *mask)
{
	uint32_t got = 0, end = 0;
	*stopped = false;
	memset(mask, 0, T);
	for (uint32_t j = 0; j < T; j++) {
		if (!(s[j] > tau32))
			continue;
		uint32_t lo, hi;
		window(j, T, w, &lo, &hi);
		if (lo < end)
			lo = end;
		uint32_t n = hi > lo ? hi - lo : 0;
		if (n > *budget) {	/* used + |new| > L: stop before this window */
			*stopped = true;
			break;
		}
		if (n) {
			memset(mask + lo, 1, n);
			*budget -= n;
			got += n;
			end = hi;
		}
	}
	return got;
}

struct rank_f32 { float r; uint32_t i; };
struct rank_f64 { double r; uint32_t i; };

/* Descending key, ascending index on ties. */
static int cmp_f32(const void *pa, const void *pb)
{
	const struct rank_f32 *a = pa, *b = pb;
	if (a->r != b->r)
		return a->r > b->r ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int cmp_f64(const void *pa, const void *pb)
{
	const struct rank_f64 *a = pa, *b = pb;
	if (a->r != b->r)
		return a->r > b->r ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

int ifg_sel_rank(struct ifg_sel_doc *docs, size_t n, uint32_t *order)
{
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return ifg_seterr("too many documents (%zu)", n);
	/* min_max_normalize and harmonic_mean of the reference, in float32:
	 * x' = (x - min) / ((max - min) + 1e-6f), R = ((2 c') f') / ((c' + f') + 1e-6f) */
	const float eps = 1e-6f;
	float cmin = INFINITY, cmax = -INFINITY, fmin = INFINITY, fmax = -INFINITY;
	for (size_t i = 0; i < n; i++) {
		float c = (float)docs[i].c, f = (float)docs[i].f;
		if (!isfinite(f))
			return ifg_seterr("document %zu: sum of its selected scores (%g) "
					  "overflows float32", i, docs[i].f);
		cmin = fminf(cmin, c);
		cmax = fmaxf(cmax, c);
		fmin = fminf(fmin, f);
		fmax = fmaxf(fmax, f);
	}
	float cden = cmax - cmin, fden = fmax - fmin;
	cden = cden + eps;
	fden = fden + eps;
	struct rank_f32 *rk = ifg_xmalloc(n, sizeof *rk);
	for (size_t i = 0; i < n; i++) {
		float c = (float)docs[i].c - cmin, f = (float)docs[i].f - fmin;
		c = c / cden;
		f = f / fden;
		float num = 2.0f * c;
		num = num * f;
		float den = c + f;
		den = den + eps;
		docs[i].r = num / den;
		rk[i] = (struct rank_f32){ docs[i].r, (uint32_t)i };
	}
	qsort(rk, n, sizeof *rk, cmp_f32);
	for (size_t i = 0; i < n; i++)
		order[i] = rk[i].i;
	free(rk);
	return 0;
}

size_t ifg_sel_plan(const struct ifg_sel_doc *docs, size_t n, const uint32_t *order,
		    uint64_t budget, uint64_t *quota)
{
	size_t ndocs = 0, k = 0;
	memset(quota, 0, n * sizeof *quota);
	for (; k < n; k++) {
		const struct ifg_sel_doc *d = &docs[order[k]];
		if (d->u > budget)
			break;	/* some window of this document will not fit */
		budget -= d->u;
		if (d->u) {
			quota[order[k]] = UINT64_MAX;
			ndocs++;
		}
	}
	/* The document where the budget runs out keeps the windows that fit
	 * before the first that does not (ifg_sel_doc_mask stops there); every
	 * later document gets nothing, as the reference returns at that point. */
	if (k < n && budget > 0)
		quota[order[k]] = budget;
	return ndocs;
}

uint64_t ifg_sel_drop_docs(struct ifg_sel_doc *docs, size_t n, uint32_t *order,
			   uint64_t budget, uint8_t *drop)
{
	struct rank_f64 *rk = ifg_xmalloc(n ? n : 1, sizeof *rk);
	for (size_t i = 0; i < n; i++)
		rk[i] = (struct rank_f64){ docs[i].sum, (uint32_t)i };
	qsort(rk, n, sizeof *rk, cmp_f64);
	memset(drop, 0, n);
	uint64_t used = 0;
	bool stopped = false;
	for (size_t i = 0; i < n; i++) {
		uint32_t d = order[i] = rk[i].i;
		if (stopped || docs[d].T > budget - used) {
			stopped = true;	/* stop before a document exceeds the budget */
			continue;
		}
		used += docs[d].T;
		drop[d] = 1;
	}
	free(rk);
	return used;
}

/* ---- random-token baseline ---- */

void ifg_sel_random_init(struct ifg_sel_random *r, uint64_t seed, uint64_t total,
			 uint64_t want)
{
	ifg_rng_init(&r->rng, seed);
	r->total = total;
	r->seen = 0;
	r->want = want < total ? want : total;
	r->taken = 0;
}

uint32_t ifg_sel_random_mask(struct ifg_sel_random *r, uint32_t T, uint8_t *mask)
{
	uint32_t got = 0;
	for (uint32_t t = 0; t < T; t++, r->seen++) {
		mask[t] = 0;
		if (r->taken >= r->want || r->seen >= r->total)
			continue;
		/* Take this token with probability (want - taken) / (total - seen). */
		double u = ifg_rng_uniform(&r->rng);
		if ((double)(r->total - r->seen) * u < (double)(r->want - r->taken)) {
			mask[t] = 1;
			r->taken++;
			got++;
		}
	}
	return got;
}

/* ---- word-list baseline ---- */

struct ifg_wordlist {
	char **words;	/* sorted; a phrase's words are joined by one space */
	size_t n;
	int max_words;	/* longest phrase, in words */
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ASCII only, whatever the locale */
static bool word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '\'';
}

static char lower(unsigned char c) { return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c); }

struct ifg_wordlist *ifg_wordlist_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		ifg_seterr("'%s': %s", path, strerror(errno));
		return NULL;
	}
	struct ifg_wordlist *lx = ifg_xcalloc(1, sizeof *lx);
	size_t cap = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) >= 0) {
		/* normalise: lower case, words of word bytes joined by one space */
		char *w = ifg_xmalloc((size_t)len + 1, 1);
		size_t o = 0;
		int nw = 0;
		bool in = false;
		if (len > 0 && line[0] == '#')
			len = 0;
		for (ssize_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)line[i];
			if (word_byte(c)) {
				if (!in && o)
					w[o++] = ' ';
				if (!in)
					nw++;
				w[o++] = lower(c);
				in = true;
			} else {
				in = false;
			}
		}
		w[o] = 0;
		if (!o) {
			free(w);
			continue;
		}
		if (lx->n == cap) {
			cap = cap ? 2 * cap : 256;
			lx->words = ifg_xrealloc(lx->words, cap, sizeof *lx->words);
		}
		lx->words[lx->n++] = w;
		if (nw > lx->max_words)
			lx->max_words = nw;
	}
	bool bad = ferror(f);
	free(line);
	fclose(f);
	if (bad) {
		ifg_seterr("'%s': read error", path);
		ifg_wordlist_free(lx);
		return NULL;
	}
	qsort(lx->words, lx->n, sizeof *lx->words, cmp_str);
	return lx;
}

void ifg_wordlist_free(struct ifg_wordlist *lx)
{
	if (!lx)
		return;
	for (size_t i = 0; i < lx->n; i++)
		free(lx->words[i]);
	free(lx->words);
	free(lx);
}

size_t ifg_wordlist_size(const struct ifg_wordlist *lx) { return lx->n; }

static bool lexicon_has(const struct ifg_wordlist *lx, const char *s)
{
	return bsearch(&s, lx->words, lx->n, sizeof *lx->words, cmp_str) != NULL;
}

/* Marks the tokens overlapping text[ws, we). */
static uint32_t mark_span(const uint32_t *off, uint32_t T, uint32_t ws, uint32_t we,
			  uint8_t *mask)
{
	/* first token ending after ws: off ascending, binary search */
	uint32_t lo = 0, hi = T;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (off[mid + 1] <= ws)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t got = 0;
	for (uint32_t t = lo; t < T && off[t] < we; t++)
		if (!mask[t]) {
			mask[t] = 1;
			got++;
		}
	return got;
}

uint32_t ifg_wordlist_mask(const struct ifg_wordlist *lx, const char *text,
			   const uint32_t *off, uint32_t T, uint8_t *mask)
{
	uint32_t len = off[T], got = 0;
	/* word boundaries: starts[i], ends[i] */
	uint32_t nw = 0, cap = 64;
	uint32_t *ws = ifg_xmalloc(cap, sizeof *ws), *we = ifg_xmalloc(cap, sizeof *we);
	for (uint32_t i = 0; i < len;) {
		if (!word_byte((unsigned char)text[i])) {
			i++;
			continue;
		}
		uint32_t s = i;
		while (i < len && word_byte((unsigned char)text[i]))
			i++;
		if (nw == cap) {
			cap *= 2;
			ws = ifg_xrealloc(ws, cap, sizeof *ws);
			we = ifg_xrealloc(we, cap, sizeof *we);
		}
		ws[nw] = s;
		we[nw++] = i;
	}
	char *buf = NULL;
	size_t bcap = 0;
	for (uint32_t i = 0; i < nw; i++) {
		size_t o = 0;
		for (int k = 0; k < lx->max_words && i + k < nw; k++) {
			size_t need = o + (we[i + k] - ws[i + k]) + 2;
			if (need > bcap) {
				bcap = need * 2;
				buf = ifg_xrealloc(buf, bcap, 1);
			}
			if (k)
				buf[o++] = ' ';
			for (uint32_t b = ws[i + k]; b < we[i + k]; b++)
				buf[o++] = lower((unsigned char)text[b]);
			buf[o] = 0;
			if (lexicon_has(lx, buf))
				got += mark_span(off, T, ws[i], we[i + k], mask);
		}
	}
	free(buf);
	free(ws);
	free(we);
	return got;
}

/* ---- text of a document ---- */

int ifg_sel_decode(const struct ifg_bpe *bpe, const uint32_t *ids, uint32_t T, char **text,
		   uint32_t *off)
{
	struct ifg_bytes b = { 0 };
	*text = NULL;
	for (uint32_t t = 0; t < T; t++) {
		size_t len;
		const uint8_t *p = ifg_bpe_token(bpe, ids[t], &len);
		if (!p) {
			ifg_bytes_release(&b);
			return ifg_seterr("token %u: id %u is not in the tokenizer", t, ids[t]);
		}
		if (b.n + len >= UINT32_MAX) {
			ifg_bytes_release(&b);
			return ifg_seterr("document text over 4 GiB");
		}
		off[t] = (uint32_t)b.n;
		ifg_bytes_append(&b, p, len);
	}
	off[T] = (uint32_t)b.n;
	ifg_bytes_append(&b, "", 1);
	*text = (char *)b.p;
	return 0;
}

void ifg_sel_render(FILE *f, const char *text, const uint32_t *off, const uint8_t *mask,
		    uint32_t T, bool color)
{
	const char *on = color ? "\033[1;31m" : "[[", *off_ = color ? "\033[0m" : "]]";
	bool in = false;
	for (uint32_t t = 0; t < T; t++) {
		if (!!mask[t] != in) {
			fputs(in ? off_ : on, f);
			in = !in;
		}
		for (uint32_t i = off[t]; i < off[t + 1]; i++) {
			unsigned char c = (unsigned char)text[i];
			if (c < 0x20 && c != '\n' && c != '\t')
				fprintf(f, "\\x%02x", c);
			else if (c == 0x7f)
				fputs("\\x7f", f);
			else
				putc(c, f);
		}
	}
	if (in)
		fputs(off_, f);
}

struct shown {
	uint64_t index, count;
	uint32_t T;
	uint32_t *ids;
	uint8_t *mask;
	char id[64];
};

static void shown_free(struct shown *s)
{
	free(s->ids);
	free(s->mask);
}

/* Fills s from a record; -1 with a message on a bad field. */
static int shown_fill(struct shown *s, const struct ifg_reader *r, const msgpack_object *rec,
		      uint64_t index)
{
	struct ifg_array t, m;
	if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &t) < 0)
		return -1;
	const msgpack_object *mo = ifg_get(rec, IFG_K_MASK);
	if (mo && ifg_get_array(r, rec, IFG_K_MASK, 1, &m) < 0)
		return -1;
	if (mo && m.n != t.n)
		return ifg_reader_err(r, "mask of %llu for %llu tokens", (unsigned long long)m.n,
				      (unsigned long long)t.n);
	if (t.n >= UINT32_MAX)
		return ifg_reader_err(r, "record too long");
	s->index = index;
	s->T = (uint32_t)t.n;
	s->ids = ifg_xmalloc(t.n + 1, sizeof *s->ids);
	s->mask = ifg_xcalloc(t.n + 1, 1);
	if (ifg_array_to_u32(&t, s->ids, UINT32_MAX) < 0)
		return ifg_reader_err(r, "tokens: %s", ifg_err());
	if (mo && ifg_array_to_mask(&m, s->mask) < 0)
		return ifg_reader_err(r, "mask: %s", ifg_err());
	s->count = 0;
	for (uint32_t i = 0; i < s->T; i++)
		s->count += s->mask[i] != 0;
	const msgpack_object *id = ifg_get(rec, IFG_K_ID);
	if (id && id->type == MSGPACK_OBJECT_STR)
		snprintf(s->id, sizeof s->id, "%.*s", (int)(id->via.str.size < 60 ? id->via.str.size : 60),
			 id->via.str.ptr);
	else if (id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		snprintf(s->id, sizeof s->id, "%llu", (unsigned long long)id->via.u64);
	else if (id && id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		snprintf(s->id, sizeof s->id, "%lld", (long long)id->via.i64);
	else
		snprintf(s->id, sizeof s->id, "-");
	return 0;
}

int ifg_sel_show(FILE *f, const char *path, const struct ifg_bpe *bpe, long count, long record,
		 bool color)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		return -1;
	if (record >= 0)
		count = 1;
	struct shown *top = ifg_xcalloc((size_t)count, sizeof *top);
	size_t ntop = 0;
	int rc = -1;
	const msgpack_object *rec, *tok;
	if (ifg_reader_header(r, NULL) < 0)
		goto out;
	if (strcmp(ifg_reader_kind(r), IFG_KIND_TOKENS) && strcmp(ifg_reader_kind(r), IFG_KIND_SCORES)) {
		ifg_reader_err(r, "a stream of kind '%s', expected '%s'", ifg_reader_kind(r),
			       IFG_KIND_TOKENS);
		goto out;
	}
	if (!(tok = ifg_get(ifg_reader_hdr(r), IFG_K_TOKENIZER))) {
		ifg_reader_err(r, "header has no '%s'", IFG_K_TOKENIZER);
		goto out;
	}
	if (ifg_bpe_check_identity(bpe, tok) < 0) {
		ifg_reader_err(r, "%s", ifg_err());
		goto out;
	}
	int k;
	for (uint64_t index = 0; (k = ifg_reader_next(r, &rec)) > 0; index++) {
		if (record >= 0 && index != (uint64_t)record)
			continue;
		struct shown s = { 0 };
		if (shown_fill(&s, r, rec, index) < 0) {
			shown_free(&s);
			goto out;
		}
		/* keep the `count` best: most selected first, earlier on ties */
		size_t at = ntop;
		while (at > 0 && s.count > top[at - 1].count)
			at--;
		if (at >= (size_t)count) {
			shown_free(&s);
			continue;
		}
		if (ntop == (size_t)count)
			shown_free(&top[--ntop]);
		memmove(top + at + 1, top + at, (ntop - at) * sizeof *top);
		top[at] = s;
		ntop++;
		if (record >= 0)
			break;
	}
	if (k < 0)
		goto out;
	if (record >= 0 && ntop == 0) {
		ifg_seterr("'%s' has no record %ld", ifg_reader_name(r), record);
		goto out;
	}
	for (size_t i = 0; i < ntop; i++) {
		char *text;
		uint32_t *off = ifg_xmalloc((size_t)top[i].T + 1, sizeof *off);
		if (ifg_sel_decode(bpe, top[i].ids, top[i].T, &text, off) < 0) {
			/* numbered as the "# record" lines and --record */
			ifg_prefixerr("'%s': record %llu (id %s)", ifg_reader_name(r),
				      (unsigned long long)top[i].index, top[i].id);
			free(off);
			goto out;
		}
		fprintf(f, "# record %llu (id %s): %llu of %u tokens selected\n",
			(unsigned long long)top[i].index, top[i].id,
			(unsigned long long)top[i].count, top[i].T);
		ifg_sel_render(f, text, off, top[i].mask, top[i].T, color);
		fputs("\n\n", f);
		free(text);
		free(off);
	}
	rc = 0;
out:
	for (size_t i = 0; i < ntop; i++)
		shown_free(&top[i]);
	free(top);
	ifg_reader_close(r);
	return rc;
}

/* ---- passes over a scores stream ---- */

int ifg_sel_scan(const char *path, bool need_scores, ifg_sel_hdr_fn hdr_cb, ifg_sel_rec_fn cb,
		 void *ctx)
{
	bool std = !path || strcmp(path, "-") == 0;
	if (std && lseek(0, 0, SEEK_SET) < 0 && errno != ESPIPE)
		return ifg_seterr("<stdin>: %s", strerror(errno));
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		return -1;
	float *buf = NULL;
	size_t cap = 0;
	int rc = -1;
	if (ifg_reader_header(r, NULL) < 0)
		goto out;
	const char *kind = ifg_reader_kind(r);
	if (strcmp(kind, IFG_KIND_SCORES) != 0 &&
	    (need_scores || strcmp(kind, IFG_KIND_TOKENS) != 0)) {
		ifg_reader_err(r, "a stream of kind '%s', expected '%s'%s", kind, IFG_KIND_SCORES,
			       need_scores ? "" : " or '" IFG_KIND_TOKENS "'");
		goto out;
	}
	bool scores = strcmp(kind, IFG_KIND_SCORES) == 0;
	if (hdr_cb && hdr_cb(ctx, r, ifg_reader_hdr(r)) < 0)
		goto out;
	for (uint64_t index = 0;; index++) {
		const msgpack_object *rec;
		int k = ifg_reader_next(r, &rec);
		if (k < 0)
			goto out;
		if (k == 0)
			break;
		struct ifg_array s, t;
		if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &t) < 0)
			goto out;
		if (t.n >= UINT32_MAX) {
			ifg_reader_err(r, "record of %llu tokens is too long",
				       (unsigned long long)t.n);
			goto out;
		}
		if (scores) {
			if (ifg_get_array(r, rec, IFG_K_SCORES, 1, &s) < 0)
				goto out;
			if (s.n != t.n) {
				ifg_reader_err(r, "%llu scores for %llu tokens",
					       (unsigned long long)s.n, (unsigned long long)t.n);
				goto out;
			}
			if (s.n > cap || !buf) {	/* never NULL, even for T = 0 */
				cap = s.n * 2 + 16;
				free(buf);
				buf = ifg_xmalloc(cap, sizeof *buf);
			}
			if (ifg_array_to_f32(&s, buf, false) < 0) {
				ifg_reader_err(r, "scores: %s", ifg_err());
				goto out;
			}
		}
		struct ifg_sel_rec sr = { index, rec, scores ? buf : NULL, &t, (uint32_t)t.n, r };
		if (cb(ctx, &sr) < 0)
			goto out;
	}
	rc = 0;
out:
	free(buf);
	ifg_reader_close(r);
	return rc;
}


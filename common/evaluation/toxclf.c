/* toxclf.c: hashed n-gram logistic regression for toxicity (toxclf.h). */
#include "toxclf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "rng.h"
#include "stream.h"
#include "util.h"

const struct ifg_toxclf_cfg ifg_toxclf_default = {
	.bits = 18, .epochs = 5, .lr = 0.2, .l2 = 1e-6, .seed = 0,
};

/* ---- features ---- */

enum { NS_WORD = 1, NS_BIGRAM = 2, NS_CHAR = 3 };	/* hash salts */
enum { CHAR_LO = 2, CHAR_HI = 5 };

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static inline uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * FNV_PRIME;
	return h;
}

void ifg_toxfeat_init(struct ifg_toxfeat *f)
{
	memset(f, 0, sizeof *f);
}

void ifg_toxfeat_release(struct ifg_toxfeat *f)
{
	free(f->idx), free(f->val), free(f->buf);
	memset(f, 0, sizeof *f);
}

static inline void feat_add(struct ifg_toxfeat *f, uint64_t h, uint32_t mask)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 256;
		f->idx = ifg_xrealloc(f->idx, f->cap, sizeof *f->idx);
		f->val = ifg_xrealloc(f->val, f->cap, sizeof *f->val);
	}
	f->idx[f->n++] = (uint32_t)ifg_mix64(h) & mask;
}

static inline int word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\'' || c >= 0x80;
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline int prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && !strncasecmp(s, p, k);
}

/* f->buf = the words of text joined by single spaces (see toxclf.h for the
 * normalisation); returns its length. */
static size_t normalise(struct ifg_toxfeat *f, const char *text, size_t n)
{
	if (f->bcap < 2 * n + 16) {	/* "<url>" may replace "http" plus one byte */
		f->bcap = 2 * n + 16;
		f->buf = ifg_xrealloc(f->buf, f->bcap, 1);
	}
	char *b = f->buf;
	size_t o = 0, i = 0;
	while (i < n) {
		unsigned char c = lower((unsigned char)text[i]);
		int start = i == 0 || !word_byte(lower((unsigned char)text[i - 1]));
		if (start && c == '@' && i + 1 < n &&
		    (word_byte(lower((unsigned char)text[i + 1])) || text[i + 1] == '_')) {
			i++;
			while (i < n && (word_byte(lower((unsigned char)text[i])) || text[i] == '_'))
				i++;
			b[o++] = '@', b[o++] = ' ';
			continue;
		}
		if (start && (prefix(text + i, n - i, "http://") ||
			      prefix(text + i, n - i, "https://") || prefix(text + i, n - i, "www."))) {
			while (i < n && !strchr(" \t\r\n", text[i]))
				i++;
			memcpy(b + o, "<url> ", 6);
			o += 6;
			continue;
		}
		if (!word_byte(c)) {
			i++;
			continue;
		}
		size_t w0 = o;
		while (i < n && word_byte(c = lower((unsigned char)text[i]))) {
			/* runs of 3+ equal characters cut to 2 */
			if (!(o - w0 >= 2 && b[o - 1] == (char)c && b[o - 2] == (char)c))
				b[o++] = (char)c;
			i++;
		}
		size_t a = w0, z = o;	/* apostrophes trimmed at the ends */
		while (a < z && b[a] == '\'')
			a++;
		while (z > a && b[z - 1] == '\'')
			z--;
		memmove(b + w0, b + a, z - a);
		o = w0 + (z - a);
		if (o > w0)
			b[o++] = ' ';
	}
	if (o)
		o--;	/* the last separator */
	b[o] = 0;
	return o;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

void ifg_toxfeat_counts(struct ifg_toxfeat *f, const char *text, size_t n, unsigned bits,
			const char *prev, size_t prevn)
{
	uint32_t mask = (uint32_t)((1ull << bits) - 1);
	size_t len = normalise(f, text, n);
	f->n = 0;
	if (!len)
		return;
	char pad[64];	/* " word " for character n-grams of short words */
	for (size_t i = 0; i < len;) {
		const char *w = f->buf + i;
		size_t wn = 0;
		while (i + wn < len && w[wn] != ' ')
			wn++;
		i += wn + 1;
		feat_add(f, fnv(FNV_OFF ^ NS_WORD, w, wn), mask);
		if (prev) {
			uint64_t h = fnv(FNV_OFF ^ NS_BIGRAM, prev, prevn);
			feat_add(f, fnv(fnv(h, " ", 1), w, wn), mask);
		}
		prev = w, prevn = wn;
		/* character n-grams of the padded word; words longer than the
		 * buffer are cut (their n-grams past 62 bytes are dropped) */
		size_t pn = wn + 2 < sizeof pad ? wn + 2 : sizeof pad;
		pad[0] = ' ';
		memcpy(pad + 1, w, pn - 2);
		pad[pn - 1] = ' ';
		for (size_t k = CHAR_LO; k <= CHAR_HI && k <= pn; k++)
			for (size_t s = 0; s + k <= pn; s++)
				feat_add(f, fnv(FNV_OFF ^ NS_CHAR, pad + s, k), mask);
	}
	/* counts of equal indices */
	qsort(f->idx, f->n, sizeof *f->idx, cmp_u32);
	size_t m = 0;
	for (size_t i = 0; i < f->n;) {
		size_t j = i;
		while (j < f->n && f->idx[j] == f->idx[i])
			j++;
		f->idx[m] = f->idx[i];
		f->val[m] = (float)(j - i);
		m++;
		i = j;
	}
	f->n = m;
}

const char *ifg_toxfeat_last_word(const struct ifg_toxfeat *f, size_t *n)
{
	const char *b = f->buf, *s;
	if (!b || !*b)
		return *n = 0, NULL;
	s = strrchr(b, ' ');
	s = s ? s + 1 : b;
	*n = strlen(s);
	return s;
}

void ifg_toxfeat_extract(struct ifg_toxfeat *f, const char *text, size_t n, unsigned bits)
{
	ifg_toxfeat_counts(f, text, n, bits, NULL, 0);
	/* unit L2 norm; the squares summed in index order, in double */
	double ss = 0;
	for (size_t i = 0; i < f->n; i++)
		ss += (double)f->val[i] * (double)f->val[i];
	if (!f->n)
		return;
	float inv = (float)(1.0 / sqrt(ss));
	for (size_t i = 0; i < f->n; i++)
		f->val[i] *= inv;
}

/* ---- data ---- */

void ifg_toxdata_init(struct ifg_toxdata *d)
{
	memset(d, 0, sizeof *d);
	d->off = ifg_xcalloc(1, sizeof *d->off);
}

void ifg_toxdata_add(struct ifg_toxdata *d, const char *s, size_t n, int y)
{
	if (d->n + 1 >= d->cap) {
		d->cap = d->cap ? 2 * d->cap : 1024;
		d->off = ifg_xrealloc(d->off, d->cap + 1, sizeof *d->off);
		d->y = ifg_xrealloc(d->y, d->cap, 1);
	}
	if (d->tlen + n + 1 > d->tcap) {
		d->tcap = 2 * (d->tlen + n + 1) + 4096;
		d->text = ifg_xrealloc(d->text, d->tcap, 1);
	}
	if (n)
		memcpy(d->text + d->tlen, s, n);
	d->tlen += n;
	d->y[d->n] = y != 0;
	d->off[++d->n] = d->tlen;
}

void ifg_toxdata_release(struct ifg_toxdata *d)
{
	free(d->text), free(d->off), free(d->y);
	memset(d, 0, sizeof *d);
}

/* ---- model ---- */

static inline double sigmoid(double z)
{
	if (z >= 0)
		return 1 / (1 + exp(-z));
	double e = exp(z);
	return e / (1 + e);
}

static inline double logit(const struct ifg_toxclf *m, const struct ifg_toxfeat *f)
{
	double z = m->bias;
	for (size_t i = 0; i < f->n; i++)
		z += (double)m->w[f->idx[i]] * f->val[i];
	return z;
}

double ifg_toxclf_prob_feat(const struct ifg_toxclf *m, const struct ifg_toxfeat *f)
{
	return sigmoid(logit(m, f));
}

double ifg_toxclf_prob(const struct ifg_toxclf *m, struct ifg_toxfeat *f, const char *text,
		       size_t n)
{
	ifg_toxfeat_extract(f, text, n, m->bits);
	return ifg_toxclf_prob_feat(m, f);
}

void ifg_toxclf_release(struct ifg_toxclf *m)
{
	free(m->w);
	memset(m, 0, sizeof *m);
}

struct rank {
	double s;
	uint8_t y;
};

static int cmp_rank(const void *a, const void *b)
{
	double x = ((const struct rank *)a)->s, y = ((const struct rank *)b)->s;
	return (x > y) - (x < y);
}

void ifg_toxeval_add(struct ifg_toxeval *e, double p, int y)
{
	if (e->n == e->cap) {
		e->cap = 2 * e->cap + 1024;
		e->p = ifg_xrealloc(e->p, e->cap, sizeof *e->p);
		e->y = ifg_xrealloc(e->y, e->cap, 1);
	}
	e->p[e->n] = p;
	e->y[e->n] = y != 0;
	e->npos += y != 0;
	e->right += (p >= 0.5) == (y != 0);
	e->n++;
}

void ifg_toxeval_result(const struct ifg_toxeval *e, double *acc, double *auc)
{
	*acc = e->n ? (double)e->right / (double)e->n : NAN;
	*auc = e->n ? ifg_auc(e->p, e->y, e->n) : NAN;
}

void ifg_toxeval_release(struct ifg_toxeval *e)
{
	free(e->p);
	free(e->y);
	memset(e, 0, sizeof *e);
}

double ifg_auc(const double *s, const uint8_t *y, size_t n)
{
	struct rank *r = ifg_xmalloc(n + 1, sizeof *r);
	double npos = 0;
	for (size_t i = 0; i < n; i++) {
		r[i].s = s[i], r[i].y = y[i] != 0;
		npos += r[i].y;
	}
	double nneg = (double)n - npos;
	if (npos == 0 || nneg == 0) {
		free(r);
		return NAN;
	}
	qsort(r, n, sizeof *r, cmp_rank);
	/* sum of the positives' ranks, a tie group sharing its mean rank */
	double rsum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, p = 0;
		while (j < n && r[j].s == r[i].s)
			p += r[j++].y;
		rsum += (double)p * ((double)(i + 1 + j) / 2);
		i = j;
	}
	free(r);
	return (rsum - npos * (npos + 1) / 2) / (npos * nneg);
}

int ifg_toxclf_learn(struct ifg_toxclf *m, const struct ifg_toxdata *d, double holdout,
		     const struct ifg_toxclf_cfg *cfg)
{
	memset(m, 0, sizeof *m);
	if (cfg->bits < IFG_TOXCLF_MIN_BITS || cfg->bits > IFG_TOXCLF_MAX_BITS)
		return ifg_seterr("%u hash bits, expected %d..%d", cfg->bits, IFG_TOXCLF_MIN_BITS,
				  IFG_TOXCLF_MAX_BITS);
	if (!(holdout >= 0 && holdout < 1))
		return ifg_seterr("held-out fraction %g is not in [0, 1)", holdout);
	if (d->n > UINT32_MAX)
		return ifg_seterr("%zu documents: too many", d->n);
	size_t n = d->n, ntest = (size_t)llround(holdout * (double)n), ntrain = n - ntest;
	uint32_t *order = ifg_xmalloc(n + 1, sizeof *order);
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	struct ifg_rng rng;
	ifg_rng_init2(&rng, cfg->seed, 0);
	ifg_rng_shuffle_u32(&rng, order, n);
	const uint32_t *test = order, *train = order + ntest;
	size_t npos = 0;
	for (size_t i = 0; i < ntrain; i++)
		npos += d->y[train[i]];
	if (ntrain == 0 || npos == 0 || npos == ntrain) {
		free(order);
		return ifg_seterr("the training part (%zu documents, %zu toxic) needs both classes",
				  ntrain, npos);
	}
	/* class weights n / (2 n_c): both classes weigh the same in the loss, so
	 * the probabilities are those of a 50/50 prior, not the training mix */
	double wpos = (double)ntrain / (2.0 * (double)npos);
	double wneg = (double)ntrain / (2.0 * (double)(ntrain - npos));
	size_t dim = (size_t)1 << cfg->bits;
	m->bits = cfg->bits, m->epochs = cfg->epochs;
	m->w = ifg_xcalloc(dim, sizeof *m->w);
	float *G = ifg_xcalloc(dim, sizeof *G);	/* Adagrad: sums of squared gradients */
	double Gb = 0;
	uint32_t *perm = ifg_xmalloc(ntrain + 1, sizeof *perm);
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	const double eps = 1e-8;
	for (unsigned ep = 0; ep < cfg->epochs; ep++) {
		memcpy(perm, train, ntrain * sizeof *perm);
		ifg_rng_init2(&rng, cfg->seed, 1 + ep);
		ifg_rng_shuffle_u32(&rng, perm, ntrain);
		for (size_t k = 0; k < ntrain; k++) {
			size_t i = perm[k];
			ifg_toxfeat_extract(&f, d->text + d->off[i], d->off[i + 1] - d->off[i],
					    cfg->bits);
			/* d(log loss)/dz = p - y */
			double g = (sigmoid(logit(m, &f)) - d->y[i]) * (d->y[i] ? wpos : wneg);
			for (size_t j = 0; j < f.n; j++) {
				uint32_t c = f.idx[j];
				double gj = g * f.val[j] + cfg->l2 * m->w[c];
				G[c] += (float)(gj * gj);
				m->w[c] -= (float)(cfg->lr * gj / (sqrt((double)G[c]) + eps));
			}
			Gb += g * g;
			m->bias -= cfg->lr * g / (sqrt(Gb) + eps);
		}
	}
	m->ntrain = ntrain, m->ntest = ntest;
	struct ifg_toxeval ev = { 0 };
	for (size_t k = 0; k < ntest; k++) {
		size_t i = test[k];
		ifg_toxeval_add(&ev, ifg_toxclf_prob(m, &f, d->text + d->off[i],
						     d->off[i + 1] - d->off[i]), d->y[i]);
	}
	ifg_toxeval_result(&ev, &m->acc, &m->auc);
	ifg_toxeval_release(&ev);
	ifg_toxfeat_release(&f);
	free(G), free(perm), free(order);
	return 0;
}

/* ---- file ---- */

#define MAGIC "IFGTOXLR"
enum { HDR = 64, VERSION = 1 };

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t f64_bits(double x)
{
	uint64_t u;
	memcpy(&u, &x, 8);
	return u;
}

static double bits_f64(uint64_t u)
{
	double x;
	memcpy(&x, &u, 8);
	return x;
}

int ifg_toxclf_save(const struct ifg_toxclf *m, const char *path)
{
	size_t dim = (size_t)1 << m->bits, size = HDR + 4 * dim + 8;
	uint8_t *b = ifg_xmalloc(size, 1);
	memcpy(b, MAGIC, 8);
	put32(b + 8, VERSION);
	put32(b + 12, m->bits);
	put32(b + 16, IFG_TOXFEAT_V1);
	put32(b + 20, m->epochs);
	put64(b + 24, f64_bits(m->bias));
	put64(b + 32, f64_bits(m->acc));
	put64(b + 40, f64_bits(m->auc));
	put64(b + 48, m->ntrain);
	put64(b + 56, m->ntest);
	for (size_t i = 0; i < dim; i++) {
		uint32_t u;
		memcpy(&u, &m->w[i], 4);
		put32(b + HDR + 4 * i, u);
	}
	put64(b + size - 8, fnv(FNV_OFF, (const char *)b, size - 8));
	struct ifg_out *out = ifg_out_open(path, IFG_COMPRESS_NO, 1);
	int rc = -1;
	if (out && ifg_out_write(out, b, size) < 0)
		ifg_out_abort(out);
	else if (out)
		rc = ifg_out_close(out);
	free(b);
	return rc;
}

int ifg_toxclf_load(struct ifg_toxclf *m, const char *path)
{
	memset(m, 0, sizeof *m);
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return ifg_seterr("'%s': %s", path, strerror(errno));
	uint8_t h[HDR], *b = NULL;
	struct stat st;
	int rc = -1;
	if (fstat(fileno(fp), &st) != 0) {
		ifg_seterr("'%s': %s", path, strerror(errno));
		goto out;
	}
	if (fread(h, 1, HDR, fp) != HDR || memcmp(h, MAGIC, 8) != 0) {
		ifg_seterr("'%s': not a toxicity model (no '%s' magic)", path, MAGIC);
		goto out;
	}
	uint32_t version = get32(h + 8), bits = get32(h + 12), feat = get32(h + 16);
	if (version != VERSION) {
		ifg_seterr("'%s': model file version %u, expected %d", path, version, VERSION);
		goto out;
	}
	if (bits < IFG_TOXCLF_MIN_BITS || bits > IFG_TOXCLF_MAX_BITS || feat != IFG_TOXFEAT_V1) {
		ifg_seterr("'%s': unsupported model (%u hash bits, feature set %u)", path, bits,
			   feat);
		goto out;
	}
	size_t dim = (size_t)1 << bits, size = HDR + 4 * dim + 8;
	if ((uint64_t)st.st_size != size) {	/* before allocating */
		ifg_seterr("'%s': %lld bytes, a model with %u hash bits has %zu (truncated?)",
			   path, (long long)st.st_size, bits, size);
		goto out;
	}
	b = ifg_xmalloc(size, 1);
	memcpy(b, h, HDR);
	if (fread(b + HDR, 1, size - HDR, fp) != size - HDR) {
		ifg_seterr("'%s': read failed", path);
		goto out;
	}
	if (get64(b + size - 8) != fnv(FNV_OFF, (const char *)b, size - 8)) {
		ifg_seterr("'%s': checksum mismatch: the model file is corrupt", path);
		goto out;
	}
	m->bits = bits, m->epochs = get32(h + 20);
	m->bias = bits_f64(get64(h + 24));
	m->acc = bits_f64(get64(h + 32));
	m->auc = bits_f64(get64(h + 40));
	m->ntrain = get64(h + 48), m->ntest = get64(h + 56);
	m->w = ifg_xmalloc(dim, sizeof *m->w);
	int finite = isfinite(m->bias);
	for (size_t i = 0; i < dim; i++) {
		uint32_t u = get32(b + HDR + 4 * i);
		memcpy(&m->w[i], &u, 4);
		finite &= isfinite(m->w[i]);
	}
	if (!finite) {
		ifg_seterr("'%s': the model has a weight that is not finite", path);
		ifg_toxclf_release(m);
		goto out;
	}
	rc = 0;
out:
	free(b);
	fclose(fp);
	return rc;
}

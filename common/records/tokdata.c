/* tokdata.c: see tokdata.h. */
#include "tokdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "kinds.h"
#include "rec.h"
#include "rng.h"
#include "sha256.h"
#include "util.h"

static char *tokenizer_json(const msgpack_object *hdr, long *vocab)
{
	const msgpack_object *t = ifg_get(hdr, IFG_K_TOKENIZER);
	*vocab = -1;
	if (!t)
		return NULL;
	if (t->type == MSGPACK_OBJECT_MAP) {
		const msgpack_object *v = ifg_get(t, IFG_K_VOCAB_SIZE);
		if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < (1u << 31))
			*vocab = (long)v->via.u64;
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	ifg_json_obj(f, t, true);
	fclose(f);
	return buf;
}

/* The first input's tokenizer (its JSON) and vocabulary become the data's;
 * a later input must name the same tokenizer.  -1 with a message if not. */
static int same_tokenizer(struct ifg_reader *r, char **tokenizer, long *vocab_size, bool first)
{
	long vocab;
	char *tj = tokenizer_json(ifg_reader_hdr(r), &vocab);
	if (first) {
		*tokenizer = tj;
		*vocab_size = vocab;
		return 0;
	}
	bool same = (!tj && !*tokenizer) || (tj && *tokenizer && !strcmp(tj, *tokenizer));
	free(tj);
	if (!same) {
		ifg_seterr("'%s': made with another tokenizer than the first input", ifg_reader_name(r));
		return -1;
	}
	return 0;
}

static int load_one(struct ifg_tokdata *d, const char *path, size_t *cap_rec, size_t *cap_tok,
		    bool first)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		return -1;
	int rc = -1;
	if (ifg_reader_header(r, IFG_KIND_TOKENS) < 0)
		goto out;
	if (same_tokenizer(r, &d->tokenizer, &d->vocab_size, first) < 0)
		goto out;
	uint32_t max_id = d->vocab_size > 0 ? (uint32_t)(d->vocab_size - 1) : UINT32_MAX - 1;
	const msgpack_object *rec;
	int k;
	while ((k = ifg_reader_next(r, &rec)) == 1) {
		struct ifg_array a, ma;
		if (ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a) < 0)
			goto out;
		if (a.n > UINT32_MAX / 2) {
			ifg_reader_err(r, "record of %llu tokens is too long", (unsigned long long)a.n);
			goto out;
		}
		if (d->n + 2 > *cap_rec) {
			*cap_rec = *cap_rec ? 2 * *cap_rec : 1024;
			d->off = ifg_xrealloc(d->off, *cap_rec, sizeof *d->off);
		}
		if (d->ntok + a.n > *cap_tok) {
			size_t nc = *cap_tok ? 2 * *cap_tok : 1 << 16;
			while (nc < d->ntok + a.n)
				nc *= 2;
			d->tok = ifg_xrealloc(d->tok, nc, sizeof *d->tok);
			if (d->mask)
				d->mask = ifg_xrealloc(d->mask, nc, 1);
			*cap_tok = nc;
		}
		if (ifg_array_to_u32(&a, d->tok + d->ntok, max_id) < 0) {
			ifg_reader_err(r, "tokens: %s", ifg_err());
			goto out;
		}
		const msgpack_object *mo = ifg_get(rec, IFG_K_MASK);
		if (mo) {
			if (ifg_get_array(r, rec, IFG_K_MASK, 1, &ma) < 0)
				goto out;
			if (ma.n != a.n) {
				ifg_reader_err(r, "mask has %llu entries for %llu tokens",
					       (unsigned long long)ma.n, (unsigned long long)a.n);
				goto out;
			}
			if (!d->mask)
				d->mask = ifg_xcalloc(*cap_tok, 1);
			if (ifg_array_to_mask(&ma, d->mask + d->ntok) < 0) {
				ifg_reader_err(r, "mask: %s", ifg_err());
				goto out;
			}
			for (uint64_t i = 0; i < a.n; i++)
				d->nmasked += d->mask[d->ntok + i];
		} else if (d->mask) {
			memset(d->mask + d->ntok, 0, a.n);
		}
		for (uint64_t i = 0; i < a.n; i++)
			if (d->tok[d->ntok + i] > d->max_id)
				d->max_id = d->tok[d->ntok + i];
		if (a.n > d->max_len)
			d->max_len = (uint32_t)a.n;
		d->ntok += a.n;
		d->off[++d->n] = d->ntok;
	}
	rc = k < 0 ? -1 : 0;
out:
	ifg_reader_close(r);
	return rc;
}

int ifg_tokdata_load(struct ifg_tokdata *d, const char *const *paths, int npaths)
{
	memset(d, 0, sizeof *d);
	d->vocab_size = -1;
	size_t cap_rec = 1024, cap_tok = 0;
	d->off = ifg_xcalloc(cap_rec, sizeof *d->off);
	const char *std[] = { "-" };
	if (npaths == 0) {
		paths = std;
		npaths = 1;
	}
	d->files = ifg_xcalloc((size_t)npaths, sizeof *d->files);
	d->file_end = ifg_xcalloc((size_t)npaths, sizeof *d->file_end);
	for (int i = 0; i < npaths; i++) {
		if (load_one(d, paths[i], &cap_rec, &cap_tok, i == 0) < 0) {
			ifg_tokdata_free(d);
			return -1;
		}
		d->files[i] = ifg_xstrdup(strcmp(paths[i], "-") ? paths[i] : "<stdin>");
		d->file_end[i] = d->n;
		d->nfiles = i + 1;
	}
	/* identity: lengths, tokens, masks */
	struct ifg_sha256 h;
	ifg_sha256_init(&h);
	for (size_t i = 0; i < d->n; i++) {
		uint64_t len = d->off[i + 1] - d->off[i];
		ifg_sha256_update(&h, &len, sizeof len);
	}
	if (d->ntok)
		ifg_sha256_update(&h, d->tok, d->ntok * sizeof *d->tok);
	if (d->mask)
		ifg_sha256_update(&h, d->mask, d->ntok);
	ifg_sha256_final(&h, d->sha256);
	return 0;
}

void ifg_tokdata_free(struct ifg_tokdata *d)
{
	free(d->off);
	free(d->tok);
	free(d->mask);
	free(d->tokenizer);
	for (int i = 0; i < d->nfiles; i++)
		free(d->files[i]);
	free(d->files);
	free(d->file_end);
	memset(d, 0, sizeof *d);
}

int ifg_tokdata_fits(const struct ifg_tokdata *d, int n_ctx, int vocab_size)
{
	for (size_t i = 0, f = 0; i < d->n; i++) {
		while (f + 1 < (size_t)d->nfiles && i >= d->file_end[f])
			f++;
		/* record numbers within the file, after its header (record 0) */
		size_t rec = i - (f ? d->file_end[f - 1] : 0) + 1;
		const char *name = d->nfiles ? d->files[f] : "the data";
		uint64_t len = d->off[i + 1] - d->off[i];
		if (len > (uint64_t)n_ctx)
			return ifg_seterr("'%s': record %zu has %llu tokens, more than the model's "
					  "context %d (use ifg-tokenize --block)", name, rec,
					  (unsigned long long)len, n_ctx);
		for (uint64_t t = d->off[i]; t < d->off[i + 1]; t++)
			if (d->tok[t] >= (uint32_t)vocab_size)
				return ifg_seterr("'%s': record %zu: token %llu is id %u, outside the "
						  "model's vocabulary (%d)", name, rec,
						  (unsigned long long)(t - d->off[i]), d->tok[t],
						  vocab_size);
	}
	return 0;
}

void ifg_order_init(struct ifg_order *o, size_t n, uint64_t seed, bool shuffle)
{
	o->n = n;
	o->seed = seed;
	o->shuffle = shuffle;
	o->epoch = UINT64_MAX;
	o->perm = ifg_xmalloc(n ? n : 1, sizeof *o->perm);
}

size_t ifg_order_at(struct ifg_order *o, uint64_t i)
{
	size_t n = o->n;
	uint64_t e = i / n;
	if (!o->shuffle)
		return (size_t)(i % n);
	if (e != o->epoch) {
		struct ifg_rng r;
		ifg_rng_init2(&r, o->seed, e);
		for (size_t k = 0; k < n; k++)
			o->perm[k] = (uint32_t)k;
		ifg_rng_shuffle_u32(&r, o->perm, n);
		o->epoch = e;
	}
	return o->perm[i % n];
}

void ifg_order_free(struct ifg_order *o)
{
	free(o->perm);
	o->perm = NULL;
}

int64_t ifg_tokdata_batch(const struct ifg_tokdata *d, const size_t *idx, int nrec, int T,
			  double lambda, uint32_t *tokens, int32_t *targets, float *weights,
			  int64_t *npred)
{
	int64_t labels = 0, pred = 0;
	for (int b = 0; b < nrec; b++) {
		size_t r = idx[b];
		uint64_t o = d->off[r], len = d->off[r + 1] - o;
		if (len > (uint64_t)T)
			return ifg_seterr("record %zu has %llu tokens, more than the %d of a sequence", r,
					  (unsigned long long)len, T);
		uint32_t *tk = tokens + (size_t)b * T;
		int32_t *tg = targets + (size_t)b * T;
		float *w = weights ? weights + (size_t)b * T : NULL;
		for (int t = 0; t < T; t++) {
			bool has = (uint64_t)t + 1 < len;
			tk[t] = (uint64_t)t < len ? d->tok[o + t] : 0;
			tg[t] = has ? (int32_t)d->tok[o + t + 1] : -1;
			if (w)
				w[t] = !has ? 0.0f
				       : d->mask && d->mask[o + t + 1] ? (float)-lambda : 1.0f;
		}
		labels += (int64_t)len;
		pred += len > 1 ? (int64_t)len - 1 : 0;
	}
	if (npred)
		*npred = pred;
	return labels;
}

/* ---- preference pairs ---- */

void ifg_pairdata_init(struct ifg_pairdata *d)
{
	memset(d, 0, sizeof *d);
	d->vocab_size = -1;
	d->off = ifg_xcalloc(1, sizeof *d->off);
}

int ifg_pairdata_add(struct ifg_pairdata *d, const uint32_t *prompt, size_t np,
		     const uint32_t *chosen, size_t nc, const uint32_t *rejected, size_t nr)
{
	if (!np || !nc || !nr)
		return ifg_seterr("empty %s", !np ? "prompt" : !nc ? "chosen continuation"
							 : "rejected continuation");
	size_t longer = nc > nr ? nc : nr;
	if (np > UINT32_MAX / 4 || longer > UINT32_MAX / 4 || np + longer > INT32_MAX)
		return ifg_seterr("a pair of %zu + %zu tokens is too long", np, longer);
	if (d->n + 1 >= d->cap_n) {
		d->cap_n = d->cap_n ? 2 * d->cap_n : 1024;
		d->off = ifg_xrealloc(d->off, d->cap_n + 1, sizeof *d->off);
		d->np = ifg_xrealloc(d->np, d->cap_n, sizeof *d->np);
		d->nc = ifg_xrealloc(d->nc, d->cap_n, sizeof *d->nc);
	}
	size_t need = np + nc + nr;
	if (d->ntok + need > d->cap_tok) {
		size_t c = d->cap_tok ? 2 * d->cap_tok : 1 << 16;
		while (c < d->ntok + need)
			c *= 2;
		d->tok = ifg_xrealloc(d->tok, c, sizeof *d->tok);
		d->cap_tok = c;
	}
	uint32_t *t = d->tok + d->ntok;
	memcpy(t, prompt, np * sizeof *t);
	memcpy(t + np, chosen, nc * sizeof *t);
	memcpy(t + np + nc, rejected, nr * sizeof *t);
	for (size_t i = 0; i < need; i++)
		if (t[i] > d->max_id)
			d->max_id = t[i];
	d->np[d->n] = (uint32_t)np;
	d->nc[d->n] = (uint32_t)nc;
	if (np + longer > d->max_len)
		d->max_len = (uint32_t)(np + longer);
	d->ntok += need;
	d->off[++d->n] = d->ntok;
	return 0;
}

/* One array field of a pairs record into a growing buffer. */
static int pair_part(struct ifg_reader *r, const msgpack_object *rec, const char *key,
		     uint32_t max_id, uint32_t **buf, size_t *cap, size_t *n)
{
	struct ifg_array a;
	if (ifg_get_array(r, rec, key, 1, &a) < 0)
		return -1;
	if (a.n > UINT32_MAX / 4) {
		ifg_reader_err(r, "%s of %llu tokens is too long", key, (unsigned long long)a.n);
		return -1;
	}
	if (a.n > *cap) {
		*cap = a.n;
		*buf = ifg_xrealloc(*buf, *cap, sizeof **buf);
	}
	if (ifg_array_to_u32(&a, *buf, max_id) < 0) {
		ifg_reader_err(r, "%s: %s", key, ifg_err());
		return -1;
	}
	*n = a.n;
	return 0;
}

static int pairs_one(struct ifg_pairdata *d, const char *path, bool first)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		return -1;
	int rc = -1;
	uint32_t *part[3] = { NULL, NULL, NULL };
	size_t cap[3] = { 0, 0, 0 }, len[3];
	if (ifg_reader_header(r, IFG_KIND_PAIRS) < 0)
		goto out;
	if (same_tokenizer(r, &d->tokenizer, &d->vocab_size, first) < 0)
		goto out;
	uint32_t max_id = d->vocab_size > 0 ? (uint32_t)(d->vocab_size - 1) : UINT32_MAX - 1;
	static const char *const keys[3] = { IFG_K_PROMPT, IFG_K_CHOSEN, IFG_K_REJECTED };
	const msgpack_object *rec;
	int k;
	while ((k = ifg_reader_next(r, &rec)) == 1) {
		for (int i = 0; i < 3; i++)
			if (pair_part(r, rec, keys[i], max_id, &part[i], &cap[i], &len[i]) < 0)
				goto out;
		if (ifg_pairdata_add(d, part[0], len[0], part[1], len[1], part[2], len[2]) < 0) {
			ifg_reader_err(r, "%s", ifg_err());
			goto out;
		}
	}
	rc = k < 0 ? -1 : 0;
out:
	for (int i = 0; i < 3; i++)
		free(part[i]);
	ifg_reader_close(r);
	return rc;
}

int ifg_pairdata_load(struct ifg_pairdata *d, const char *const *paths, int npaths)
{
	ifg_pairdata_init(d);
	const char *std[] = { "-" };
	if (npaths == 0) {
		paths = std;
		npaths = 1;
	}
	for (int i = 0; i < npaths; i++)
		if (pairs_one(d, paths[i], i == 0) < 0) {
			ifg_pairdata_free(d);
			return -1;
		}
	struct ifg_sha256 h;
	ifg_sha256_init(&h);
	for (size_t i = 0; i < d->n; i++) {
		uint64_t len[3] = { d->np[i], d->nc[i], d->off[i + 1] - d->off[i] - d->np[i] - d->nc[i] };
		ifg_sha256_update(&h, len, sizeof len);
	}
	if (d->ntok)
		ifg_sha256_update(&h, d->tok, d->ntok * sizeof *d->tok);
	ifg_sha256_final(&h, d->sha256);
	return 0;
}

void ifg_pairdata_free(struct ifg_pairdata *d)
{
	free(d->off);
	free(d->np);
	free(d->nc);
	free(d->tok);
	free(d->tokenizer);
	memset(d, 0, sizeof *d);
}

int64_t ifg_pairdata_batch(const struct ifg_pairdata *d, const size_t *idx, int nrec, int T,
			   uint32_t *tokens, int32_t *targets)
{
	int64_t ntok = 0;
	for (int b = 0; b < 2 * nrec; b++) {
		size_t r = idx[b % nrec];
		const uint32_t *p = d->tok + d->off[r];
		uint64_t np = d->np[r], nc = d->nc[r], nr = d->off[r + 1] - d->off[r] - np - nc;
		const uint32_t *cont = b < nrec ? p + np : p + np + nc;
		uint64_t n = b < nrec ? nc : nr, len = np + n;
		if (len > (uint64_t)T)
			return ifg_seterr("pair %zu has a sequence of %llu tokens, more than the %d "
					  "of a batch", r, (unsigned long long)len, T);
		uint32_t *tk = tokens + (size_t)b * T;
		int32_t *tg = targets + (size_t)b * T;
		for (int t = 0; t < T; t++) {
			uint64_t u = (uint64_t)t;
			tk[t] = u < np ? p[u] : u < len ? cont[u - np] : 0;
			/* position t predicts token t + 1: a target on the continuation */
			tg[t] = u + 1 >= np && u + 1 < len ? (int32_t)cont[u + 1 - np] : -1;
		}
		ntok += (int64_t)len;
	}
	return ntok;
}

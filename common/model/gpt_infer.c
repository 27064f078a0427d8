/* gpt_infer.c: key/value-cached forward and generation (gpt_infer.h), for
 * every family: the block forward is gpt.c's (ifg_gpt_block_fwd), with
 * attention against the cache instead of over the whole sequence.
 *
 * Notation (gpt_impl.h): N = rows appended in one call (Σ len[i]), C =
 * n_embd, Q the q | k | v width, KV the key/value width, V = vocab_size,
 * L = n_layer, B slots of T positions. */
#include "gpt_infer.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gpt_impl.h"
#include "util.h"


struct ifg_gpt_infer {
	const struct ifg_gpt *m;
	struct ifg_gpt_dims d;
	int B, T;		/* reserved slots and positions */
	int *len;		/* (B) positions held */
	float *kc, *vc;		/* (L, B, T, KV): keys (rotated), values */
	/* scratch for N rows: one block's buffers (gpt_impl.h ifg_block_io) */
	size_t Ncap;
	float *x, *ln1, *qkv, *atty, *res2, *ln2, *fch, *fcha, *out;
	int *row_pos;		/* (N) position of each row */
	float *S;		/* (Smax) attention scores of one (slot, head) */
	size_t Scap;
	int ncap;
	float *last;		/* (n, C) final norm of the last rows */
	float *logits;		/* (n, V) */
	/* the append in progress */
	int n;
	const int *slot, *alen;
};

struct ifg_gpt_infer *ifg_gpt_infer_new(const struct ifg_gpt *m)
{
	struct ifg_gpt_infer *s = ifg_xcalloc(1, sizeof *s);
	s->m = m;
	s->d = m->d;
	return s;
}

static void free_rows(struct ifg_gpt_infer *s)
{
	float **bufs[] = { &s->x, &s->ln1, &s->qkv, &s->atty, &s->res2, &s->ln2, &s->fch,
			   &s->fcha, &s->out };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
		free(*bufs[i]);
		*bufs[i] = NULL;
	}
	free(s->row_pos);
	s->row_pos = NULL;
}

void ifg_gpt_infer_free(struct ifg_gpt_infer *s)
{
	if (!s)
		return;
	free_rows(s);
	free(s->len);
	free(s->kc);
	free(s->vc);
	free(s->S);
	free(s->last);
	free(s->logits);
	free(s);
}

int ifg_gpt_infer_reserve(struct ifg_gpt_infer *s, int B, int T)
{
	if (B < 1 || T < 1 || T > s->d.P)
		return ifg_seterr("cannot hold %d positions: the model's context is %d", T, s->d.P);
	if (B <= s->B && T <= s->T)
		return 0;
	B = B > s->B ? B : s->B;
	T = T > s->T ? T : s->T;
	size_t n = (size_t)s->d.L * B * T * s->d.KV;
	free(s->kc);
	free(s->vc);
	free(s->len);
	s->kc = ifg_xaligned(n, sizeof(float));
	s->vc = ifg_xaligned(n, sizeof(float));
	s->len = ifg_xcalloc(B, sizeof *s->len);
	s->B = B;
	s->T = T;
	return 0;
}

void ifg_gpt_infer_reset(struct ifg_gpt_infer *s, int slot) { s->len[slot] = 0; }
int ifg_gpt_infer_len(const struct ifg_gpt_infer *s, int slot) { return s->len[slot]; }
const float *ifg_gpt_infer_logits(const struct ifg_gpt_infer *s) { return s->logits; }

/* Start of slot b's rows of layer l in kc / vc: (T, KV). */
static size_t cache_at(const struct ifg_gpt_infer *s, int l, int b)
{
	return (((size_t)l * s->B + b) * s->T) * s->d.KV;
}

void ifg_gpt_infer_copy(struct ifg_gpt_infer *s, int dst, int src)
{
	size_t n = (size_t)s->len[src] * s->d.KV * sizeof(float);
	for (int l = 0; l < s->d.L; l++) {
		memcpy(s->kc + cache_at(s, l, dst), s->kc + cache_at(s, l, src), n);
		memcpy(s->vc + cache_at(s, l, dst), s->vc + cache_at(s, l, src), n);
	}
	s->len[dst] = s->len[src];
}

static void grow_rows(struct ifg_gpt_infer *s, size_t N, int n, size_t Smax)
{
	const struct ifg_gpt_dims *d = &s->d;
	if (N > s->Ncap) {
		free_rows(s);
		size_t C = d->C;
		struct { float **p; size_t w; } B[] = {
			{ &s->x, C },	  { &s->ln1, C }, { &s->qkv, d->Q },  { &s->atty, C },
			{ &s->res2, C },  { &s->ln2, C }, { &s->fch, d->FH }, { &s->fcha, d->F },
			{ &s->out, C },
		};
		for (size_t i = 0; i < sizeof B / sizeof B[0]; i++)
			*B[i].p = ifg_xaligned(N * B[i].w, sizeof(float));
		s->row_pos = ifg_xmalloc(N, sizeof *s->row_pos);
		s->Ncap = N;
	}
	if (Smax > s->Scap) {
		free(s->S);
		s->S = ifg_xaligned(Smax, sizeof(float));
		s->Scap = Smax;
	}
	if (n > s->ncap) {
		free(s->last), free(s->logits);
		s->last = ifg_xaligned((size_t)n * d->C, sizeof(float));
		s->logits = ifg_xaligned((size_t)n * d->V, sizeof(float));
		s->ncap = n;
	}
}

/* Layer l's attention for the append in progress: each slot's new keys and
 * values into the cache, then its new rows against all its positions. */
static void cached_attend(void *ctx, int l, const float *qkv, float *y)
{
	struct ifg_gpt_infer *s = ctx;
	const struct ifg_gpt_dims *d = &s->d;
	const struct ifg_att_layout *lo = &d->att;
	int hs = d->hs;
	size_t r = 0;
	for (int i = 0; i < s->n; i++) {
		int b = s->slot[i], p0 = s->len[b];
		size_t at = cache_at(s, l, b);
		for (int j = 0; j < s->alen[i]; j++) {
			const float *row = qkv + (r + j) * lo->ld;
			float *kr = s->kc + at + (size_t)(p0 + j) * d->KV;
			float *vr = s->vc + at + (size_t)(p0 + j) * d->KV;
			for (int g = 0; g < d->NKV; g++) {
				memcpy(kr + g * hs, row + lo->k0 + g * lo->kvstep, hs * sizeof(float));
				memcpy(vr + g * hs, row + lo->v0 + g * lo->kvstep, hs * sizeof(float));
			}
		}
		ifg_attention_cached(y + r * d->C, s->S, qkv + r * lo->ld, s->kc + at, s->vc + at,
				     d->KV, s->alen[i], p0, lo);
		r += s->alen[i];
	}
}

int ifg_gpt_infer_append(struct ifg_gpt_infer *s, int n, const int *slot,
			 const uint32_t *const *tok, const int *len)
{
	const struct ifg_gpt *m = s->m;
	const struct ifg_gpt_dims *d = &s->d;
	int C = d->C, V = d->V, L = d->L;
	size_t N = 0, Smax = 0;
	for (int i = 0; i < n; i++) {
		if (slot[i] < 0 || slot[i] >= s->B)
			return ifg_seterr("slot %d of %d reserved", slot[i], s->B);
		if (len[i] < 1 || len[i] > s->T - s->len[slot[i]])
			return ifg_seterr("slot %d: %d positions + %d new exceed the %d reserved",
					  slot[i], s->len[slot[i]], len[i], s->T);
		for (int j = 0; j < len[i]; j++)
			if (tok[i][j] >= (uint32_t)V)
				return ifg_seterr("token %u is outside the vocabulary (%d)", tok[i][j], V);
		N += len[i];
		size_t sz = (size_t)len[i] * (s->len[slot[i]] + len[i]);
		Smax = sz > Smax ? sz : Smax;
	}
	if (n == 0)
		return 0;
	grow_rows(s, N, n, Smax);

	/* x (N, C) = wte[tok] (+ wpe[pos]), rows slot-major */
	const float *wte = ifg_gpt_role(m, m->params_mem, R_WTE, 0);
	const float *wpe = ifg_gpt_role(m, m->params_mem, R_WPE, 0);
	size_t r = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < len[i]; j++, r++) {
			int pos = s->len[slot[i]] + j;
			const float *we = wte + (size_t)tok[i][j] * C;
			for (int e = 0; e < C; e++)
				s->x[r * C + e] = wpe ? we[e] + wpe[(size_t)pos * C + e] : we[e];
			s->row_pos[r] = pos;
		}

	s->n = n;
	s->slot = slot;
	s->alen = len;
	for (int l = 0; l < L; l++) {
		struct ifg_block_io io = {
			.in = s->x, .ln1 = s->ln1, .qkv = s->qkv, .atty = s->atty, .res2 = s->res2,
			.ln2 = s->ln2, .fch = s->fch, .fcha = s->fcha, .out = s->out,
			.pos = s->row_pos,
		};
		ifg_gpt_block_fwd(m, l, N, &io, cached_attend, s);
		float *t = s->x; /* the output is the next block's input */
		s->x = s->out;
		s->out = t;
	}
	/* the last row of each slot: final norm, then logits (n, V) */
	r = 0;
	for (int i = 0; i < n; i++) {
		r += len[i];
		ifg_gpt_norm_fwd(m, s->last + (size_t)i * C, NULL, NULL, s->x + (r - 1) * C,
				 ifg_gpt_role(m, m->params_mem, R_LNFW, 0),
				 ifg_gpt_role(m, m->params_mem, R_LNFB, 0), 1);
		s->len[slot[i]] += len[i];
	}
	ifg_gpt_logits_fwd(m, s->logits, s->last, n);
	return 0;
}

/* ---- generation ---- */

/* Draws g's next token from logits (V_sample); 1 when g goes on, 0 when it
 * ended (end-of-text or n_new tokens), -1 on error. */
static int next_token(struct ifg_sampler *smp, struct ifg_gen *g, int i, const float *logits,
		      size_t V_sample, int n_new, int64_t eot, const struct ifg_gen_hook *h,
		      uint32_t *tok)
{
	if (h && h->warp && !(logits = h->warp(h->ctx, i, logits, V_sample)))
		return -1;
	long t = ifg_sampler_draw(smp, logits, V_sample, &g->rng);
	if (t < 0)
		return -1;
	if (t == eot)
		return 0;
	g->out[g->n_out++] = (uint32_t)t;
	*tok = (uint32_t)t;
	if (h && h->took)
		h->took(h->ctx, i, (uint32_t)t);
	return g->n_out < n_new;
}

/* The reference: ifg_gpt_forward over prompt + output for every token. */
static int generate_nocache(struct ifg_gpt *m, struct ifg_sampler *smp, struct ifg_gen *g,
			    int i, int n_new, int64_t eot, size_t V_sample,
			    const struct ifg_gen_hook *h)
{
	size_t V = ifg_gpt_cfg(m)->vocab_size;
	uint32_t *seq = ifg_xmalloc((size_t)g->prompt_len + n_new, sizeof *seq);
	memcpy(seq, g->prompt, (size_t)g->prompt_len * sizeof *seq);
	int T = g->prompt_len, rc = 0;
	for (;;) {
		if (ifg_gpt_forward(m, seq, NULL, 1, T, NULL) < 0) {
			rc = -1;
			break;
		}
		uint32_t tok;
		int go = next_token(smp, g, i, ifg_gpt_logits(m) + (size_t)(T - 1) * V, V_sample,
				    n_new, eot, h, &tok);
		if (go <= 0) {
			rc = go;
			break;
		}
		seq[T++] = tok;
	}
	free(seq);
	return rc;
}

int ifg_gpt_generate(struct ifg_gpt *m, struct ifg_gpt_infer *s, struct ifg_sampler *smp,
		     struct ifg_gen *g, int n, int n_new, int64_t eot, size_t V_sample)
{
	return ifg_gpt_generate_hooked(m, s, smp, g, n, n_new, eot, V_sample, NULL);
}

int ifg_gpt_generate_hooked(struct ifg_gpt *m, struct ifg_gpt_infer *s, struct ifg_sampler *smp,
			    struct ifg_gen *g, int n, int n_new, int64_t eot, size_t V_sample,
			    const struct ifg_gen_hook *h)
{
	const struct ifg_gpt_config *c = ifg_gpt_cfg(m);
	int Tmax = 0;
	for (int i = 0; i < n; i++) {
		g[i].n_out = 0;
		if (g[i].prompt_len < 1 || g[i].prompt_len > c->n_ctx - n_new)
			return ifg_seterr("a prompt of %d tokens and %d new exceed the context (%d)",
					  g[i].prompt_len, n_new, c->n_ctx);
		Tmax = g[i].prompt_len > Tmax ? g[i].prompt_len : Tmax;
	}
	if (n == 0 || n_new == 0)
		return 0;
	if (!s) {
		for (int i = 0; i < n; i++)
			if (generate_nocache(m, smp, &g[i], i, n_new, eot, V_sample, h) < 0)
				return -1;
		return 0;
	}
	if (ifg_gpt_infer_reserve(s, n, Tmax + n_new) < 0)
		return -1;
	int *slot = ifg_xmalloc(n, sizeof *slot), *len = ifg_xmalloc(n, sizeof *len);
	int *src = ifg_xmalloc(n, sizeof *src), *row = ifg_xmalloc(n, sizeof *row);
	const uint32_t **tp = ifg_xmalloc(n, sizeof *tp);
	uint32_t *tok = ifg_xmalloc(n, sizeof *tok);
	int rc = -1, k = 0;

	/* prefill: each distinct prompt once; src[i]: the slot whose cache i copies */
	for (int i = 0; i < n; i++) {
		src[i] = i;
		for (int j = 0; j < i && src[i] == i; j++)
			if (g[j].prompt == g[i].prompt && g[j].prompt_len == g[i].prompt_len)
				src[i] = src[j];
		ifg_gpt_infer_reset(s, i);
		if (src[i] == i) {
			slot[k] = i;
			tp[k] = g[i].prompt;
			len[k] = g[i].prompt_len;
			row[i] = k++;
		} else {
			row[i] = row[src[i]];
		}
	}
	if (ifg_gpt_infer_append(s, k, slot, tp, len) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (src[i] != i)
			ifg_gpt_infer_copy(s, i, src[i]);

	/* steps: rows of the last append are row[i] for the slots still going */
	const size_t V = c->vocab_size;
	int active = n;
	for (int i = 0; i < n; i++)
		slot[i] = i;
	while (active > 0) {
		int next = 0;
		for (int a = 0; a < active; a++) {
			int i = slot[a];
			int go = next_token(smp, &g[i], i, s->logits + (size_t)row[i] * V, V_sample,
					    n_new, eot, h, &tok[next]);
			if (go < 0)
				goto out;
			if (go) {
				slot[next] = i;
				len[next] = 1;
				tp[next] = &tok[next];
				row[i] = next++;
			}
		}
		active = next;
		if (active && ifg_gpt_infer_append(s, active, slot, tp, len) < 0)
			goto out;
	}
	rc = 0;
out:
	free(slot), free(len), free(src), free(row), free(tp), free(tok);
	return rc;
}

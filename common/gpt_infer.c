/* gpt_infer.c: key/value-cached GPT-2 forward and generation (gpt_infer.h).
 *
 * Notation: N = rows appended in one call (Σ len[i]), C = n_embd, NH =
 * n_head, hs = C / NH, V = vocab_size, L = n_layer, B slots of T positions.
 * LayerNorm, GELU and the linear layers are kernels.h's, as in training. */
#include "gpt_infer.h"

#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util.h"


struct ifg_gpt_infer {
	const struct ifg_gpt *m;
	struct ifg_gpt_config c;
	int B, T;		/* reserved slots and positions */
	int *len;		/* (B) positions held */
	float *kc, *vc;		/* (L, B, T, C): keys, values; head h in columns [h hs, (h+1) hs) */
	/* scratch for N rows */
	size_t Ncap;
	float *x;		/* (N, C) residual stream */
	float *ln;		/* (N, C) LayerNorm output */
	float *qkv;		/* (N, 3C) */
	float *y;		/* (N, C) attention output */
	float *h;		/* (N, 4C) MLP hidden */
	int *row_pos;		/* (N) position of each row */
	float *S;		/* (Smax) attention scores of one (slot, head) */
	size_t Scap;
	int ncap;
	float *last;		/* (n, C) final LayerNorm of the last rows */
	float *logits;		/* (n, V) */
};

struct ifg_gpt_infer *ifg_gpt_infer_new(const struct ifg_gpt *m)
{
	struct ifg_gpt_infer *s = ifg_xcalloc(1, sizeof *s);
	s->m = m;
	s->c = *ifg_gpt_cfg(m);
	return s;
}

void ifg_gpt_infer_free(struct ifg_gpt_infer *s)
{
	if (!s)
		return;
	free(s->len);
	free(s->kc);
	free(s->vc);
	free(s->x);
	free(s->ln);
	free(s->qkv);
	free(s->y);
	free(s->h);
	free(s->row_pos);
	free(s->S);
	free(s->last);
	free(s->logits);
	free(s);
}

int ifg_gpt_infer_reserve(struct ifg_gpt_infer *s, int B, int T)
{
	if (B < 1 || T < 1 || T > s->c.n_ctx)
		return ifg_seterr("cannot hold %d positions: the model's context is %d", T, s->c.n_ctx);
	if (B <= s->B && T <= s->T)
		return 0;
	B = B > s->B ? B : s->B;
	T = T > s->T ? T : s->T;
	size_t n = (size_t)s->c.n_layer * B * T * s->c.n_embd;
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

/* Start of slot b's rows of layer l in kc / vc: (T, C). */
static size_t cache_at(const struct ifg_gpt_infer *s, int l, int b)
{
	return (((size_t)l * s->B + b) * s->T) * s->c.n_embd;
}

void ifg_gpt_infer_copy(struct ifg_gpt_infer *s, int dst, int src)
{
	size_t n = (size_t)s->len[src] * s->c.n_embd * sizeof(float);
	for (int l = 0; l < s->c.n_layer; l++) {
		memcpy(s->kc + cache_at(s, l, dst), s->kc + cache_at(s, l, src), n);
		memcpy(s->vc + cache_at(s, l, dst), s->vc + cache_at(s, l, src), n);
	}
	s->len[dst] = s->len[src];
}

static void grow_rows(struct ifg_gpt_infer *s, size_t N, int n, size_t Smax)
{
	int C = s->c.n_embd;
	if (N > s->Ncap) {
		free(s->x), free(s->ln), free(s->qkv), free(s->y), free(s->h), free(s->row_pos);
		s->x = ifg_xaligned(N * C, sizeof(float));
		s->ln = ifg_xaligned(N * C, sizeof(float));
		s->qkv = ifg_xaligned(N * 3 * C, sizeof(float));
		s->y = ifg_xaligned(N * C, sizeof(float));
		s->h = ifg_xaligned(N * 4 * C, sizeof(float));
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
		s->last = ifg_xaligned((size_t)n * C, sizeof(float));
		s->logits = ifg_xaligned((size_t)n * s->c.vocab_size, sizeof(float));
		s->ncap = n;
	}
}

/* Causal attention of layer l for the len new rows of slot b, which sit at
 * positions p0 .. p0+len-1 (their keys and values already cached).
 * q: (len, 3C) rows of qkv; y: (len, C). */
static void attend(struct ifg_gpt_infer *s, int l, int b, int p0, int len, const float *q, float *y)
{
	int C = s->c.n_embd, NH = s->c.n_head, hs = C / NH, P = p0 + len;
	float scale = 1.0f / sqrtf((float)hs);
	const float *K = s->kc + cache_at(s, l, b), *Vv = s->vc + cache_at(s, l, b);
	for (int h = 0; h < NH; h++) {
		/* S (len, P) = scale q_h (len, hs) K_h (P, hs)ᵀ */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, P, hs, scale, q + h * hs,
			    3 * C, K + h * hs, C, 0.0f, s->S, P);
		for (int j = 0; j < len; j++) {
			float *row = s->S + (size_t)j * P;
			int n = p0 + j + 1;	/* row j sees positions 0 .. p0+j */
			float mx = row[0], sum = 0;
			for (int t = 1; t < n; t++)
				mx = row[t] > mx ? row[t] : mx;
			for (int t = 0; t < n; t++)
				sum += row[t] = expf(row[t] - mx);
			float inv = 1.0f / sum;
			for (int t = 0; t < n; t++)
				row[t] *= inv;
			for (int t = n; t < P; t++)
				row[t] = 0.0f;
		}
		/* y_h (len, hs) = S (len, P) V_h (P, hs) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, hs, P, 1.0f, s->S, P,
			    Vv + h * hs, C, 0.0f, y + h * hs, C);
	}
}

int ifg_gpt_infer_append(struct ifg_gpt_infer *s, int n, const int *slot,
			 const uint32_t *const *tok, const int *len)
{
	const struct ifg_gpt_config *c = &s->c;
	const struct ifg_gpt_params *p = ifg_gpt_params(s->m);
	int C = c->n_embd, V = c->vocab_size, L = c->n_layer;
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

	/* x (N, C) = wte[tok] + wpe[pos], rows slot-major */
	size_t r = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < len[i]; j++, r++) {
			int pos = s->len[slot[i]] + j;
			const float *we = p->wte + (size_t)tok[i][j] * C, *pe = p->wpe + (size_t)pos * C;
			for (int e = 0; e < C; e++)
				s->x[r * C + e] = we[e] + pe[e];
			s->row_pos[r] = pos;
		}

	for (int l = 0; l < L; l++) {
		ifg_layernorm_fwd(s->ln, NULL, NULL, s->x, p->ln1w + (size_t)l * C,
				  p->ln1b + (size_t)l * C, N, C);
		ifg_linear_fwd(s->qkv, s->ln, p->qkvw + (size_t)l * C * 3 * C, p->qkvb + (size_t)l * 3 * C, N,
		       C, 3 * C);
		/* cache the new keys and values, then attend */
		r = 0;
		for (int i = 0; i < n; i++) {
			size_t at = cache_at(s, l, slot[i]);
			for (int j = 0; j < len[i]; j++) {
				const float *row = s->qkv + (r + j) * 3 * C;
				size_t t = at + (size_t)s->row_pos[r + j] * C;
				memcpy(s->kc + t, row + C, C * sizeof(float));
				memcpy(s->vc + t, row + 2 * C, C * sizeof(float));
			}
			attend(s, l, slot[i], s->len[slot[i]], len[i], s->qkv + r * 3 * C, s->y + r * C);
			r += len[i];
		}
		/* x += attn_proj(y); x += mlp(ln_2(x)) */
		ifg_linear_fwd(s->ln, s->y, p->attprojw + (size_t)l * C * C, p->attprojb + (size_t)l * C, N,
		       C, C);
		for (size_t e = 0; e < N * C; e++)
			s->x[e] += s->ln[e];
		ifg_layernorm_fwd(s->ln, NULL, NULL, s->x, p->ln2w + (size_t)l * C,
				  p->ln2b + (size_t)l * C, N, C);
		ifg_linear_fwd(s->h, s->ln, p->fcw + (size_t)l * C * 4 * C, p->fcb + (size_t)l * 4 * C, N, C,
		       4 * C);
		ifg_gelu_tanh_fwd(s->h, s->h, N * 4 * C);
		ifg_linear_fwd(s->ln, s->h, p->fcprojw + (size_t)l * 4 * C * C, p->fcprojb + (size_t)l * C,
		       N, 4 * C, C);
		for (size_t e = 0; e < N * C; e++)
			s->x[e] += s->ln[e];
	}
	/* the last row of each slot: ln_f, then logits (n, V) = last (n, C) wteᵀ (C, V) */
	r = 0;
	for (int i = 0; i < n; i++) {
		r += len[i];
		ifg_layernorm_fwd(s->last + (size_t)i * C, NULL, NULL, s->x + (r - 1) * C, p->lnfw,
				  p->lnfb, 1, C);
		s->len[slot[i]] += len[i];
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, V, C, 1.0f, s->last, C, p->wte, C,
		    0.0f, s->logits, V);
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

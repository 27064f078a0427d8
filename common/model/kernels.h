/* kernels.h: the numeric kernels of the models, as forward/backward pairs,
 * shared by training (gpt.c) and cached inference (gpt_infer.c) so that
 * both compute each operation with the same code and rounding.  Rows are
 * positions; every matrix is row-major.  Products go through cblas_sgemm;
 * elementwise work runs on the calling thread (AVX2 where available, with
 * the same polynomial in the scalar tail). */
#ifndef IFG_KERNELS_H
#define IFG_KERNELS_H

#include <stddef.h>

/* ---- vector helpers (softmax and cross-entropy are built from these) ---- */

/* y[i] = exp(x[i] - sub) * mul (y may be x); returns Σ exp(x[i] - sub). */
float ifg_exp_shift(float *y, const float *x, int n, float sub, float mul);
/* Σ exp(x[i] - sub), accumulated in double. */
double ifg_sum_exp(const float *x, int n, float sub);
/* max x[i] (-inf for n = 0). */
float ifg_max_of(const float *x, int n);

/* ---- GELU, tanh form (GPT-2's "gelu_new") ---- */

/* y = gelu_new(x) (n values; y may be x). */
void ifg_gelu_tanh_fwd(float *y, const float *x, size_t n);
/* dx = dy * gelu_new'(x). */
void ifg_gelu_tanh_bwd(float *dx, const float *x, const float *dy, size_t n);

/* ---- LayerNorm ---- */

/* out (N, C) = LayerNorm(inp (N, C)) * w + b, variance + eps; mean and rstd
 * (N) are kept for the backward when not NULL. */
void ifg_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
		       const float *b, size_t N, int C, float eps);
/* dinp (N, C) = dres (N, C) + LayerNorm backward of dout; dw, db (C) +=
 * (skipped when dw is NULL).  dres may be NULL (no residual gradient to add). */
void ifg_layernorm_bwd(float *dinp, const float *dres, float *dw, float *db, const float *dout,
		       const float *inp, const float *w, const float *mean, const float *rstd,
		       size_t N, int C);

/* ---- linear, weights (din, dout) as Conv1D stores them ---- */

/* out (N, dout) = inp (N, din) W (din, dout) + b (dout): one sgemm. */
void ifg_linear_fwd(float *out, const float *inp, const float *w, const float *b, size_t N,
		    int din, int dout);
/* Backward for upstream gradient g (N, dout); ones: N ones.
 *   dinp (N, din) = g Wᵀ           (overwritten; skipped when dinp is NULL)
 *   dW (din, dout) += inpᵀ g ;  db (dout) += gᵀ 1   (both skipped when dw is NULL) */
void ifg_linear_bwd(float *dinp, float *dw, float *db, const float *g, const float *inp,
		    const float *w, const float *ones, size_t N, int din, int dout);

/* ---- linear, weights (dout, din) as nn.Linear stores them ---- */

/* out (N, dout) = inp (N, din) Wᵀ + b; b may be NULL. */
void ifg_linear_t_fwd(float *out, const float *inp, const float *w, const float *b, size_t N,
		      int din, int dout);
/* dinp (N, din) = g W (skipped when NULL); dW (dout, din) += gᵀ inp; db += gᵀ 1
 * (skipped when NULL; both skipped when dw is NULL). */
void ifg_linear_t_bwd(float *dinp, float *dw, float *db, const float *g, const float *inp,
		      const float *w, const float *ones, size_t N, int din, int dout);

/* ---- causal self-attention over a fused q | k | v array ----
 * Where the heads are in a row of qkv: query head h at column q0 + h qstep,
 * key and value head g at k0 + g kvstep and v0 + g kvstep, rows ld apart.
 * Query head h reads key/value head h / (NH / NKV) (grouped-query
 * attention; NKV = NH is multi-head).  GPT-2 and Llama: q | k | v blocks
 * (q0 0, k0 C, v0 C + KV, steps hs); GPT-NeoX: per head [q k v] (q0 0, k0
 * hs, v0 2 hs, steps 3 hs). */
struct ifg_att_layout {
	int NH, NKV, hs;
	int ld, q0, k0, v0, qstep, kvstep;
};

/* att (B, NH, T, T): softmax(q kᵀ / sqrt(hs)) with zeros above the diagonal
 * (up to the end of each 128-row block); y (B, T, NH hs), head h in columns
 * [h hs, (h+1) hs). */
void ifg_attention_fwd(float *y, float *att, const float *qkv, int B, int T,
		       const struct ifg_att_layout *lo);
/* dy (B, T, NH hs) -> the q, k and v columns of dqkv (B, T, ld), overwritten
 * (a key/value head sums over its query heads); dS (T, T) scratch. */
void ifg_attention_bwd(float *dqkv, float *dS, const float *dy, const float *att,
		       const float *qkv, int B, int T, const struct ifg_att_layout *lo);
/* Cached attention of len new rows at positions p0 .. p0+len-1: q (len, ld)
 * their q | k | v rows (queries at q0 + h qstep); K, Vc (p0 + len, ldkv) the
 * cached keys and values of all positions so far, key/value head g in
 * columns [g hs, (g+1) hs); S (len, p0 + len) scratch; y (len, NH hs).
 * The same softmax as ifg_attention_fwd. */
void ifg_attention_cached(float *y, float *S, const float *q, const float *K, const float *Vc,
			  int ldkv, int len, int p0, const struct ifg_att_layout *lo);

/* ---- cross-entropy of one row of logits z (V), target y ---- */

/* NLL = lse - z[y], lse = log Σ exp z (*lse kept for the backward). */
float ifg_xent_fwd(const float *z, int V, int y, float *lse);
/* dz (V) = coef (softmax(z) - onehot(y)) (dz may be z). */
void ifg_xent_bwd(float *dz, const float *z, int V, int y, float lse, float coef);

/* ---- GELU, exact form (PyTorch's default, GPT-NeoX "gelu") ---- */

/* y = x Φ(x) = x/2 (1 + erf(x / sqrt 2)) (y may be x). */
void ifg_gelu_exact_fwd(float *y, const float *x, size_t n);
/* dx = dy (Φ(x) + x φ(x)). */
void ifg_gelu_exact_bwd(float *dx, const float *x, const float *dy, size_t n);

/* ---- RMSNorm (Llama): out = x / sqrt(mean(x²) + eps) * w ---- */

/* out (N, C); rstd (N) kept for the backward when not NULL. */
void ifg_rmsnorm_fwd(float *out, float *rstd, const float *inp, const float *w, size_t N, int C,
		     float eps);
/* dinp (N, C) = dres + RMSNorm backward of dout (dres may be NULL); dw (C) +=
 * (skipped when NULL). */
void ifg_rmsnorm_bwd(float *dinp, const float *dres, float *dw, const float *dout,
		     const float *inp, const float *w, const float *rstd, size_t N, int C);

/* ---- SwiGLU (Llama's MLP): h = silu(gate) * up, silu(g) = g σ(g) ---- */

void ifg_swiglu_fwd(float *h, const float *gate, const float *up, size_t n);
/* dgate, dup (n) overwritten from dh. */
void ifg_swiglu_bwd(float *dgate, float *dup, const float *gate, const float *up,
		    const float *dh, size_t n);

/* ---- rotary position embedding, Hugging Face's rotate_half convention ----
 * In place on N rows of x (row r at x + r ld, nh heads starting step
 * columns apart): in each head, the first rot dimensions (rot even) are
 * rotated in the pairs (i, i + rot/2) by the angle pos[r] inv[i] (float, as
 * Hugging Face computes it):
 *   (a, b) -> (a cos - b sin, b cos + a sin).
 * dir +1 applies it (forward), -1 its transpose (the backward: a rotation's
 * inverse). */
void ifg_rotary(float *x, size_t ld, size_t N, const int *pos, int nh, int step, int rot,
		const float *inv, int dir);
/* inv[i] = base^(-2i/rot), i < rot/2, in float. */
void ifg_rotary_freqs(float *inv, int rot, double base);

#endif

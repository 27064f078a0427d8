/* gpt_ops.h: the forward operations of the GPT-2 block, shared by the
 * training forward (gpt.c) and the cached inference forward (gpt_infer.c),
 * so that both compute each op with the same code and rounding.  Defined in
 * gpt.c.  Rows are positions; every matrix is row-major. */
#ifndef IFG_GPT_OPS_H
#define IFG_GPT_OPS_H

#include <stddef.h>

/* out (N, C) = LayerNorm(inp (N, C)) * w + b, eps 1e-5; mean and rstd (N)
 * are kept for the backward when not NULL. */
void ifg_layernorm_fwd(float *out, float *mean, float *rstd, const float *inp, const float *w,
		       const float *b, size_t N, int C);
/* y = gelu_new(x) (n values; y may be x). */
void ifg_gelu_fwd(float *y, const float *x, size_t n);
/* out (N, dout) = inp (N, din) W (din, dout) + b (dout): one sgemm. */
void ifg_linear_fwd(float *out, const float *inp, const float *w, const float *b, size_t N,
		    int din, int dout);

#endif

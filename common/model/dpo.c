/* dpo.c: see dpo.h. */
#include "dpo.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

double ifg_dpo_loss(double beta, double margin, double *coef)
{
	double z = beta * margin;
	/* softplus(−z) and σ(−z) without overflow: exp of a non-positive number only */
	double e = exp(-fabs(z));
	double loss = z >= 0 ? log1p(e) : -z + log1p(e);
	if (coef)
		*coef = beta * (z >= 0 ? e / (1 + e) : 1 / (1 + e));
	return loss;
}

void ifg_dpo_seq_logp(const float *nll, int B, int T, double *out)
{
	for (int b = 0; b < B; b++) {
		double s = 0;
		for (int t = 0; t < T; t++)
			s -= nll[(size_t)b * T + t];
		out[b] = s;
	}
}

void ifg_dpo_init(struct ifg_dpo *x, const struct ifg_pairdata *d, double beta, int micro)
{
	memset(x, 0, sizeof *x);
	x->d = d;
	x->beta = beta;
	x->micro = micro;
	size_t T = d->max_len ? d->max_len : 1, BT = 2 * (size_t)micro * T;
	x->ref = ifg_xcalloc(2 * (d->n ? d->n : 1), sizeof *x->ref);
	x->tok = ifg_xmalloc(BT, sizeof *x->tok);
	x->tgt = ifg_xmalloc(BT, sizeof *x->tgt);
	x->w = ifg_xmalloc(BT, sizeof *x->w);
	x->lp = ifg_xmalloc(2 * (size_t)micro, sizeof *x->lp);
	x->coef = ifg_xmalloc((size_t)micro, sizeof *x->coef);
}

void ifg_dpo_release(struct ifg_dpo *x)
{
	free(x->ref);
	free(x->tok);
	free(x->tgt);
	free(x->w);
	free(x->lp);
	free(x->coef);
	memset(x, 0, sizeof *x);
}

/* The longest sequence of pairs idx[0..n). */
static int batch_len(const struct ifg_pairdata *d, const size_t *idx, int n)
{
	uint64_t T = 1;
	for (int i = 0; i < n; i++) {
		size_t r = idx[i];
		uint64_t np = d->np[r], nc = d->nc[r], nr = d->off[r + 1] - d->off[r] - np - nc;
		if (np + (nc > nr ? nc : nr) > T)
			T = np + (nc > nr ? nc : nr);
	}
	return (int)T;
}

/* Both sequences of pairs idx[0..n) through model m: x->lp (2n), rows b
 * (chosen) and n + b (rejected).  Returns the tokens, or -1. */
static int64_t forward_pairs(struct ifg_dpo *x, struct ifg_gpt *m, const size_t *idx, int n)
{
	if (n < 1 || n > x->micro)
		return ifg_seterr("%d pairs in a forward of at most %d", n, x->micro);
	int T = batch_len(x->d, idx, n);
	int64_t ntok = ifg_pairdata_batch(x->d, idx, n, T, x->tok, x->tgt);
	if (ntok < 0)
		return -1;
	if (ifg_gpt_forward(m, x->tok, x->tgt, 2 * n, T, NULL) < 0)
		return -1;
	ifg_dpo_seq_logp(ifg_gpt_nll(m), 2 * n, T, x->lp);
	x->Tb = T;
	return ntok;
}

int ifg_dpo_reference(struct ifg_dpo *x, struct ifg_gpt *ref)
{
	const struct ifg_pairdata *d = x->d;
	if (d->n == 0)
		return 0;
	if (ifg_gpt_reserve(ref, 2 * x->micro, (int)d->max_len, 0) < 0)
		return -1;
	size_t *idx = ifg_xmalloc((size_t)x->micro, sizeof *idx);
	int rc = 0;
	for (size_t i = 0; i < d->n && rc == 0; i += (size_t)x->micro) {
		int n = 0;
		for (size_t k = i; k < d->n && n < x->micro; k++)
			idx[n++] = k;
		if (forward_pairs(x, ref, idx, n) < 0) {
			rc = -1;
			break;
		}
		for (int b = 0; b < n; b++) {
			x->ref[2 * idx[b]] = x->lp[b];
			x->ref[2 * idx[b] + 1] = x->lp[n + b];
		}
	}
	free(idx);
	x->nb = 0; /* the buffers now describe the reference's forward */
	return rc;
}

int ifg_dpo_forward(struct ifg_dpo *x, struct ifg_gpt *m, const size_t *idx, int n,
		    struct ifg_dpo_stats *st)
{
	x->nb = 0;
	int64_t ntok = forward_pairs(x, m, idx, n);
	if (ntok < 0)
		return -1;
	for (int b = 0; b < n; b++) {
		double rc = x->lp[b] - x->ref[2 * idx[b]];	  /* log π/π_ref of chosen */
		double rr = x->lp[n + b] - x->ref[2 * idx[b] + 1]; /* of rejected */
		double margin = rc - rr;
		st->loss += ifg_dpo_loss(x->beta, margin, &x->coef[b]);
		st->margin += x->beta * margin;
		st->chosen += x->beta * rc;
		st->rejected += x->beta * rr;
		st->correct += margin > 0;
	}
	st->pairs += n;
	st->tokens += ntok;
	x->nb = n;
	return 0;
}

int ifg_dpo_backward(struct ifg_dpo *x, struct ifg_gpt *m, double divisor)
{
	int n = x->nb, T = x->Tb;
	if (n == 0)
		return ifg_seterr("DPO backward without a forward");
	/* w = +c_i on the chosen row's targets, −c_i on the rejected row's (dpo.h) */
	for (int b = 0; b < 2 * n; b++) {
		float c = (float)(b < n ? x->coef[b] : -x->coef[b - n]);
		for (int t = 0; t < T; t++) {
			size_t k = (size_t)b * T + t;
			x->w[k] = x->tgt[k] >= 0 ? c : 0.0f;
		}
	}
	return ifg_gpt_backward(m, x->w, divisor);
}

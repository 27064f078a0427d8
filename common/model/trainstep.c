/* trainstep.c: a training step: micro-batches, the IF-Guide weighted loss
 * (or DPO's), clipping and AdamW over the tensor table (trainstep.h). */
#include "trainstep.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void ifg_trainstep_init(struct ifg_trainstep *s, struct ifg_gpt *m, const struct ifg_train_hp *hp,
			const struct ifg_tokdata *d, struct ifg_dpo *dpo, int T)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->hp = *hp;
	s->d = d;
	s->dpo = d ? NULL : dpo;
	s->P = ifg_gpt_nparams(m);
	s->mv = ifg_xaligned(2 * s->P, sizeof(float));
	memset(s->mv, 0, 2 * s->P * sizeof(float));
	s->T = T;
	size_t BT = (size_t)hp->micro * (size_t)T;
	s->tok = ifg_xmalloc(BT, sizeof *s->tok);
	s->tgt = ifg_xmalloc(BT, sizeof *s->tgt);
	s->wts = ifg_xmalloc(BT, sizeof *s->wts);
	s->idx = ifg_xmalloc((size_t)hp->batch, sizeof *s->idx);
}

void ifg_trainstep_release(struct ifg_trainstep *s)
{
	free(s->mv);
	free(s->tok);
	free(s->tgt);
	free(s->wts);
	free(s->idx);
	memset(s, 0, sizeof *s);
}

const size_t *ifg_trainstep_take(struct ifg_trainstep *s, struct ifg_order *ord, long step)
{
	for (long k = 0; k < s->hp.batch; k++)
		s->idx[k] = ifg_order_at(ord, (uint64_t)step * s->hp.batch + k);
	return s->idx;
}

/* Pairs idx[0..batch): forward and backward of micro pairs at a time, the
 * loss the mean over the step's pairs (dpo.h). */
static int dpo_grads(struct ifg_trainstep *s, const size_t *idx, struct ifg_step_stats *st)
{
	const long B = s->hp.batch, mb = s->hp.micro;
	for (long k = 0; k < B; k += mb) {
		if (ifg_dpo_forward(s->dpo, s->m, idx + k, (int)mb, &st->dpo) < 0)
			return ifg_prefixerr("forward");
		s->rows = 2 * (int)mb;
		s->cols = s->dpo->Tb;
		if (ifg_dpo_backward(s->dpo, s->m, (double)B) < 0)
			return ifg_prefixerr("backward");
	}
	st->labels = st->dpo.tokens;
	st->loss = st->dpo.loss / (double)B;
	st->objective = st->loss;
	return 0;
}

int ifg_trainstep_grads(struct ifg_trainstep *s, const size_t *idx, struct ifg_step_stats *st)
{
	memset(st, 0, sizeof *st);
	ifg_gpt_zero_grad(s->m);
	if (!s->d)
		return dpo_grads(s, idx, st);
	const struct ifg_tokdata *d = s->d;
	const long B = s->hp.batch, mb = s->hp.micro;
	/* the divisor: label positions of the whole step */
	int64_t labels = 0, npred = 0, np;
	for (long k = 0; k < B; k++)
		labels += (int64_t)(d->off[idx[k] + 1] - d->off[idx[k]]);
	double nll = 0, obj = 0;
	for (long k0 = 0; k0 < B; k0 += mb) {
		int Tm = 1; /* the longest record of this micro-batch */
		for (long k = k0; k < k0 + mb; k++)
			if (d->off[idx[k] + 1] - d->off[idx[k]] > (uint64_t)Tm)
				Tm = (int)(d->off[idx[k] + 1] - d->off[idx[k]]);
		if (ifg_tokdata_batch(d, idx + k0, (int)mb, Tm, s->hp.lambda, s->tok, s->tgt, s->wts,
				      &np) < 0)
			return ifg_prefixerr("batch");
		double sum;
		if (ifg_gpt_forward(s->m, s->tok, s->tgt, (int)mb, Tm, &sum) < 0)
			return ifg_prefixerr("forward");
		s->rows = (int)mb;
		s->cols = Tm;
		const float *l = ifg_gpt_nll(s->m);
		for (size_t i = 0; i < (size_t)mb * Tm; i++)
			obj += (double)s->wts[i] * l[i];
		nll += sum;
		npred += np;
		if (labels > 0 && ifg_gpt_backward(s->m, s->wts, (double)labels) < 0)
			return ifg_prefixerr("backward");
	}
	st->labels = labels;
	st->loss = npred ? nll / npred : NAN;
	st->objective = labels ? obj / labels : 0;
	return 0;
}

int ifg_trainstep_update(struct ifg_trainstep *s, long step, struct ifg_step_stats *st)
{
	if (!isfinite(st->loss) || !isfinite(st->objective))
		return ifg_seterr("step %ld: the loss is not finite", step + 1);
	struct ifg_gpt *m = s->m;
	float *p = ifg_gpt_param_mem(m), *g = ifg_gpt_grad_mem(m);
	st->grad_norm = ifg_clip_grad_norm(g, s->P, s->hp.clip);
	st->lr = ifg_sched_lr(&s->hp.sched, step);
	for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
		ifg_adamw_update(&s->hp.adam, p + t->offset, g + t->offset, s->mv + t->offset,
				 s->mv + s->P + t->offset, t->n, st->lr, step + 1, t->decay);
	}
	return 0;
}

int ifg_trainstep_run(struct ifg_trainstep *s, const size_t *idx, long step,
		      struct ifg_step_stats *st)
{
	if (ifg_trainstep_grads(s, idx, st) < 0)
		return -1;
	return ifg_trainstep_update(s, step, st);
}

int ifg_trainstep_refresh(struct ifg_trainstep *s)
{
	if (!s->rows)
		return ifg_seterr("no forward to repeat");
	const uint32_t *tok = s->d ? s->tok : s->dpo->tok;
	const int32_t *tgt = s->d ? s->tgt : s->dpo->tgt;
	return ifg_gpt_forward(s->m, tok, tgt, s->rows, s->cols, NULL) < 0 ? -1 : 0;
}

int ifg_trainstep_eval(struct ifg_trainstep *s, const struct ifg_tokdata *v, double *out)
{
	const long mb = s->hp.micro;
	double sum = 0;
	int64_t npred = 0;
	size_t *idx = ifg_xmalloc((size_t)mb, sizeof *idx);
	s->rows = 0; /* the buffers no longer hold the step's last forward */
	for (size_t i = 0; i < v->n; i += (size_t)mb) {
		int nb = 0;
		for (size_t k = i; k < v->n && nb < mb; k++)
			idx[nb++] = k;
		int64_t np;
		double s1;
		if (ifg_tokdata_batch(v, idx, nb, s->T, 0, s->tok, s->tgt, NULL, &np) < 0 ||
		    ifg_gpt_forward(s->m, s->tok, s->tgt, nb, s->T, &s1) < 0) {
			free(idx);
			return -1;
		}
		sum += s1;
		npred += np;
	}
	free(idx);
	*out = npred ? sum / (double)npred : NAN;
	return 0;
}

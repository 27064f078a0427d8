/* optim.c: AdamW, schedules, clipping (see optim.h for the formulas). */
#include "optim.h"

#include <math.h>
#include <string.h>

void ifg_adamw_update(const struct ifg_adamw *h, float *p, const float *g, float *m, float *v,
		      size_t n, double lr, long step, bool decay)
{
	/* bias corrections in double, the element updates in float (as torch) */
	const float b1 = h->beta1, b2 = h->beta2, eps = h->eps;
	const float step_size = (float)(lr / (1.0 - pow(h->beta1, (double)step)));
	const float bc2_sqrt = (float)sqrt(1.0 - pow(h->beta2, (double)step));
	const float keep = decay ? (float)(1.0 - lr * h->weight_decay) : 1.0f;
	for (size_t i = 0; i < n; i++) {
		float gi = g[i];
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		float denom = sqrtf(vi) / bc2_sqrt + eps;
		p[i] = p[i] * keep - step_size * mi / denom;
	}
}

double ifg_sched_lr(const struct ifg_sched *s, long i)
{
	if (i < s->warmup)
		return s->lr * (double)i / (double)s->warmup;
	if (s->kind == IFG_SCHED_CONSTANT)
		return s->lr;
	long span = s->total - s->warmup;
	double progress = (double)(i - s->warmup) / (double)(span > 1 ? span : 1);
	if (progress > 1)
		progress = 1;
	double f = s->kind == IFG_SCHED_LINEAR ? 1.0 - progress : 0.5 * (1.0 + cos(M_PI * progress));
	return s->min_lr + (s->lr - s->min_lr) * f;
}

static const char *const sched_names[] = { "cosine", "constant", "linear" };

int ifg_sched_parse(const char *name)
{
	for (int k = 0; k < 3; k++)
		if (strcmp(name, sched_names[k]) == 0)
			return k;
	return -1;
}

const char *ifg_sched_name(enum ifg_sched_kind k)
{
	return (unsigned)k < 3 ? sched_names[k] : "?";
}

double ifg_grad_norm(const float *g, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += (double)g[i] * g[i];
	return sqrt(s);
}

double ifg_clip_grad_norm(float *g, size_t n, double max_norm)
{
	double norm = ifg_grad_norm(g, n);
	if (max_norm > 0) {
		double coef = max_norm / (norm + 1e-6);
		if (coef < 1.0) {
			float c = (float)coef;
			for (size_t i = 0; i < n; i++)
				g[i] *= c;
		}
	}
	return norm;
}

/* optim.h: AdamW, the learning-rate schedule, clipping by global norm.
 *
 * The numerics follow torch.optim.AdamW (decoupled weight decay) and
 * torch.nn.utils.clip_grad_norm_, and the schedule follows Hugging Face's
 * get_cosine_schedule_with_warmup, so that a run here and the PyTorch
 * reference in tests/ref take the same steps. */
#ifndef IFG_OPTIM_H
#define IFG_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

struct ifg_adamw {
	float beta1, beta2, eps, weight_decay;
};

/* One AdamW step on n parameters, step >= 1 (1 for the first update):
 *   p -= lr * wd * p                      (only when decay)
 *   m  = b1 m + (1 - b1) g ;  v = b2 v + (1 - b2) g^2
 *   p -= lr / (1 - b1^step) * m / (sqrt(v) / sqrt(1 - b2^step) + eps) */
void ifg_adamw_update(const struct ifg_adamw *h, float *p, const float *g, float *m, float *v,
		      size_t n, double lr, long step, bool decay);

/* Learning rate for optimizer step i (0-based) of total:
 *   i < warmup:  lr * i / warmup      (Hugging Face: the first step has lr 0
 *                                      when warmup > 0)
 *   otherwise:   min_lr + (lr - min_lr) * 0.5 (1 + cos(pi * progress)),
 *                progress = (i - warmup) / max(1, total - warmup).
 * kind "constant" skips the decay (lr after warmup). */
enum ifg_sched_kind { IFG_SCHED_COSINE, IFG_SCHED_CONSTANT, IFG_SCHED_LINEAR };
struct ifg_sched {
	enum ifg_sched_kind kind;
	double lr, min_lr;
	long warmup, total;
};
double ifg_sched_lr(const struct ifg_sched *s, long i);
/* -1 if the name is not a schedule kind. */
int ifg_sched_parse(const char *name);
const char *ifg_sched_name(enum ifg_sched_kind k);

/* Euclidean norm of g (accumulated in double). */
double ifg_grad_norm(const float *g, size_t n);
/* Scales g by max_norm / (norm + 1e-6) when that is below 1 (as
 * torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
 * max_norm <= 0 disables clipping. */
double ifg_clip_grad_norm(float *g, size_t n, double max_norm);

#endif

/* trainstep.h: one optimizer step of training a GPT (doc/method.md §7):
 * the gradient of a step's `batch` records, accumulated over forwards of
 * `micro` records, then clipping by global norm and AdamW over the model's
 * tensor table (optim.h), with decay on the tensors whose table entry says
 * so.
 *
 * On token records (tokdata.h) each target token weighs 1, or -lambda where
 * its record's mask selects it, and a step minimises the IF-Guide objective
 *   Σ w·NLL / L,   L = label positions of the step's records
 * (a micro-batch is as long as its longest record; Σ over the step's label
 * positions, so the split into micro-batches does not change the divisor).
 * Its loss is Σ NLL / (predicted positions).  On preference pairs (dpo.h) a
 * step minimises the mean DPO loss of its pairs.
 *
 * A step is deterministic for a thread count: the same records, weights and
 * state give bit-identical parameters and moments. */
#ifndef IFG_TRAINSTEP_H
#define IFG_TRAINSTEP_H

#include <stddef.h>
#include <stdint.h>

#include "dpo.h"
#include "gpt.h"
#include "optim.h"
#include "tokdata.h"

/* The hyperparameters of a step. */
struct ifg_train_hp {
	long batch, micro;	/* records a step; records a forward (divides batch) */
	double lambda;		/* the penalty weight of masked tokens */
	double clip;		/* the global gradient norm to clip to; 0: off */
	struct ifg_adamw adam;
	struct ifg_sched sched;	/* the learning rate of each step */
};

struct ifg_trainstep {
	struct ifg_gpt *m;
	struct ifg_train_hp hp;
	const struct ifg_tokdata *d;	/* token records, or NULL with dpo */
	struct ifg_dpo *dpo;		/* preference pairs (d NULL), or NULL */
	size_t P;			/* parameters */
	float *mv;		/* (2 P): AdamW first moments | second moments,
				   in the order of ifg_gpt_param_mem */
	size_t *idx;		/* (batch): the records of the step (ifg_trainstep_take) */
	int T;			/* the longest sequence */
	uint32_t *tok;		/* (micro, T): the last forward's tokens */
	int32_t *tgt;		/* (micro, T): its targets */
	float *wts;		/* (micro, T): its loss weights */
	int rows, cols;		/* the last forward's (B, T) (DPO: both sequences) */
};

/* What a step computed (over its records, before the update). */
struct ifg_step_stats {
	double loss;		/* Σ NLL / predicted positions (NaN: none); DPO: the mean loss */
	double objective;	/* Σ w·NLL / L (0 when L is 0); DPO: the mean loss */
	int64_t labels;		/* L; DPO: the tokens of the pairs' sequences */
	double grad_norm;	/* before clipping (after ifg_trainstep_update) */
	double lr;		/* of the update (after ifg_trainstep_update) */
	struct ifg_dpo_stats dpo;	/* DPO: the sums of the step's pairs */
};

/* Steps of model m (reserved with IFG_GPT_TRAIN for (micro, T) tokens,
 * (2 micro, T) with dpo) on token records d or, with d NULL, on the pairs
 * of dpo (its reference log-probabilities computed, ifg_dpo_reference); T
 * is the longest sequence of either.  The AdamW moments start at 0.  m, d
 * and dpo must outlive s. */
void ifg_trainstep_init(struct ifg_trainstep *s, struct ifg_gpt *m, const struct ifg_train_hp *hp,
			const struct ifg_tokdata *d, struct ifg_dpo *dpo, int T);
void ifg_trainstep_release(struct ifg_trainstep *s);

/* The records of optimizer step `step` (0-based): positions step * batch
 * .. + batch - 1 of the epochs' stream ord (tokdata.h), into s->idx, which
 * it returns. */
const size_t *ifg_trainstep_take(struct ifg_trainstep *s, struct ifg_order *ord, long step);

/* The gradient of the step on records idx[0..batch) (token records or
 * pairs, by index), left in ifg_gpt_grad_mem: zeroes it, then forwards and
 * backwards of micro records each.  Fills st's loss, objective, labels and
 * dpo.  -1 with a message ("batch: ", "forward: ", "backward: ..."). */
int ifg_trainstep_grads(struct ifg_trainstep *s, const size_t *idx, struct ifg_step_stats *st);

/* The update of optimizer step `step` (0-based) from the gradient left by
 * ifg_trainstep_grads: clipping to hp.clip, then AdamW at the schedule's
 * rate for the step; fills st's grad_norm and lr.  -1 with a message,
 * before anything changes, when the step's loss or objective is not
 * finite. */
int ifg_trainstep_update(struct ifg_trainstep *s, long step, struct ifg_step_stats *st);

/* ifg_trainstep_grads then ifg_trainstep_update. */
int ifg_trainstep_run(struct ifg_trainstep *s, const size_t *idx, long step,
		      struct ifg_step_stats *st);

/* The last forward again (a backward overwrites the logits), so that
 * ifg_gpt_logits and ifg_gpt_nll are those of the step's last micro-batch,
 * of shape (s->rows, s->cols).  -1 with a message. */
int ifg_trainstep_refresh(struct ifg_trainstep *s);

/* *out = the mean NLL a predicted position of token records v (micro
 * records a forward of s->T positions, in v's order), NaN when v predicts
 * nothing.  Overwrites s's batch buffers and the model's activations.  -1
 * with a message (a record longer than s->T, a token outside the model). */
int ifg_trainstep_eval(struct ifg_trainstep *s, const struct ifg_tokdata *v, double *out);

#endif

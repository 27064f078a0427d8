/* dpo.h: Direct Preference Optimization (Rafailov et al., "Direct Preference
 * Optimization: Your Language Model is Secretly a Reward Model", 2023) on
 * the GPT's weighted-NLL backward (gpt.h).
 *
 * A pair i is a prompt x and two continuations, chosen y_c and rejected y_r
 * (tokdata.h, struct ifg_pairdata).  With the policy π being trained and a
 * frozen reference π_ref:
 *   lp(y)  = log π(y | x) = −Σ NLL over the continuation's tokens
 *   m_i    = (lp(y_c) − lp_ref(y_c)) − (lp(y_r) − lp_ref(y_r))
 *   L_i    = −log σ(β m_i) = softplus(−β m_i)
 * and a step minimises Σ_i L_i / divisor over its pairs (divisor: their
 * number, so the loss is the mean).  The gradient:
 *   ∂L_i/∂m_i = −β σ(−β m_i),  ∇lp = −∇NLL, so
 *   ∇L_i = β σ(−β m_i) (∇NLL(y_c) − ∇NLL(y_r)):
 * the gradient of Σ w·NLL with w = +c_i on the chosen continuation's
 * predictions and w = −c_i on the rejected one's, c_i = β σ(−β m_i) held
 * constant.  That is ifg_gpt_backward's form, so one forward of the 2n
 * sequences (chosen rows, then rejected rows) and one weighted backward give
 * the exact DPO gradient.  A pair's coefficient depends on its own margin
 * only, so micro-batches accumulate exactly.
 *
 * The implicit reward of a continuation is β (lp − lp_ref); a pair's reward
 * margin is β m_i, and the pair is ranked correctly when m_i > 0.
 *
 * The reference log-probabilities are computed once per pair
 * (ifg_dpo_reference) and cached: π_ref is frozen, so no epoch recomputes
 * them, and the reference model can be freed before training.
 */
#ifndef IFG_DPO_H
#define IFG_DPO_H

#include <stdint.h>

#include "gpt.h"
#include "tokdata.h"

/* Sums over the pairs of one or more forwards. */
struct ifg_dpo_stats {
	double loss;		/* Σ L_i */
	double margin;		/* Σ β m_i: reward margins */
	double chosen, rejected;	/* Σ β (lp − lp_ref) of the chosen, the rejected */
	int64_t pairs, correct;	/* pairs, and those with m_i > 0 */
	int64_t tokens;		/* of the 2 n sequences */
};

/* L = softplus(−β m), and *coef (may be NULL) = β σ(−β m) = −dL/dm;
 * finite for every finite β m. */
double ifg_dpo_loss(double beta, double margin, double *coef);

/* Σ_t −nll[b, t] of each of the B rows of a (B, T) NLL (0 where there is no
 * target), in double: the rows' log-probabilities. */
void ifg_dpo_seq_logp(const float *nll, int B, int T, double *out);

struct ifg_dpo {
	const struct ifg_pairdata *d;
	double beta;
	double *ref;		/* (2 n): log π_ref of pair i's chosen [2i] and rejected
				   [2i + 1] continuation */
	int micro;		/* most pairs a forward */
	uint32_t *tok;		/* (2 micro, max_len) */
	int32_t *tgt;		/* (2 micro, max_len) */
	float *w;		/* (2 micro, max_len): backward weights */
	double *lp;		/* (2 micro): policy log-probabilities of the last forward */
	double *coef;		/* (micro): c_i of the last forward */
	int nb, Tb;		/* pairs and sequence length of the last forward (0: none) */
};

/* Buffers for forwards of up to micro pairs of d (which must outlive x);
 * the reference cache is 0 until ifg_dpo_reference. */
void ifg_dpo_init(struct ifg_dpo *x, const struct ifg_pairdata *d, double beta, int micro);
void ifg_dpo_release(struct ifg_dpo *x);

/* Fills x->ref with ref's log-probabilities of every pair, micro pairs a
 * forward in the data's order (deterministic for a thread count).  ref is
 * reserved here for inference.  -1 with a message (a token outside ref's
 * vocabulary, a sequence longer than its context). */
int ifg_dpo_reference(struct ifg_dpo *x, struct ifg_gpt *ref);

/* Forward of the policy m on pairs idx[0..n), n <= micro: both sequences of
 * each, their log-probabilities, margins and coefficients; adds the pairs'
 * loss, rewards and counts to *st.  m must be reserved for (2 micro,
 * max_len) (with IFG_GPT_TRAIN for a backward).  -1 with a message. */
int ifg_dpo_forward(struct ifg_dpo *x, struct ifg_gpt *m, const size_t *idx, int n,
		    struct ifg_dpo_stats *st);

/* Backward of Σ_i L_i / divisor over the last forward's pairs: parameter
 * gradients accumulate (+=).  -1 with a message without a forward. */
int ifg_dpo_backward(struct ifg_dpo *x, struct ifg_gpt *m, double divisor);

#endif

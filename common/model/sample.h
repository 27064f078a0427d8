/* sample.h: drawing the next token from a row of logits.
 *
 * The warpers of Hugging Face's generate(), in its order: temperature, then
 * top-k, then top-p (nucleus), then one categorical draw.
 *
 *   probabilities  p_i = exp((l_i - max l) / T) / Z, in double, Z summed in
 *                  id order; T = 0 means greedy (the first id of the
 *                  largest logit, no random draw consumed);
 *   order          tokens ranked by p_i descending, ties by id ascending:
 *                  a total order, so every set below is exact, ties included;
 *   top-k (k > 0)  keeps the first k tokens of that order (exactly k when
 *                  k <= V; Hugging Face would keep every token tied with the
 *                  k-th);
 *   top-p (p < 1)  keeps the shortest prefix of that order (of the top-k set
 *                  when both are on) whose mass, summed in rank order in
 *                  double, reaches p times M (cumulative >= p M), M = 1, or
 *                  the top-k set's mass (summed in rank order) with top-k;
 *                  the whole set when rounding never lets it reach p M;
 *   draw           one ifg_rng_uniform u; the token is the first kept id, in
 *                  id order, whose cumulative mass (in id order) exceeds u
 *                  times the kept mass (the last kept id if rounding leaves
 *                  none).
 * So a sampler consumes exactly one draw per token (none when greedy), and
 * the result depends only on the logits and the generator's state.
 *
 * Cost: O(V) for the probabilities and a partial ranking: only the tokens
 * above a threshold that already holds mass >= p (or at least k tokens) are
 * sorted, so a peaked distribution costs little more than one pass. */
#ifndef IFG_SAMPLE_H
#define IFG_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

struct ifg_sampler {
	double temperature;	/* >= 0; 0 = greedy */
	long top_k;		/* 0 = off */
	double top_p;		/* in [0, 1]; 1 = off, 0 keeps one token */
	/* scratch, grown on demand (ifg_sampler_release frees) */
	double *prob;		/* (V) */
	uint32_t *idx;		/* (V) */
	size_t cap;
};

/* temperature 1, top-k off, top-p off. */
void ifg_sampler_init(struct ifg_sampler *s);
void ifg_sampler_release(struct ifg_sampler *s);

/* The kept set for logits (V), V >= 1, every logit finite: writes the ids in
 * rank order to keep[] (room for V) and, when prob is not NULL, their
 * probabilities after temperature (not renormalised) to prob[]; returns the
 * count (1 when greedy).  -1 with a message on a NaN or infinite logit. */
long ifg_sampler_keep(struct ifg_sampler *s, const float *logits, size_t V, uint32_t *keep,
		      double *prob);

/* One token id drawn from logits (V) as described above; -1 with a message
 * on non-finite logits. */
long ifg_sampler_draw(struct ifg_sampler *s, const float *logits, size_t V, struct ifg_rng *r);

#endif

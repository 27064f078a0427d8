/* gpt_infer.h: inference with a key/value cache, and generation, for every
 * family of gpt.h.
 *
 * The forward of gpt.h keeps every activation for the backward and
 * recomputes the whole prefix; generation needs neither.  Here a cache holds,
 * per slot (a sequence being generated) and per layer, the keys (rotated,
 * for the rotary families) and values of the positions seen so far, so
 * appending tokens to a slot costs only the new rows: one pass over the new
 * rows of all slots together (every linear layer one cblas_sgemm over those
 * rows, the output layer one sgemm over the slots' last rows), attention per
 * (slot, head) against the cached keys.  A prompt's prefill is an append of
 * all its tokens; a generation step an append of one token to each slot.
 *
 * The block is gpt.c's (ifg_gpt_block_fwd, the same code the training
 * forward runs) with attention against the cache in place of the full causal
 * attention; parameters are the model's, read, never copied.  Logits agree
 * with ifg_gpt_forward's to rounding (~1e-6 relative: the attention sums in
 * another order), not bit for bit.
 *
 * Memory: the cache is 2 L B T KV floats for B slots of T positions (KV =
 * n_kv_head * head size: n_embd without grouped-query attention); scratch
 * grows with the rows of the largest append. */
#ifndef IFG_GPT_INFER_H
#define IFG_GPT_INFER_H

#include <stddef.h>
#include <stdint.h>

#include "gpt.h"
#include "rng.h"
#include "sample.h"

struct ifg_gpt_infer;

/* A cache for m (which must outlive it); no slots until reserve. */
struct ifg_gpt_infer *ifg_gpt_infer_new(const struct ifg_gpt *m);
void ifg_gpt_infer_free(struct ifg_gpt_infer *s);

/* Room for B slots of up to T positions (T <= n_ctx, else -1 with a
 * message).  Growing drops every slot's contents (all slots empty). */
int ifg_gpt_infer_reserve(struct ifg_gpt_infer *s, int B, int T);

/* Empties a slot; makes slot dst a copy of slot src (positions and cache). */
void ifg_gpt_infer_reset(struct ifg_gpt_infer *s, int slot);
void ifg_gpt_infer_copy(struct ifg_gpt_infer *s, int dst, int src);
/* Positions held by a slot. */
int ifg_gpt_infer_len(const struct ifg_gpt_infer *s, int slot);

/* Appends tokens tok[i][0..len[i]) to slot[i], i < n (distinct slots,
 * len[i] >= 1, ids < vocab_size, room left in the slot: else -1 with a
 * message and nothing changed), and leaves the logits of each slot's new
 * last position as row i of ifg_gpt_infer_logits. */
int ifg_gpt_infer_append(struct ifg_gpt_infer *s, int n, const int *slot,
			 const uint32_t *const *tok, const int *len);
const float *ifg_gpt_infer_logits(const struct ifg_gpt_infer *s); /* (n, V) */

/* ---- generation ---- */

/* One sequence to continue. */
struct ifg_gen {
	const uint32_t *prompt;	/* >= 1 token; prompt_len + n_new <= n_ctx */
	int prompt_len;
	struct ifg_rng rng;	/* the sequence's own stream (one draw per token) */
	uint32_t *out;		/* room for n_new tokens */
	int n_out;		/* set: tokens generated (end-of-text not included) */
};

/* Continues each of g[0..n) by up to n_new tokens drawn with smp from the
 * logits of ids < V_sample (<= vocab_size: a tokenizer smaller than the
 * model's embedding), stopping a sequence at eot (< 0: none).  With a cache
 * s, the n sequences run as one batch (slots 0..n-1, reserved here); prompts
 * that are the same pointer and length are prefilled once and copied.
 * Without (s NULL), every token comes from ifg_gpt_forward over the whole
 * sequence so far, one sequence at a time: the reference path.  A sequence's
 * tokens depend only on its prompt and rng, not on n or the path (up to the
 * rounding above).  0, or -1 with a message. */
int ifg_gpt_generate(struct ifg_gpt *m, struct ifg_gpt_infer *s, struct ifg_sampler *smp,
		     struct ifg_gen *g, int n, int n_new, int64_t eot, size_t V_sample);

/* A decoder's say in generation (reward-augmented decoding, rad.h): warp
 * gets sequence i's logits (V_sample) before each draw and returns the row
 * to draw from (its own copy, or logits unchanged), NULL on error; took,
 * when set, is told each token drawn for i (end-of-text not included). */
struct ifg_gen_hook {
	const float *(*warp)(void *ctx, int i, const float *logits, size_t V_sample);
	void (*took)(void *ctx, int i, uint32_t tok);
	void *ctx;
};

/* ifg_gpt_generate with h (NULL: none) consulted at every draw; the same
 * batching and random streams, so with a warp that changes nothing the
 * tokens are ifg_gpt_generate's. */
int ifg_gpt_generate_hooked(struct ifg_gpt *m, struct ifg_gpt_infer *s, struct ifg_sampler *smp,
			    struct ifg_gen *g, int n, int n_new, int64_t eot, size_t V_sample,
			    const struct ifg_gen_hook *h);

#endif

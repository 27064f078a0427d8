/* rad.h: reward-augmented decoding (RAD; H. Deng and C. Raffel, EMNLP 2023)
 * with the toxicity classifier of toxclf.h as the reward model.
 *
 * At every step of a sequence, the k tokens with the largest logits (ties:
 * the lower id first, the sampler's order) are the candidates; each one's
 * reward is
 *   r_c = 1 - P(toxic | text so far + bytes of c)
 * and its logit becomes l_c + β r_c (in double, rounded to float); then the
 * sampler (sample.h: temperature, top-k, top-p, one draw) runs on the row as
 * it would without RAD.  Tokens outside the candidates keep their logits:
 * with β >= 0 the candidates stay the k most likely tokens, so --top-k k
 * restricts the draw to them, as the authors' decoder does.  With β = 0 the
 * row is unchanged bit for bit (l + 0 = l), so the draws are those of plain
 * sampling.
 *
 * The text so far is the continuation's bytes (the tokens' bytes, as
 * ifg_bpe_decode gives them), after the prompt's (special tokens left out)
 * when prompt is set.  The end-of-text candidate adds no bytes: its reward is
 * the text's as it stands.
 *
 * The authors' reward model is a GPT-2 fine-tuned to predict toxicity,
 * run on every candidate with its own key/value cache.  This one is linear
 * over hashed n-grams, which makes it cheap and exactly incremental (below),
 * but it sees only surface n-grams: it rewards avoiding the words and
 * spellings its weights call toxic, not meaning, and a continuation written
 * around them can still be toxic.
 *
 * Incremental scoring (struct ifg_rad_text): a text is its stable part (up
 * to its last space, tab, CR or LF) and its tail.  The stable part's n-gram
 * counts c_j are kept in a hash table with D = Σ w_j c_j and Q = Σ c_j²
 * (toxclf.h: the logit is b + w . c / |c|), updated only when whitespace
 * moves the boundary; a candidate costs the n-grams of tail + candidate
 * (ifg_toxfeat_counts with the stable part's last word, for the bigram
 * across the boundary), each adjusting D and Q by its count.  The counts are
 * those of the whole text exactly (toxclf.h, "Splitting"); the probability
 * agrees with ifg_toxclf_prob of the whole text to rounding (the latter
 * rounds the scaled values to float; check_rad holds them within 1e-6). */
#ifndef IFG_RAD_H
#define IFG_RAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpe.h"
#include "gpt.h"
#include "gpt_infer.h"
#include "sample.h"
#include "toxclf.h"
#include "util.h"

/* The text of one sequence, scored as it grows. */
struct ifg_rad_text {
	const struct ifg_toxclf *clf;
	/* the stable part: n-gram counts in an open-addressing table */
	uint32_t *key;		/* (cap): bucket index + 1; 0 = empty */
	uint32_t *cnt;		/* (cap) */
	size_t cap, used;
	uint64_t Q;		/* Σ c_j² */
	double D;		/* Σ w_j c_j */
	struct ifg_bytes prev;	/* its last normalised word (n = 0: none) */
	struct ifg_bytes tail;	/* the bytes after it */
	struct ifg_bytes tmp;	/* scratch: tail + a candidate */
	struct ifg_toxfeat f;	/* scratch */
};

/* An empty text scored by clf (which must outlive it). */
void ifg_rad_text_init(struct ifg_rad_text *t, const struct ifg_toxclf *clf);
void ifg_rad_text_release(struct ifg_rad_text *t);
/* Back to the empty text (keeps the memory). */
void ifg_rad_text_clear(struct ifg_rad_text *t);
/* Appends s[0..n). */
void ifg_rad_text_append(struct ifg_rad_text *t, const void *s, size_t n);
/* P(toxic) of the text followed by s[0..n) (the text is not changed). */
double ifg_rad_text_prob(struct ifg_rad_text *t, const void *s, size_t n);
/* The n-gram counts of the text followed by s[0..n), as
 * ifg_toxfeat_counts(whole text) gives them: into out, indices ascending.
 * For tests: O(table size). */
void ifg_rad_text_counts(struct ifg_rad_text *t, const void *s, size_t n,
			 struct ifg_toxfeat *out);

/* The decoder. */
struct ifg_rad {
	const struct ifg_toxclf *clf;
	const struct ifg_bpe *bpe;
	double beta;		/* >= 0 */
	long k;			/* candidates per step, >= 1 */
	bool prompt;		/* score the prompt's text with the continuation */
	/* scratch */
	struct ifg_rad_text *text;	/* (ntext): one per sequence of a batch */
	int ntext;
	float *row;		/* (V) the logits being warped */
	size_t rowcap;
	uint32_t *cand;		/* (kcap >= k) */
	double *reward;		/* (kcap) */
	long kcap;
	struct ifg_bytes bytes;
	uint64_t steps, scored;	/* rows warped, candidates scored */
	int64_t eot;		/* of the generation under way */
};

/* β, k = 20, prompt off; clf and bpe must outlive r. */
void ifg_rad_init(struct ifg_rad *r, const struct ifg_toxclf *clf, const struct ifg_bpe *bpe,
		  double beta);
void ifg_rad_release(struct ifg_rad *r);

/* Warps logits (V) of the sequence whose text is t, as above: the
 * min(k, V) candidates (in rank order) and their rewards go to cand and
 * reward (room for k each; either may be NULL); returns their number.
 * eot (< 0: none) is the end-of-text id; an id that is not a token adds no
 * bytes. */
long ifg_rad_warp(struct ifg_rad *r, struct ifg_rad_text *t, float *logits, size_t V,
		  int64_t eot, uint32_t *cand, double *reward);

/* ifg_gpt_generate (gpt_infer.h) with every row warped before its draw
 * (ifg_gpt_generate_hooked): the same arguments, batching and random
 * streams, so a sequence's tokens depend only on its prompt, its rng and the
 * reward, not on n or the path; with β = 0 they are
 * ifg_gpt_generate's.  0, or -1 with a message. */
int ifg_rad_generate(struct ifg_rad *r, struct ifg_gpt *m, struct ifg_gpt_infer *s,
		     struct ifg_sampler *smp, struct ifg_gen *g, int n, int n_new, int64_t eot,
		     size_t V_sample);

#endif

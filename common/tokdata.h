/* tokdata.h: token records (kind "tokens") held in memory, for training and
 * evaluation: load, order by epoch, assemble (B, T) batches with targets and
 * IF-Guide loss weights.
 *
 * Every record's tokens are kept in one array; its optional "mask" (u8 [T],
 * 1 = selected, aligned with the tokens) in a parallel array.  A record of n
 * tokens has n label positions and n - 1 predicted positions: position t
 * predicts token t + 1 (the labels are the tokens, shifted by one, and the
 * mask is shifted with them, method.md §5.4 and §6). */
#ifndef IFG_TOKDATA_H
#define IFG_TOKDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ifg_tokdata {
	size_t n;		/* records */
	uint64_t *off;		/* (n + 1): record i is tok[off[i] .. off[i+1]) */
	uint32_t *tok;		/* (ntok) */
	uint8_t *mask;		/* (ntok), or NULL when no record has a mask */
	uint64_t ntok, nmasked;
	uint32_t max_len, max_id;
	char *tokenizer;	/* the header's tokenizer map as JSON, or NULL */
	long vocab_size;	/* the tokenizer's vocab_size, or -1 */
	char sha256[65];	/* of the lengths, tokens and masks: the data's identity */
};

/* Reads every record of the files (NULL or "-" is stdin; zstd is detected).
 * All files must carry the same tokenizer.  Records shorter than 2 tokens are
 * kept but predict nothing.  -1 with a message naming the file and record. */
int ifg_tokdata_load(struct ifg_tokdata *d, const char *const *paths, int npaths);
void ifg_tokdata_free(struct ifg_tokdata *d);

/* The record at position i of the stream "epoch 0, epoch 1, ...": each epoch
 * is a permutation of the records, shuffled by (seed, epoch) with
 * ifg_rng_init2 and Fisher-Yates (identity when !shuffle).  The order
 * object caches one epoch. */
struct ifg_order {
	const struct ifg_tokdata *d;
	uint64_t seed;
	bool shuffle;
	uint64_t epoch;		/* of perm, or UINT64_MAX */
	uint32_t *perm;
};
void ifg_order_init(struct ifg_order *o, const struct ifg_tokdata *d, uint64_t seed, bool shuffle);
size_t ifg_order_at(struct ifg_order *o, uint64_t i);
void ifg_order_free(struct ifg_order *o);

/* Fills a (nrec, T) batch from records idx[0..nrec): tokens (padding 0),
 * targets (the next token, -1 at the last position of a record and at
 * padding) and, when weights is not NULL, loss weights: -lambda where the
 * target is masked, 1 elsewhere, 0 without a target.  Records longer than T
 * are an error.  Returns the number of label positions (Σ lengths), the
 * divisor of the IF-Guide objective; *npred gets the predicted positions. */
int64_t ifg_tokdata_batch(const struct ifg_tokdata *d, const size_t *idx, int nrec, int T,
			  double lambda, uint32_t *tokens, int32_t *targets, float *weights,
			  int64_t *npred);

#endif

/* tokdata.h: token records (kind "tokens") held in memory, for training and
 * evaluation: load, order by epoch, assemble (B, T) batches with targets and
 * IF-Guide loss weights; and preference pairs (kind "pairs") for DPO.
 *
 * Every record's tokens are kept in one array; its optional "mask" (u8 [T],
 * 1 = selected, aligned with the tokens) in a parallel array.  A record of n
 * tokens has n label positions and n - 1 predicted positions: position t
 * predicts token t + 1 (the labels are the tokens, shifted by one, and the
 * mask is shifted with them, doc/method.md §6.2 and §7). */
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
	int nfiles;
	char **files;		/* (nfiles): the inputs' names, for messages */
	size_t *file_end;	/* (nfiles): records in files 0 .. f together */
};

/* Reads every record of the files (NULL or "-" is stdin; zstd is detected).
 * All files must carry the same tokenizer.  Records shorter than 2 tokens are
 * kept but predict nothing.  -1 with a message naming the file and record. */
int ifg_tokdata_load(struct ifg_tokdata *d, const char *const *paths, int npaths);
void ifg_tokdata_free(struct ifg_tokdata *d);
/* 0 when every record fits a model of context n_ctx and vocab_size ids;
 * else -1 with a message naming the first record that does not by file and
 * record number (the header is record 0, as in reader messages). */
int ifg_tokdata_fits(const struct ifg_tokdata *d, int n_ctx, int vocab_size);

/* The record at position i of the stream "epoch 0, epoch 1, ...": each epoch
 * is a permutation of the records, shuffled by (seed, epoch) with
 * ifg_rng_init2 and Fisher-Yates (identity when !shuffle).  The order
 * object caches one epoch. */
struct ifg_order {
	size_t n;		/* records */
	uint64_t seed;
	bool shuffle;
	uint64_t epoch;		/* of perm, or UINT64_MAX */
	uint32_t *perm;
};
void ifg_order_init(struct ifg_order *o, size_t n, uint64_t seed, bool shuffle);
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

/* Preference pairs: a prompt and two continuations, chosen and rejected,
 * each at least one token.  A pair makes two sequences, prompt + chosen and
 * prompt + rejected, whose loss covers the continuation tokens only: the
 * prediction of continuation token j is at position P + j - 1. */
struct ifg_pairdata {
	size_t n;		/* pairs */
	uint64_t *off;		/* (n + 1): pair i is tok[off[i] .. off[i+1]):
				   prompt | chosen | rejected */
	uint32_t *np, *nc;	/* (n): prompt and chosen lengths (rejected: the rest) */
	uint32_t *tok;		/* (ntok) */
	uint64_t ntok;		/* tokens stored (a prompt once) */
	uint32_t max_len, max_id;	/* longest sequence; largest token id */
	char *tokenizer;	/* as ifg_tokdata */
	long vocab_size;
	char sha256[65];	/* of the lengths and tokens (after load) */
	size_t cap_n, cap_tok;
};

void ifg_pairdata_init(struct ifg_pairdata *d);
/* Appends a pair; -1 with a message if a part is empty or a sequence would
 * exceed 2^31 tokens. */
int ifg_pairdata_add(struct ifg_pairdata *d, const uint32_t *prompt, size_t np,
		     const uint32_t *chosen, size_t nc, const uint32_t *rejected, size_t nr);
/* Reads every record of "pairs" streams (NULL or "-": stdin), all from one
 * tokenizer; -1 with a message naming the file and record (another kind, an
 * empty part, a token outside the tokenizer's vocabulary). */
int ifg_pairdata_load(struct ifg_pairdata *d, const char *const *paths, int npaths);
void ifg_pairdata_free(struct ifg_pairdata *d);
/* Fills a (2 nrec, T) batch from pairs idx[0..nrec): row b is prompt +
 * chosen of pair idx[b], row nrec + b prompt + rejected; tokens padded with
 * 0, targets the next token at the continuation's predictions and -1
 * elsewhere.  Sequences longer than T are an error.  Returns the tokens of
 * the 2 nrec sequences. */
int64_t ifg_pairdata_batch(const struct ifg_pairdata *d, const size_t *idx, int nrec, int T,
			   uint32_t *tokens, int32_t *targets);

#endif

/* metrics.h: evaluation metrics (doc/method.md §8).
 *
 * Toxicity of sampled continuations (EMT, TP).  Samples arrive as JSONL
 * lines {"id": ..., "<key>": score, ...}; lines of one prompt need not be
 * adjacent.  Per prompt only the running maximum is kept (one hash map entry
 * per prompt id), so memory grows with the number of prompts, not samples.
 *   EMT = (1/P) Σ_prompts max_samples score
 *   TP  = (1/P) #{prompts : max_samples score >= 0.5}
 * and, per sample rather than per prompt (these do not saturate when every
 * prompt has some toxic sample among many):
 *   mean = (1/S) Σ_samples score,   toxic_frac = (1/S) #{samples : score >= 0.5}
 * Prompts may be split into groups by the value of a field (e.g. "label");
 * every line of a prompt must carry the same value.
 *
 * Perplexity of token records under a GPT-2 (ifg_gpt).  Record tokens
 * x_0 .. x_{T-1}: position t predicts x_{t+1}, so a record has T - 1
 * predictions, the same count and NLL that ifg-train's validation uses
 * (tokdata.h).  A record longer than n_ctx is cut into windows of n_ctx
 * input tokens without overlap; window k's inputs are x_{kW} .. and its last
 * position predicts the first token of window k + 1, so every position
 * 1..T-1 is still predicted exactly once (each window starting without
 * the context before it).
 *   ppl = exp(Σ NLL / #predictions)
 * Last-token accuracy (LAMBADA style): argmax of the logits at position T-2
 * (the first maximal id on ties) equals x_{T-1}; over records of >= 2 tokens. */
#ifndef IFG_METRICS_H
#define IFG_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "gpt.h"

/* ---- toxicity ---- */

struct ifg_tox_stats {
	double emt, tp;		/* NaN when prompts == 0 */
	double mean, toxic_frac;	/* per sample; NaN when samples == 0 */
	uint64_t prompts, samples;
};

/* A result row: the split value (NULL for all prompts) and its statistics. */
struct ifg_tox_row {
	const char *name;	/* NUL-terminated, or NULL */
	size_t name_len;	/* bytes (the value may hold a NUL) */
	struct ifg_tox_stats s;
};

struct ifg_tox;

/* split: the field that groups prompts, or NULL. */
struct ifg_tox *ifg_tox_new(const char *key, const char *split);
void ifg_tox_free(struct ifg_tox *t);

/* Adds one sample of prompt id (any bytes: a canonical key) in group
 * (bytes, ignored without a split) with score in [0, 1].  -1 with a
 * message when the score is out of range or the prompt was seen before
 * with another group. */
int ifg_tox_add(struct ifg_tox *t, const char *id, size_t id_len, const char *group,
		size_t group_len, double score);

/* Adds one JSONL line (blank lines: nothing).  The id is the "id" field (any
 * JSON value: 7 and "7" are different prompts); the score is field key, a
 * number in [0, 1]; the group is field split, a string (its text) or another
 * value (its compact JSON).  -1 with a message on bad JSON, a missing field,
 * a score that is not a number or is out of range. */
int ifg_tox_add_json(struct ifg_tox *t, const char *line, size_t len);

/* Reads a JSONL file (NULL or "-": stdin; zstd detected) line by line;
 * messages are "'name': line N: why". */
int ifg_tox_add_file(struct ifg_tox *t, const char *path);

/* Rows: all prompts first, then each split value in byte order.  Valid until
 * the next add or free. */
size_t ifg_tox_rows(struct ifg_tox *t, const struct ifg_tox_row **rows);

/* ---- perplexity ---- */

struct ifg_ppl {
	double nll;		/* Σ NLL over predicted positions (nats) */
	uint64_t tokens;	/* predicted positions */
	uint64_t records;
	uint64_t last_n, last_hit;	/* records of >= 2 tokens; correct last tokens */
};

struct ifg_ppl_eval;

/* batch: windows per forward (rows of at most n_ctx tokens).  The model is
 * borrowed, not owned. */
struct ifg_ppl_eval *ifg_ppl_eval_new(struct ifg_gpt *m, int batch);
void ifg_ppl_eval_free(struct ifg_ppl_eval *e);
/* Queues one record's windows, running the model on every full batch.  Ids
 * must be < vocab_size (checked).  -1 with a message. */
int ifg_ppl_eval_add(struct ifg_ppl_eval *e, const uint32_t *tok, size_t n);
/* Runs the model on the queued windows; the sums are final after it. */
int ifg_ppl_eval_flush(struct ifg_ppl_eval *e);
const struct ifg_ppl *ifg_ppl_eval_sums(const struct ifg_ppl_eval *e);
/* fn(sums, arg) after every forward pass (progress reports); NULL: none. */
void ifg_ppl_eval_on_batch(struct ifg_ppl_eval *e,
			   void (*fn)(const struct ifg_ppl *sums, void *arg), void *arg);

/* From now on, a file whose tokenizer is not the one checkpoint ckpt was
 * trained with (when it records one, modeltok.h) is refused.  -1 with a
 * message when the checkpoint cannot be read. */
int ifg_ppl_eval_check_tokenizer(struct ifg_ppl_eval *e, const char *ckpt);
/* Reads token records (kind "tokens") of a file and adds them.  A header
 * whose tokenizer vocabulary exceeds the model's, or another tokenizer than
 * the checkpoint's (ifg_ppl_eval_check_tokenizer), or a token id outside the
 * vocabulary fails naming the file and record. */
int ifg_ppl_eval_add_file(struct ifg_ppl_eval *e, const char *path);

#endif

/* bpe_train.h: learning a byte-level BPE vocabulary from text.
 *
 * Text is split by GPT-2's pre-tokenizer (pretok.h) and the pieces counted;
 * then, starting from the 256 bytes, the most frequent adjacent pair of
 * tokens (over all pieces, weighted by their counts; ties to the pair with
 * the smaller ids) is merged into a new token until the vocabulary has the
 * size asked for, the last id going to "<|endoftext|>".  Pair counts are
 * updated incrementally from the pieces that hold the merged pair, so each
 * merge costs time in proportion to where that pair occurs.
 *
 * The result is written as GPT-2's vocab.json + merges.txt, which
 * ifg_bpe_load() (and Hugging Face's BPE) reads back.  The first 256 ids
 * are the bytes in GPT-2's order (printable bytes first, as in its
 * bytes_to_unicode).  Pieces longer than IFG_BPE_TRAIN_MAXWORD bytes are
 * left out of the counts. */
#ifndef IFG_BPE_TRAIN_H
#define IFG_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#define IFG_BPE_TRAIN_MAXWORD 256

struct ifg_bpe_trainer;

/* A trainer with no counts yet (never NULL). */
struct ifg_bpe_trainer *ifg_bpe_trainer_new(void);
void ifg_bpe_trainer_free(struct ifg_bpe_trainer *tr);

/* Counts the pre-tokens of one document. */
void ifg_bpe_trainer_add(struct ifg_bpe_trainer *tr, const void *text, size_t len);
/* Pre-tokens counted so far: all of them, and distinct ones. */
uint64_t ifg_bpe_trainer_words(const struct ifg_bpe_trainer *tr);
uint64_t ifg_bpe_trainer_distinct(const struct ifg_bpe_trainer *tr);

/* Learns merges until the vocabulary has vocab_size tokens (257 <=
 * vocab_size <= 2^31), <|endoftext|> included, or no pair is left to merge
 * (a small corpus): the size reached is returned, or -1 with a message. */
int64_t ifg_bpe_trainer_learn(struct ifg_bpe_trainer *tr, uint32_t vocab_size);

/* Writes vocab.json and merges.txt (atomically, stream.h).  -1 with a
 * message on failure. */
int ifg_bpe_trainer_write(const struct ifg_bpe_trainer *tr, const char *vocab_path,
			  const char *merges_path);

#endif

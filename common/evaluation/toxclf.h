/* toxclf.h: a linear toxicity classifier over hashed word and character
 * n-grams (logistic regression trained by Adagrad), its held-out evaluation
 * (accuracy, ROC AUC) and its model file.
 *
 * Features of a text (ifg_toxfeat_extract):
 *   normalisation  ASCII letters lower-cased; bytes >= 0x80 kept (UTF-8 is
 *                  n-grammed as bytes); runs of 3 or more equal characters
 *                  in a word cut to 2 ("fuuuck" -> "fuuck"), so elongations
 *                  share features with each other;
 *   words          maximal runs of [a-z0-9'] and bytes >= 0x80, apostrophes
 *                  trimmed at the ends; "@name" becomes "@", a token
 *                  starting with "http" or "www." up to the next space
 *                  becomes "<url>" (tweets are full of both);
 *   n-grams        word unigrams and bigrams, and character n-grams of
 *                  length 2..5 of each word padded with a space on both
 *                  sides (" hoe " -> " h", "ho", ..., " hoe ");
 *   values         every n-gram hashed (splitmix64 over FNV-1a, salted by
 *                  its kind) to one of 2^bits buckets, counted, and the
 *                  count vector scaled to unit L2 norm, so long and short
 *                  texts give logits of the same scale.
 * The model is p = sigmoid(b + w . x).
 *
 * Training (ifg_toxclf_learn): the documents are split by the seed into a
 * held-out fraction and the rest; Adagrad (per-coordinate step
 * lr / sqrt(sum g^2)) minimises the mean log loss plus (l2 / 2) |w|^2 over
 * the rest for a fixed number of epochs, visiting the documents in an order
 * shuffled per epoch by the seed.  The L2 term is applied to the coordinates
 * a document touches (the usual sparse approximation).  Deterministic for a
 * seed: single-threaded, fixed order, no data-dependent branching on
 * timing.
 *
 * Model file (little-endian, version 1):
 *   0   char[8]  "IFGTOXLR"
 *   8   u32      version (1)
 *   12  u32      bits (IFG_TOXCLF_MIN_BITS..IFG_TOXCLF_MAX_BITS)
 *   16  u32      feature set (IFG_TOXFEAT_V1); a scorer refuses other sets
 *   20  u32      epochs trained
 *   24  f64      bias
 *   32  f64      held-out accuracy (NaN: no held-out set)
 *   40  f64      held-out AUC (NaN: undefined)
 *   48  u64      training documents
 *   56  u64      held-out documents
 *   64  f32      w[2^bits]
 *   end u64      FNV-1a 64 of all the bytes before it
 * A loader checks the magic, version, bits and feature set, then that the
 * file's size is exactly what they imply (before allocating), then the
 * checksum, then that every weight is finite. */
#ifndef IFG_TOXCLF_H
#define IFG_TOXCLF_H

#include <stddef.h>
#include <stdint.h>

#define IFG_TOXCLF_MIN_BITS 10
#define IFG_TOXCLF_MAX_BITS 24
#define IFG_TOXFEAT_V1 1u

/* A sparse feature vector: n (index, value) pairs, indices ascending and
 * distinct. */
struct ifg_toxfeat {
	uint32_t *idx;
	float *val;
	size_t n, cap;
	char *buf;	/* scratch: the normalised text */
	size_t bcap;
};

void ifg_toxfeat_init(struct ifg_toxfeat *f);
void ifg_toxfeat_release(struct ifg_toxfeat *f);
/* f = the unit-norm hashed n-gram vector of text[0..n) in 2^bits buckets
 * (f->n = 0 for a text without a word). */
void ifg_toxfeat_extract(struct ifg_toxfeat *f, const char *text, size_t n, unsigned bits);

/* The same n-grams as counts (f->val[i] = occurrences, exact below 2^24,
 * not scaled), indices ascending, with the first word's bigram taking the
 * word prev[0..prevn) (normalised, as ifg_toxfeat_last_word gives it;
 * NULL: none) as its left side.
 *
 * Splitting: the normalisation never looks across a space, tab, CR or LF
 * (words, "@name" and URLs all end there), so when text = a b with a ending
 * in one of those bytes, the counts of text are the counts of a plus the
 * counts of b with prev = the last word of a (the last word before a when a
 * has none).  This makes scoring text that grows at its end incremental
 * (rad.h). */
void ifg_toxfeat_counts(struct ifg_toxfeat *f, const char *text, size_t n, unsigned bits,
			const char *prev, size_t prevn);
/* The last normalised word of the text of f's last counts or extract call
 * (in f's scratch: valid until the next call), its length in *n; NULL when
 * that text had no word. */
const char *ifg_toxfeat_last_word(const struct ifg_toxfeat *f, size_t *n);

/* Labelled documents: the texts in one arena. */
struct ifg_toxdata {
	char *text;	/* text of document i: text[off[i] .. off[i+1]) */
	size_t *off;	/* [n + 1] */
	uint8_t *y;	/* [n], 1 = toxic */
	size_t n, cap, tlen, tcap;
};

void ifg_toxdata_init(struct ifg_toxdata *d);
void ifg_toxdata_add(struct ifg_toxdata *d, const char *s, size_t n, int y);
void ifg_toxdata_release(struct ifg_toxdata *d);

struct ifg_toxclf_cfg {
	unsigned bits, epochs;
	double lr, l2;
	uint64_t seed;
};
/* 2^18 buckets, 5 epochs, lr 0.2, l2 1e-6, seed 0. */
extern const struct ifg_toxclf_cfg ifg_toxclf_default;

struct ifg_toxclf {
	uint32_t bits, epochs;
	double bias;
	float *w;	/* [2^bits] */
	double acc, auc;	/* held out; NaN when not measured */
	uint64_t ntrain, ntest;
};

/* Trains m on d minus a held-out fraction (0 <= holdout < 1; the split is
 * by cfg->seed: a shuffled order, the first round(holdout * n) held out) and
 * evaluates it there.  -1 with a message when the training part is empty or
 * has one class only.  Free m with ifg_toxclf_release. */
int ifg_toxclf_learn(struct ifg_toxclf *m, const struct ifg_toxdata *d, double holdout,
		     const struct ifg_toxclf_cfg *cfg);
/* P(toxic) of a feature vector made with m->bits. */
double ifg_toxclf_prob_feat(const struct ifg_toxclf *m, const struct ifg_toxfeat *f);
/* P(toxic) of a text; f is scratch. */
double ifg_toxclf_prob(const struct ifg_toxclf *m, struct ifg_toxfeat *f, const char *text,
		       size_t n);
void ifg_toxclf_release(struct ifg_toxclf *m);

/* Written atomically (stream.h); -1 with a message. */
int ifg_toxclf_save(const struct ifg_toxclf *m, const char *path);
/* -1 with a message "'path': why" (unreadable, not a model, another
 * version, wrong size, corrupt). */
int ifg_toxclf_load(struct ifg_toxclf *m, const char *path);

/* A classifier's quality on labelled documents: their probabilities and
 * labels, then the accuracy (a probability >= 0.5 read as toxic) and the
 * ROC AUC (ifg_auc).  Zero-initialised, or after ifg_toxeval_release. */
struct ifg_toxeval {
	double *p;	/* [n] */
	uint8_t *y;	/* [n], 1 = toxic */
	size_t n, cap;
	size_t npos, right;	/* toxic documents; those classified right */
};
void ifg_toxeval_add(struct ifg_toxeval *e, double p, int y);
/* Accuracy and AUC (NaN when e is empty; the AUC too when one class is
 * missing). */
void ifg_toxeval_result(const struct ifg_toxeval *e, double *acc, double *auc);
void ifg_toxeval_release(struct ifg_toxeval *e);

/* ROC AUC of scores s against labels y (1 positive): the Mann-Whitney
 * statistic, tied scores counting one half.  NaN unless both classes occur.
 * O(n log n); NaN scores are not allowed. */
double ifg_auc(const double *s, const uint8_t *y, size_t n);

#endif

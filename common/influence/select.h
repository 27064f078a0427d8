/* select.h: toxic token selection (IF-Guide Algorithm 1, doc/method.md §6) and
 * its baselines, in pieces that work on a stream of score records without
 * holding the scores in memory.
 *
 * IF-Guide selection, exactly as the authors' build_toxic_token_mask.py:
 *   1. tau = numpy.quantile(all scores as float32, p), linear interpolation
 *      (the result is a double, see ifg_quantile_tau);
 *   2. above[i,j] = S[i,j] > (float)tau -- strict, and compared in float32,
 *      because torch compares a float32 tensor with a Python float after
 *      rounding the scalar to the tensor's dtype;
 *   3. c_i = #above, f_i = sum of the above scores; both min-max normalised
 *      over documents, (x - min) / (max - min + 1e-6), and ranked by
 *      R_i = 2 c' f' / (c' + f' + 1e-6), all in float32 as torch does it;
 *   4. documents in descending R (ties: earlier document first; torch's
 *      argsort is unstable there), above positions j ascending, window
 *      [max(0, j-w), min(T, j+w+1)); stop for good before a window whose new
 *      tokens would make the total exceed the budget L.
 * Deviation: f_i is summed in double in position order, then rounded to
 * float32 (torch sums in float32 in an order of its own).
 *
 * Streaming: the quantile is an exact two-level radix selection over the
 * order-preserving 32-bit keys of the float32 scores: pass 1 counts the high
 * 16 bits, pass 2 the low 16 bits inside the one or two buckets that hold
 * the ranks numpy interpolates between; memory is 1.5 MiB whatever the
 * number or distribution of scores.  A third pass gives each document
 * (c_i, f_i, u_i), u_i being how many tokens its windows cover; the ranking
 * and the budget then fix, before any output, which documents are selected
 * whole, which one is cut short (and with what remaining budget), and the
 * last pass writes the masks.  Per document: 40 bytes; scores: none. */
#ifndef IFG_SELECT_H
#define IFG_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <msgpack.h>

#include "rec.h"
#include "rng.h"

/* ---- float32 keys ---- */

/* Order-preserving map of a finite float to uint32 (-0 and +0 share the
 * key of +0): a < b  <=>  key(a) < key(b). */
uint32_t ifg_sel_key(float x);
float ifg_sel_unkey(uint32_t k);

/* ---- exact quantile over a stream (numpy.quantile, method "linear") ---- */

struct ifg_quantile;

/* p in [0, 1].  NULL on allocation failure never happens (ifg_x*). */
struct ifg_quantile *ifg_quantile_new(double p);
void ifg_quantile_free(struct ifg_quantile *q);
/* Pass 1: every value once, in any order.  Values must be finite. */
void ifg_quantile_add1(struct ifg_quantile *q, const float *x, size_t n);
/* Ends pass 1.  Returns 1 when pass 2 is needed, 0 when the result is
 * already known (no values), -1 with a message on misuse. */
int ifg_quantile_end1(struct ifg_quantile *q);
/* Pass 2: the same values again (any order). */
void ifg_quantile_add2(struct ifg_quantile *q, const float *x, size_t n);
/* The quantile as numpy computes it for a float32 array: with n values,
 * v = (n-1)*p, k = floor(v), g = v - k, a, b the k-th and (k+1)-th smallest
 * (both the largest when v >= n-1), d = b - a in float32; then in double
 * a + d*g, or b - d*(1-g) when g >= 0.5.  NaN when there were no values.
 * -1 if pass 1 has not ended.  Call it after pass 2, when one was needed. */
int ifg_quantile_tau(struct ifg_quantile *q, double *tau);
uint64_t ifg_quantile_count(const struct ifg_quantile *q);

/* In-memory convenience: both passes over one array. */
int ifg_quantile_f32(const float *x, size_t n, double p, double *tau);

/* ---- per-document statistics and masks ---- */

struct ifg_sel_doc {
	uint32_t T;	/* tokens */
	uint32_t c;	/* scores > tau32 */
	uint32_t u;	/* tokens covered by the windows around them */
	float r;	/* IF-Guide rank R_i (set by ifg_sel_rank) */
	double f;	/* sum of the scores > tau32 (double, position order) */
	double sum;	/* sum of all scores (document-level influence) */
};

/* Fills d->T, c, u, f, sum from one document's scores s [T]. */
void ifg_sel_doc_stats(const float *s, uint32_t T, float tau32, uint32_t w,
		       struct ifg_sel_doc *d);

/* Windows around the positions j with s[j] > tau32, in ascending j, added to
 * mask [T] (zeroed first) while they fit in *budget new tokens; the first
 * window that does not fit sets *stopped and ends the document.  *budget is
 * reduced by the tokens marked; returns that number. */
uint32_t ifg_sel_doc_mask(const float *s, uint32_t T, float tau32, uint32_t w,
			  uint64_t *budget, bool *stopped, uint8_t *mask);

/* IF-Guide ranking: sets docs[i].r (float32 arithmetic of the reference)
 * and order[0..n) = document indices by descending r, ties by index.
 * -1 with a message when a score sum overflows float32. */
int ifg_sel_rank(struct ifg_sel_doc *docs, size_t n, uint32_t *order);

/* What the last pass does to document i: quota[i] = UINT64_MAX selects it
 * whole, 0 leaves it out, any other value selects it under that budget (the
 * one document where the budget ran out; it may still get no token, when
 * its first window is already too big).  Returns the number of documents
 * selected whole.  Walks `order`, using docs[].u and the rule "stop
 * before a window exceeds L": a document whose u fits is taken whole; the
 * first that does not fit gets the remaining budget and ends the walk. */
size_t ifg_sel_plan(const struct ifg_sel_doc *docs, size_t n, const uint32_t *order,
		    uint64_t budget, uint64_t *quota);

/* Standard influence filtering baseline: order by descending document sum
 * (ties by index) and mark whole documents to drop (drop[i] = 1) while the
 * dropped tokens stay within the budget; stops at the first that does not
 * fit.  Returns the number of dropped tokens. */
uint64_t ifg_sel_drop_docs(struct ifg_sel_doc *docs, size_t n, uint32_t *order,
			   uint64_t budget, uint8_t *drop);

/* ---- random-token baseline ---- */

/* Selection sampling (Knuth's Algorithm S): exactly `want` of `total`
 * tokens, every subset equally likely, decided in stream order, one draw of
 * the seeded generator (rng.h) per token considered. */
struct ifg_sel_random {
	struct ifg_rng rng;
	uint64_t total, seen, want, taken;
};
void ifg_sel_random_init(struct ifg_sel_random *r, uint64_t seed, uint64_t total,
			 uint64_t want);
/* Marks mask [T] for the next T tokens of the stream; returns how many. */
uint32_t ifg_sel_random_mask(struct ifg_sel_random *r, uint32_t T, uint8_t *mask);

/* ---- word-list baseline ---- */

/* A word list: lower-cased ASCII words (one per line, '#' comments), the
 * words that -m words masks.  Not to be confused with lexicon.h's
 * ifg_toxlex, a toxicity lexicon with severities that scores text. */
struct ifg_wordlist;
struct ifg_wordlist *ifg_wordlist_load(const char *path);
void ifg_wordlist_free(struct ifg_wordlist *lx);
size_t ifg_wordlist_size(const struct ifg_wordlist *lx);
/* Marks in mask [T] every token that overlaps a word of text (maximal runs
 * of ASCII letters, digits and apostrophes, compared case-insensitively)
 * found in the lexicon.  off [T + 1]: byte offsets of the tokens in text
 * (token t is text[off[t] .. off[t+1])).  Returns the tokens marked. */
uint32_t ifg_wordlist_mask(const struct ifg_wordlist *lx, const char *text,
			   const uint32_t *off, uint32_t T, uint8_t *mask);

/* ---- text of a document ---- */

struct ifg_bpe;
/* The bytes of ids [T] appended to a fresh *text (NUL-terminated, caller
 * frees) and the offset of each token: token t is (*text)[off[t], off[t+1]),
 * off [T + 1].  -1 with a message on an id that is not a token or a text
 * over 4 GiB. */
int ifg_sel_decode(const struct ifg_bpe *bpe, const uint32_t *ids, uint32_t T, char **text,
		   uint32_t *off);
/* Writes the text of T tokens with the runs of selected tokens (mask[t]
 * nonzero) highlighted: bold red on a terminal (color), else between "[["
 * and "]]".  Control bytes other than newline and tab are shown as \xHH,
 * so a document cannot drive the terminal. */
void ifg_sel_render(FILE *f, const char *text, const uint32_t *off, const uint8_t *mask,
		    uint32_t T, bool color);

/* The inspection view.  Reads a tokens (or scores) stream whose records
 * carry a mask and prints to f, for the `count` records with the most
 * selected tokens (most first, the earlier on ties) -- or for record number
 * `record` (0-based) when record >= 0 -- a line
 *   "# record I (id ID): K of T tokens selected"
 * then the record's text rendered by ifg_sel_render, then an empty line.
 * The stream's tokenizer must be bpe's.  0, or -1 with a message. */
int ifg_sel_show(FILE *f, const char *path, const struct ifg_bpe *bpe, long count, long record,
		 bool color);

/* ---- passes over a scores stream ---- */

/* One record of a scores stream, as the scan hands it out. */
struct ifg_sel_rec {
	uint64_t index;			/* 0-based record number (header not counted) */
	const msgpack_object *rec;	/* valid during the callback */
	const float *scores;		/* [T], or NULL (see ifg_sel_scan) */
	const struct ifg_array *tokens;	/* [T] */
	uint32_t T;
	const struct ifg_reader *reader; /* for messages */
};

/* Opens path (a regular file, or standard input prepared by
 * ifg_in_stdin_rereadable in stream.h: it is read once per pass), checks the header
 * (kind "scores"; with need_scores false also "tokens", and then scores is
 * NULL), and calls cb on every record with its scores converted to float32
 * (finite, one dimension, the same length as its "tokens" array).  hdr_cb,
 * when not NULL, sees the header first.  A callback returns 0 to go on, -1
 * (message set) to stop.  Returns 0 or -1 with a message. */
typedef int (*ifg_sel_hdr_fn)(void *ctx, const struct ifg_reader *r, const msgpack_object *hdr);
typedef int (*ifg_sel_rec_fn)(void *ctx, const struct ifg_sel_rec *r);
int ifg_sel_scan(const char *path, bool need_scores, ifg_sel_hdr_fn hdr_cb, ifg_sel_rec_fn cb,
		 void *ctx);


#endif

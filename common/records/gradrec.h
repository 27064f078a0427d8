/* gradrec.h: headers and records of the grads, gradsum, cov, eigen and
 * factors kinds (kinds.h, ekfac.h), and the checks that streams handed to
 * one program come from the same model.
 *
 *   grads    header: model, tokenizer, layers [{name, d_in, d_out[, bias]}],
 *                    labels, seed, dtype;  record: ... + grads [{a (T, na),
 *                    s (T, d_out)} per layer]
 *   gradsum  header: as grads + count;  record: count, G [f64 (d_out, na)]
 *   cov      header: model, tokenizer, layers, labels, seed, records;
 *            record per layer: layer, name, A_sum, A_count, S_sum, S_count
 *   eigen    header: as cov;  record per layer: layer, name, A_count,
 *            S_count, QA, eigvals_A, QS, eigvals_S
 *   factors  header: as cov + strategy;  record per layer: layer, name,
 *            [QA, eigvals_A, QS, eigvals_S], [Lambda_sum, Lambda_count]
 *
 * Record layers come in header order; "layer" is the index.  na = d_in + 1
 * for a layer with a bias (the constant-1 column last in a), d_in for one
 * without; a layer's header entry says "bias": false only for the latter
 * (absent: true). */
#ifndef IFG_GRADREC_H
#define IFG_GRADREC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "ekfac.h"
#include "influence.h"	/* struct ifg_scorer, for the scores header */
#include "rec.h"

#define IFG_K_BIAS "bias"
#define IFG_K_PRECISION "precision"	/* cov, eigen, factors, scores: "f32" or "f64" */

struct ifg_layer_shape {
	char *name;
	int d_in, d_out;	/* d_in without the bias column */
	bool bias;		/* a bias column: na = d_in + bias */
};

/* What a consumer checks in a header.  Owns a copy of the header map. */
struct ifg_gradhdr {
	char *source;			/* the stream's name, for messages */
	char *kind;
	const msgpack_object *hdr;	/* the whole header map */
	const msgpack_object *model;	/* MODEL map */
	const msgpack_object *tokenizer;/* NULL when absent */
	char model_sha256[65];
	int n_layers;
	struct ifg_layer_shape *layers;
	char labels[16];		/* "true", "sampled", or "" when absent */
	bool has_seed;
	int64_t seed;
	enum ifg_dtype dtype;		/* grads: f32 or bf16 (default f32) */
	int64_t count;			/* gradsum count, or cov/eigen/factors records; -1 */
	char strategy[16];		/* factors: strategy ("" when absent) */
	char precision[8];		/* cov, eigen, factors: of the products ("" absent) */
	msgpack_sbuffer raw_;
	msgpack_unpacked unp_;
};

/* Reads the header of r; its kind must be one of kinds (NULL-terminated). */
int ifg_gradhdr_read(struct ifg_reader *r, const char *const *kinds, struct ifg_gradhdr *h);
/* The same from a header map that is not r's own (one made in-process, of
 * the given kind); r names the stream in messages. */
int ifg_gradhdr_from_map(const struct ifg_reader *r, const char *kind, const msgpack_object *map,
			 struct ifg_gradhdr *h);
void ifg_gradhdr_release(struct ifg_gradhdr *h);
/* 0 when a and b name the same model (MODEL sha256), the same tracked
 * layers (names and shapes, in order) and, when both state one, the same
 * tokenizer; else -1 with a message naming both streams ("what" says what
 * each stream is, e.g. "factors"). */
int ifg_gradhdr_same_model(const struct ifg_gradhdr *a, const char *what_a,
			   const struct ifg_gradhdr *b, const char *what_b);

/* The pairs every derived header carries over from h: model, tokenizer,
 * layers, labels, seed (those present).  Count, then pack. */
uint32_t ifg_gradhdr_npairs(const struct ifg_gradhdr *h);
void ifg_gradhdr_pack_pairs(msgpack_packer *pk, const struct ifg_gradhdr *h);
/* "layers": [{name, d_in, d_out}], "bias": false added for a layer without */
void ifg_pack_kv_layers(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers);

/* ---- grads ---- */

struct ifg_layer_grad {
	struct ifg_array a;	/* (T, na) */
	struct ifg_array s;	/* (T, d_out) */
};

/* The per-layer arrays of one grads record (g: h->n_layers entries), their
 * shapes checked against the header; *T the record's token count (equal to
 * the length of its tokens field when there is one). */
int ifg_grads_parse(const struct ifg_reader *r, const struct ifg_gradhdr *h,
		    const msgpack_object *rec, struct ifg_layer_grad *g, uint64_t *T);
/* Packs "grads": per layer {a: (T, na), s: (T, d_out)}, stored as dtype
 * (f32 or bf16). */
void ifg_pack_kv_grads(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers,
		       uint64_t T, const float *const *a, const float *const *s,
		       enum ifg_dtype dtype);

/* ---- gradsum ---- */

/* Packs the gradsum record {count, G: [f64 (d_out, na) per layer]}. */
void ifg_pack_gradsum(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers,
		      int64_t count, const double *const *G);
/* Reads a whole gradsum stream: header into h, *G gets h->n_layers arrays
 * (each (d_out, na), free each and the array), *count its count. */
int ifg_gradsum_read(const char *path, struct ifg_gradhdr *h, double ***G, int64_t *count);
/* The same from r, whose header has been read (ifg_reader_header); fails
 * when it is not a gradsum stream's.  r is left open. */
int ifg_gradsum_from(struct ifg_reader *r, struct ifg_gradhdr *h, double ***G, int64_t *count);

/* ---- cov, eigen, factors ---- */

enum { IFG_PART_COV = 1, IFG_PART_EIGEN = 2, IFG_PART_LAMBDA = 4 };

/* Layers named and shaped as h's, every part NULL. */
void ifg_factors_from_header(struct ifg_factors *f, const struct ifg_gradhdr *h);
/* Header of a cov, eigen or factors stream derived from src; precision
 * ("f32", "f64") says how its sums were made, NULL leaves it out. */
void ifg_factor_header(struct ifg_writer *w, const char *kind, const struct ifg_gradhdr *src,
		       int64_t records, const char *strategy, const char *precision);
/* One layer record: the parts in mask that l holds (counts with them). */
void ifg_factor_rec_pack(msgpack_packer *pk, int index, const struct ifg_layer_factors *l,
			 unsigned parts);
/* Parses a layer record into l (named and shaped already; parts it holds are
 * replaced).  The record's layer must be index `expect`. */
int ifg_factor_rec_parse(const struct ifg_reader *r, const msgpack_object *rec, int expect,
			 struct ifg_layer_factors *l);
/* Reads a whole cov, eigen or factors stream (kind one of kinds). */
int ifg_factors_read(const char *path, const char *const *kinds, struct ifg_gradhdr *h,
		     struct ifg_factors *f);

/* Header of a scores stream: the grads header's model, tokenizer, layers,
 * labels and seed, then method, level, strategy, damping {rule, value,
 * layers: f64 [L]}, queries, negatives, precision. */
void ifg_scores_header(struct ifg_writer *w, const struct ifg_gradhdr *grads,
		       const struct ifg_scorer *sc, bool differential, bool document,
		       int64_t queries, int64_t negatives);

#endif

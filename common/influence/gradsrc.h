/* gradsrc.h: the per-token gradients of records, one record at a time,
 * either read from a grads stream (ifg-grad's output) or computed
 * in-process from a tokens stream and a model (gradext.h), so that a
 * consumer (ifg-factor, ifg-influence) need not have them serialised
 * through a pipe or a file.  Both give the same header (a grads header:
 * model, tokenizer, layers, labels, seed, dtype) and, per record, f32
 * arrays a (T, na) and s (T, o) per layer and the record's other fields. */
#ifndef IFG_GRADSRC_H
#define IFG_GRADSRC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "gpt.h"
#include "gradext.h"
#include "gradrec.h"
#include "modeltok.h"
#include "rec.h"

/* A model that computes gradients in-process, shared by the inputs. */
struct ifg_gradmodel {
	const char *path;
	struct ifg_gpt *m;
	struct ifg_model_id id;
	struct ifg_gradext g;
	struct ifg_tok_id tok;	/* what the checkpoint was trained with */
	int has_tok;		/* 1 when it says (and the check is on) */
	bool sample;		/* labels drawn from the model (--sample) */
	uint64_t seed;
	double loss_sum;
};

/* One tokens record's work for a model: its tokens, where the loss starts
 * (cont) and its label-sampling key (ifg_sample_key). */
struct ifg_gradjob {
	uint32_t *tok;
	size_t cap;
	int T, cont;
	uint64_t key;
	double loss;		/* after ifg_gradjob_run: the record's summed loss */
};

/* Loads ckpt and chooses its layers (gradext.h's select); any_tok skips the
 * tokenizer check.  -1 with a message. */
int ifg_gradmodel_open(struct ifg_gradmodel *gm, const char *ckpt, const char *layers,
		       bool sample, uint64_t seed, bool any_tok);
/* twin: gm's model with its own activations (gpt.h ifg_gpt_twin) and gm's
 * layers, to compute other records' gradients beside gm on another thread
 * (gradlanes.h); closed before gm.  -1 with a message. */
int ifg_gradmodel_twin(struct ifg_gradmodel *twin, struct ifg_gradmodel *gm);
void ifg_gradmodel_close(struct ifg_gradmodel *gm);
/* The bytes the model holds for records of up to T tokens: weights and
 * their gradients 8 P, activations and the backward's buffers
 * 4 T (L (25 C + 4 + H T) + 9 C + V + 6) + 4 T² (P parameters, L blocks of
 * width C with H heads, vocabulary V). */
double ifg_model_bytes(const struct ifg_gradmodel *gm, int64_t T);
/* "name,name,...": the names of n layers (a header's, a model's), a select
 * list for ifg_gradmodel_open (free it). */
char *ifg_layer_list(int n, const struct ifg_layer_shape *layers);

struct ifg_gradsrc {
	struct ifg_reader *r;
	struct ifg_gradmodel *gm;	/* NULL: a grads stream */
	struct ifg_gradhdr h;		/* a grads header either way */
	int n_layers;
	struct ifg_layer_grad *g;	/* stream: the record's arrays as stored */
	const float **a, **s;		/* per layer (T, na), (T, o) f32 of the record */
	float **abuf, **sbuf;		/* stream: the f32 copies */
	size_t *acap, *scap;
	bool f64_only;			/* stream: leave a, s unset (the caller reads
					 * ifg_gradsrc_f64 only) */
	uint64_t T;			/* of the record */
	uint64_t records;
	struct ifg_gradjob job;		/* in-process: the record's tokens */
	msgpack_sbuffer hdrbuf_;
	msgpack_unpacked hdrunp_;
};

/* Opens path (NULL or "-": stdin): a grads stream when gm is NULL, a tokens
 * stream whose gradients gm computes otherwise.  -1 with a message. */
int ifg_gradsrc_open(struct ifg_gradsrc *src, const char *path, struct ifg_gradmodel *gm);
/* The in-process form over r, a tokens stream whose header has been read
 * (ifg_reader_header); the source owns r from here on, failing or not
 * (ifg_gradsrc_close closes it).  -1 with a message. */
int ifg_gradsrc_attach(struct ifg_gradsrc *src, struct ifg_reader *r, struct ifg_gradmodel *gm);
/* The next record: 1 with *rec its fields (grads included when read from a
 * stream) and src->a, src->s, src->T set; 0 at the end; -1 with a message
 * naming the stream and record. */
int ifg_gradsrc_next(struct ifg_gradsrc *src, const msgpack_object **rec);
/* Layer l of the record in double, into *a (T, na) and *s (T, o), grown as
 * needed: from the stored arrays (exact for any stored dtype) or from the
 * in-process f32 ones. */
int ifg_gradsrc_f64(struct ifg_gradsrc *src, int l, double **a, size_t *acap, double **s,
		    size_t *scap);
void ifg_gradsrc_close(struct ifg_gradsrc *src);
/* x (n floats) in double into *out, grown as needed. */
void ifg_widen_f64(const float *x, size_t n, double **out, size_t *cap);

/* The record-parallel form of an in-process source: ifg_reader_next on
 * src->r gives the records; ifg_gradjob_parse takes one's tokens (recno: its
 * number in the input, for the sampling key; -1 with a message naming the
 * stream and record); ifg_gradjob_run computes its gradients with any model
 * opened as src->gm was (the a, s of gm->g), safe to run side by side on
 * separate models and jobs. */
int ifg_gradjob_parse(struct ifg_gradsrc *src, const msgpack_object *rec, uint64_t recno,
		      struct ifg_gradjob *job);
int ifg_gradjob_run(struct ifg_gradmodel *gm, struct ifg_gradjob *job);
void ifg_gradjob_release(struct ifg_gradjob *job);

/* The sampling key of a record: an integer id, the FNV-1a hash of a string
 * id, or its number in the input (recno) without one, so that a record
 * draws the same labels whichever shard it is in. */
uint64_t ifg_sample_key(const msgpack_object *rec, uint64_t recno);

#endif

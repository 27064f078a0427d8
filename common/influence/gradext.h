/* gradext.h: per-token inputs and output gradients of a model's tracked
 * linear layers (gpt.h ifg_gpt_lin), one record at a time: what ifg-grad
 * writes as grads records.  The layer names and widths come from the
 * model's list; the record format is gradrec.h's. */
#ifndef IFG_GRADEXT_H
#define IFG_GRADEXT_H

#include <stdint.h>

#include "gpt.h"
#include "gradrec.h"	/* struct ifg_layer_shape, the grads header's layers */
#include "rng.h"

/* The tracked layers chosen from a model and, after ifg_gradext_record, their
 * per-token inputs and output gradients for one record. */
struct ifg_gradext {
	struct ifg_gpt *m;
	int n_layers;
	struct ifg_layer_shape *layers;	/* names and widths from the model's list */
	int *lin;		/* per layer: its index in the model's tracked list */
	float **a;		/* per layer (T, na): inputs, then the bias column 1 when the
				 * layer has a bias (na = d_in + bias) */
	float **s;		/* per layer (T, d_out): d loss / d output */
	int T;			/* of the last record */
	int cap;		/* positions reserved */
	uint32_t *tok;
	int32_t *tgt;
	float *w;		/* (vocab) sampling weights */
};

/* select: "all", or a comma-separated list of tracked layer names
 * (h.3.mlp.c_fc) and kinds (mlp.c_fc: that layer of every block); the chosen
 * layers come in the model's list order (block, then kind). */
int ifg_gradext_init(struct ifg_gradext *g, struct ifg_gpt *m, const char *select);
void ifg_gradext_release(struct ifg_gradext *g);
/* Forward and backward of one record's summed loss L = Σ NLL over the label
 * positions p >= max(cont, 1) (position p - 1 predicts token p), with the true
 * labels, or with labels drawn from the model's softmax when rng is not NULL
 * (one categorical draw per label position).  Leaves a and s, and the
 * model's parameter gradients (zeroed first) of this record when it has any
 * (the model is reserved with IFG_GPT_NO_PARAM_GRADS: extraction needs none). */
int ifg_gradext_record(struct ifg_gradext *g, const uint32_t *tok, int T, int cont,
		       struct ifg_rng *rng, double *loss);

#endif

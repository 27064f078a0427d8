/* gpt.h: the GPT-2 model: parameters, forward, hand-written backward.
 *
 * Architecture (Hugging Face GPT2LMHeadModel, activation "gelu_new"):
 *   x = wte[tok] + wpe[pos]
 *   per block:  x += c_proj(attn(c_attn(ln_1(x))))        causal, fused QKV
 *               x += mlp.c_proj(gelu_tanh(c_fc(ln_2(x))))
 *   logits = ln_f(x) wteᵀ                                   output tied to wte
 * LayerNorm eps 1e-5, attention scale 1/sqrt(head size), no dropout.
 *
 * Memory: one allocation per role, carved into named tensors (llm.c style):
 * parameters, their gradients, AdamW state (optim.h; two parameter-shaped
 * halves m and v), activations, activation gradients.  Per-layer tensors are
 * stacked (layer-major), and linear weights are stored as Hugging Face's
 * Conv1D stores them, (d_in, d_out) row-major, so y = x W + b is one
 * NoTrans/NoTrans sgemm and checkpoints need no transposition.
 *
 * Every large product goes through cblas_sgemm over all B*T rows at once;
 * attention is per (sequence, head), in row blocks that skip the masked
 * upper triangle.  Elementwise work runs on the calling thread; the thread
 * count of the products is OpenBLAS's (ifg_gpt_set_threads).  Results are
 * bit-reproducible for a given thread count.
 *
 * Loss: the forward takes targets (−1 = no target at that position) and
 * leaves the per-position NLL; the backward takes per-position weights
 * (NULL = 1) and a divisor and back-propagates
 *     loss = Σ_{b,t} w[b,t] · NLL[b,t] / divisor.
 * That one form gives ordinary training (w = 1, divisor = label count), the
 * IF-Guide penalty (w = −λ on masked targets), summed query losses over a
 * continuation (w = 1 there, 0 elsewhere, divisor 1) and sampled-label
 * losses (targets drawn from the logits).
 */
#ifndef IFG_GPT_H
#define IFG_GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ifg_gpt_config {
	int n_layer, n_head, n_embd, n_ctx, vocab_size;
};

/* 0, or -1 with a message if a field is out of range (n_embd not a multiple
 * of n_head, sizes that would overflow, ...). */
int ifg_gpt_config_check(const struct ifg_gpt_config *c);

/* Named views into one parameter-shaped block (params, grads, m, v).
 * L layers, C = n_embd, V = vocab_size, P = n_ctx. */
struct ifg_gpt_params {
	float *wte;		/* (V, C) */
	float *wpe;		/* (P, C) */
	float *ln1w, *ln1b;	/* (L, C) */
	float *qkvw;		/* (L, C, 3C)   h.N.attn.c_attn.weight */
	float *qkvb;		/* (L, 3C) */
	float *attprojw;	/* (L, C, C)    h.N.attn.c_proj.weight */
	float *attprojb;	/* (L, C) */
	float *ln2w, *ln2b;	/* (L, C) */
	float *fcw;		/* (L, C, 4C)   h.N.mlp.c_fc.weight */
	float *fcb;		/* (L, 4C) */
	float *fcprojw;		/* (L, 4C, C)   h.N.mlp.c_proj.weight */
	float *fcprojb;		/* (L, C) */
	float *lnfw, *lnfb;	/* (C) */
};

/* One named tensor of the checkpoint (Hugging Face names, e.g.
 * "h.3.mlp.c_fc.weight"), at offset floats into a parameter-shaped block. */
struct ifg_gpt_tensor {
	char name[48];
	int ndim;
	int64_t shape[2];
	size_t offset, n;
	bool decay;		/* a matrix: AdamW weight decay applies */
	enum ifg_init {
		IFG_INIT_NORMAL,	/* N(0, 0.02) */
		IFG_INIT_RESID,		/* N(0, 0.02 / sqrt(2 L)): projections into the residual */
		IFG_INIT_ZERO,
		IFG_INIT_ONE,
	} init;			/* what ifg_gpt_init_weights draws */
};

/* One tracked linear layer of the model (doc/method.md §2.1): the layers whose
 * weights EK-FAC and the influence scores cover, listed by the model so that
 * ifg-grad, ifg-factor and ifg-influence need no knowledge of its
 * architecture.  GPT-2 tracks four per block, in block order, then in the
 * order attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj. */
struct ifg_gpt_lin {
	char name[48];		/* Hugging Face module name, "h.3.mlp.c_fc" */
	const char *kind;	/* the name without its block, "mlp.c_fc" */
	int block;
	int kind_index;		/* position of kind in the block's list */
	int d_in, d_out;	/* d_in without a bias column */
	bool bias;
};

/* Inputs and output gradients of one linear layer for the last
 * forward/backward: rows are the B*T positions, b-major. */
struct ifg_gpt_linear {
	int d_in, d_out;
	const float *a;		/* (B*T, d_in): the layer's input activations */
	const float *s;		/* (B*T, d_out): d loss / d output (after backward) */
	const float *w;		/* (d_in, d_out): the weight, Conv1D layout */
	const float *b;		/* (d_out) */
};

/* Model identity for stream headers (kinds.h MODEL; packed and checked by
 * modelid.h). */
struct ifg_model_id {
	char sha256[65];	/* of the weights (the safetensors file) and the config */
	int n_layer, n_head, n_embd, n_ctx, vocab_size;
};

enum {
	IFG_GPT_TRAIN = 1,	/* allocate gradients and activation gradients */
	IFG_GPT_KEEP_LINEAR = 2 /* keep every layer's output gradients (else only
				   block 0's stay valid: the buffers are shared) */
};

struct ifg_gpt;

/* A model with zeroed parameters; NULL with a message on a bad config. */
struct ifg_gpt *ifg_gpt_new(const struct ifg_gpt_config *cfg);
void ifg_gpt_free(struct ifg_gpt *m);
const struct ifg_gpt_config *ifg_gpt_cfg(const struct ifg_gpt *m);

/* Initialisation from seed as each tensor's init says, drawn in table order
 * (GPT-2: weights and embeddings N(0, 0.02), the two residual projections
 * N(0, 0.02 / sqrt(2 L)), biases 0, LayerNorms 1 and 0). */
void ifg_gpt_init_weights(struct ifg_gpt *m, uint64_t seed);

size_t ifg_gpt_nparams(const struct ifg_gpt *m);
float *ifg_gpt_param_mem(struct ifg_gpt *m);	/* (nparams) */
float *ifg_gpt_grad_mem(struct ifg_gpt *m);	/* (nparams); NULL before reserve(TRAIN) */
const struct ifg_gpt_params *ifg_gpt_params(const struct ifg_gpt *m);
const struct ifg_gpt_params *ifg_gpt_grads(const struct ifg_gpt *m);
/* Carves any parameter-shaped block (e.g. AdamW m or v) into named views. */
void ifg_gpt_point(const struct ifg_gpt *m, float *mem, struct ifg_gpt_params *out);
int ifg_gpt_ntensors(const struct ifg_gpt *m);
const struct ifg_gpt_tensor *ifg_gpt_tensor(const struct ifg_gpt *m, int i);

/* Allocates activations for up to B sequences of up to T <= n_ctx
 * positions (flags: IFG_GPT_TRAIN, IFG_GPT_KEEP_LINEAR).  May be called
 * again to grow.  -1 with a message if T > n_ctx. */
int ifg_gpt_reserve(struct ifg_gpt *m, int B, int T, unsigned flags);

/* Forward on tokens (B, T), b-major, every id < vocab_size (checked: -1 with
 * a message otherwise).  targets (B, T) or NULL: target ids, or -1 for no
 * target.  With targets, the per-position NLL is left for ifg_gpt_nll() and
 * *nll_sum (may be NULL) gets Σ NLL over positions with a target (double).
 * Logits stay valid until the next backward (which overwrites them). */
int ifg_gpt_forward(struct ifg_gpt *m, const uint32_t *tokens, const int32_t *targets, int B,
		    int T, double *nll_sum);
const float *ifg_gpt_logits(const struct ifg_gpt *m);	/* (B, T, V) */
const float *ifg_gpt_nll(const struct ifg_gpt *m);	/* (B, T), 0 where no target */

/* Sets every parameter gradient to 0. */
void ifg_gpt_zero_grad(struct ifg_gpt *m);
/* Backward of Σ w·NLL / divisor for the last forward (which had targets);
 * weights (B, T) or NULL for all 1; positions without a target contribute
 * nothing.  Parameter gradients ACCUMULATE (+=), for gradient accumulation.
 * Needs reserve(IFG_GPT_TRAIN). */
int ifg_gpt_backward(struct ifg_gpt *m, const float *weights, double divisor);

/* The tracked linear layers (ifg_gpt_nlins of them, see struct ifg_gpt_lin). */
int ifg_gpt_nlins(const struct ifg_gpt *m);
const struct ifg_gpt_lin *ifg_gpt_lin(const struct ifg_gpt *m, int i);
/* Index of the tracked layer named name (n bytes), or -1. */
int ifg_gpt_lin_find(const struct ifg_gpt *m, const char *name, size_t n);

/* The inputs and output gradients of tracked layer i for the last
 * forward/backward (see struct ifg_gpt_linear).  a is valid after a forward;
 * s after a backward, for every layer with IFG_GPT_KEEP_LINEAR, else for
 * block 0 only (NULL for the others).  -1 with a message on a bad index. */
int ifg_gpt_linear(const struct ifg_gpt *m, int i, struct ifg_gpt_linear *out);

/* OpenBLAS threads for the products (deterministic for a given count). */
void ifg_gpt_set_threads(int n);

/* ---- checkpoints (Hugging Face layout) ----
 * A checkpoint is a directory holding model.safetensors (the tensors under
 * GPT-2's names, f32; "transformer." prefixes, the attn.bias buffers and a
 * tied lm_head.weight are accepted on reading) and config.json (GPT2Config).
 * ifg_gpt_load also takes the path of a .safetensors file, with its
 * config.json beside it or the config in the file's metadata. */
struct ifg_gpt *ifg_gpt_load(const char *path);
/* Writes dir/model.safetensors and dir/config.json, each atomically
 * (creating dir if needed).  meta: extra "__metadata__" pairs (key, value,
 * ..., NULL) or NULL. */
int ifg_gpt_save(const struct ifg_gpt *m, const char *dir, const char *const *meta);
/* The identity of the model as loaded or last saved: sha256 of the sha256
 * of its model.safetensors and its configuration; "" for a model never
 * loaded or saved. */
void ifg_gpt_identity(const struct ifg_gpt *m, struct ifg_model_id *id);

#endif

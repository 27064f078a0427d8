/* gpt.h: the decoder-only transformer language models ifg trains and
 * scores: one model core for three families, each exactly as Hugging Face
 * defines it (the family comes from config.json's model_type):
 *
 *   gpt2      GPT2LMHeadModel: x = wte[tok] + wpe[pos]; per block
 *             x += c_proj(attn(c_attn(ln_1(x)))), x += mlp(ln_2(x)) with tanh
 *             GELU; logits = ln_f(x) wteᵀ (tied).  Conv1D weights (d_in, d_out).
 *   gpt_neox  GPTNeoXForCausalLM (Pythia): no position embedding; fused
 *             query_key_value whose output is per head [q | k | v]; rotary
 *             embedding on the first rotary_pct of each head's dimensions;
 *             parallel residual x += attn(ln1(x)) + mlp(ln2(x)) (or sequential);
 *             exact GELU; untied embed_out.  nn.Linear weights (d_out, d_in).
 *   llama     LlamaForCausalLM: RMSNorm, rotary on whole heads (rope_theta),
 *             grouped-query attention (num_key_value_heads), SwiGLU MLP
 *             down(silu(gate(x)) * up(x)), no biases, output tied or not.
 *
 * Attention scale 1/sqrt(head size), causal, no dropout.  Rotary uses
 * Hugging Face's rotate_half pairing (i, i + rot/2).
 *
 * Memory: one allocation per role (llm.c style): parameters, their
 * gradients, AdamW state (two parameter-shaped halves m and v, optim.h),
 * activations, activation gradients.  Parameters are a slab of per-role
 * arrays whose layout and names come from a per-family table (gpt_arch.c):
 * per-layer tensors are stacked layer-major, and tensors that one product
 * computes together sit side by side (Llama's q_proj | k_proj | v_proj rows,
 * gate_proj | up_proj), so every linear role is one cblas_sgemm over all B*T
 * rows.  Weights keep the checkpoint's layout: no transposition on I/O.
 *
 * Elementwise work runs on the calling thread; the thread count of the
 * products is OpenBLAS's (ifg_gpt_set_threads).  Results are
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

enum ifg_arch { IFG_ARCH_GPT2, IFG_ARCH_NEOX, IFG_ARCH_LLAMA, IFG_ARCH_N };

enum ifg_act {
	IFG_ACT_DEFAULT,	/* the family's: GPT-2 tanh GELU, GPT-NeoX exact GELU, Llama SiLU */
	IFG_ACT_GELU_TANH,	/* "gelu_new", "gelu_pytorch_tanh", "gelu_fast" */
	IFG_ACT_GELU,		/* "gelu": x Φ(x) */
	IFG_ACT_SILU,		/* "silu" (SwiGLU) */
};

/* The configuration.  The first five fields are every family's; a field
 * left 0 takes the family's default (ifg_gpt_config_fill). */
struct ifg_gpt_config {
	int n_layer, n_head, n_embd, n_ctx, vocab_size;
	enum ifg_arch arch;	/* 0: GPT-2 */
	int n_kv_head;		/* key/value heads (Llama GQA); 0: n_head */
	int d_ff;		/* MLP width; 0: 4 n_embd (Llama: 8/3 n_embd rounded up to 64) */
	double norm_eps;	/* 0: 1e-5 (Llama 1e-6) */
	double rotary_pct;	/* rotated share of each head (NeoX; 0: 0.25); Llama 1; GPT-2 0 */
	double rope_base;	/* 0: 10000 */
	enum ifg_act act;	/* 0: the family's */
	bool parallel_residual;	/* GPT-NeoX's use_parallel_residual */
	bool untied;		/* output layer apart from the embedding (NeoX, Llama optional) */
	/* Llama 3's rope_scaling ("rope_type": "llama3"; factor 0: none):
	 * frequencies whose wavelength exceeds orig_ctx / low are divided by
	 * factor, those under orig_ctx / high kept, the band between blended */
	struct ifg_rope_scaling {
		double factor, low, high;
		int orig_ctx;
	} rope_scaling;
};

/* The rotary inverse frequencies of c, inv[i] for the pair (i, i + rot/2),
 * i < rot/2: base^(-2i/rot) in float as Hugging Face computes them, with
 * Llama 3's scaling applied when c has one. */
void ifg_gpt_rope_freqs(const struct ifg_gpt_config *c, int rot, float *inv);

/* Sets the family's defaults in the fields left 0 (the two flags have
 * none: Pythia's parallel residual and untied output are the caller's to
 * set). */
void ifg_gpt_config_fill(struct ifg_gpt_config *c);
/* 0, or -1 with a message if a field is out of range or not what the
 * family allows (n_embd not a multiple of n_head, sizes that would
 * overflow, ...).  Checks c after ifg_gpt_config_fill. */
int ifg_gpt_config_check(const struct ifg_gpt_config *c);
/* "gpt2", "gpt_neox", "llama" (Hugging Face's model_type); -1 / NULL when
 * unknown. */
const char *ifg_arch_name(enum ifg_arch a);
int ifg_arch_parse(const char *name);

/* One named tensor of the checkpoint (Hugging Face names, e.g.
 * "h.3.mlp.c_fc.weight", "gpt_neox.layers.0.attention.dense.weight"), at
 * offset floats into a parameter-shaped block. */
struct ifg_gpt_tensor {
	char name[96];
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
 * architecture.  In block order, then the family's order: GPT-2
 * attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj; GPT-NeoX
 * attention.query_key_value, attention.dense, mlp.dense_h_to_4h,
 * mlp.dense_4h_to_h; Llama self_attn.q_proj, k_proj, v_proj, o_proj,
 * mlp.gate_proj, up_proj, down_proj. */
struct ifg_gpt_lin {
	char name[96];		/* Hugging Face module name, "h.3.mlp.c_fc" */
	const char *kind;	/* the name without its block, "mlp.c_fc" */
	int block;
	int kind_index;		/* position of kind in the block's list */
	int d_in, d_out;	/* d_in without a bias column */
	bool bias;
	int site_, col_;	/* where the model keeps it (gpt.c) */
};

/* Inputs and output gradients of one linear layer for the last
 * forward/backward: rows are the B*T positions, b-major, row r of a at
 * a + r lda and of s at s + r lds (a layer computed in one product with its
 * neighbours, such as Llama's k_proj, is a column block of a wider array). */
struct ifg_gpt_linear {
	int d_in, d_out;
	const float *a;		/* (B*T, d_in): the layer's input activations */
	const float *s;		/* (B*T, d_out): d loss / d output (after backward) */
	size_t lda, lds;
	const float *w;		/* the weight: (d_in, d_out) Conv1D, or (d_out, d_in) when w_out_in */
	bool w_out_in;
	const float *b;		/* (d_out), NULL without a bias */
};

/* Model identity for stream headers (kinds.h MODEL; packed and checked by
 * modelid.h). */
struct ifg_model_id {
	char sha256[65];	/* of the weights (the safetensors file) and the config */
	char arch[12];		/* ifg_arch_name */
	int n_layer, n_head, n_embd, n_ctx, vocab_size;
};

enum {
	IFG_GPT_TRAIN = 1,	/* allocate gradients and activation gradients */
	IFG_GPT_KEEP_LINEAR = 2, /* keep every layer's output gradients (else only
				    block 0's stay valid: the buffers are shared) */
	IFG_GPT_NO_PARAM_GRADS = 4 /* with TRAIN: activation gradients only, no
				      parameter gradients (what gradient
				      extraction needs: the backward skips
				      every dW, a third of its products, and
				      the output layer's; no gradient memory) */
};

struct ifg_gpt;

/* A model with zeroed parameters; NULL with a message on a bad config. */
struct ifg_gpt *ifg_gpt_new(const struct ifg_gpt_config *cfg);
void ifg_gpt_free(struct ifg_gpt *m);
/* A model that reads m's weights (not copied: m must outlive it and keep
 * them unchanged) with activations of its own, to run forward and backward
 * passes beside m on another thread.  Its parameter gradients, if reserved,
 * are its own too.  NULL with a message. */
struct ifg_gpt *ifg_gpt_twin(struct ifg_gpt *m);
const struct ifg_gpt_config *ifg_gpt_cfg(const struct ifg_gpt *m);

/* Initialisation from seed as each tensor's init says, drawn in table order
 * (weights and embeddings N(0, 0.02), biases 0, norms' weights 1 and biases
 * 0; GPT-2's two residual projections N(0, 0.02 / sqrt(2 L))). */
void ifg_gpt_init_weights(struct ifg_gpt *m, uint64_t seed);

size_t ifg_gpt_nparams(const struct ifg_gpt *m);
float *ifg_gpt_param_mem(struct ifg_gpt *m);	/* (nparams) */
float *ifg_gpt_grad_mem(struct ifg_gpt *m);	/* (nparams); NULL before reserve(TRAIN) */
int ifg_gpt_ntensors(const struct ifg_gpt *m);
const struct ifg_gpt_tensor *ifg_gpt_tensor(const struct ifg_gpt *m, int i);
/* The tensor of that checkpoint name, or NULL. */
const struct ifg_gpt_tensor *ifg_gpt_tensor_find(const struct ifg_gpt *m, const char *name);

/* Allocates activations for up to B sequences of up to T <= n_ctx
 * positions (flags: IFG_GPT_TRAIN, IFG_GPT_KEEP_LINEAR, IFG_GPT_NO_PARAM_GRADS;
 * parameter gradients, once allocated by a reservation without the last,
 * stay and are computed).  May be called
 * again to grow.  -1 with a message if T > n_ctx. */
int ifg_gpt_reserve(struct ifg_gpt *m, int B, int T, unsigned flags);

/* The bytes a model holds after ifg_gpt_reserve(m, B, T, flags): its
 * parameters, their gradients (TRAIN without NO_PARAM_GRADS), the
 * activations and the activation gradients (TRAIN), exactly as reserve
 * allocates them (about 4 B T (L (5 C + Q + F_h + F + NH T) + 2 C + V)
 * bytes of activations, Q the q|k|v width, F_h the MLP's first width). */
size_t ifg_gpt_memory(const struct ifg_gpt *m, int B, int T, unsigned flags);

/* Forward on tokens (B, T), b-major, every id < vocab_size (checked: -1 with
 * a message otherwise).  targets (B, T) or NULL: target ids, or -1 for no
 * target.  With targets, the per-position NLL is left for ifg_gpt_nll() and
 * *nll_sum (may be NULL) gets Σ NLL over positions with a target (double).
 * Logits stay valid until the next backward (which overwrites them). */
int ifg_gpt_forward(struct ifg_gpt *m, const uint32_t *tokens, const int32_t *targets, int B,
		    int T, double *nll_sum);
/* Targets for the last forward pass (before its backward), as the forward
 * would take them: a forward without targets, then labels drawn from its
 * logits, then this, computes the model once. */
int ifg_gpt_set_targets(struct ifg_gpt *m, const int32_t *targets, double *nll_sum);
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
 * the family's Hugging Face names, f32; GPT-2's "transformer." prefix,
 * attention mask and rotary buffers, and a tied lm_head.weight are accepted
 * on reading) and config.json (GPT2Config, GPTNeoXConfig or LlamaConfig;
 * fields ifg cannot honour, such as rope_scaling, are refused by name).
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

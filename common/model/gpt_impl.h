/* gpt_impl.h: the model's inside, shared by the files of the model core
 * only: gpt_arch.c (the per-family tables), gpt.c (forward, backward),
 * gpt_io.c (checkpoints) and gpt_infer.c (cached inference).  Nothing
 * outside them includes it.
 *
 * Notation: N rows (positions), C = n_embd, NH heads of hs = C / NH, NKV
 * key/value heads, KV = NKV hs, Q = C + 2 KV (the fused q | k | v width), F
 * = d_ff, FH = F or 2F (Llama's gate | up), V = vocab_size, P = n_ctx,
 * L = n_layer. */
#ifndef IFG_GPT_IMPL_H
#define IFG_GPT_IMPL_H

#include <jansson.h>

#include "gpt.h"
#include "kernels.h"

/* The parameter arrays by role, in slab order (GPT-2's order first, so its
 * layout is what it always was).  Per-layer roles (LN1W .. PROJB) are
 * stacked layer-major; a role a family lacks has size 0. */
enum ifg_role {
	R_WTE,			/* (V, C) token embedding */
	R_WPE,			/* (P, C) position embedding (GPT-2) */
	R_LN1W, R_LN1B,		/* (C) norm before attention */
	R_QKVW, R_QKVB,		/* (C, Q) Conv1D or (Q, C): q | k | v projection(s) */
	R_OW, R_OB,		/* (C, C): attention output */
	R_LN2W, R_LN2B,		/* (C) norm before the MLP */
	R_FCW, R_FCB,		/* (C, F) Conv1D or (FH, C): MLP input(s) */
	R_PROJW, R_PROJB,	/* (F, C) Conv1D or (C, F): MLP output */
	R_LNFW, R_LNFB,		/* (C) final norm */
	R_HEAD,			/* (V, C) untied output layer */
	R_N
};
#define IFG_ROLE_PER_LAYER(r) ((r) >= R_LN1W && (r) <= R_PROJB)

/* Where a tracked linear's input and output gradient live. */
enum ifg_site { SITE_QKV, SITE_O, SITE_FC, SITE_PROJ };

/* Sizes the configuration implies. */
struct ifg_gpt_dims {
	int L, C, NH, NKV, hs, KV, Q, F, FH, V, P;
	int rot;		/* rotated dimensions per head (0: no rotary) */
	bool conv1d;		/* weights (d_in, d_out) (GPT-2), else (d_out, d_in) */
	bool rms;		/* RMSNorm, no norm biases (Llama) */
	bool lin_bias;		/* linear layers have biases */
	enum ifg_act act;	/* resolved (never DEFAULT) */
	struct ifg_att_layout att;
};

/* ---- gpt_arch.c: the per-family tables ---- */

void ifg_gpt_dims(const struct ifg_gpt_config *c, struct ifg_gpt_dims *d);
/* The checkpoint's tensor table for c, from the config alone (the loader
 * checks a file against it before allocating); offsets into the slab.
 * role_n[r] gets each role's size per layer (per-layer roles) or in all. */
struct ifg_gpt_tensor *ifg_gpt_tensor_table(const struct ifg_gpt_config *c, int *n,
					    size_t role_n[R_N]);
/* The tracked linear layers. */
struct ifg_gpt_lin *ifg_gpt_lin_table(const struct ifg_gpt_config *c, int *n);
/* config.json <-> configuration, by the family's field table.  read: 0 or -1
 * with a message naming path; the family comes from model_type (absent:
 * GPT-2).  write: a new JSON object. */
int ifg_gpt_config_from_json(json_t *j, const char *path, struct ifg_gpt_config *c);
json_t *ifg_gpt_config_to_json(const struct ifg_gpt_config *c);
/* Tensors a checkpoint may hold besides the table's (mask and rotary
 * buffers, a tied output layer). */
bool ifg_gpt_ignorable(const struct ifg_gpt_config *c, const char *name);

/* ---- the model ---- */

struct ifg_acts {
	float *encoded;		  /* (N, C) embeddings */
	float *ln1;		  /* (L, N, C)  input of the q | k | v projection */
	float *ln1_mean, *ln1_rstd; /* (L, N) */
	float *qkv;		  /* (L, N, Q)  after rotary */
	float *atty;		  /* (L, N, C)  input of the attention output */
	float *att;		  /* (L, B, NH, T, T) softmax probabilities, lower triangle */
	float *res2;		  /* (L, N, C)  block input + attention */
	float *ln2;		  /* (L, N, C)  input of the MLP */
	float *ln2_mean, *ln2_rstd; /* (L, N) */
	float *fch;		  /* (L, N, FH) MLP input product(s), before the activation */
	float *fcha;		  /* (L, N, F)  input of the MLP output */
	float *res3;		  /* (L, N, C)  block output */
	float *lnf;		  /* (N, C) */
	float *lnf_mean, *lnf_rstd; /* (N) */
	float *logits;		  /* (N, V); dlogits in place after backward */
	float *lse;		  /* (N) log-sum-exp of each logits row */
	float *nll;		  /* (N) */
	float *ones;		  /* (N) all 1: bias gradients as a product */
};

struct ifg_gacts {
	/* Kept per layer with IFG_GPT_KEEP_LINEAR, else one buffer that every
	 * layer shares (layer stride 0): the tracked layers' output gradients. */
	float *g_mlp;		/* (L, N, C)  d/d block output = MLP output grad */
	float *g_att;		/* (L, N, C)  d/d res2 = attention output grad */
	float *dqkv;		/* (L, N, Q)  q | k | v projection output grad */
	float *dfch;		/* (L, N, FH) MLP input product output grad */
	size_t lstride_c, lstride_q, lstride_fh;
	/* scratch */
	float *dx0;		/* (N, C) d/d encoded */
	float *dln;		/* (N, C) d/d norm output */
	float *datty;		/* (N, C) */
	float *dfcha;		/* (N, F) */
	float *datt;		/* (T, T) one head's dP / dS */
};

struct ifg_gpt {
	struct ifg_gpt_config cfg;
	struct ifg_gpt_dims d;
	size_t nparams;
	float *params_mem, *grads_mem;
	bool params_shared;	/* params_mem is another model's (ifg_gpt_twin) */
	size_t role_n[R_N];	/* per layer for per-layer roles */
	size_t role_off[R_N];	/* start of each role in the slab */
	struct ifg_gpt_tensor *tensors;
	int ntensors;
	struct ifg_gpt_lin *lins;
	int nlins;
	float *inv_freq;	/* (rot / 2) rotary frequencies; NULL without rotary */
	/* activations, for up to Bmax x Tmax */
	int Bmax, Tmax;
	unsigned flags;
	float *acts_mem, *gacts_mem;
	struct ifg_acts a;
	struct ifg_gacts ga;
	int *pos;		/* (Bmax * Tmax) position of each row */
	int B, T;		/* of the last forward */
	uint32_t *tokens;	/* (Bmax * Tmax) copy of the last inputs */
	int32_t *targets;	/* (Bmax * Tmax) copy of the last targets */
	bool have_targets, have_backward;
	char sha256[65];
};

/* Role r of layer l (l ignored for global roles) in slab mem; NULL when
 * the family has no such role. */
static inline float *ifg_gpt_role(const struct ifg_gpt *m, float *mem, int r, int l)
{
	if (!m->role_n[r])
		return NULL;
	return mem + m->role_off[r] + (IFG_ROLE_PER_LAYER(r) ? (size_t)l * m->role_n[r] : 0);
}

/* The output layer's weight (V, C): the embedding when tied. */
static inline float *ifg_gpt_head(const struct ifg_gpt *m, float *mem)
{
	return m->role_n[R_HEAD] ? ifg_gpt_role(m, mem, R_HEAD, 0) : ifg_gpt_role(m, mem, R_WTE, 0);
}

/* One block's forward over N rows, shared by training (all positions,
 * activations kept per layer) and cached inference (new rows only,
 * scratch reused).  Norm statistics may be NULL.  attend computes the
 * attention output y (N, C) of layer l from qkv (N, Q), rotated already. */
struct ifg_block_io {
	const float *in;	/* (N, C) */
	float *ln1, *ln1_mean, *ln1_rstd;
	float *qkv;		/* (N, Q) */
	float *atty;		/* (N, C) */
	float *res2;		/* (N, C) */
	float *ln2, *ln2_mean, *ln2_rstd;
	float *fch;		/* (N, FH) */
	float *fcha;		/* (N, F) */
	float *out;		/* (N, C) */
	const int *pos;		/* (N) positions, for rotary */
};
typedef void (*ifg_attend_fn)(void *ctx, int l, const float *qkv, float *y);
void ifg_gpt_block_fwd(const struct ifg_gpt *m, int l, size_t N, const struct ifg_block_io *io,
		       ifg_attend_fn attend, void *ctx);
/* The norm of the family over N rows (mean, rstd may be NULL). */
void ifg_gpt_norm_fwd(const struct ifg_gpt *m, float *out, float *mean, float *rstd,
		      const float *inp, const float *w, const float *b, size_t N);
/* out (N, V) = x (N, C) · headᵀ */
void ifg_gpt_logits_fwd(const struct ifg_gpt *m, float *out, const float *x, size_t N);

#endif

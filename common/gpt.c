/* gpt.c: GPT-2 forward and backward on OpenBLAS (see gpt.h).
 *
 * Notation in comments: N = B*T rows (positions, b-major), C = n_embd,
 * NH = n_head, hs = C / NH, V = vocab_size, L = n_layer. */
#include "gpt.h"
#include "kernels.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rng.h"
#include "safetensors.h"
#include "sha256.h"
#include "stream.h"
#include "util.h"


/* OpenBLAS's own entry point (declared by its cblas.h, repeated here so the
 * file also builds against other CBLAS headers). */
void openblas_set_num_threads(int num_threads);

struct acts {
	float *encoded;		  /* (N, C) token + position embeddings */
	float *ln1;		  /* (L, N, C)  input of attn.c_attn */
	float *ln1_mean, *ln1_rstd; /* (L, N) */
	float *qkv;		  /* (L, N, 3C) */
	float *atty;		  /* (L, N, C)  input of attn.c_proj */
	float *att;		  /* (L, B, NH, T, T) softmax probabilities, lower triangle */
	float *res2;		  /* (L, N, C)  residual after attention */
	float *ln2;		  /* (L, N, C)  input of mlp.c_fc */
	float *ln2_mean, *ln2_rstd; /* (L, N) */
	float *fch;		  /* (L, N, 4C) c_fc output, before GELU */
	float *fch_gelu;	  /* (L, N, 4C) input of mlp.c_proj */
	float *res3;		  /* (L, N, C)  block output */
	float *lnf;		  /* (N, C) */
	float *lnf_mean, *lnf_rstd; /* (N) */
	float *logits;		  /* (N, V); dlogits in place after backward */
	float *lse;		  /* (N) log-sum-exp of each logits row */
	float *nll;		  /* (N) */
	float *ones;		  /* (N) all 1: bias gradients as a product */
};

struct gacts {
	/* Kept per layer with IFG_GPT_KEEP_LINEAR, else one buffer that every
	 * layer shares (layer stride 0): these are the output gradients of the
	 * four linear layers. */
	float *g_mlp;		/* (L, N, C)  d/d block output = mlp.c_proj output grad */
	float *g_att;		/* (L, N, C)  d/d res2 = attn.c_proj output grad */
	float *dqkv;		/* (L, N, 3C) attn.c_attn output grad */
	float *dfch;		/* (L, N, 4C) mlp.c_fc output grad */
	size_t lstride_c, lstride_3c, lstride_4c;
	/* scratch */
	float *dx0;		/* (N, C) d/d encoded */
	float *dln;		/* (N, C) d/d LayerNorm output */
	float *datty;		/* (N, C) */
	float *dfch_gelu;	/* (N, 4C) */
	float *datt;		/* (T, T) one head's dP / dS */
};

struct ifg_gpt {
	struct ifg_gpt_config cfg;
	size_t nparams;
	float *params_mem, *grads_mem;
	struct ifg_gpt_params p, g;
	struct ifg_gpt_tensor *tensors;
	int ntensors;
	struct ifg_gpt_lin *lins;	/* the tracked linear layers */
	int nlins;
	/* activations, for up to Bmax x Tmax */
	int Bmax, Tmax;
	unsigned flags;
	float *acts_mem, *gacts_mem;
	struct acts a;
	struct gacts ga;
	int B, T;		/* of the last forward */
	uint32_t *tokens;	/* (Bmax * Tmax) copy of the last inputs */
	int32_t *targets;	/* (Bmax * Tmax) copy of the last targets */
	bool have_targets, have_backward;
	char sha256[65];
};

/* ---------------------------------------------------------------- config */

int ifg_gpt_config_check(const struct ifg_gpt_config *c)
{
	if (c->n_layer < 1 || c->n_layer > 1024)
		return ifg_seterr("n_layer %d out of range [1, 1024]", c->n_layer);
	if (c->n_head < 1 || c->n_head > 1024)
		return ifg_seterr("n_head %d out of range [1, 1024]", c->n_head);
	if (c->n_embd < 1 || c->n_embd > 65536)
		return ifg_seterr("n_embd %d out of range [1, 65536]", c->n_embd);
	if (c->n_embd % c->n_head)
		return ifg_seterr("n_embd %d is not a multiple of n_head %d", c->n_embd, c->n_head);
	if (c->n_ctx < 1 || c->n_ctx > 65536)
		return ifg_seterr("n_ctx %d out of range [1, 65536]", c->n_ctx);
	if (c->vocab_size < 1 || c->vocab_size > (1 << 24))
		return ifg_seterr("vocab_size %d out of range [1, 2^24]", c->vocab_size);
	double np = (double)c->vocab_size * c->n_embd + (double)c->n_ctx * c->n_embd +
		    (double)c->n_layer * 12.0 * c->n_embd * c->n_embd;
	if (np > 4e10)
		return ifg_seterr("model too large (%.3g parameters)", np);
	return 0;
}

/* ------------------------------------------------------------ parameters */

/* Sizes of the 16 stacked parameter arrays, in memory order. */
static void param_sizes(const struct ifg_gpt_config *c, size_t sz[16])
{
	size_t L = c->n_layer, C = c->n_embd, V = c->vocab_size, P = c->n_ctx;
	size_t s[16] = { V * C, P * C, L * C, L * C, L * C * 3 * C, L * 3 * C, L * C * C, L * C,
			 L * C, L * C, L * C * 4 * C, L * 4 * C, L * 4 * C * C, L * C, C, C };
	memcpy(sz, s, sizeof s);
}

void ifg_gpt_point(const struct ifg_gpt *m, float *mem, struct ifg_gpt_params *o)
{
	size_t sz[16];
	param_sizes(&m->cfg, sz);
	float **ptrs[16] = { &o->wte,	   &o->wpe,	 &o->ln1w, &o->ln1b,   &o->qkvw, &o->qkvb,
			     &o->attprojw, &o->attprojb, &o->ln2w, &o->ln2b,   &o->fcw,	 &o->fcb,
			     &o->fcprojw,  &o->fcprojb,	 &o->lnfw, &o->lnfb };
	for (int i = 0; i < 16; i++) {
		*ptrs[i] = mem;
		mem += sz[i];
	}
}

/* The 16 stacked arrays of param_sizes, by role. */
enum { P_WTE, P_WPE, P_LN1W, P_LN1B, P_QKVW, P_QKVB, P_ATTPROJW, P_ATTPROJB, P_LN2W, P_LN2B,
       P_FCW, P_FCB, P_FCPROJW, P_FCPROJB, P_LNFW, P_LNFB, P_N };

static void add_tensor(struct ifg_gpt_tensor *t, const char *name, int ndim, int64_t d0,
		       int64_t d1, size_t offset, enum ifg_init init)
{
	snprintf(t->name, sizeof t->name, "%s", name);
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = ndim > 1 ? d1 : 1;
	t->n = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
	t->offset = offset;
	t->decay = ndim == 2;
	t->init = init;
}

/* The checkpoint's tensor table for config c, computed from the config
 * alone (the loader checks a file against it before allocating): Hugging
 * Face order (per block: ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc,
 * mlp.c_proj), offsets into the stacked layout.  *n gets the count. */
static struct ifg_gpt_tensor *tensor_table(const struct ifg_gpt_config *c, int *n)
{
	size_t sz[P_N], off[P_N], o = 0;
	param_sizes(c, sz);
	for (int i = 0; i < P_N; i++) {
		off[i] = o;
		o += sz[i];
	}
	int64_t C = c->n_embd;
	struct ifg_gpt_tensor *t = ifg_xcalloc(4 + 12 * (size_t)c->n_layer, sizeof *t);
	int k = 0;
	const enum ifg_init N = IFG_INIT_NORMAL, R = IFG_INIT_RESID, Z = IFG_INIT_ZERO,
			    O = IFG_INIT_ONE;
	add_tensor(&t[k++], "wte.weight", 2, c->vocab_size, C, off[P_WTE], N);
	add_tensor(&t[k++], "wpe.weight", 2, c->n_ctx, C, off[P_WPE], N);
	char nm[48];
	for (int l = 0; l < c->n_layer; l++) {
#define T1(suffix, arr, d0, init) \
	(snprintf(nm, sizeof nm, "h.%d." suffix, l), \
	 add_tensor(&t[k++], nm, 1, d0, 1, off[arr] + (size_t)l * (d0), init))
#define T2(suffix, arr, d0, d1, init) \
	(snprintf(nm, sizeof nm, "h.%d." suffix, l), \
	 add_tensor(&t[k++], nm, 2, d0, d1, off[arr] + (size_t)l * (d0) * (d1), init))
		T1("ln_1.weight", P_LN1W, C, O);
		T1("ln_1.bias", P_LN1B, C, Z);
		T2("attn.c_attn.weight", P_QKVW, C, 3 * C, N);
		T1("attn.c_attn.bias", P_QKVB, 3 * C, Z);
		T2("attn.c_proj.weight", P_ATTPROJW, C, C, R);
		T1("attn.c_proj.bias", P_ATTPROJB, C, Z);
		T1("ln_2.weight", P_LN2W, C, O);
		T1("ln_2.bias", P_LN2B, C, Z);
		T2("mlp.c_fc.weight", P_FCW, C, 4 * C, N);
		T1("mlp.c_fc.bias", P_FCB, 4 * C, Z);
		T2("mlp.c_proj.weight", P_FCPROJW, 4 * C, C, R);
		T1("mlp.c_proj.bias", P_FCPROJB, C, Z);
#undef T1
#undef T2
	}
	add_tensor(&t[k++], "ln_f.weight", 1, C, 1, off[P_LNFW], O);
	add_tensor(&t[k++], "ln_f.bias", 1, C, 1, off[P_LNFB], Z);
	*n = k;
	return t;
}

/* GPT-2's tracked linears per block, in list order: kind, d_in and d_out in
 * units of C. */
static const struct {
	const char *kind;
	int din, dout;
} gpt2_lins[] = {
	{ "attn.c_attn", 1, 3 },
	{ "attn.c_proj", 1, 1 },
	{ "mlp.c_fc", 1, 4 },
	{ "mlp.c_proj", 4, 1 },
};
#define GPT2_NLIN ((int)(sizeof gpt2_lins / sizeof gpt2_lins[0]))

/* The tracked-layer list: block order, then gpt2_lins order. */
static void build_lins(struct ifg_gpt *m)
{
	const struct ifg_gpt_config *c = &m->cfg;
	m->nlins = c->n_layer * GPT2_NLIN;
	m->lins = ifg_xcalloc(m->nlins, sizeof *m->lins);
	for (int l = 0; l < c->n_layer; l++)
		for (int k = 0; k < GPT2_NLIN; k++) {
			struct ifg_gpt_lin *t = &m->lins[l * GPT2_NLIN + k];
			snprintf(t->name, sizeof t->name, "h.%d.%s", l, gpt2_lins[k].kind);
			t->kind = gpt2_lins[k].kind;
			t->block = l;
			t->kind_index = k;
			t->d_in = gpt2_lins[k].din * c->n_embd;
			t->d_out = gpt2_lins[k].dout * c->n_embd;
			t->bias = true;
		}
}

struct ifg_gpt *ifg_gpt_new(const struct ifg_gpt_config *cfg)
{
	if (ifg_gpt_config_check(cfg) < 0)
		return NULL;
	struct ifg_gpt *m = ifg_xcalloc(1, sizeof *m);
	m->cfg = *cfg;
	size_t sz[16];
	param_sizes(cfg, sz);
	for (int i = 0; i < 16; i++)
		m->nparams += sz[i];
	m->params_mem = ifg_xaligned(m->nparams, sizeof(float));
	memset(m->params_mem, 0, m->nparams * sizeof(float));
	ifg_gpt_point(m, m->params_mem, &m->p);
	m->tensors = tensor_table(cfg, &m->ntensors);
	build_lins(m);
	return m;
}

static void free_acts(struct ifg_gpt *m)
{
	free(m->acts_mem);
	free(m->gacts_mem);
	free(m->targets);
	free(m->tokens);
	m->acts_mem = m->gacts_mem = NULL;
	m->targets = NULL;
	m->tokens = NULL;
	memset(&m->a, 0, sizeof m->a);
	memset(&m->ga, 0, sizeof m->ga);
	m->Bmax = m->Tmax = 0;
	m->B = m->T = 0;
	m->have_targets = m->have_backward = false;
}

void ifg_gpt_free(struct ifg_gpt *m)
{
	if (!m)
		return;
	free_acts(m);
	free(m->params_mem);
	free(m->grads_mem);
	free(m->tensors);
	free(m->lins);
	free(m);
}

const struct ifg_gpt_config *ifg_gpt_cfg(const struct ifg_gpt *m) { return &m->cfg; }
size_t ifg_gpt_nparams(const struct ifg_gpt *m) { return m->nparams; }
float *ifg_gpt_param_mem(struct ifg_gpt *m) { return m->params_mem; }
float *ifg_gpt_grad_mem(struct ifg_gpt *m) { return m->grads_mem; }
const struct ifg_gpt_params *ifg_gpt_params(const struct ifg_gpt *m) { return &m->p; }
const struct ifg_gpt_params *ifg_gpt_grads(const struct ifg_gpt *m) { return &m->g; }
int ifg_gpt_ntensors(const struct ifg_gpt *m) { return m->ntensors; }
const struct ifg_gpt_tensor *ifg_gpt_tensor(const struct ifg_gpt *m, int i)
{
	return i >= 0 && i < m->ntensors ? &m->tensors[i] : NULL;
}

void ifg_gpt_init_weights(struct ifg_gpt *m, uint64_t seed)
{
	struct ifg_rng r;
	ifg_rng_init2(&r, seed, 0x696e6974 /* "init" */);
	double proj_std = 0.02 / sqrt(2.0 * m->cfg.n_layer);
	for (int i = 0; i < m->ntensors; i++) {
		const struct ifg_gpt_tensor *t = &m->tensors[i];
		float *x = m->params_mem + t->offset;
		double sd = t->init == IFG_INIT_RESID ? proj_std : 0.02;
		switch (t->init) {
		case IFG_INIT_NORMAL:
		case IFG_INIT_RESID:
			for (size_t j = 0; j < t->n; j++)
				x[j] = (float)(sd * ifg_rng_normal(&r));
			break;
		case IFG_INIT_ZERO:
		case IFG_INIT_ONE:
			for (size_t j = 0; j < t->n; j++)
				x[j] = t->init == IFG_INIT_ONE ? 1.0f : 0.0f;
			break;
		}
	}
}

void ifg_gpt_set_threads(int n)
{
	openblas_set_num_threads(n > 0 ? n : 1);
}

/* ----------------------------------------------------------- activations */

int ifg_gpt_reserve(struct ifg_gpt *m, int B, int T, unsigned flags)
{
	const struct ifg_gpt_config *c = &m->cfg;
	if (B < 1 || T < 1)
		return ifg_seterr("batch %d x %d: must be positive", B, T);
	if (T > c->n_ctx)
		return ifg_seterr("sequence length %d exceeds the model's context %d", T, c->n_ctx);
	if (m->acts_mem && B <= m->Bmax && T <= m->Tmax && (flags & ~m->flags) == 0)
		return 0;
	if (m->acts_mem) { /* grow to cover the old capacity too */
		if (B < m->Bmax)
			B = m->Bmax;
		if (T < m->Tmax)
			T = m->Tmax;
		flags |= m->flags;
	}
	free_acts(m);
	size_t N = (size_t)B * T, L = c->n_layer, C = c->n_embd, NH = c->n_head,
	       V = c->vocab_size;
	double total = (double)N * (L * (16.0 * C + 4 + NH * (double)T) + 2.0 * C + V + 6);
	if (total > 1.5e11)
		return ifg_seterr("activations for %d x %d need %.3g floats: too large", B, T, total);
	struct { float **p; size_t n; } A[] = {
		{ &m->a.encoded, N * C },      { &m->a.ln1, L * N * C },
		{ &m->a.ln1_mean, L * N },     { &m->a.ln1_rstd, L * N },
		{ &m->a.qkv, L * N * 3 * C },  { &m->a.atty, L * N * C },
		{ &m->a.att, L * B * NH * (size_t)T * T },
		{ &m->a.res2, L * N * C },     { &m->a.ln2, L * N * C },
		{ &m->a.ln2_mean, L * N },     { &m->a.ln2_rstd, L * N },
		{ &m->a.fch, L * N * 4 * C },  { &m->a.fch_gelu, L * N * 4 * C },
		{ &m->a.res3, L * N * C },     { &m->a.lnf, N * C },
		{ &m->a.lnf_mean, N },	       { &m->a.lnf_rstd, N },
		{ &m->a.logits, N * V },       { &m->a.lse, N },
		{ &m->a.nll, N },	       { &m->a.ones, N },
	};
	size_t na = sizeof A / sizeof A[0], tot = 0;
	for (size_t i = 0; i < na; i++)
		tot += (A[i].n + 15) & ~(size_t)15; /* 64-byte aligned tensors */
	m->acts_mem = ifg_xaligned(tot, sizeof(float));
	float *q = m->acts_mem;
	for (size_t i = 0; i < na; i++) {
		*A[i].p = q;
		q += (A[i].n + 15) & ~(size_t)15;
	}
	memset(m->acts_mem, 0, tot * sizeof(float));
	for (size_t i = 0; i < N; i++)
		m->a.ones[i] = 1.0f;
	m->targets = ifg_xcalloc(N, sizeof *m->targets);
	m->tokens = ifg_xcalloc(N, sizeof *m->tokens);

	if (flags & IFG_GPT_TRAIN) {
		size_t KL = (flags & IFG_GPT_KEEP_LINEAR) ? L : 1;
		struct { float **p; size_t n; } G[] = {
			{ &m->ga.g_mlp, KL * N * C },	 { &m->ga.g_att, KL * N * C },
			{ &m->ga.dqkv, KL * N * 3 * C }, { &m->ga.dfch, KL * N * 4 * C },
			{ &m->ga.dx0, N * C },		 { &m->ga.dln, N * C },
			{ &m->ga.datty, N * C },	 { &m->ga.dfch_gelu, N * 4 * C },
			{ &m->ga.datt, (size_t)T * T },
		};
		size_t ng = sizeof G / sizeof G[0];
		tot = 0;
		for (size_t i = 0; i < ng; i++)
			tot += (G[i].n + 15) & ~(size_t)15;
		m->gacts_mem = ifg_xaligned(tot, sizeof(float));
		memset(m->gacts_mem, 0, tot * sizeof(float));
		q = m->gacts_mem;
		for (size_t i = 0; i < ng; i++) {
			*G[i].p = q;
			q += (G[i].n + 15) & ~(size_t)15;
		}
		m->ga.lstride_c = KL > 1 ? N * C : 0;
		m->ga.lstride_3c = KL > 1 ? N * 3 * C : 0;
		m->ga.lstride_4c = KL > 1 ? N * 4 * C : 0;
		if (!m->grads_mem) {
			m->grads_mem = ifg_xaligned(m->nparams, sizeof(float));
			memset(m->grads_mem, 0, m->nparams * sizeof(float));
			ifg_gpt_point(m, m->grads_mem, &m->g);
		}
	}
	m->Bmax = B;
	m->Tmax = T;
	m->flags = flags;
	return 0;
}

/* --------------------------------------------------------------- forward */

#define LAYER(ptr, l, per) ((ptr) + (size_t)(l) * (per))

int ifg_gpt_forward(struct ifg_gpt *m, const uint32_t *tokens, const int32_t *targets, int B,
		    int T, double *nll_sum)
{
	const struct ifg_gpt_config *c = &m->cfg;
	if (!m->acts_mem || B > m->Bmax || T > m->Tmax)
		if (ifg_gpt_reserve(m, B, T, m->flags) < 0)
			return -1;
	int C = c->n_embd, NH = c->n_head, V = c->vocab_size, L = c->n_layer;
	size_t N = (size_t)B * T, NC = (size_t)m->Bmax * m->Tmax * C,
	       Nmax = (size_t)m->Bmax * m->Tmax;
	size_t att_per = (size_t)m->Bmax * NH * m->Tmax * m->Tmax;
	const struct ifg_gpt_params *p = &m->p;
	struct acts *a = &m->a;

	for (size_t i = 0; i < N; i++) {
		if (tokens[i] >= (uint32_t)V)
			return ifg_seterr("token %u at position %zu is outside the vocabulary (%d)",
					  tokens[i], i, V);
		if (targets && targets[i] >= V)
			return ifg_seterr("target %d at position %zu is outside the vocabulary (%d)",
					  targets[i], i, V);
	}
	m->B = B;
	m->T = T;
	m->have_backward = false;
	m->have_targets = targets != NULL;
	memcpy(m->tokens, tokens, N * sizeof *tokens);
	if (targets)
		memcpy(m->targets, targets, N * sizeof *targets);

	/* encoded (N, C) = wte[tok] + wpe[t] */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			size_t r = (size_t)b * T + t;
			const float *we = p->wte + (size_t)tokens[r] * C, *pe = p->wpe + (size_t)t * C;
			float *o = a->encoded + r * C;
			for (int i = 0; i < C; i++)
				o[i] = we[i] + pe[i];
		}

	for (int l = 0; l < L; l++) {
		const float *in = l == 0 ? a->encoded : LAYER(a->res3, l - 1, NC);
		float *ln1 = LAYER(a->ln1, l, NC), *qkv = LAYER(a->qkv, l, 3 * NC);
		float *atty = LAYER(a->atty, l, NC), *att = LAYER(a->att, l, att_per);
		float *res2 = LAYER(a->res2, l, NC), *ln2 = LAYER(a->ln2, l, NC);
		float *fch = LAYER(a->fch, l, 4 * NC), *fchg = LAYER(a->fch_gelu, l, 4 * NC);
		float *res3 = LAYER(a->res3, l, NC);
		ifg_layernorm_fwd(ln1, LAYER(a->ln1_mean, l, Nmax), LAYER(a->ln1_rstd, l, Nmax), in,
			      p->ln1w + (size_t)l * C, p->ln1b + (size_t)l * C, N, C);
		ifg_linear_fwd(qkv, ln1, p->qkvw + (size_t)l * C * 3 * C, p->qkvb + (size_t)l * 3 * C, N,
			   C, 3 * C);
		ifg_attention_fwd(atty, att, qkv, B, T, C, NH);
		ifg_linear_fwd(res2, atty, p->attprojw + (size_t)l * C * C, p->attprojb + (size_t)l * C,
			   N, C, C);
		for (size_t i = 0; i < N * C; i++)
			res2[i] += in[i];
		ifg_layernorm_fwd(ln2, LAYER(a->ln2_mean, l, Nmax), LAYER(a->ln2_rstd, l, Nmax), res2,
			      p->ln2w + (size_t)l * C, p->ln2b + (size_t)l * C, N, C);
		ifg_linear_fwd(fch, ln2, p->fcw + (size_t)l * C * 4 * C, p->fcb + (size_t)l * 4 * C, N,
			   C, 4 * C);
		ifg_gelu_tanh_fwd(fchg, fch, N * 4 * C);
		ifg_linear_fwd(res3, fchg, p->fcprojw + (size_t)l * 4 * C * C,
			   p->fcprojb + (size_t)l * C, N, 4 * C, C);
		for (size_t i = 0; i < N * C; i++)
			res3[i] += res2[i];
	}
	ifg_layernorm_fwd(a->lnf, a->lnf_mean, a->lnf_rstd, LAYER(a->res3, L - 1, NC), p->lnfw, p->lnfb,
		      N, C);
	/* logits (N, V) = lnf (N, C) wteᵀ (C, V) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, V, C, 1.0f, a->lnf, C, p->wte,
		    C, 0.0f, a->logits, V);

	double total = 0;
	for (size_t r = 0; r < N; r++) {
		a->nll[r] = 0;
		if (!targets || targets[r] < 0)
			continue;
		a->nll[r] = ifg_xent_fwd(a->logits + r * V, V, targets[r], &a->lse[r]);
		total += a->nll[r];
	}
	if (nll_sum)
		*nll_sum = total;
	return 0;
}

const float *ifg_gpt_logits(const struct ifg_gpt *m) { return m->a.logits; }
const float *ifg_gpt_nll(const struct ifg_gpt *m) { return m->a.nll; }

/* -------------------------------------------------------------- backward */

void ifg_gpt_zero_grad(struct ifg_gpt *m)
{
	if (m->grads_mem)
		memset(m->grads_mem, 0, m->nparams * sizeof(float));
}

int ifg_gpt_backward(struct ifg_gpt *m, const float *weights, double divisor)
{
	const struct ifg_gpt_config *c = &m->cfg;
	if (!m->gacts_mem)
		return ifg_seterr("backward: the model was not reserved for training");
	if (!m->have_targets)
		return ifg_seterr("backward: the last forward had no targets");
	if (!(divisor > 0) || isinf(divisor))
		return ifg_seterr("backward: divisor %g must be positive", divisor);
	if (m->have_backward)
		return ifg_seterr("backward: called twice for one forward");
	int B = m->B, T = m->T, C = c->n_embd, NH = c->n_head, V = c->vocab_size, L = c->n_layer;
	size_t N = (size_t)B * T, NC = (size_t)m->Bmax * m->Tmax * C,
	       Nmax = (size_t)m->Bmax * m->Tmax;
	size_t att_per = (size_t)m->Bmax * NH * m->Tmax * m->Tmax;
	const struct ifg_gpt_params *p = &m->p;
	const struct ifg_gpt_params *g = &m->g;
	struct acts *a = &m->a;
	struct gacts *ga = &m->ga;

	/* dlogits (N, V), in place of the logits:
	 *   w/div (softmax(z) - onehot(y)) for rows with a target, else 0 */
	float *dl = a->logits;
	for (size_t r = 0; r < N; r++) {
		float *row = dl + r * V;
		int32_t y = m->targets[r];
		float w = y < 0 ? 0.0f : weights ? weights[r] : 1.0f;
		if (w == 0.0f) {
			memset(row, 0, V * sizeof(float));
			continue;
		}
		ifg_xent_bwd(row, row, V, y, a->lse[r], (float)(w / divisor));
	}
	m->have_backward = true;
	/* dlnf (N, C) = dlogits (N, V) wte (V, C);  dwte (V, C) += dlogitsᵀ lnf */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, C, V, 1.0f, dl, V, p->wte, C,
		    0.0f, ga->dln, C);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, (int)N, 1.0f, dl, V, a->lnf, C,
		    1.0f, g->wte, C);
	ifg_layernorm_bwd(LAYER(ga->g_mlp, L - 1, ga->lstride_c), NULL, g->lnfw, g->lnfb, ga->dln,
		      LAYER(a->res3, L - 1, NC), p->lnfw, a->lnf_mean, a->lnf_rstd, N, C);

	for (int l = L - 1; l >= 0; l--) {
		const float *in = l == 0 ? a->encoded : LAYER(a->res3, l - 1, NC);
		float *g_mlp = LAYER(ga->g_mlp, l, ga->lstride_c);
		float *g_att = LAYER(ga->g_att, l, ga->lstride_c);
		float *dqkv = LAYER(ga->dqkv, l, ga->lstride_3c);
		float *dfch = LAYER(ga->dfch, l, ga->lstride_4c);
		float *g_in = l == 0 ? ga->dx0 : LAYER(ga->g_mlp, l - 1, ga->lstride_c);
		size_t lC = (size_t)l * C;
		/* MLP: g_mlp -> dfch_gelu -> dfch -> dln2 */
		ifg_linear_bwd(ga->dfch_gelu, g->fcprojw + lC * 4 * C, g->fcprojb + lC, g_mlp,
			   LAYER(a->fch_gelu, l, 4 * NC), p->fcprojw + lC * 4 * C, a->ones, N, 4 * C,
			   C);
		ifg_gelu_tanh_bwd(dfch, LAYER(a->fch, l, 4 * NC), ga->dfch_gelu, N * 4 * C);
		ifg_linear_bwd(ga->dln, g->fcw + lC * 4 * C, g->fcb + (size_t)l * 4 * C, dfch,
			   LAYER(a->ln2, l, NC), p->fcw + lC * 4 * C, a->ones, N, C, 4 * C);
		/* g_att = g_mlp + LayerNorm_2 backward */
		ifg_layernorm_bwd(g_att, g_mlp, g->ln2w + lC, g->ln2b + lC, ga->dln, LAYER(a->res2, l, NC),
			      p->ln2w + lC, LAYER(a->ln2_mean, l, Nmax), LAYER(a->ln2_rstd, l, Nmax),
			      N, C);
		/* attention: g_att -> datty -> dqkv -> dln1 */
		ifg_linear_bwd(ga->datty, g->attprojw + lC * C, g->attprojb + lC, g_att,
			   LAYER(a->atty, l, NC), p->attprojw + lC * C, a->ones, N, C, C);
		ifg_attention_bwd(dqkv, ga->datt, ga->datty, LAYER(a->att, l, att_per),
			      LAYER(a->qkv, l, 3 * NC), B, T, C, NH);
		ifg_linear_bwd(ga->dln, g->qkvw + lC * 3 * C, g->qkvb + (size_t)l * 3 * C, dqkv,
			   LAYER(a->ln1, l, NC), p->qkvw + lC * 3 * C, a->ones, N, C, 3 * C);
		/* g_in = g_att + LayerNorm_1 backward */
		ifg_layernorm_bwd(g_in, g_att, g->ln1w + lC, g->ln1b + lC, ga->dln, in, p->ln1w + lC,
			      LAYER(a->ln1_mean, l, Nmax), LAYER(a->ln1_rstd, l, Nmax), N, C);
	}
	/* embeddings: dwte[tok] += dx0, dwpe[t] += dx0 (in row order: deterministic) */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			size_t r = (size_t)b * T + t;
			const float *d = ga->dx0 + r * C;
			float *ge = g->wte + (size_t)m->tokens[r] * C, *gp = g->wpe + (size_t)t * C;
			for (int i = 0; i < C; i++) {
				ge[i] += d[i];
				gp[i] += d[i];
			}
		}
	return 0;
}

/* ------------------------------------------------------ linear layer API */

int ifg_gpt_nlins(const struct ifg_gpt *m) { return m->nlins; }

const struct ifg_gpt_lin *ifg_gpt_lin(const struct ifg_gpt *m, int i)
{
	return i >= 0 && i < m->nlins ? &m->lins[i] : NULL;
}

int ifg_gpt_lin_find(const struct ifg_gpt *m, const char *name, size_t n)
{
	for (int i = 0; i < m->nlins; i++)
		if (strlen(m->lins[i].name) == n && !memcmp(m->lins[i].name, name, n))
			return i;
	return -1;
}

int ifg_gpt_linear(const struct ifg_gpt *m, int i, struct ifg_gpt_linear *o)
{
	const struct ifg_gpt_config *c = &m->cfg;
	if (i < 0 || i >= m->nlins)
		return ifg_seterr("tracked layer %d out of range [0, %d)", i, m->nlins);
	int layer = m->lins[i].block;
	if (!m->acts_mem)
		return ifg_seterr("no forward pass yet");
	size_t C = c->n_embd, l = layer, NC = (size_t)m->Bmax * m->Tmax * C;
	const struct ifg_gpt_params *p = &m->p;
	const struct acts *a = &m->a;
	const struct gacts *ga = &m->ga;
	bool s_ok = m->have_backward && m->gacts_mem &&
		    ((m->flags & IFG_GPT_KEEP_LINEAR) || layer == 0);
	switch (m->lins[i].kind_index) {
	case 0:
		*o = (struct ifg_gpt_linear){ (int)C, (int)(3 * C), LAYER(a->ln1, l, NC),
					      s_ok ? LAYER(ga->dqkv, l, ga->lstride_3c) : NULL,
					      p->qkvw + l * C * 3 * C, p->qkvb + l * 3 * C };
		break;
	case 1:
		*o = (struct ifg_gpt_linear){ (int)C, (int)C, LAYER(a->atty, l, NC),
					      s_ok ? LAYER(ga->g_att, l, ga->lstride_c) : NULL,
					      p->attprojw + l * C * C, p->attprojb + l * C };
		break;
	case 2:
		*o = (struct ifg_gpt_linear){ (int)C, (int)(4 * C), LAYER(a->ln2, l, NC),
					      s_ok ? LAYER(ga->dfch, l, ga->lstride_4c) : NULL,
					      p->fcw + l * C * 4 * C, p->fcb + l * 4 * C };
		break;
	case 3:
		*o = (struct ifg_gpt_linear){ (int)(4 * C), (int)C, LAYER(a->fch_gelu, l, 4 * NC),
					      s_ok ? LAYER(ga->g_mlp, l, ga->lstride_c) : NULL,
					      p->fcprojw + l * 4 * C * C, p->fcprojb + l * C };
		break;
	default:
		return ifg_seterr("tracked layer %d has no kind", i);
	}
	return 0;
}

/* ----------------------------------------------------------- checkpoints */

static char *path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *s = ifg_xmalloc(n, 1);
	snprintf(s, n, "%s/%s", dir, name);
	return s;
}

int ifg_gpt_save(const struct ifg_gpt *mc, const char *dir, const char *const *meta)
{
	struct ifg_gpt *m = (struct ifg_gpt *)mc; /* only the identity is updated */
	const struct ifg_gpt_config *c = &m->cfg;
	if (ifg_out_mkdir(dir) < 0)
		return -1;
	struct ifg_st_writer *w = ifg_st_writer_new();
	for (int i = 0; i < m->ntensors; i++) {
		const struct ifg_gpt_tensor *t = &m->tensors[i];
		ifg_st_add_f32(w, t->name, t->ndim, t->shape, m->params_mem + t->offset);
	}
	/* "format": "pt" is what transformers checks before loading */
	ifg_st_set_meta(w, "format", "pt");
	char num[32];
	const char *keys[] = { "n_layer", "n_head", "n_embd", "n_ctx", "vocab_size" };
	int vals[] = { c->n_layer, c->n_head, c->n_embd, c->n_ctx, c->vocab_size };
	for (int i = 0; i < 5; i++) {
		snprintf(num, sizeof num, "%d", vals[i]);
		ifg_st_set_meta(w, keys[i], num);
	}
	for (const char *const *kv = meta; kv && kv[0] && kv[1]; kv += 2)
		ifg_st_set_meta(w, kv[0], kv[1]);
	/* config.json: GPT2Config, no dropout (the model was trained without) */
	json_t *j = json_pack("{s:[s], s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:n, s:f, s:f, s:f, "
			      "s:f, s:f, s:b, s:b, s:s}",
			      "architectures", "GPT2LMHeadModel", "model_type", "gpt2",
			      "activation_function", "gelu_new", "vocab_size", c->vocab_size,
			      "n_positions", c->n_ctx, "n_ctx", c->n_ctx, "n_embd", c->n_embd,
			      "n_layer", c->n_layer, "n_head", c->n_head, "n_inner",
			      "layer_norm_epsilon", 1e-5, "initializer_range", 0.02, "resid_pdrop",
			      0.0, "embd_pdrop", 0.0, "attn_pdrop", 0.0, "scale_attn_weights", 1,
			      "tie_word_embeddings", 1, "torch_dtype", "float32");
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text) {
		ifg_st_writer_free(w);
		return ifg_seterr("cannot encode config.json");
	}
	size_t tl = strlen(text);
	char *nl = ifg_xmalloc(tl + 2, 1);
	memcpy(nl, text, tl);
	nl[tl] = '\n';
	nl[tl + 1] = 0;
	free(text);
	/* Both files land together: a failure leaves the previous pair. */
	char *stp = path_join(dir, "model.safetensors"), *cp = path_join(dir, "config.json");
	struct ifg_out *outs[2] = { ifg_out_open(stp, IFG_COMPRESS_NO, 1), NULL };
	int rc = outs[0] && (outs[1] = ifg_out_open(cp, IFG_COMPRESS_NO, 0)) ? 0 : -1;
	if (!rc && (ifg_st_writer_put(w, outs[0]) < 0 || ifg_out_write(outs[1], nl, tl + 1) < 0))
		rc = -1;
	if (rc) {
		ifg_out_abort(outs[0]);
		ifg_out_abort(outs[1]);
	} else if ((rc = ifg_out_close_all(outs, 2)) == 0) {
		snprintf(m->sha256, sizeof m->sha256, "%s", ifg_st_writer_sha256(w));
	}
	ifg_st_writer_free(w);
	free(stp);
	free(cp);
	free(nl);
	return rc;
}

static int json_int_field(json_t *j, const char *key, const char *alt, const char *path, int *out)
{
	json_t *v = json_object_get(j, key);
	if (!v && alt)
		v = json_object_get(j, alt);
	if (!json_is_integer(v))
		return ifg_seterr("'%s': \"%s\" missing or not an integer", path, key);
	json_int_t x = json_integer_value(v);
	if (x < 0 || x > INT32_MAX)
		return ifg_seterr("'%s': \"%s\" out of range", path, key);
	*out = (int)x;
	return 0;
}

static int read_config_json(const char *path, struct ifg_gpt_config *c)
{
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		return ifg_seterr("'%s': line %d: %s", path, e.line, e.text);
	int rc = -1;
	if (!json_is_object(j)) {
		ifg_seterr("'%s': not a JSON object", path);
		goto out;
	}
	json_t *mt = json_object_get(j, "model_type");
	if (mt && (!json_is_string(mt) || strcmp(json_string_value(mt), "gpt2") != 0)) {
		ifg_seterr("'%s': model_type is not \"gpt2\"", path);
		goto out;
	}
	json_t *act = json_object_get(j, "activation_function");
	if (act) {
		const char *a = json_is_string(act) ? json_string_value(act) : "";
		if (strcmp(a, "gelu_new") && strcmp(a, "gelu_pytorch_tanh") && strcmp(a, "gelu_fast")) {
			ifg_seterr("'%s': activation_function \"%s\" is not supported (tanh GELU only)",
				   path, a);
			goto out;
		}
	}
	json_t *eps = json_object_get(j, "layer_norm_epsilon");
	if (eps && (!json_is_number(eps) || fabs(json_number_value(eps) - 1e-5) > 1e-9)) {
		ifg_seterr("'%s': layer_norm_epsilon must be 1e-5", path);
		goto out;
	}
	if (json_int_field(j, "n_layer", NULL, path, &c->n_layer) < 0 ||
	    json_int_field(j, "n_head", NULL, path, &c->n_head) < 0 ||
	    json_int_field(j, "n_embd", NULL, path, &c->n_embd) < 0 ||
	    json_int_field(j, "n_positions", "n_ctx", path, &c->n_ctx) < 0 ||
	    json_int_field(j, "vocab_size", NULL, path, &c->vocab_size) < 0)
		goto out;
	json_t *inner = json_object_get(j, "n_inner");
	if (inner && !json_is_null(inner) &&
	    (!json_is_integer(inner) || json_integer_value(inner) != 4 * (json_int_t)c->n_embd)) {
		ifg_seterr("'%s': n_inner must be null or 4 * n_embd", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int config_from_meta(const struct ifg_st *st, struct ifg_gpt_config *c)
{
	const char *keys[] = { "n_layer", "n_head", "n_embd", "n_ctx", "vocab_size" };
	int *dst[] = { &c->n_layer, &c->n_head, &c->n_embd, &c->n_ctx, &c->vocab_size };
	for (int i = 0; i < 5; i++) {
		const char *v = ifg_st_meta(st, keys[i]);
		long x;
		if (!v)
			return ifg_seterr("'%s': no config.json beside it and no \"%s\" in its metadata",
					  ifg_st_path(st), keys[i]);
		if (ifg_parse_long(v, 1, INT32_MAX, &x) < 0)
			return ifg_prefixerr("'%s': metadata \"%s\"", ifg_st_path(st), keys[i]);
		*dst[i] = (int)x;
	}
	return 0;
}

/* Tensors a checkpoint may hold besides ours: HF's attention mask buffers
 * and the tied output layer. */
static bool ignorable(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "lm_head.weight") == 0 ||
	       (n > 9 && strcmp(name + n - 9, ".attn.bias") == 0) ||
	       (n > 16 && strcmp(name + n - 16, ".attn.masked_bias") == 0);
}

/* The file's tensor for one of our names, with or without "transformer.". */
static const struct ifg_st_tensor *find_tensor(const struct ifg_st *st, const char *name)
{
	const struct ifg_st_tensor *s = ifg_st_find(st, name);
	if (!s) {
		char alt[64];
		snprintf(alt, sizeof alt, "transformer.%s", name);
		s = ifg_st_find(st, alt);
	}
	return s;
}

static void fmt_shape(char *buf, size_t n, int ndim, const int64_t *shape)
{
	size_t k = snprintf(buf, n, "(");
	for (int d = 0; d < ndim && k < n; d++)
		k += snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (k < n)
		snprintf(buf + k, n - k, ")");
}

/* Checks the file's tensors against the table config c implies, before
 * anything of the model's size is allocated (a config claiming 10^10
 * parameters beside a small file gets a message naming the first tensor
 * that differs, not an out-of-memory exit): every tensor present with the
 * config's shape, and no tensor of another model. */
static int check_file_tensors(const struct ifg_st *st, const char *stp,
			      const struct ifg_gpt_config *c)
{
	int n, rc = -1;
	struct ifg_gpt_tensor *tab = tensor_table(c, &n);
	for (int i = 0; i < n; i++) {
		const struct ifg_gpt_tensor *t = &tab[i];
		const struct ifg_st_tensor *s = find_tensor(st, t->name);
		if (!s) {
			ifg_seterr("'%s': tensor '%s' is missing", stp, t->name);
			goto out;
		}
		bool same = s->ndim == t->ndim;
		for (int d = 0; same && d < t->ndim; d++)
			same = s->shape[d] == t->shape[d];
		if (!same) {
			char want[96], got[96];
			fmt_shape(want, sizeof want, t->ndim, t->shape);
			fmt_shape(got, sizeof got, s->ndim, s->shape);
			ifg_seterr("'%s': tensor '%s' has shape %s, but the configuration makes it %s",
				   stp, s->name, got, want);
			goto out;
		}
	}
	for (size_t i = 0; i < ifg_st_count(st); i++) {
		const char *nm = ifg_st_at(st, i)->name;
		if (strncmp(nm, "transformer.", 12) == 0)
			nm += 12;
		bool ours = false;
		for (int k = 0; k < n && !ours; k++)
			ours = strcmp(tab[k].name, nm) == 0;
		if (!ours && !ignorable(nm)) {
			ifg_seterr("'%s': unexpected tensor '%s' (not a GPT-2 checkpoint?)", stp,
				   ifg_st_at(st, i)->name);
			goto out;
		}
	}
	rc = 0;
out:
	free(tab);
	return rc;
}

struct ifg_gpt *ifg_gpt_load(const char *path)
{
	struct stat sb;
	if (stat(path, &sb) < 0) {
		ifg_seterr("cannot open '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *stp, *cfgp;
	if (S_ISDIR(sb.st_mode)) {
		stp = path_join(path, "model.safetensors");
		cfgp = path_join(path, "config.json");
	} else {
		stp = ifg_xstrdup(path);
		const char *slash = strrchr(path, '/');
		if (slash) {
			char *d = ifg_xstrdup(path);
			d[slash - path] = 0;
			cfgp = path_join(d, "config.json");
			free(d);
		} else {
			cfgp = ifg_xstrdup("config.json");
		}
	}
	struct ifg_gpt *m = NULL;
	struct ifg_st *st = ifg_st_open(stp);
	if (!st)
		goto out;
	struct ifg_gpt_config c;
	if (access(cfgp, R_OK) == 0 ? read_config_json(cfgp, &c) : config_from_meta(st, &c))
		goto out;
	if (ifg_gpt_config_check(&c) < 0) {
		ifg_prefixerr("'%s'", stp);
		goto out;
	}
	if (check_file_tensors(st, stp, &c) < 0)
		goto out;
	m = ifg_gpt_new(&c);
	for (int i = 0; i < m->ntensors; i++) {
		const struct ifg_gpt_tensor *t = &m->tensors[i];
		const struct ifg_st_tensor *s = find_tensor(st, t->name);
		if (ifg_st_read_f32(st, s, m->params_mem + t->offset, t->ndim, t->shape) < 0)
			goto fail;
		for (size_t k = 0; k < t->n; k++)
			if (!isfinite(m->params_mem[t->offset + k])) {
				ifg_seterr("'%s': tensor '%s' holds NaN or infinity", stp, t->name);
				goto fail;
			}
	}
	snprintf(m->sha256, sizeof m->sha256, "%s", ifg_st_sha256(st));
	goto out;
fail:
	ifg_gpt_free(m);
	m = NULL;
out:
	ifg_st_close(st);
	free(stp);
	free(cfgp);
	return m;
}

void ifg_gpt_identity(const struct ifg_gpt *m, struct ifg_model_id *id)
{
	memset(id, 0, sizeof *id);
	/* Weights and configuration: config.json may change what the same
	 * weights compute (n_head), so it is hashed with the file's hash. */
	if (m->sha256[0]) {
		char text[256];
		int n = snprintf(text, sizeof text, "ifg model 1;weights=%s;n_layer=%d;n_head=%d;"
				 "n_embd=%d;n_ctx=%d;vocab_size=%d", m->sha256, m->cfg.n_layer,
				 m->cfg.n_head, m->cfg.n_embd, m->cfg.n_ctx, m->cfg.vocab_size);
		struct ifg_sha256 h;
		ifg_sha256_init(&h);
		ifg_sha256_update(&h, text, (size_t)n);
		ifg_sha256_final(&h, id->sha256);
	}
	id->n_layer = m->cfg.n_layer;
	id->n_head = m->cfg.n_head;
	id->n_embd = m->cfg.n_embd;
	id->n_ctx = m->cfg.n_ctx;
	id->vocab_size = m->cfg.vocab_size;
}


/* gpt.c: the models' forward and backward on OpenBLAS (gpt.h), for every
 * family, from the tables of gpt_arch.c.
 *
 * Notation (gpt_impl.h): N = B*T rows (positions, b-major), C = n_embd, NH
 * heads of hs, Q the q | k | v width, F the MLP width, FH its input
 * product's width, V = vocab_size, L = n_layer. */
#include "gpt_impl.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "util.h"

/* OpenBLAS's own entry point (declared by its cblas.h, repeated here so the
 * file also builds against other CBLAS headers). */
void openblas_set_num_threads(int num_threads);

/* ------------------------------------------------------------ parameters */

/* A model of cfg without weights yet (params_mem NULL). */
static struct ifg_gpt *new_shell(const struct ifg_gpt_config *cfg)
{
	struct ifg_gpt_config c = *cfg;
	ifg_gpt_config_fill(&c);
	if (ifg_gpt_config_check(&c) < 0)
		return NULL;
	struct ifg_gpt *m = ifg_xcalloc(1, sizeof *m);
	m->cfg = c;
	ifg_gpt_dims(&c, &m->d);
	m->tensors = ifg_gpt_tensor_table(&c, &m->ntensors, m->role_n);
	for (int r = 0; r < R_N; r++) {
		m->role_off[r] = m->nparams;
		m->nparams += IFG_ROLE_PER_LAYER(r) ? m->role_n[r] * c.n_layer : m->role_n[r];
	}
	m->lins = ifg_gpt_lin_table(&c, &m->nlins);
	if (m->d.rot) {
		m->inv_freq = ifg_xmalloc(m->d.rot / 2, sizeof *m->inv_freq);
		ifg_gpt_rope_freqs(&c, m->d.rot, m->inv_freq);
	}
	return m;
}

struct ifg_gpt *ifg_gpt_new(const struct ifg_gpt_config *cfg)
{
	struct ifg_gpt *m = new_shell(cfg);
	if (!m)
		return NULL;
	m->params_mem = ifg_xaligned(m->nparams, sizeof(float));
	memset(m->params_mem, 0, m->nparams * sizeof(float));
	return m;
}

struct ifg_gpt *ifg_gpt_twin(struct ifg_gpt *m)
{
	struct ifg_gpt *t = new_shell(&m->cfg);
	if (!t)
		return NULL;
	t->params_mem = m->params_mem;
	t->params_shared = true;
	memcpy(t->sha256, m->sha256, sizeof t->sha256);
	return t;
}

static void free_acts(struct ifg_gpt *m)
{
	free(m->acts_mem);
	free(m->gacts_mem);
	free(m->targets);
	free(m->tokens);
	free(m->pos);
	m->acts_mem = m->gacts_mem = NULL;
	m->targets = NULL;
	m->tokens = NULL;
	m->pos = NULL;
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
	if (!m->params_shared)
		free(m->params_mem);
	free(m->grads_mem);
	free(m->tensors);
	free(m->lins);
	free(m->inv_freq);
	free(m);
}

const struct ifg_gpt_config *ifg_gpt_cfg(const struct ifg_gpt *m) { return &m->cfg; }
size_t ifg_gpt_nparams(const struct ifg_gpt *m) { return m->nparams; }
float *ifg_gpt_param_mem(struct ifg_gpt *m) { return m->params_mem; }
float *ifg_gpt_grad_mem(struct ifg_gpt *m) { return m->grads_mem; }
int ifg_gpt_ntensors(const struct ifg_gpt *m) { return m->ntensors; }
const struct ifg_gpt_tensor *ifg_gpt_tensor(const struct ifg_gpt *m, int i)
{
	return i >= 0 && i < m->ntensors ? &m->tensors[i] : NULL;
}

const struct ifg_gpt_tensor *ifg_gpt_tensor_find(const struct ifg_gpt *m, const char *name)
{
	for (int i = 0; i < m->ntensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
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

struct carve {
	float **p;
	size_t n;
};

/* One zeroed allocation for the arrays of list, each 64-byte aligned. */
static float *carve_all(struct carve *list, size_t n)
{
	size_t tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += (list[i].n + 15) & ~(size_t)15;
	float *mem = ifg_xaligned(tot ? tot : 16, sizeof(float)), *q = mem;
	memset(mem, 0, tot * sizeof(float));
	for (size_t i = 0; i < n; i++) {
		*list[i].p = list[i].n ? q : NULL;
		q += (list[i].n + 15) & ~(size_t)15;
	}
	return mem;
}

/* The activations of B x T positions (a's arrays, in list order). */
enum { N_ACTS = 21, N_GACTS = 9 };
static void acts_list(const struct ifg_gpt *m, struct ifg_acts *a, size_t B, size_t T,
		      struct carve *A)
{
	const struct ifg_gpt_dims *d = &m->d;
	size_t N = B * T, L = d->L, C = d->C, NH = d->NH, V = d->V, Q = d->Q, F = d->F, FH = d->FH;
	struct carve list[N_ACTS] = {
		{ &a->encoded, N * C },	    { &a->ln1, L * N * C },
		{ &a->ln1_mean, L * N },    { &a->ln1_rstd, L * N },
		{ &a->qkv, L * N * Q },	    { &a->atty, L * N * C },
		{ &a->att, L * B * NH * T * T },
		{ &a->res2, L * N * C },    { &a->ln2, L * N * C },
		{ &a->ln2_mean, L * N },    { &a->ln2_rstd, L * N },
		{ &a->fch, L * N * FH },    { &a->fcha, L * N * F },
		{ &a->res3, L * N * C },    { &a->lnf, N * C },
		{ &a->lnf_mean, N },	    { &a->lnf_rstd, N },
		{ &a->logits, N * V },	    { &a->lse, N },
		{ &a->nll, N },		    { &a->ones, N },
	};
	memcpy(A, list, sizeof list);
}

/* The activation gradients; returns the layers whose output gradients are
 * kept (L with IFG_GPT_KEEP_LINEAR, else 1). */
static size_t gacts_list(const struct ifg_gpt *m, struct ifg_gacts *g, size_t B, size_t T,
			 unsigned flags, struct carve *G)
{
	const struct ifg_gpt_dims *d = &m->d;
	size_t N = B * T, C = d->C, Q = d->Q, F = d->F, FH = d->FH;
	size_t KL = (flags & IFG_GPT_KEEP_LINEAR) ? d->L : 1;
	struct carve list[N_GACTS] = {
		{ &g->g_mlp, KL * N * C }, { &g->g_att, KL * N * C },
		{ &g->dqkv, KL * N * Q },  { &g->dfch, KL * N * FH },
		{ &g->dx0, N * C },	   { &g->dln, N * C },
		{ &g->datty, N * C },	   { &g->dfcha, N * F },
		{ &g->datt, T * T },
	};
	memcpy(G, list, sizeof list);
	return KL;
}

static double carve_floats(const struct carve *list, size_t n)
{
	double tot = 0;
	for (size_t i = 0; i < n; i++)
		tot += (double)((list[i].n + 15) & ~(size_t)15);
	return tot;
}

size_t ifg_gpt_memory(const struct ifg_gpt *m, int B, int T, unsigned flags)
{
	double guard = (double)B * T * (m->d.L * (5.0 * m->d.C + m->d.NH * (double)T) + m->d.V);
	if (guard > 1e17) /* beyond any machine (and the size_t products below) */
		return SIZE_MAX;
	struct ifg_acts a;
	struct ifg_gacts g;
	struct carve A[N_ACTS], G[N_GACTS];
	acts_list(m, &a, (size_t)B, (size_t)T, A);
	double floats = (double)m->nparams + carve_floats(A, N_ACTS) + m->d.rot / 2;
	if (flags & IFG_GPT_TRAIN) {
		gacts_list(m, &g, (size_t)B, (size_t)T, flags, G);
		floats += carve_floats(G, N_GACTS);
		if (!(flags & IFG_GPT_NO_PARAM_GRADS))
			floats += (double)m->nparams;
	}
	double bytes = 4.0 * floats + 12.0 * B * (double)T; /* + targets, tokens, positions */
	return bytes > (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

int ifg_gpt_reserve(struct ifg_gpt *m, int B, int T, unsigned flags)
{
	const struct ifg_gpt_dims *d = &m->d;
	if (B < 1 || T < 1)
		return ifg_seterr("batch %d x %d: must be positive", B, T);
	if (T > d->P)
		return ifg_seterr("sequence length %d exceeds the model's context %d", T, d->P);
	if (m->acts_mem && B <= m->Bmax && T <= m->Tmax &&
	    (flags & ~m->flags & ~(unsigned)IFG_GPT_NO_PARAM_GRADS) == 0 &&
	    (m->grads_mem || !(flags & IFG_GPT_TRAIN) || (flags & IFG_GPT_NO_PARAM_GRADS)))
		return 0;
	if (m->acts_mem) { /* grow to cover the old capacity too */
		if (B < m->Bmax)
			B = m->Bmax;
		if (T < m->Tmax)
			T = m->Tmax;
		unsigned nopg = flags & m->flags & IFG_GPT_NO_PARAM_GRADS; /* only if both */
		flags = ((flags | m->flags) & ~(unsigned)IFG_GPT_NO_PARAM_GRADS) | nopg;
	}
	/* in double first: the sizes' products could overflow size_t */
	double total = (double)B * T *
		       (d->L * (5.0 * d->C + d->Q + d->FH + d->F + 4 + d->NH * (double)T) +
			2.0 * d->C + d->V + 6);
	if (total > 1.5e11)
		return ifg_seterr("activations for %d x %d need %.3g floats: too large", B, T, total);
	free_acts(m);
	size_t N = (size_t)B * T;
	struct carve A[N_ACTS], G[N_GACTS];
	acts_list(m, &m->a, B, T, A);
	m->acts_mem = carve_all(A, N_ACTS);
	for (size_t i = 0; i < N; i++)
		m->a.ones[i] = 1.0f;
	m->targets = ifg_xcalloc(N, sizeof *m->targets);
	m->tokens = ifg_xcalloc(N, sizeof *m->tokens);
	m->pos = ifg_xcalloc(N, sizeof *m->pos);

	if (flags & IFG_GPT_TRAIN) {
		size_t KL = gacts_list(m, &m->ga, B, T, flags, G);
		m->gacts_mem = carve_all(G, N_GACTS);
		struct ifg_gacts *g = &m->ga;
		const struct ifg_gpt_dims *d = &m->d;
		g->lstride_c = KL > 1 ? N * d->C : 0;
		g->lstride_q = KL > 1 ? N * d->Q : 0;
		g->lstride_fh = KL > 1 ? N * d->FH : 0;
		if (!m->grads_mem && !(flags & IFG_GPT_NO_PARAM_GRADS)) {
			m->grads_mem = ifg_xaligned(m->nparams, sizeof(float));
			memset(m->grads_mem, 0, m->nparams * sizeof(float));
		}
	}
	m->Bmax = B;
	m->Tmax = T;
	m->flags = flags;
	return 0;
}


/* ------------------------------------------------------ the family's ops */

#define LAYER(ptr, l, per) ((ptr) + (size_t)(l) * (per))
#define PW(m, r, l) ifg_gpt_role(m, (m)->params_mem, r, l)
/* NULL without parameter gradients (IFG_GPT_NO_PARAM_GRADS): the kernels
 * then skip them */
#define GW(m, r, l) ((m)->grads_mem ? ifg_gpt_role(m, (m)->grads_mem, r, l) : NULL)

void ifg_gpt_norm_fwd(const struct ifg_gpt *m, float *out, float *mean, float *rstd,
		      const float *inp, const float *w, const float *b, size_t N)
{
	if (m->d.rms)
		ifg_rmsnorm_fwd(out, rstd, inp, w, N, m->d.C, (float)m->cfg.norm_eps);
	else
		ifg_layernorm_fwd(out, mean, rstd, inp, w, b, N, m->d.C, (float)m->cfg.norm_eps);
}

static void norm_bwd(const struct ifg_gpt *m, float *dinp, const float *dres, float *dw,
		     float *db, const float *dout, const float *inp, const float *w,
		     const float *mean, const float *rstd, size_t N)
{
	if (m->d.rms)
		ifg_rmsnorm_bwd(dinp, dres, dw, dout, inp, w, rstd, N, m->d.C);
	else
		ifg_layernorm_bwd(dinp, dres, dw, db, dout, inp, w, mean, rstd, N, m->d.C);
}

static void lin_fwd(const struct ifg_gpt *m, float *out, const float *inp, const float *w,
		    const float *b, size_t N, int din, int dout)
{
	if (m->d.conv1d)
		ifg_linear_fwd(out, inp, w, b, N, din, dout);
	else
		ifg_linear_t_fwd(out, inp, w, b, N, din, dout);
}

static void lin_bwd(const struct ifg_gpt *m, float *dinp, float *dw, float *db, const float *g,
		    const float *inp, const float *w, size_t N, int din, int dout)
{
	if (m->d.conv1d)
		ifg_linear_bwd(dinp, dw, db, g, inp, w, m->a.ones, N, din, dout);
	else
		ifg_linear_t_bwd(dinp, dw, db, g, inp, w, m->a.ones, N, din, dout);
}

/* Rotary on the q and k heads of N rows of qkv (dir +1) or on their
 * gradients (dir -1). */
static void rotate_qk(const struct ifg_gpt *m, float *qkv, size_t N, const int *pos, int dir)
{
	const struct ifg_gpt_dims *d = &m->d;
	if (!d->rot)
		return;
	const struct ifg_att_layout *lo = &d->att;
	ifg_rotary(qkv + lo->q0, lo->ld, N, pos, d->NH, lo->qstep, d->rot, m->inv_freq, dir);
	ifg_rotary(qkv + lo->k0, lo->ld, N, pos, d->NKV, lo->kvstep, d->rot, m->inv_freq, dir);
}

/* The MLP's activation: fcha (N, F) from fch (N, FH). */
static void act_fwd(const struct ifg_gpt *m, float *fcha, const float *fch, size_t N)
{
	size_t F = m->d.F;
	switch (m->d.act) {
	case IFG_ACT_GELU:
		ifg_gelu_exact_fwd(fcha, fch, N * F);
		break;
	case IFG_ACT_SILU: /* fch rows: gate | up */
		for (size_t r = 0; r < N; r++)
			ifg_swiglu_fwd(fcha + r * F, fch + r * 2 * F, fch + r * 2 * F + F, F);
		break;
	default:
		ifg_gelu_tanh_fwd(fcha, fch, N * F);
	}
}

static void act_bwd(const struct ifg_gpt *m, float *dfch, const float *fch, const float *dfcha,
		    size_t N)
{
	size_t F = m->d.F;
	switch (m->d.act) {
	case IFG_ACT_GELU:
		ifg_gelu_exact_bwd(dfch, fch, dfcha, N * F);
		break;
	case IFG_ACT_SILU:
		for (size_t r = 0; r < N; r++)
			ifg_swiglu_bwd(dfch + r * 2 * F, dfch + r * 2 * F + F, fch + r * 2 * F,
				       fch + r * 2 * F + F, dfcha + r * F, F);
		break;
	default:
		ifg_gelu_tanh_bwd(dfch, fch, dfcha, N * F);
	}
}

void ifg_gpt_logits_fwd(const struct ifg_gpt *m, float *out, const float *x, size_t N)
{
	/* out (N, V) = x (N, C) headᵀ (C, V) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, m->d.V, m->d.C, 1.0f, x,
		    m->d.C, ifg_gpt_head(m, m->params_mem), m->d.C, 0.0f, out, m->d.V);
}

/* --------------------------------------------------------------- forward */

void ifg_gpt_block_fwd(const struct ifg_gpt *m, int l, size_t N, const struct ifg_block_io *io,
		       ifg_attend_fn attend, void *ctx)
{
	const struct ifg_gpt_dims *d = &m->d;
	int C = d->C;
	ifg_gpt_norm_fwd(m, io->ln1, io->ln1_mean, io->ln1_rstd, io->in, PW(m, R_LN1W, l),
			 PW(m, R_LN1B, l), N);
	lin_fwd(m, io->qkv, io->ln1, PW(m, R_QKVW, l), PW(m, R_QKVB, l), N, C, d->Q);
	rotate_qk(m, io->qkv, N, io->pos, 1);
	attend(ctx, l, io->qkv, io->atty);
	lin_fwd(m, io->res2, io->atty, PW(m, R_OW, l), PW(m, R_OB, l), N, C, C);
	for (size_t i = 0; i < N * C; i++)
		io->res2[i] += io->in[i];
	/* parallel residual: the MLP reads the block's input, out = in + attn + mlp */
	ifg_gpt_norm_fwd(m, io->ln2, io->ln2_mean, io->ln2_rstd,
			 m->cfg.parallel_residual ? io->in : io->res2, PW(m, R_LN2W, l),
			 PW(m, R_LN2B, l), N);
	lin_fwd(m, io->fch, io->ln2, PW(m, R_FCW, l), PW(m, R_FCB, l), N, C, d->FH);
	act_fwd(m, io->fcha, io->fch, N);
	lin_fwd(m, io->out, io->fcha, PW(m, R_PROJW, l), PW(m, R_PROJB, l), N, d->F, C);
	for (size_t i = 0; i < N * C; i++)
		io->out[i] += io->res2[i];
}

/* Training attention: every position of B sequences of T, probabilities
 * kept for the backward. */
struct train_attend {
	struct ifg_gpt *m;
	int B, T;
};

static void train_attend(void *ctx, int l, const float *qkv, float *y)
{
	struct train_attend *t = ctx;
	struct ifg_gpt *m = t->m;
	size_t att_per = (size_t)m->Bmax * m->d.NH * m->Tmax * m->Tmax;
	ifg_attention_fwd(y, LAYER(m->a.att, l, att_per), qkv, t->B, t->T, &m->d.att);
}

/* The block io of layer l over the training activations. */
static struct ifg_block_io train_io(struct ifg_gpt *m, int l)
{
	struct ifg_acts *a = &m->a;
	size_t Nmax = (size_t)m->Bmax * m->Tmax, NC = Nmax * m->d.C;
	return (struct ifg_block_io){
		.in = l == 0 ? a->encoded : LAYER(a->res3, l - 1, NC),
		.ln1 = LAYER(a->ln1, l, NC),
		.ln1_mean = LAYER(a->ln1_mean, l, Nmax),
		.ln1_rstd = LAYER(a->ln1_rstd, l, Nmax),
		.qkv = LAYER(a->qkv, l, Nmax * m->d.Q),
		.atty = LAYER(a->atty, l, NC),
		.res2 = LAYER(a->res2, l, NC),
		.ln2 = LAYER(a->ln2, l, NC),
		.ln2_mean = LAYER(a->ln2_mean, l, Nmax),
		.ln2_rstd = LAYER(a->ln2_rstd, l, Nmax),
		.fch = LAYER(a->fch, l, Nmax * m->d.FH),
		.fcha = LAYER(a->fcha, l, Nmax * m->d.F),
		.out = LAYER(a->res3, l, NC),
		.pos = m->pos,
	};
}

static int check_targets(const int32_t *targets, size_t N, int V)
{
	for (size_t i = 0; i < N; i++)
		if (targets[i] >= V)
			return ifg_seterr("target %d at position %zu is outside the vocabulary (%d)",
					  targets[i], i, V);
	return 0;
}

/* The targets of the forward pass's (B T) positions and their NLL from its
 * logits. */
static void set_targets(struct ifg_gpt *m, const int32_t *targets, double *nll_sum)
{
	struct ifg_acts *a = &m->a;
	size_t N = (size_t)m->B * m->T;
	int V = m->d.V;
	memcpy(m->targets, targets, N * sizeof *targets);
	double total = 0;
	for (size_t r = 0; r < N; r++) {
		a->nll[r] = 0;
		if (targets[r] < 0)
			continue;
		a->nll[r] = ifg_xent_fwd(a->logits + r * V, V, targets[r], &a->lse[r]);
		total += a->nll[r];
	}
	m->have_targets = true;
	if (nll_sum)
		*nll_sum = total;
}

int ifg_gpt_forward(struct ifg_gpt *m, const uint32_t *tokens, const int32_t *targets, int B,
		    int T, double *nll_sum)
{
	const struct ifg_gpt_dims *d = &m->d;
	if (!m->acts_mem || B > m->Bmax || T > m->Tmax)
		if (ifg_gpt_reserve(m, B, T, m->flags) < 0)
			return -1;
	int C = d->C, V = d->V, L = d->L;
	size_t N = (size_t)B * T, NC = (size_t)m->Bmax * m->Tmax * C;
	struct ifg_acts *a = &m->a;

	for (size_t i = 0; i < N; i++)
		if (tokens[i] >= (uint32_t)V)
			return ifg_seterr("token %u at position %zu is outside the vocabulary (%d)",
					  tokens[i], i, V);
	if (targets && check_targets(targets, N, V) < 0)
		return -1;
	m->B = B;
	m->T = T;
	m->have_backward = false;
	m->have_targets = false;
	memcpy(m->tokens, tokens, N * sizeof *tokens);

	/* encoded (N, C) = wte[tok] (+ wpe[t]) */
	const float *wte = PW(m, R_WTE, 0), *wpe = PW(m, R_WPE, 0);
	for (int b = 0; b < B; b++)
		for (int t = 0; t < T; t++) {
			size_t r = (size_t)b * T + t;
			const float *we = wte + (size_t)tokens[r] * C;
			float *o = a->encoded + r * C;
			m->pos[r] = t;
			if (!wpe) {
				memcpy(o, we, C * sizeof *o);
				continue;
			}
			const float *pe = wpe + (size_t)t * C;
			for (int i = 0; i < C; i++)
				o[i] = we[i] + pe[i];
		}

	struct train_attend ta = { m, B, T };
	for (int l = 0; l < L; l++) {
		struct ifg_block_io io = train_io(m, l);
		ifg_gpt_block_fwd(m, l, N, &io, train_attend, &ta);
	}
	ifg_gpt_norm_fwd(m, a->lnf, a->lnf_mean, a->lnf_rstd, LAYER(a->res3, L - 1, NC),
			 PW(m, R_LNFW, 0), PW(m, R_LNFB, 0), N);
	ifg_gpt_logits_fwd(m, a->logits, a->lnf, N);
	if (targets)
		set_targets(m, targets, nll_sum);
	else
		memset(a->nll, 0, N * sizeof *a->nll);
	return 0;
}

int ifg_gpt_set_targets(struct ifg_gpt *m, const int32_t *targets, double *nll_sum)
{
	size_t N = (size_t)m->B * m->T;
	if (!N || m->have_backward)
		return ifg_seterr("targets set with no forward pass's logits");
	if (check_targets(targets, N, m->d.V) < 0)
		return -1;
	set_targets(m, targets, nll_sum);
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

/* Block l's backward: from g_out = d/d block output (in ga->g_mlp) to
 * g_in, accumulating the parameter gradients. */
static void block_bwd(struct ifg_gpt *m, int l, size_t N, float *g_in)
{
	const struct ifg_gpt_dims *d = &m->d;
	struct ifg_gacts *ga = &m->ga;
	struct ifg_block_io io = train_io(m, l);
	int C = d->C, B = m->B, T = m->T;
	size_t att_per = (size_t)m->Bmax * d->NH * m->Tmax * m->Tmax;
	float *g_out = LAYER(ga->g_mlp, l, ga->lstride_c);
	float *g_att = LAYER(ga->g_att, l, ga->lstride_c);
	float *dqkv = LAYER(ga->dqkv, l, ga->lstride_q);
	float *dfch = LAYER(ga->dfch, l, ga->lstride_fh);
	bool par = m->cfg.parallel_residual;
	const float *ln2_in = par ? io.in : io.res2;
	/* the attention output's gradient: res2 feeds only the block output
	 * when parallel (copied first: g_in may share g_out's buffer) */
	if (par)
		memcpy(g_att, g_out, N * C * sizeof *g_att);
	/* MLP: g_out -> dfcha -> dfch -> dln2 */
	lin_bwd(m, ga->dfcha, GW(m, R_PROJW, l), GW(m, R_PROJB, l), g_out, io.fcha,
		PW(m, R_PROJW, l), N, d->F, C);
	act_bwd(m, dfch, io.fch, ga->dfcha, N);
	lin_bwd(m, ga->dln, GW(m, R_FCW, l), GW(m, R_FCB, l), dfch, io.ln2, PW(m, R_FCW, l), N, C,
		d->FH);
	/* sequential: g_att = g_out + norm_2 backward; parallel: that sum goes
	 * to g_in, which the attention path adds to below */
	norm_bwd(m, par ? g_in : g_att, g_out, GW(m, R_LN2W, l), GW(m, R_LN2B, l), ga->dln, ln2_in,
		 PW(m, R_LN2W, l), io.ln2_mean, io.ln2_rstd, N);
	/* attention: g_att -> datty -> dqkv -> dln1 */
	lin_bwd(m, ga->datty, GW(m, R_OW, l), GW(m, R_OB, l), g_att, io.atty, PW(m, R_OW, l), N, C,
		C);
	ifg_attention_bwd(dqkv, ga->datt, ga->datty, LAYER(m->a.att, l, att_per), io.qkv, B, T,
			  &d->att);
	rotate_qk(m, dqkv, N, m->pos, -1);
	lin_bwd(m, ga->dln, GW(m, R_QKVW, l), GW(m, R_QKVB, l), dqkv, io.ln1, PW(m, R_QKVW, l), N,
		C, d->Q);
	/* g_in = (g_att or the MLP path's sum) + norm_1 backward */
	norm_bwd(m, g_in, par ? g_in : g_att, GW(m, R_LN1W, l), GW(m, R_LN1B, l), ga->dln, io.in,
		 PW(m, R_LN1W, l), io.ln1_mean, io.ln1_rstd, N);
}

int ifg_gpt_backward(struct ifg_gpt *m, const float *weights, double divisor)
{
	const struct ifg_gpt_dims *d = &m->d;
	if (!m->gacts_mem)
		return ifg_seterr("backward: the model was not reserved for training");
	if (!m->have_targets)
		return ifg_seterr("backward: the last forward had no targets");
	if (!(divisor > 0) || isinf(divisor))
		return ifg_seterr("backward: divisor %g must be positive", divisor);
	if (m->have_backward)
		return ifg_seterr("backward: called twice for one forward");
	int B = m->B, T = m->T, C = d->C, V = d->V, L = d->L;
	size_t N = (size_t)B * T, NC = (size_t)m->Bmax * m->Tmax * C;
	struct ifg_acts *a = &m->a;
	struct ifg_gacts *ga = &m->ga;

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
	/* dlnf (N, C) = dlogits (N, V) head (V, C);  dhead (V, C) += dlogitsᵀ lnf */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, C, V, 1.0f, dl, V,
		    ifg_gpt_head(m, m->params_mem), C, 0.0f, ga->dln, C);
	if (m->grads_mem)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, C, (int)N, 1.0f, dl, V, a->lnf,
			    C, 1.0f, ifg_gpt_head(m, m->grads_mem), C);
	norm_bwd(m, LAYER(ga->g_mlp, L - 1, ga->lstride_c), NULL, GW(m, R_LNFW, 0),
		 GW(m, R_LNFB, 0), ga->dln, LAYER(a->res3, L - 1, NC), PW(m, R_LNFW, 0),
		 a->lnf_mean, a->lnf_rstd, N);

	for (int l = L - 1; l >= 0; l--)
		block_bwd(m, l, N, l == 0 ? ga->dx0 : LAYER(ga->g_mlp, l - 1, ga->lstride_c));
	/* embeddings: dwte[tok] += dx0, dwpe[t] += dx0 (in row order: deterministic) */
	float *gte = GW(m, R_WTE, 0), *gpe = GW(m, R_WPE, 0);
	for (int b = 0; b < B && gte; b++)
		for (int t = 0; t < T; t++) {
			size_t r = (size_t)b * T + t;
			const float *dr = ga->dx0 + r * C;
			float *ge = gte + (size_t)m->tokens[r] * C;
			float *gp = gpe ? gpe + (size_t)t * C : NULL;
			for (int i = 0; i < C; i++) {
				ge[i] += dr[i];
				if (gp)
					gp[i] += dr[i];
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
	if (i < 0 || i >= m->nlins)
		return ifg_seterr("tracked layer %d out of range [0, %d)", i, m->nlins);
	if (!m->acts_mem)
		return ifg_seterr("no forward pass yet");
	const struct ifg_gpt_lin *t = &m->lins[i];
	const struct ifg_gpt_dims *d = &m->d;
	const struct ifg_acts *a = &m->a;
	const struct ifg_gacts *ga = &m->ga;
	int l = t->block;
	size_t Nmax = (size_t)m->Bmax * m->Tmax, NC = Nmax * d->C;
	bool s_ok = m->have_backward && m->gacts_mem &&
		    ((m->flags & IFG_GPT_KEEP_LINEAR) || l == 0);
	const float *A, *S;
	size_t lda, lds;
	int wrole, brole;
	switch (t->site_) {
	case SITE_QKV:
		A = LAYER(a->ln1, l, NC), lda = d->C;
		S = LAYER(ga->dqkv, l, ga->lstride_q), lds = d->Q;
		wrole = R_QKVW, brole = R_QKVB;
		break;
	case SITE_O:
		A = LAYER(a->atty, l, NC), lda = d->C;
		S = LAYER(ga->g_att, l, ga->lstride_c), lds = d->C;
		wrole = R_OW, brole = R_OB;
		break;
	case SITE_FC:
		A = LAYER(a->ln2, l, NC), lda = d->C;
		S = LAYER(ga->dfch, l, ga->lstride_fh), lds = d->FH;
		wrole = R_FCW, brole = R_FCB;
		break;
	case SITE_PROJ:
		A = LAYER(a->fcha, l, Nmax * d->F), lda = d->F;
		S = LAYER(ga->g_mlp, l, ga->lstride_c), lds = d->C;
		wrole = R_PROJW, brole = R_PROJB;
		break;
	default:
		return ifg_seterr("tracked layer %d has no kind", i);
	}
	/* a layer of a wider product: its columns of S, its rows of W (d_out, d_in) */
	const float *W = PW(m, wrole, l), *b = PW(m, brole, l);
	*o = (struct ifg_gpt_linear){
		.d_in = t->d_in,
		.d_out = t->d_out,
		.a = A,
		.s = s_ok ? S + t->col_ : NULL,
		.lda = lda,
		.lds = lds,
		.w = d->conv1d ? W : W + (size_t)t->col_ * t->d_in,
		.w_out_in = !d->conv1d,
		.b = b ? b + t->col_ : NULL,
	};
	return 0;
}

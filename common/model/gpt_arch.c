/* gpt_arch.c: what differs between the model families, as tables: the
 * checkpoint's tensors (Hugging Face name, role, shape, initialisation),
 * the tracked linear layers, and config.json's fields (gpt_impl.h).  The
 * forward and backward (gpt.c) and the checkpoint I/O (gpt_io.c) read
 * these and hold no family's names.
 *
 * Sources: Hugging Face transformers' GPT2, GPTNeoX and Llama modelling and
 * configuration classes (state-dict names, shapes, defaults). */
#include "gpt_impl.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The tables below spell only each entry's leading fields; the rest are 0. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

static const char *const arch_names[IFG_ARCH_N] = { "gpt2", "gpt_neox", "llama" };

const char *ifg_arch_name(enum ifg_arch a)
{
	return a >= 0 && a < IFG_ARCH_N ? arch_names[a] : NULL;
}

int ifg_arch_parse(const char *name)
{
	for (int a = 0; a < IFG_ARCH_N; a++)
		if (strcmp(name, arch_names[a]) == 0)
			return a;
	return -1;
}

/* ------------------------------------------------------------ configuration */

static bool act_ok(enum ifg_arch arch, enum ifg_act act)
{
	return act == IFG_ACT_DEFAULT || (arch == IFG_ARCH_GPT2 && act == IFG_ACT_GELU_TANH) ||
	       (arch == IFG_ARCH_NEOX && (act == IFG_ACT_GELU_TANH || act == IFG_ACT_GELU)) ||
	       (arch == IFG_ARCH_LLAMA && act == IFG_ACT_SILU);
}

void ifg_gpt_config_fill(struct ifg_gpt_config *c)
{
	if (!c->n_kv_head)
		c->n_kv_head = c->n_head;
	if (!c->d_ff) {
		if (c->arch == IFG_ARCH_LLAMA) /* 2/3 of 4 C for the three SwiGLU matrices */
			c->d_ff = (int)(((8LL * c->n_embd / 3) + 63) / 64 * 64);
		else
			c->d_ff = 4 * c->n_embd;
	}
	if (c->norm_eps == 0)
		c->norm_eps = c->arch == IFG_ARCH_LLAMA ? 1e-6 : 1e-5;
	if (c->rotary_pct == 0)
		c->rotary_pct = c->arch == IFG_ARCH_NEOX ? 0.25 : c->arch == IFG_ARCH_LLAMA ? 1.0 : 0;
	if (c->rope_base == 0 && c->arch != IFG_ARCH_GPT2)
		c->rope_base = 10000;
	if (c->act == IFG_ACT_DEFAULT)
		c->act = c->arch == IFG_ARCH_GPT2   ? IFG_ACT_GELU_TANH
			 : c->arch == IFG_ARCH_NEOX ? IFG_ACT_GELU
						    : IFG_ACT_SILU;
}

void ifg_gpt_rope_freqs(const struct ifg_gpt_config *c, int rot, float *inv)
{
	ifg_rotary_freqs(inv, rot, c->rope_base ? c->rope_base : 10000);
	const struct ifg_rope_scaling *s = &c->rope_scaling;
	if (!s->factor)
		return;
	/* Llama 3.1's rule, in float as Hugging Face computes it */
	float lo_wave = (float)(s->orig_ctx / s->low), hi_wave = (float)(s->orig_ctx / s->high);
	for (int i = 0; i < rot / 2; i++) {
		float f = inv[i], wave = 2.0f * (float)M_PI / f;
		if (wave > lo_wave) {
			inv[i] = f / (float)s->factor;
		} else if (!(wave < hi_wave)) {
			float sm = ((float)s->orig_ctx / wave - (float)s->low) /
				   (float)(s->high - s->low);
			inv[i] = (1 - sm) * f / (float)s->factor + sm * f;
		}
	}
}

int ifg_gpt_config_check(const struct ifg_gpt_config *c)
{
	if (c->arch < 0 || c->arch >= IFG_ARCH_N)
		return ifg_seterr("unknown model family %d", (int)c->arch);
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
	if (c->vocab_size < 1 || c->vocab_size > IFG_MAX_VOCAB)
		return ifg_seterr("vocab_size %d out of range [1, 2^24]", c->vocab_size);
	int nkv = c->n_kv_head ? c->n_kv_head : c->n_head;
	if (nkv < 1 || c->n_head % nkv)
		return ifg_seterr("n_head %d is not a multiple of the key/value heads %d", c->n_head,
				  nkv);
	if (nkv != c->n_head && c->arch != IFG_ARCH_LLAMA)
		return ifg_seterr("grouped-query attention (%d key/value heads) is Llama's only", nkv);
	int F = c->d_ff ? c->d_ff : 4 * c->n_embd;
	if (F < 1 || F > 1 << 20)
		return ifg_seterr("d_ff %d out of range [1, 2^20]", F);
	if (c->arch == IFG_ARCH_GPT2 && F != 4 * c->n_embd)
		return ifg_seterr("GPT-2's MLP is 4 * n_embd wide (n_inner), not %d", F);
	double eps = c->norm_eps ? c->norm_eps : 1e-5;
	if (!(eps > 0 && eps < 1))
		return ifg_seterr("norm epsilon %g out of range (0, 1)", eps);
	if (c->arch == IFG_ARCH_GPT2 && fabs(eps - 1e-5) > 1e-9)
		return ifg_seterr("layer_norm_epsilon must be 1e-5");
	int hs = c->n_embd / c->n_head;
	if (c->arch == IFG_ARCH_NEOX) {
		double pct = c->rotary_pct ? c->rotary_pct : 0.25;
		int rot = (int)(hs * pct);
		if (!(pct > 0 && pct <= 1) || rot < 2 || rot % 2)
			return ifg_seterr("rotary_pct %g of a head of %d gives %d rotated dimensions "
					  "(an even number >= 2 is needed)", pct, hs, rot);
	}
	if (c->arch == IFG_ARCH_LLAMA && hs % 2)
		return ifg_seterr("rotary needs an even head size, not %d", hs);
	if (c->arch != IFG_ARCH_GPT2 && c->rope_base != 0 && !(c->rope_base > 1))
		return ifg_seterr("rotary base %g must be > 1", c->rope_base);
	const struct ifg_rope_scaling *rs = &c->rope_scaling;
	if (rs->factor && (c->arch != IFG_ARCH_LLAMA || !(rs->factor >= 1) || !(rs->low > 0) ||
			   !(rs->high > rs->low) || rs->orig_ctx < 1))
		return ifg_seterr("rope_scaling: a Llama's, with factor >= 1, 0 < low_freq_factor < "
				  "high_freq_factor and original_max_position_embeddings >= 1");
	if (!act_ok(c->arch, c->act))
		return ifg_seterr("this activation is not %s's", arch_names[c->arch]);
	if (c->arch == IFG_ARCH_GPT2 && (c->untied || c->parallel_residual))
		return ifg_seterr("GPT-2 has a tied output layer and a sequential residual");
	if (c->arch == IFG_ARCH_LLAMA && c->parallel_residual)
		return ifg_seterr("Llama has a sequential residual");
	/* the matrices: embedding(s), positions (GPT-2), per block q|k|v, the
	 * attention output and the MLP's two (Llama's SwiGLU: three) */
	double L = c->n_layer, C = c->n_embd, Q = C + 2.0 * nkv * hs;
	double mlp = (c->arch == IFG_ARCH_LLAMA ? 3.0 : 2.0) * F * C;
	double np = (double)c->vocab_size * C * (c->untied ? 2 : 1) +
		    (c->arch == IFG_ARCH_GPT2 ? (double)c->n_ctx * C : 0) +
		    L * (Q * C + C * C + mlp + 8 * C);
	if (np > 4e10)
		return ifg_seterr("model too large (%.3g parameters)", np);
	return 0;
}

void ifg_gpt_dims(const struct ifg_gpt_config *c0, struct ifg_gpt_dims *d)
{
	struct ifg_gpt_config c = *c0;
	ifg_gpt_config_fill(&c);
	memset(d, 0, sizeof *d);
	d->L = c.n_layer;
	d->C = c.n_embd;
	d->NH = c.n_head;
	d->NKV = c.n_kv_head;
	d->hs = c.n_embd / c.n_head;
	d->KV = d->NKV * d->hs;
	d->Q = d->C + 2 * d->KV;
	d->F = c.d_ff;
	d->FH = c.arch == IFG_ARCH_LLAMA ? 2 * d->F : d->F;
	d->V = c.vocab_size;
	d->P = c.n_ctx;
	d->rot = c.arch == IFG_ARCH_GPT2 ? 0 : (int)(d->hs * c.rotary_pct);
	d->conv1d = c.arch == IFG_ARCH_GPT2;
	d->rms = c.arch == IFG_ARCH_LLAMA;
	d->lin_bias = c.arch != IFG_ARCH_LLAMA;
	d->act = c.act;
	struct ifg_att_layout *a = &d->att;
	a->NH = d->NH;
	a->NKV = d->NKV;
	a->hs = d->hs;
	a->ld = d->Q;
	if (c.arch == IFG_ARCH_NEOX) { /* per head [q k v] */
		a->q0 = 0, a->k0 = d->hs, a->v0 = 2 * d->hs;
		a->qstep = a->kvstep = 3 * d->hs;
	} else {
		a->q0 = 0, a->k0 = d->C, a->v0 = d->C + d->KV;
		a->qstep = a->kvstep = d->hs;
	}
}

/* ------------------------------------------------------------ tensor tables */

/* A size in a table, resolved against the dims. */
enum dim { D_1, D_C, D_V, D_P, D_Q, D_KV, D_F };

static int64_t dim_of(const struct ifg_gpt_dims *d, enum dim x)
{
	switch (x) {
	case D_1: return 1;
	case D_C: return d->C;
	case D_V: return d->V;
	case D_P: return d->P;
	case D_Q: return d->Q;
	case D_KV: return d->KV;
	case D_F: return d->F;
	}
	return 0;
}

/* One tensor of a family: name (with %d for the block of a per-layer role),
 * role, shape (cols D_1 and ndim 1 for vectors), initialisation.  Tensors of
 * one role in one block lie side by side in table order. */
struct tensor_desc {
	const char *name;
	enum ifg_role role;
	int ndim;
	enum dim rows, cols;
	enum ifg_init init;
	bool when_untied;	/* only with an untied output layer */
};

#define NRM IFG_INIT_NORMAL
#define RES IFG_INIT_RESID
#define ZER IFG_INIT_ZERO
#define ONE IFG_INIT_ONE

/* GPT2LMHeadModel: Conv1D weights (d_in, d_out). */
static const struct tensor_desc gpt2_head[] = {
	{ "wte.weight", R_WTE, 2, D_V, D_C, NRM },
	{ "wpe.weight", R_WPE, 2, D_P, D_C, NRM },
}, gpt2_block[] = {
	{ "h.%d.ln_1.weight", R_LN1W, 1, D_C, D_1, ONE },
	{ "h.%d.ln_1.bias", R_LN1B, 1, D_C, D_1, ZER },
	{ "h.%d.attn.c_attn.weight", R_QKVW, 2, D_C, D_Q, NRM },
	{ "h.%d.attn.c_attn.bias", R_QKVB, 1, D_Q, D_1, ZER },
	{ "h.%d.attn.c_proj.weight", R_OW, 2, D_C, D_C, RES },
	{ "h.%d.attn.c_proj.bias", R_OB, 1, D_C, D_1, ZER },
	{ "h.%d.ln_2.weight", R_LN2W, 1, D_C, D_1, ONE },
	{ "h.%d.ln_2.bias", R_LN2B, 1, D_C, D_1, ZER },
	{ "h.%d.mlp.c_fc.weight", R_FCW, 2, D_C, D_F, NRM },
	{ "h.%d.mlp.c_fc.bias", R_FCB, 1, D_F, D_1, ZER },
	{ "h.%d.mlp.c_proj.weight", R_PROJW, 2, D_F, D_C, RES },
	{ "h.%d.mlp.c_proj.bias", R_PROJB, 1, D_C, D_1, ZER },
}, gpt2_tail[] = {
	{ "ln_f.weight", R_LNFW, 1, D_C, D_1, ONE },
	{ "ln_f.bias", R_LNFB, 1, D_C, D_1, ZER },
};

/* GPTNeoXForCausalLM: nn.Linear weights (d_out, d_in). */
static const struct tensor_desc neox_head[] = {
	{ "gpt_neox.embed_in.weight", R_WTE, 2, D_V, D_C, NRM },
}, neox_block[] = {
	{ "gpt_neox.layers.%d.input_layernorm.weight", R_LN1W, 1, D_C, D_1, ONE },
	{ "gpt_neox.layers.%d.input_layernorm.bias", R_LN1B, 1, D_C, D_1, ZER },
	{ "gpt_neox.layers.%d.post_attention_layernorm.weight", R_LN2W, 1, D_C, D_1, ONE },
	{ "gpt_neox.layers.%d.post_attention_layernorm.bias", R_LN2B, 1, D_C, D_1, ZER },
	{ "gpt_neox.layers.%d.attention.query_key_value.weight", R_QKVW, 2, D_Q, D_C, NRM },
	{ "gpt_neox.layers.%d.attention.query_key_value.bias", R_QKVB, 1, D_Q, D_1, ZER },
	{ "gpt_neox.layers.%d.attention.dense.weight", R_OW, 2, D_C, D_C, NRM },
	{ "gpt_neox.layers.%d.attention.dense.bias", R_OB, 1, D_C, D_1, ZER },
	{ "gpt_neox.layers.%d.mlp.dense_h_to_4h.weight", R_FCW, 2, D_F, D_C, NRM },
	{ "gpt_neox.layers.%d.mlp.dense_h_to_4h.bias", R_FCB, 1, D_F, D_1, ZER },
	{ "gpt_neox.layers.%d.mlp.dense_4h_to_h.weight", R_PROJW, 2, D_C, D_F, NRM },
	{ "gpt_neox.layers.%d.mlp.dense_4h_to_h.bias", R_PROJB, 1, D_C, D_1, ZER },
}, neox_tail[] = {
	{ "gpt_neox.final_layer_norm.weight", R_LNFW, 1, D_C, D_1, ONE },
	{ "gpt_neox.final_layer_norm.bias", R_LNFB, 1, D_C, D_1, ZER },
	{ "embed_out.weight", R_HEAD, 2, D_V, D_C, NRM, true },
};

/* LlamaForCausalLM: nn.Linear weights (d_out, d_in), no biases; q | k | v
 * and gate | up each one product. */
static const struct tensor_desc llama_head[] = {
	{ "model.embed_tokens.weight", R_WTE, 2, D_V, D_C, NRM },
}, llama_block[] = {
	{ "model.layers.%d.self_attn.q_proj.weight", R_QKVW, 2, D_C, D_C, NRM },
	{ "model.layers.%d.self_attn.k_proj.weight", R_QKVW, 2, D_KV, D_C, NRM },
	{ "model.layers.%d.self_attn.v_proj.weight", R_QKVW, 2, D_KV, D_C, NRM },
	{ "model.layers.%d.self_attn.o_proj.weight", R_OW, 2, D_C, D_C, NRM },
	{ "model.layers.%d.mlp.gate_proj.weight", R_FCW, 2, D_F, D_C, NRM },
	{ "model.layers.%d.mlp.up_proj.weight", R_FCW, 2, D_F, D_C, NRM },
	{ "model.layers.%d.mlp.down_proj.weight", R_PROJW, 2, D_C, D_F, NRM },
	{ "model.layers.%d.input_layernorm.weight", R_LN1W, 1, D_C, D_1, ONE },
	{ "model.layers.%d.post_attention_layernorm.weight", R_LN2W, 1, D_C, D_1, ONE },
}, llama_tail[] = {
	{ "model.norm.weight", R_LNFW, 1, D_C, D_1, ONE },
	{ "lm_head.weight", R_HEAD, 2, D_V, D_C, NRM, true },
};

#define N_OF(a) (int)(sizeof(a) / sizeof((a)[0]))

struct family {
	const struct tensor_desc *head, *block, *tail;
	int nhead, nblock, ntail;
};

static const struct family families[IFG_ARCH_N] = {
	{ gpt2_head, gpt2_block, gpt2_tail, N_OF(gpt2_head), N_OF(gpt2_block), N_OF(gpt2_tail) },
	{ neox_head, neox_block, neox_tail, N_OF(neox_head), N_OF(neox_block), N_OF(neox_tail) },
	{ llama_head, llama_block, llama_tail, N_OF(llama_head), N_OF(llama_block),
	  N_OF(llama_tail) },
};

static size_t desc_size(const struct ifg_gpt_dims *d, const struct tensor_desc *t)
{
	return (size_t)dim_of(d, t->rows) * (size_t)dim_of(d, t->cols);
}

struct ifg_gpt_tensor *ifg_gpt_tensor_table(const struct ifg_gpt_config *c, int *n,
					    size_t role_n[R_N])
{
	struct ifg_gpt_dims d;
	ifg_gpt_dims(c, &d);
	const struct family *f = &families[c->arch];
	/* role sizes (per layer for per-layer roles), then the slab's offsets */
	size_t rn[R_N] = { 0 }, off[R_N], o = 0;
	const struct tensor_desc *parts[3] = { f->head, f->block, f->tail };
	int counts[3] = { f->nhead, f->nblock, f->ntail };
	for (int p = 0; p < 3; p++)
		for (int i = 0; i < counts[p]; i++)
			if (!parts[p][i].when_untied || c->untied)
				rn[parts[p][i].role] += desc_size(&d, &parts[p][i]);
	for (int r = 0; r < R_N; r++) {
		off[r] = o;
		o += IFG_ROLE_PER_LAYER(r) ? rn[r] * d.L : rn[r];
	}
	if (role_n)
		memcpy(role_n, rn, sizeof rn);
	struct ifg_gpt_tensor *tab =
		ifg_xcalloc(f->nhead + f->ntail + (size_t)f->nblock * d.L, sizeof *tab);
	int k = 0;
	size_t inrole[R_N];	/* filled so far of each role in the current block */
	for (int p = 0; p < 3; p++) {
		int reps = p == 1 ? d.L : 1;
		for (int l = 0; l < reps; l++) {
			memset(inrole, 0, sizeof inrole);
			for (int i = 0; i < counts[p]; i++) {
				const struct tensor_desc *t = &parts[p][i];
				if (t->when_untied && !c->untied)
					continue;
				struct ifg_gpt_tensor *e = &tab[k++];
				snprintf(e->name, sizeof e->name, t->name, l);
				e->ndim = t->ndim;
				e->shape[0] = dim_of(&d, t->rows);
				e->shape[1] = dim_of(&d, t->cols);
				e->n = desc_size(&d, t);
				e->offset = off[t->role] + (p == 1 ? (size_t)l * rn[t->role] : 0) +
					    inrole[t->role];
				inrole[t->role] += e->n;
				e->decay = t->ndim == 2;
				e->init = t->init;
			}
		}
	}
	*n = k;
	return tab;
}

/* --------------------------------------------------------- tracked layers */

/* One tracked linear of a family's block: its kind, where it lives, and its
 * output width; layers of one site lie side by side in table order. */
struct lin_desc {
	const char *kind;
	enum ifg_site site;
	enum dim dout;
};

static const struct lin_desc gpt2_lins[] = {
	{ "attn.c_attn", SITE_QKV, D_Q },
	{ "attn.c_proj", SITE_O, D_C },
	{ "mlp.c_fc", SITE_FC, D_F },
	{ "mlp.c_proj", SITE_PROJ, D_C },
}, neox_lins[] = {
	{ "attention.query_key_value", SITE_QKV, D_Q },
	{ "attention.dense", SITE_O, D_C },
	{ "mlp.dense_h_to_4h", SITE_FC, D_F },
	{ "mlp.dense_4h_to_h", SITE_PROJ, D_C },
}, llama_lins[] = {
	{ "self_attn.q_proj", SITE_QKV, D_C },
	{ "self_attn.k_proj", SITE_QKV, D_KV },
	{ "self_attn.v_proj", SITE_QKV, D_KV },
	{ "self_attn.o_proj", SITE_O, D_C },
	{ "mlp.gate_proj", SITE_FC, D_F },
	{ "mlp.up_proj", SITE_FC, D_F },
	{ "mlp.down_proj", SITE_PROJ, D_C },
};

static const struct {
	const struct lin_desc *lins;
	int n;
	const char *prefix;	/* the block's module path */
} lin_tables[IFG_ARCH_N] = {
	{ gpt2_lins, N_OF(gpt2_lins), "h.%d." },
	{ neox_lins, N_OF(neox_lins), "gpt_neox.layers.%d." },
	{ llama_lins, N_OF(llama_lins), "model.layers.%d." },
};

struct ifg_gpt_lin *ifg_gpt_lin_table(const struct ifg_gpt_config *c, int *n)
{
	struct ifg_gpt_dims d;
	ifg_gpt_dims(c, &d);
	const struct lin_desc *ld = lin_tables[c->arch].lins;
	int nk = lin_tables[c->arch].n;
	struct ifg_gpt_lin *t = ifg_xcalloc((size_t)d.L * nk, sizeof *t);
	for (int l = 0; l < d.L; l++) {
		int col[4] = { 0 };
		for (int k = 0; k < nk; k++) {
			struct ifg_gpt_lin *e = &t[l * nk + k];
			char prefix[32];
			snprintf(prefix, sizeof prefix, lin_tables[c->arch].prefix, l);
			snprintf(e->name, sizeof e->name, "%s%s", prefix, ld[k].kind);
			e->kind = ld[k].kind;
			e->block = l;
			e->kind_index = k;
			e->d_in = ld[k].site == SITE_PROJ ? d.F : d.C;
			e->d_out = (int)dim_of(&d, ld[k].dout);
			e->bias = d.lin_bias;
			e->site_ = ld[k].site;
			e->col_ = col[ld[k].site];
			col[ld[k].site] += e->d_out;
		}
	}
	*n = d.L * nk;
	return t;
}

bool ifg_gpt_ignorable(const struct ifg_gpt_config *c, const char *name)
{
	static const char *const suffixes[] = { ".attn.bias", ".attn.masked_bias",
						".attention.bias", ".attention.masked_bias",
						".rotary_emb.inv_freq" };
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
			return true;
	}
	/* a tied output layer saved anyway */
	const struct family *f = &families[c->arch];
	for (int i = 0; i < f->ntail && !c->untied; i++)
		if (f->tail[i].when_untied && strcmp(name, f->tail[i].name) == 0)
			return true;
	return c->arch == IFG_ARCH_GPT2 && strcmp(name, "lm_head.weight") == 0;
}

/* ------------------------------------------------------------ config.json */

/* One field of a family's config.json, in the order ifg writes them.
 *   V_INT, V_REAL, V_BOOL: a configuration field at off; read when present
 *     (else dflt, or an error when REQ), written from it;
 *   V_ACT: the activation's name; V_TIED: tie_word_embeddings (= !untied);
 *   V_INNER: GPT-2's n_inner (null, or d_ff);
 *   V_ROPE: Llama's rope_scaling (null, or Llama 3's "llama3" object);
 *   K_STR, K_ARCH, K_REAL, K_BOOL, K_NULL: a constant, written as is and, when
 *     CHECK, refused when present with another value. */
enum ftype { V_INT, V_REAL, V_BOOL, V_ACT, V_TIED, V_INNER, V_ROPE, K_STR, K_ARCH, K_REAL, K_BOOL,
	     K_NULL };
enum { REQ = 1, CHECK = 2, WRITE_ONLY = 4, READ_ONLY = 8 };

struct cfg_field {
	const char *key;
	enum ftype type;
	size_t off;
	const char *str;	/* K_STR, K_ARCH; alternative key for V_* */
	double num;		/* constant, or default */
	unsigned flags;
};

#define CF(field) offsetof(struct ifg_gpt_config, field)

static const struct cfg_field gpt2_cfg[] = {
	{ "architectures", K_ARCH, 0, "GPT2LMHeadModel" },
	{ "model_type", K_STR, 0, "gpt2" },
	{ "activation_function", V_ACT },
	{ "vocab_size", V_INT, CF(vocab_size), NULL, 0, REQ },
	{ "n_positions", V_INT, CF(n_ctx), "n_ctx", 0, REQ },
	{ "n_ctx", V_INT, CF(n_ctx), NULL, 0, WRITE_ONLY },
	{ "n_embd", V_INT, CF(n_embd), NULL, 0, REQ },
	{ "n_layer", V_INT, CF(n_layer), NULL, 0, REQ },
	{ "n_head", V_INT, CF(n_head), NULL, 0, REQ },
	{ "n_inner", V_INNER, CF(d_ff) },
	{ "layer_norm_epsilon", V_REAL, CF(norm_eps), NULL, 1e-5 },
	{ "initializer_range", K_REAL, 0, NULL, 0.02 },
	{ "resid_pdrop", K_REAL, 0, NULL, 0 },
	{ "embd_pdrop", K_REAL, 0, NULL, 0 },
	{ "attn_pdrop", K_REAL, 0, NULL, 0 },
	{ "scale_attn_weights", K_BOOL, 0, NULL, 1, CHECK },
	{ "tie_word_embeddings", V_TIED, 0, NULL, 1 },
	{ "torch_dtype", K_STR, 0, "float32" },
	{ "scale_attn_by_inverse_layer_idx", K_BOOL, 0, NULL, 0, CHECK | READ_ONLY },
	{ "reorder_and_upcast_attn", K_BOOL, 0, NULL, 0, CHECK | READ_ONLY },
	{ "add_cross_attention", K_BOOL, 0, NULL, 0, CHECK | READ_ONLY },
};

static const struct cfg_field neox_cfg[] = {
	{ "architectures", K_ARCH, 0, "GPTNeoXForCausalLM" },
	{ "model_type", K_STR, 0, "gpt_neox" },
	{ "vocab_size", V_INT, CF(vocab_size), NULL, 0, REQ },
	{ "hidden_size", V_INT, CF(n_embd), NULL, 0, REQ },
	{ "num_hidden_layers", V_INT, CF(n_layer), NULL, 0, REQ },
	{ "num_attention_heads", V_INT, CF(n_head), NULL, 0, REQ },
	{ "intermediate_size", V_INT, CF(d_ff), NULL, 0, REQ },
	{ "hidden_act", V_ACT },
	{ "rotary_pct", V_REAL, CF(rotary_pct), "partial_rotary_factor", 0.25 },
	{ "rotary_emb_base", V_REAL, CF(rope_base), "rope_theta", 10000 },
	{ "max_position_embeddings", V_INT, CF(n_ctx), NULL, 0, REQ },
	{ "layer_norm_eps", V_REAL, CF(norm_eps), NULL, 1e-5 },
	{ "use_parallel_residual", V_BOOL, CF(parallel_residual), NULL, 1 },
	{ "tie_word_embeddings", V_TIED, 0, NULL, 0 },
	{ "attention_bias", K_BOOL, 0, NULL, 1, CHECK },
	{ "rope_scaling", K_NULL, 0, NULL, 0, CHECK },
	{ "initializer_range", K_REAL, 0, NULL, 0.02 },
	{ "attention_dropout", K_REAL, 0, NULL, 0 },
	{ "hidden_dropout", K_REAL, 0, NULL, 0 },
	{ "torch_dtype", K_STR, 0, "float32" },
};

static const struct cfg_field llama_cfg[] = {
	{ "architectures", K_ARCH, 0, "LlamaForCausalLM" },
	{ "model_type", K_STR, 0, "llama" },
	{ "vocab_size", V_INT, CF(vocab_size), NULL, 0, REQ },
	{ "hidden_size", V_INT, CF(n_embd), NULL, 0, REQ },
	{ "intermediate_size", V_INT, CF(d_ff), NULL, 0, REQ },
	{ "num_hidden_layers", V_INT, CF(n_layer), NULL, 0, REQ },
	{ "num_attention_heads", V_INT, CF(n_head), NULL, 0, REQ },
	{ "num_key_value_heads", V_INT, CF(n_kv_head), NULL, 0 },
	{ "hidden_act", V_ACT },
	{ "max_position_embeddings", V_INT, CF(n_ctx), NULL, 0, REQ },
	{ "rms_norm_eps", V_REAL, CF(norm_eps), NULL, 1e-6 },
	{ "rope_theta", V_REAL, CF(rope_base), NULL, 10000 },
	{ "tie_word_embeddings", V_TIED, 0, NULL, 0 },
	{ "attention_bias", K_BOOL, 0, NULL, 0, CHECK },
	{ "mlp_bias", K_BOOL, 0, NULL, 0, CHECK },
	{ "rope_scaling", V_ROPE },
	{ "pretraining_tp", K_REAL, 0, NULL, 1, CHECK },
	{ "initializer_range", K_REAL, 0, NULL, 0.02 },
	{ "attention_dropout", K_REAL, 0, NULL, 0 },
	{ "torch_dtype", K_STR, 0, "float32" },
};

static const struct {
	const struct cfg_field *f;
	int n;
} cfg_tables[IFG_ARCH_N] = {
	{ gpt2_cfg, N_OF(gpt2_cfg) },
	{ neox_cfg, N_OF(neox_cfg) },
	{ llama_cfg, N_OF(llama_cfg) },
};

static const struct {
	const char *name;
	enum ifg_act act;
} act_names[] = {
	{ "gelu_new", IFG_ACT_GELU_TANH },	/* the name ifg writes for tanh GELU */
	{ "gelu_pytorch_tanh", IFG_ACT_GELU_TANH },
	{ "gelu_fast", IFG_ACT_GELU_TANH },
	{ "gelu", IFG_ACT_GELU },
	{ "silu", IFG_ACT_SILU },
	{ "swish", IFG_ACT_SILU },
};

static int read_field(json_t *j, const struct cfg_field *f, const char *path,
		      struct ifg_gpt_config *c)
{
	json_t *v = json_object_get(j, f->key);
	if (!v && f->str && f->type <= V_INNER)
		v = json_object_get(j, f->str);
	char *field = (char *)c + f->off;
	switch (f->type) {
	case V_INT: {
		if (!v) {
			if (f->flags & REQ)
				return ifg_seterr("'%s': \"%s\" missing or not an integer", path, f->key);
			*(int *)field = (int)f->num;
			return 0;
		}
		if (!json_is_integer(v))
			return ifg_seterr("'%s': \"%s\" missing or not an integer", path, f->key);
		/* every size is at least 1; and 0 in the struct means "the
		 * family's default" (ifg_gpt_config_fill), which a 0 written in
		 * the file must not silently become */
		json_int_t x = json_integer_value(v);
		if (x < 1 || x > INT32_MAX)
			return ifg_seterr("'%s': \"%s\" %lld out of range [1, 2^31)", path, f->key,
					  (long long)x);
		*(int *)field = (int)x;
		return 0;
	}
	case V_REAL:
		if (v && !json_is_number(v))
			return ifg_seterr("'%s': \"%s\" is not a number", path, f->key);
		/* epsilons, rotary share and base: positive, for the same reason */
		if (v && !(json_number_value(v) > 0))
			return ifg_seterr("'%s': \"%s\" is %g, not a positive number", path, f->key,
					  json_number_value(v));
		*(double *)field = v ? json_number_value(v) : f->num;
		return 0;
	case V_BOOL:
		if (v && !json_is_boolean(v))
			return ifg_seterr("'%s': \"%s\" is not true or false", path, f->key);
		*(bool *)field = v ? json_is_true(v) : f->num != 0;
		return 0;
	case V_TIED:
		if (v && !json_is_boolean(v))
			return ifg_seterr("'%s': \"%s\" is not true or false", path, f->key);
		c->untied = !(v ? json_is_true(v) : f->num != 0);
		return 0;
	case V_INNER:
		if (v && !json_is_null(v) && !json_is_integer(v))
			return ifg_seterr("'%s': \"%s\" is not an integer or null", path, f->key);
		c->d_ff = v && json_is_integer(v) ? (int)json_integer_value(v) : 0;
		if (c->d_ff != 0 && c->d_ff != 4 * c->n_embd)
			return ifg_seterr("'%s': n_inner must be null or 4 * n_embd", path);
		return 0;
	case V_ACT: {
		if (!v)
			return 0; /* the family's */
		const char *a = json_is_string(v) ? json_string_value(v) : "";
		for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
			if (strcmp(a, act_names[i].name) == 0)
				c->act = act_names[i].act;
		if (c->act == IFG_ACT_DEFAULT || !act_ok(c->arch, c->act))
			return ifg_seterr("'%s': %s \"%s\" is not supported for %s", path, f->key, a,
					  arch_names[c->arch]);
		return 0;
	}
	case V_ROPE: {
		if (!v || json_is_null(v))
			return 0;
		json_t *t = json_is_object(v) ? json_object_get(v, "rope_type") : NULL;
		if (!t)
			t = json_is_object(v) ? json_object_get(v, "type") : NULL;
		if (!json_is_string(t) || strcmp(json_string_value(t), "llama3"))
			return ifg_seterr("'%s': rope_scaling of type %s: ifg supports null and "
					  "\"llama3\"", path, json_is_string(t) ? json_string_value(t)
									 : "(none)");
		struct ifg_rope_scaling *s = &c->rope_scaling;
		static const char *const keys[] = { "factor", "low_freq_factor", "high_freq_factor",
						    "original_max_position_embeddings" };
		double *dst[] = { &s->factor, &s->low, &s->high, NULL };
		for (int k = 0; k < 4; k++) {
			json_t *x = json_object_get(v, keys[k]);
			if (!json_is_number(x) || (k == 3 && !json_is_integer(x)))
				return ifg_seterr("'%s': rope_scaling: \"%s\" missing or not a %s", path,
						  keys[k], k == 3 ? "integer" : "number");
			if (k < 3)
				*dst[k] = json_number_value(x);
			else if (json_integer_value(x) < 1 || json_integer_value(x) > INT32_MAX)
				return ifg_seterr("'%s': rope_scaling: \"%s\" out of range", path,
						  keys[k]);
			else
				s->orig_ctx = (int)json_integer_value(x);
		}
		return 0;
	}
	case K_NULL:
		if (v && !json_is_null(v) && (f->flags & CHECK))
			return ifg_seterr("'%s': \"%s\" is set; ifg supports only null", path,
					  f->key);
		return 0;
	case K_BOOL:
	case K_REAL:
		if (v && (f->flags & CHECK) &&
		    !((json_is_boolean(v) && json_is_true(v) == (f->num != 0)) ||
		      (json_is_number(v) && json_number_value(v) == f->num)))
		{
			char want[32];
			if (f->type == K_BOOL)
				snprintf(want, sizeof want, "%s", f->num ? "true" : "false");
			else
				snprintf(want, sizeof want, "%g", f->num);
			return ifg_seterr("'%s': \"%s\" must be %s (ifg supports no other)", path,
					  f->key, want);
		}
		return 0;
	case K_STR:
	case K_ARCH:
		return 0;
	}
	return 0;
}

int ifg_gpt_config_from_json(json_t *j, const char *path, struct ifg_gpt_config *c)
{
	memset(c, 0, sizeof *c);
	if (!json_is_object(j))
		return ifg_seterr("'%s': not a JSON object", path);
	json_t *mt = json_object_get(j, "model_type");
	int arch = IFG_ARCH_GPT2;
	if (mt && (!json_is_string(mt) || (arch = ifg_arch_parse(json_string_value(mt))) < 0))
		return ifg_seterr("'%s': model_type %s%s%s is not one ifg knows (gpt2, gpt_neox, "
				  "llama)", path, json_is_string(mt) ? "\"" : "",
				  json_is_string(mt) ? json_string_value(mt) : "(not a string)",
				  json_is_string(mt) ? "\"" : "");
	c->arch = arch;
	const struct cfg_field *f = cfg_tables[arch].f;
	for (int i = 0; i < cfg_tables[arch].n; i++)
		if (!(f[i].flags & WRITE_ONLY) && read_field(j, &f[i], path, c) < 0)
			return -1;
	if (arch == IFG_ARCH_LLAMA) {
		json_t *hd = json_object_get(j, "head_dim");
		if (hd && !json_is_null(hd) &&
		    (!json_is_integer(hd) || c->n_head < 1 ||
		     json_integer_value(hd) * c->n_head != c->n_embd))
			return ifg_seterr("'%s': head_dim must be hidden_size / num_attention_heads",
					  path);
	}
	ifg_gpt_config_fill(c);
	if (ifg_gpt_config_check(c) < 0)
		return ifg_prefixerr("'%s'", path);
	return 0;
}

static const char *act_name(const struct ifg_gpt_config *c)
{
	return c->act == IFG_ACT_GELU ? "gelu" : c->act == IFG_ACT_SILU ? "silu" : "gelu_new";
}

json_t *ifg_gpt_config_to_json(const struct ifg_gpt_config *c)
{
	json_t *j = json_object();
	const struct cfg_field *f = cfg_tables[c->arch].f;
	for (int i = 0; i < cfg_tables[c->arch].n; i++) {
		const char *field = (const char *)c + f[i].off;
		json_t *v = NULL;
		switch (f[i].type) {
		case V_INT: v = json_integer(*(const int *)field); break;
		case V_REAL: v = json_real(*(const double *)field); break;
		case V_BOOL: v = json_boolean(*(const bool *)field); break;
		case V_TIED: v = json_boolean(!c->untied); break;
		case V_INNER: v = json_null(); break;
		case V_ROPE:
			v = !c->rope_scaling.factor
				    ? json_null()
				    : json_pack("{s:f,s:f,s:f,s:i,s:s}", "factor", c->rope_scaling.factor,
						"low_freq_factor", c->rope_scaling.low, "high_freq_factor",
						c->rope_scaling.high, "original_max_position_embeddings",
						c->rope_scaling.orig_ctx, "rope_type", "llama3");
			break;
		case V_ACT: v = json_string(act_name(c)); break;
		case K_STR: v = json_string(f[i].str); break;
		case K_ARCH: v = json_pack("[s]", f[i].str); break;
		case K_REAL: v = json_real(f[i].num); break;
		case K_BOOL: v = json_boolean(f[i].num != 0); break;
		case K_NULL: v = json_null(); break;
		}
		if (f[i].flags & READ_ONLY) {
			json_decref(v);
			continue;
		}
		json_object_set_new(j, f[i].key, v);
	}
	return j;
}

/* check_gpt.c: the model core's backward against central finite
 * differences on a tiny model of each family variant (testgpt.h), the
 * linear-layer API, batching, causality and checkpoints. */
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpt.h"
#include "rng.h"
#include "safetensors.h"
#include "testgpt.h"
#include "testutil.h"
#include "util.h"

enum { TB = 2, TT = 7 };
static const struct ifg_gpt_config tiny = { .n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 9,
					    .vocab_size = 11 };

/* tiny as family variant i (the suites' _i) */
static struct ifg_gpt *tiny_model(uint64_t seed, int i)
{
	struct ifg_gpt_config c = ifg_test_family(i, tiny);
	return ifg_test_gpt(&c, seed, 0.4);
}

struct batch {
	uint32_t tok[TB * TT];
	int32_t tgt[TB * TT];
	float w[TB * TT];
};

static void make_batch(struct batch *b, uint64_t seed)
{
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	for (int i = 0; i < TB * TT; i++) {
		b->tok[i] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
		b->tgt[i] = (int32_t)ifg_rng_below(&r, tiny.vocab_size);
		b->w[i] = (float)(2.0 * ifg_rng_uniform(&r) - 0.7); /* some negative (penalty) */
	}
	b->tgt[3] = -1; /* no target */
	b->tgt[TB * TT - 1] = -1;
}

static const double divisor = 3.5;

/* Σ w NLL / divisor in double, from the per-position NLL. */
static double weighted_loss(struct ifg_gpt *m, const struct batch *b)
{
	ck_assert_int_eq(ifg_gpt_forward(m, b->tok, b->tgt, TB, TT, NULL), 0);
	const float *nll = ifg_gpt_nll(m);
	double s = 0;
	for (int i = 0; i < TB * TT; i++)
		if (b->tgt[i] >= 0)
			s += (double)b->w[i] * nll[i];
	return s / divisor;
}

START_TEST(test_finite_differences)
{
	struct ifg_gpt *m = tiny_model(1, _i);
	struct batch b;
	make_batch(&b, 2);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN), 0);
	ifg_gpt_zero_grad(m);
	weighted_loss(m, &b);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	size_t n = ifg_gpt_nparams(m);
	float *grad = malloc(n * sizeof *grad);
	memcpy(grad, ifg_gpt_grad_mem(m), n * sizeof *grad);
	float *p = ifg_gpt_param_mem(m);

	/* every parameter: central difference with h = 1e-2 (f32 forward, the
	 * loss summed in double); error budget ~ h^4 f^(5) + 1.5 eps_f32 |f| / h,
	 * the second about 3e-5 here whatever the gradient's size (and another
	 * in a build without FMA), hence the absolute floor of 5e-3 x 2e-2 =
	 * 1e-4; the PyTorch reference (families-torch) checks small gradients
	 * tighter */
	double worst = 0;
	const char *worst_name = "";
	int checked = 0;
	for (int ti = 0; ti < ifg_gpt_ntensors(m); ti++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, ti);
		double gmax = 0;
		for (size_t j = 0; j < t->n; j++)
			gmax = fmax(gmax, fabs(grad[t->offset + j]));
		for (size_t j = 0; j < t->n; j++) {
			size_t k = t->offset + j;
			float save = p[k];
			const float h = 1e-2f;
			double f[4];	/* the loss at save - 2h, - h, + h, + 2h */
			for (int q = 0; q < 4; q++) {
				p[k] = save + (float)(q - 2 + (q >= 2)) * h;
				f[q] = weighted_loss(m, &b);
			}
			p[k] = save;
			/* fourth-order central difference: the models' curvature
			 * (SwiGLU, RMSNorm with O(1) weights) makes the two-point
			 * one's h^2 f''' error percent-sized at any h the f32
			 * forward allows */
			double fd = (8.0 * (f[2] - f[1]) - (f[3] - f[0])) / (12.0 * (double)h);
			double err = fabs(fd - grad[k]) / (fmax(fabs(fd), fabs(grad[k])) + 0.01 * gmax + 5e-3);
			if (err > worst) {
				worst = err;
				worst_name = t->name;
			}
			ck_assert_msg(err < 2e-2, "%s: %s[%zu]: analytic %.7g, finite difference %.7g",
				      ifg_test_family_name(_i), t->name, j, grad[k], fd);
			checked++;
		}
	}
	ck_assert_int_eq((size_t)checked, n);
	if (getenv("IFG_TEST_VERBOSE"))
		fprintf(stderr, "finite differences, %s: %d parameters, worst relative error %.3g (%s)\n",
			ifg_test_family_name(_i), checked, worst, worst_name);
	free(grad);
	ifg_gpt_free(m);
}
END_TEST

/* Each family's tracked layers, as Hugging Face names its modules. */
static const char *const lin_prefix[] = { "h.%d.", "gpt_neox.layers.%d.", "model.layers.%d." };
static const char *const lin_kinds[][8] = {
	{ "attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj" },
	{ "attention.query_key_value", "attention.dense", "mlp.dense_h_to_4h", "mlp.dense_4h_to_h" },
	{ "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
	  "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" },
};

/* (d_in, d_out) of kind k of family c, from the configuration alone. */
static void lin_dims(const struct ifg_gpt_config *c, int k, int *din, int *dout)
{
	int C = c->n_embd, F = c->d_ff, KV = c->n_kv_head * (C / c->n_head);
	if (c->arch != IFG_ARCH_LLAMA) {
		const int in[] = { C, C, C, F }, out[] = { 3 * C, C, F, C };
		*din = in[k], *dout = out[k];
	} else {
		const int in[] = { C, C, C, C, C, C, F }, out[] = { C, KV, KV, C, F, F, C };
		*din = in[k], *dout = out[k];
	}
}

/* The per-token inputs and output gradients of each linear layer must give
 * the layer's weight gradient: dW = aᵀ s, db = Σ s; the layers are the
 * family's, named and shaped as Hugging Face's modules. */
START_TEST(test_linear_api)
{
	struct ifg_gpt *m = tiny_model(3, _i);
	struct ifg_gpt_config c = *ifg_gpt_cfg(m);
	struct batch b;
	make_batch(&b, 4);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR), 0);
	ifg_gpt_zero_grad(m);
	weighted_loss(m, &b);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	int K = c.arch == IFG_ARCH_LLAMA ? 7 : 4;
	bool out_in = c.arch != IFG_ARCH_GPT2, biased = c.arch != IFG_ARCH_LLAMA;
	ck_assert_int_eq(ifg_gpt_nlins(m), K * tiny.n_layer);
	for (int k = 0; k < ifg_gpt_nlins(m); k++) {
		const struct ifg_gpt_lin *d = ifg_gpt_lin(m, k);
		struct ifg_gpt_linear L;
		ck_assert_int_eq(ifg_gpt_linear(m, k, &L), 0);
		ck_assert_int_eq(L.d_in, d->d_in);
		ck_assert_int_eq(L.d_out, d->d_out);
		ck_assert_int_eq(d->bias, biased);
		ck_assert_int_eq(L.w_out_in, out_in);
		ck_assert(biased ? L.b != NULL : L.b == NULL);
		ck_assert_ptr_nonnull(L.s);
		/* the weight's gradient is at the same offset as the weight */
		const float *gw = ifg_gpt_grad_mem(m) + (L.w - ifg_gpt_param_mem(m));
		for (int i = 0; i < L.d_in; i++)
			for (int o = 0; o < L.d_out; o++) {
				double s = 0;
				for (int r = 0; r < TB * TT; r++)
					s += (double)L.a[r * L.lda + i] * L.s[r * L.lds + o];
				ck_assert_close(s, gw[out_in ? o * L.d_in + i : i * L.d_out + o], 1e-5);
			}
		if (biased) {
			const float *gb = ifg_gpt_grad_mem(m) + (L.b - ifg_gpt_param_mem(m));
			for (int o = 0; o < L.d_out; o++) {
				double s = 0;
				for (int r = 0; r < TB * TT; r++)
					s += L.s[r * L.lds + o];
				ck_assert_close(s, gb[o], 1e-5);
			}
		}
		/* the family's names, block-major, kinds in module order */
		const char *kind = lin_kinds[c.arch][k % K];
		char name[96];
		int n = snprintf(name, sizeof name, lin_prefix[c.arch], k / K);
		snprintf(name + n, sizeof name - n, "%s", kind);
		ck_assert_str_eq(d->name, name);
		ck_assert_str_eq(d->kind, kind);
		ck_assert_int_eq(d->block, k / K);
		ck_assert_int_eq(d->kind_index, k % K);
		ck_assert_int_eq(ifg_gpt_lin_find(m, name, strlen(name)), k);
		int din, dout;
		lin_dims(&c, k % K, &din, &dout);
		ck_assert_int_eq(L.d_in, din);
		ck_assert_int_eq(L.d_out, dout);
		/* the checkpoint's tensors of that name are the ones L points
		 * at, shaped (d_in, d_out) for Conv1D, (d_out, d_in) for nn.Linear */
		char wname[128], bname[128];
		snprintf(wname, sizeof wname, "%s.weight", name);
		snprintf(bname, sizeof bname, "%s.bias", name);
		const struct ifg_gpt_tensor *tw = ifg_gpt_tensor_find(m, wname);
		const struct ifg_gpt_tensor *tb = ifg_gpt_tensor_find(m, bname);
		ck_assert_ptr_nonnull(tw);
		ck_assert_ptr_eq(ifg_gpt_param_mem(m) + tw->offset, L.w);
		ck_assert_int_eq(tw->ndim, 2);
		ck_assert_int_eq(tw->shape[0], out_in ? L.d_out : L.d_in);
		ck_assert_int_eq(tw->shape[1], out_in ? L.d_in : L.d_out);
		ck_assert(tw->decay);
		if (biased) {
			ck_assert_ptr_nonnull(tb);
			ck_assert_ptr_eq(ifg_gpt_param_mem(m) + tb->offset, L.b);
			ck_assert_int_eq(tb->shape[0], L.d_out);
			ck_assert(!tb->decay);
		} else {
			ck_assert_ptr_null(tb);
		}
		if (c.arch == IFG_ARCH_GPT2) {
			/* one slab per role: block l's weight follows block 0's */
			char w0[64];
			snprintf(w0, sizeof w0, "h.0.%s.weight", kind);
			const struct ifg_gpt_tensor *t0 = ifg_gpt_tensor_find(m, w0);
			ck_assert_ptr_nonnull(t0);
			size_t per = (size_t)L.d_in * L.d_out;
			ck_assert_ptr_eq(L.w, ifg_gpt_param_mem(m) + t0->offset + (size_t)(k / K) * per);
		}
	}
	struct ifg_gpt_linear L;
	ck_assert_int_eq(ifg_gpt_linear(m, ifg_gpt_nlins(m), &L), -1);
	ck_assert_ptr_null(ifg_gpt_lin(m, -1));
	ck_assert_int_eq(ifg_gpt_lin_find(m, "h.0.mlp", 7), -1);
	ifg_gpt_free(m);
}
END_TEST

/* Without parameter gradients (IFG_GPT_NO_PARAM_GRADS) the backward leaves
 * the same output gradients of every tracked layer, bit for bit, and no
 * gradient memory. */
START_TEST(test_no_param_grads)
{
	struct ifg_gpt *m = tiny_model(3, _i), *bare = tiny_model(3, _i);
	struct batch b;
	make_batch(&b, 4);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR), 0);
	ck_assert_int_eq(ifg_gpt_reserve(bare, TB, TT, IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR |
							      IFG_GPT_NO_PARAM_GRADS), 0);
	ck_assert_ptr_null(ifg_gpt_grad_mem(bare));
	ifg_gpt_zero_grad(m);
	ifg_gpt_zero_grad(bare);
	weighted_loss(m, &b);
	weighted_loss(bare, &b);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	ck_assert_int_eq(ifg_gpt_backward(bare, b.w, divisor), 0);
	for (int k = 0; k < ifg_gpt_nlins(m); k++) {
		struct ifg_gpt_linear L, Lb;
		ck_assert_int_eq(ifg_gpt_linear(m, k, &L), 0);
		ck_assert_int_eq(ifg_gpt_linear(bare, k, &Lb), 0);
		for (int r = 0; r < TB * TT; r++)
			ck_assert(memcmp(L.s + r * L.lds, Lb.s + r * Lb.lds, L.d_out * sizeof(float)) == 0);
	}
	/* a later reservation without the flag brings the gradients back */
	ck_assert_int_eq(ifg_gpt_reserve(bare, TB, TT, IFG_GPT_TRAIN), 0);
	ck_assert_ptr_nonnull(ifg_gpt_grad_mem(bare));
	ifg_gpt_free(m);
	ifg_gpt_free(bare);
}
END_TEST

/* Rows of a batch are independent: a batch of two equals two batches of
 * one, and gradients accumulate over calls. */
START_TEST(test_batch_independence)
{
	struct ifg_gpt *m = tiny_model(5, _i);
	struct batch b;
	make_batch(&b, 6);
	size_t n = ifg_gpt_nparams(m);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN), 0);
	ifg_gpt_zero_grad(m);
	double l2;
	ck_assert_int_eq(ifg_gpt_forward(m, b.tok, b.tgt, TB, TT, &l2), 0);
	float *logits2 = malloc(sizeof(float) * TB * TT * tiny.vocab_size);
	memcpy(logits2, ifg_gpt_logits(m), sizeof(float) * TB * TT * tiny.vocab_size);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	float *g2 = malloc(n * sizeof *g2);
	memcpy(g2, ifg_gpt_grad_mem(m), n * sizeof *g2);

	ifg_gpt_zero_grad(m);
	double l1 = 0;
	for (int s = 0; s < TB; s++) {
		double ls;
		/* shorter T too: the second call uses fewer positions' capacity */
		ck_assert_int_eq(ifg_gpt_forward(m, b.tok + s * TT, b.tgt + s * TT, 1, TT, &ls), 0);
		for (int i = 0; i < TT * tiny.vocab_size; i++)
			ck_assert_close(ifg_gpt_logits(m)[i], logits2[s * TT * tiny.vocab_size + i], 1e-5);
		l1 += ls;
		ck_assert_int_eq(ifg_gpt_backward(m, b.w + s * TT, divisor), 0);
	}
	ck_assert_close(l1, l2, 1e-5);
	for (size_t i = 0; i < n; i++)
		ck_assert_close(ifg_gpt_grad_mem(m)[i], g2[i], 1e-4);
	/* misuse is reported, not crashed on */
	ck_assert_int_eq(ifg_gpt_backward(m, NULL, divisor), -1);
	uint32_t bad[2] = { 0, (uint32_t)tiny.vocab_size };
	ck_assert_int_eq(ifg_gpt_forward(m, bad, NULL, 1, 2, NULL), -1);
	ck_assert_int_eq(ifg_gpt_reserve(m, 1, tiny.n_ctx + 1, 0), -1);
	free(g2);
	free(logits2);
	ifg_gpt_free(m);
}
END_TEST

/* Targets set after a forward without them give the forward's own NLL and
 * backward, bit for bit; before a forward or after a backward, an error. */
START_TEST(test_set_targets)
{
	struct ifg_gpt *m = tiny_model(8, _i), *ref = tiny_model(8, _i);
	struct batch b;
	make_batch(&b, 9);
	size_t n = ifg_gpt_nparams(m);
	ck_assert_int_eq(ifg_gpt_set_targets(m, b.tgt, NULL), -1);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN), 0);
	ck_assert_int_eq(ifg_gpt_reserve(ref, TB, TT, IFG_GPT_TRAIN), 0);
	ifg_gpt_zero_grad(m);
	ifg_gpt_zero_grad(ref);
	double l, lr;
	ck_assert_int_eq(ifg_gpt_forward(ref, b.tok, b.tgt, TB, TT, &lr), 0);
	ck_assert_int_eq(ifg_gpt_forward(m, b.tok, NULL, TB, TT, NULL), 0);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), -1);	/* no targets yet */
	int32_t bad[TB * TT];
	memcpy(bad, b.tgt, sizeof bad);
	bad[TT + 1] = tiny.vocab_size;
	ck_assert_int_eq(ifg_gpt_set_targets(m, bad, NULL), -1);
	ck_assert_int_eq(ifg_gpt_set_targets(m, b.tgt, &l), 0);
	ck_assert(l == lr);
	ck_assert(memcmp(ifg_gpt_nll(m), ifg_gpt_nll(ref), sizeof(float) * TB * TT) == 0);
	ck_assert_int_eq(ifg_gpt_backward(ref, b.w, divisor), 0);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	ck_assert(memcmp(ifg_gpt_grad_mem(m), ifg_gpt_grad_mem(ref), n * sizeof(float)) == 0);
	ck_assert_int_eq(ifg_gpt_set_targets(m, b.tgt, NULL), -1);
	ifg_gpt_free(m);
	ifg_gpt_free(ref);
}
END_TEST

/* Causality: changing a later token changes no earlier logits. */
START_TEST(test_causal)
{
	struct ifg_gpt *m = tiny_model(7, _i);
	uint32_t tok[TT] = { 1, 2, 3, 4, 5, 6, 7 };
	ck_assert_int_eq(ifg_gpt_reserve(m, 1, TT, 0), 0);
	ck_assert_int_eq(ifg_gpt_forward(m, tok, NULL, 1, TT, NULL), 0);
	int V = tiny.vocab_size;
	float *ref = malloc(sizeof(float) * TT * V);
	memcpy(ref, ifg_gpt_logits(m), sizeof(float) * TT * V);
	tok[5] = 9;
	ck_assert_int_eq(ifg_gpt_forward(m, tok, NULL, 1, TT, NULL), 0);
	for (int i = 0; i < 5 * V; i++)
		ck_assert(ifg_gpt_logits(m)[i] == ref[i]);
	int changed = 0;
	for (int i = 5 * V; i < TT * V; i++)
		changed += ifg_gpt_logits(m)[i] != ref[i];
	ck_assert_int_gt(changed, 0);
	free(ref);
	ifg_gpt_free(m);
}
END_TEST

/* Long sequences span several attention blocks (ATT_BLOCK rows), and the
 * rotary angles of late positions are large. */
START_TEST(test_long_context_fd)
{
	struct ifg_gpt_config c = { .n_layer = 1, .n_head = 2, .n_embd = 4, .n_ctx = 300,
				    .vocab_size = 5 };
	c = ifg_test_family(_i, c);
	if (c.arch == IFG_ARCH_NEOX)
		c.rotary_pct = 1.0;	/* a head of 2: rotate all of it */
	struct ifg_gpt *m = ifg_gpt_new(&c);
	ck_assert_msg(m != NULL, "%s", ifg_err());
	ifg_gpt_init_weights(m, 9);
	float *p = ifg_gpt_param_mem(m);
	struct ifg_rng r;
	ifg_rng_init(&r, 10);
	for (size_t i = 0; i < ifg_gpt_nparams(m); i++)
		p[i] += (float)(0.3 * ifg_rng_normal(&r));
	int T = 290;
	uint32_t *tok = malloc(T * sizeof *tok);
	int32_t *tgt = malloc(T * sizeof *tgt);
	for (int i = 0; i < T; i++) {
		tok[i] = (uint32_t)ifg_rng_below(&r, 5);
		tgt[i] = (int32_t)ifg_rng_below(&r, 5);
	}
	ck_assert_int_eq(ifg_gpt_reserve(m, 1, T, IFG_GPT_TRAIN), 0);
	ifg_gpt_zero_grad(m);
	ck_assert_int_eq(ifg_gpt_forward(m, tok, tgt, 1, T, NULL), 0);
	ck_assert_int_eq(ifg_gpt_backward(m, NULL, T), 0);
	/* the query/key weights and the embeddings see every block */
	static const char *const qk[] = { "h.0.attn.c_attn.weight",
					  "gpt_neox.layers.0.attention.query_key_value.weight",
					  "model.layers.0.self_attn.k_proj.weight" };
	static const char *const emb[] = { "wpe.weight", "gpt_neox.embed_in.weight",
					   "model.embed_tokens.weight" };
	size_t qkvw = ifg_gpt_tensor_find(m, qk[c.arch])->offset;
	size_t e = ifg_gpt_tensor_find(m, emb[c.arch])->offset;
	size_t at[] = { qkvw + 1, qkvw + 5, e + 3, e + (c.arch == IFG_ARCH_GPT2 ? 200 * 4 + 1 : 17) };
	float *targets[4];
	const float *grads[4];
	for (int i = 0; i < 4; i++) {
		targets[i] = ifg_gpt_param_mem(m) + at[i];
		grads[i] = ifg_gpt_grad_mem(m) + at[i];
	}
	for (int i = 0; i < 4; i++) {
		float save = *targets[i], h = 1e-2f;
		double lp, lm;
		*targets[i] = save + h;
		ifg_gpt_forward(m, tok, tgt, 1, T, &lp);
		*targets[i] = save - h;
		ifg_gpt_forward(m, tok, tgt, 1, T, &lm);
		*targets[i] = save;
		double fd = (lp - lm) / T / (2.0 * h);
		ck_assert_msg(fabs(fd - *grads[i]) <= 2e-2 * fabs(fd) + 2e-5, "%s: param %d: %g vs %g",
			      ifg_test_family_name(_i), i, *grads[i], fd);
	}
	free(tok);
	free(tgt);
	ifg_gpt_free(m);
}
END_TEST

/* Save and load: same parameters, same identity. */
START_TEST(test_checkpoint_roundtrip)
{
	struct ifg_gpt *m = tiny_model(11, _i);
	char *dir = ifg_test_tmpdir();
	char sub[4096];
	snprintf(sub, sizeof sub, "%s/ckpt", dir);
	const char *meta[] = { "ifg.note", "test", NULL };
	ck_assert_msg(ifg_gpt_save(m, sub, meta) == 0, "%s", ifg_err());
	struct ifg_model_id id1, id2;
	ifg_gpt_identity(m, &id1);
	ck_assert_int_eq(strlen(id1.sha256), 64);
	struct ifg_gpt *m2 = ifg_gpt_load(sub);
	ck_assert_msg(m2 != NULL, "%s", ifg_err());
	ck_assert_int_eq(ifg_gpt_nparams(m2), ifg_gpt_nparams(m));
	ck_assert(memcmp(ifg_gpt_param_mem(m), ifg_gpt_param_mem(m2),
			 ifg_gpt_nparams(m) * sizeof(float)) == 0);
	ifg_gpt_identity(m2, &id2);
	ck_assert_str_eq(id1.sha256, id2.sha256);
	ck_assert_int_eq(id2.n_layer, tiny.n_layer);
	ck_assert_int_eq(id2.n_head, tiny.n_head);
	ck_assert_int_eq(id2.vocab_size, tiny.vocab_size);
	ck_assert_str_eq(id2.arch, ifg_arch_name(ifg_gpt_cfg(m)->arch));
	/* config.json gives back every field */
	const struct ifg_gpt_config *c1 = ifg_gpt_cfg(m), *c2 = ifg_gpt_cfg(m2);
	ck_assert_int_eq(c2->arch, c1->arch);
	ck_assert_int_eq(c2->n_kv_head, c1->n_kv_head);
	ck_assert_int_eq(c2->d_ff, c1->d_ff);
	ck_assert(c2->norm_eps == c1->norm_eps);
	ck_assert(c2->rotary_pct == c1->rotary_pct);
	ck_assert(c2->rope_base == c1->rope_base);
	ck_assert_int_eq(c2->act, c1->act);
	ck_assert_int_eq(c2->parallel_residual, c1->parallel_residual);
	ck_assert_int_eq(c2->untied, c1->untied);
	/* the file path works as well as the directory */
	char file[4200];
	snprintf(file, sizeof file, "%s/model.safetensors", sub);
	struct ifg_gpt *m3 = ifg_gpt_load(file);
	ck_assert_ptr_nonnull(m3);
	ifg_gpt_free(m3);
	if (_i) /* the rest: GPT-2's metadata-only config */
		goto done;
	/* a missing tensor is an error naming it */
	struct ifg_st_writer *w = ifg_st_writer_new();
	for (int i = 1; i < ifg_gpt_ntensors(m); i++) {
		const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
		ifg_st_add_f32(w, t->name, t->ndim, t->shape, ifg_gpt_param_mem(m) + t->offset);
	}
	const char *mk[] = { "n_layer", "2", "n_head", "2", "n_embd", "8", "n_ctx", "9",
			     "vocab_size", "11" };
	for (int i = 0; i < 10; i += 2)
		ifg_st_set_meta(w, mk[i], mk[i + 1]);
	char bad[4200];
	snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
	ck_assert_int_eq(ifg_st_writer_write(w, bad), 0);
	ifg_st_writer_free(w);
	ck_assert_ptr_null(ifg_gpt_load(bad));
	ck_assert_msg(strstr(ifg_err(), "wte.weight") != NULL, "%s", ifg_err());
	unlink(bad);
done:
	ifg_gpt_free(m2);
	ifg_gpt_free(m);
	unlink(file);
	snprintf(file, sizeof file, "%s/config.json", sub);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
	free(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("gpt");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_finite_differences, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_linear_api, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_no_param_grads, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_batch_independence, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_set_targets, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_causal, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_long_context_fd, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_checkpoint_roundtrip, 0, IFG_TEST_NFAM);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

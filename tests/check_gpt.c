/* check_gpt.c: the GPT-2 backward against central finite differences on a
 * tiny model, the linear-layer API, batching, and checkpoints. */
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

static struct ifg_gpt *tiny_model(uint64_t seed) { return ifg_test_gpt(&tiny, seed, 0.4); }

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
	struct ifg_gpt *m = tiny_model(1);
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
	 * loss summed in double); error budget ~ h^2 f''' + eps_f32 |f| / h */
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
			p[k] = save + h;
			double lp = weighted_loss(m, &b);
			p[k] = save - h;
			double lm = weighted_loss(m, &b);
			p[k] = save;
			double fd = (lp - lm) / (2.0 * (double)h);
			double err = fabs(fd - grad[k]) / (fmax(fabs(fd), fabs(grad[k])) + 0.01 * gmax + 1e-4);
			if (err > worst) {
				worst = err;
				worst_name = t->name;
			}
			ck_assert_msg(err < 2e-2, "%s[%zu]: analytic %.7g, finite difference %.7g",
				      t->name, j, grad[k], fd);
			checked++;
		}
	}
	ck_assert_int_eq((size_t)checked, n);
	if (getenv("IFG_TEST_VERBOSE"))
		fprintf(stderr, "finite differences: %d parameters, worst relative error %.3g (%s)\n",
			checked, worst, worst_name);
	free(grad);
	ifg_gpt_free(m);
}
END_TEST

/* The per-token inputs and output gradients of each linear layer must give
 * the layer's weight gradient: dW = aᵀ s, db = Σ s. */
START_TEST(test_linear_api)
{
	struct ifg_gpt *m = tiny_model(3);
	struct batch b;
	make_batch(&b, 4);
	ck_assert_int_eq(ifg_gpt_reserve(m, TB, TT, IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR), 0);
	ifg_gpt_zero_grad(m);
	weighted_loss(m, &b);
	ck_assert_int_eq(ifg_gpt_backward(m, b.w, divisor), 0);
	ck_assert_int_eq(ifg_gpt_nlins(m), 4 * tiny.n_layer);
	for (int k = 0; k < ifg_gpt_nlins(m); k++) {
		const struct ifg_gpt_lin *d = ifg_gpt_lin(m, k);
		struct ifg_gpt_linear L;
		ck_assert_int_eq(ifg_gpt_linear(m, k, &L), 0);
		ck_assert_int_eq(L.d_in, d->d_in);
		ck_assert_int_eq(L.d_out, d->d_out);
		ck_assert(d->bias);
		ck_assert_ptr_nonnull(L.s);
		/* the weight's gradient is at the same offset as the weight */
		const float *gw = ifg_gpt_grad_mem(m) + (L.w - ifg_gpt_param_mem(m));
		const float *gb = ifg_gpt_grad_mem(m) + (L.b - ifg_gpt_param_mem(m));
		for (int i = 0; i < L.d_in; i++)
			for (int o = 0; o < L.d_out; o++) {
				double s = 0;
				for (int r = 0; r < TB * TT; r++)
					s += (double)L.a[r * L.lda + i] * L.s[r * L.lds + o];
				ck_assert_close(s, gw[i * L.d_out + o], 1e-5);
			}
		for (int o = 0; o < L.d_out; o++) {
			double s = 0;
			for (int r = 0; r < TB * TT; r++)
				s += L.s[r * L.lds + o];
			ck_assert_close(s, gb[o], 1e-5);
		}
		/* GPT-2's names, block-major, kinds in module order */
		static const char *const kinds[] = { "attn.c_attn", "attn.c_proj",
						     "mlp.c_fc", "mlp.c_proj" };
		char name[48];
		snprintf(name, sizeof name, "h.%d.%s", k / 4, kinds[k % 4]);
		ck_assert_str_eq(d->name, name);
		ck_assert_str_eq(d->kind, kinds[k % 4]);
		ck_assert_int_eq(d->block, k / 4);
		ck_assert_int_eq(ifg_gpt_lin_find(m, name, strlen(name)), k);
		/* the checkpoint's tensors of that name are the ones L points
		 * at, (d_in, d_out), and so are the named views */
		char wname[64], bname[64];
		snprintf(wname, sizeof wname, "%s.weight", name);
		snprintf(bname, sizeof bname, "%s.bias", name);
		int found = 0;
		for (int i = 0; i < ifg_gpt_ntensors(m); i++) {
			const struct ifg_gpt_tensor *t = ifg_gpt_tensor(m, i);
			if (!strcmp(t->name, wname)) {
				ck_assert_ptr_eq(ifg_gpt_param_mem(m) + t->offset, L.w);
				ck_assert_int_eq(t->ndim, 2);
				ck_assert_int_eq(t->shape[0], L.d_in);
				ck_assert_int_eq(t->shape[1], L.d_out);
				found++;
			} else if (!strcmp(t->name, bname)) {
				ck_assert_ptr_eq(ifg_gpt_param_mem(m) + t->offset, L.b);
				ck_assert_int_eq(t->shape[0], L.d_out);
				found++;
			}
		}
		ck_assert_int_eq(found, 2);
		static const int din[] = { 1, 1, 1, 4 }, dout[] = { 3, 1, 4, 1 };
		ck_assert_int_eq(L.d_in, din[k % 4] * tiny.n_embd);
		ck_assert_int_eq(L.d_out, dout[k % 4] * tiny.n_embd);
		ck_assert(!L.w_out_in);
		/* one slab per role: block l's weight follows block 0's at l * size */
		char w0[64];
		snprintf(w0, sizeof w0, "h.0.%s.weight", kinds[k % 4]);
		const struct ifg_gpt_tensor *t0 = ifg_gpt_tensor_find(m, w0);
		ck_assert_ptr_nonnull(t0);
		size_t per = (size_t)L.d_in * L.d_out;
		ck_assert_ptr_eq(L.w, ifg_gpt_param_mem(m) + t0->offset + (size_t)(k / 4) * per);
	}
	struct ifg_gpt_linear L;
	ck_assert_int_eq(ifg_gpt_linear(m, ifg_gpt_nlins(m), &L), -1);
	ck_assert_ptr_null(ifg_gpt_lin(m, -1));
	ck_assert_int_eq(ifg_gpt_lin_find(m, "h.0.mlp", 7), -1);
	ifg_gpt_free(m);
}
END_TEST

/* Rows of a batch are independent: a batch of two equals two batches of
 * one, and gradients accumulate over calls. */
START_TEST(test_batch_independence)
{
	struct ifg_gpt *m = tiny_model(5);
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

/* Causality: changing a later token changes no earlier logits. */
START_TEST(test_causal)
{
	struct ifg_gpt *m = tiny_model(7);
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

/* Long sequences span several attention blocks (ATT_BLOCK rows). */
START_TEST(test_long_context_fd)
{
	struct ifg_gpt_config c = { .n_layer = 1, .n_head = 2, .n_embd = 4, .n_ctx = 300,
				    .vocab_size = 5 };
	struct ifg_gpt *m = ifg_gpt_new(&c);
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
	/* the query/key weights and early positions' embeddings see every block */
	size_t qkvw = ifg_gpt_tensor_find(m, "h.0.attn.c_attn.weight")->offset;
	size_t wpe = ifg_gpt_tensor_find(m, "wpe.weight")->offset;
	size_t at[] = { qkvw + 1, qkvw + 3 * 4 + 5, wpe + 3, wpe + 200 * 4 + 1 };
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
		ck_assert_msg(fabs(fd - *grads[i]) <= 2e-2 * fabs(fd) + 2e-5, "param %d: %g vs %g", i,
			      *grads[i], fd);
	}
	free(tok);
	free(tgt);
	ifg_gpt_free(m);
}
END_TEST

/* Save and load: same parameters, same identity. */
START_TEST(test_checkpoint_roundtrip)
{
	struct ifg_gpt *m = tiny_model(11);
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
	/* the file path works as well as the directory */
	char file[4200];
	snprintf(file, sizeof file, "%s/model.safetensors", sub);
	struct ifg_gpt *m3 = ifg_gpt_load(file);
	ck_assert_ptr_nonnull(m3);
	ifg_gpt_free(m3);
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
	ifg_gpt_free(m2);
	ifg_gpt_free(m);
	unlink(bad);
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
	tcase_add_test(tc, test_finite_differences);
	tcase_add_test(tc, test_linear_api);
	tcase_add_test(tc, test_batch_independence);
	tcase_add_test(tc, test_causal);
	tcase_add_test(tc, test_long_context_fd);
	tcase_add_test(tc, test_checkpoint_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

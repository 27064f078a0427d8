/* check_gradext.c: the gradients extracted per record (common/influence/gradext.c)
 * against the model's own parameter gradients, and the layer selection. */
#include <math.h>
#include <string.h>

#include "gradext.h"
#include "testutil.h"
#include "util.h"

/* Each record's full weight gradient from the model's backward equals
 * Σ_t s_t ā_tᵀ from the extracted inputs and output gradients: weight
 * (Conv1D (d_in, d_out)) and bias (the ā column of ones).  Extraction
 * alone computes no parameter gradients (IFG_GPT_NO_PARAM_GRADS): the model
 * here is reserved with them first, to compare with, and a twin without
 * them must give the same a and s bit for bit. */
static void check_extraction(const char *select, int cont, bool sample, int expect_layers)
{
	struct ifg_gpt_config cfg = { .n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 16,
				      .vocab_size = 13 };
	struct ifg_gpt *m = ifg_gpt_new(&cfg);
	ck_assert_ptr_nonnull(m);
	ifg_gpt_init_weights(m, 7);
	ck_assert_int_eq(ifg_gpt_reserve(m, 1, 11, IFG_GPT_TRAIN), 0);
	struct ifg_gpt *bare = ifg_gpt_new(&cfg);
	ifg_gpt_init_weights(bare, 7);
	struct ifg_gradext g, gb;
	ck_assert_msg(ifg_gradext_init(&g, m, select) == 0, "%s", ifg_err());
	ck_assert_msg(ifg_gradext_init(&gb, bare, select) == 0, "%s", ifg_err());
	ck_assert_int_eq(g.n_layers, expect_layers);
	uint32_t tok[11];
	for (int t = 0; t < 11; t++)
		tok[t] = (uint32_t)(t * 5 + 3) % 13;
	struct ifg_rng rng, rngb;
	ifg_rng_init2(&rng, 99, 0);
	ifg_rng_init2(&rngb, 99, 0);
	double loss;
	for (int T = 11; T >= 6; T -= 5) {	/* a longer record, then a shorter one */
		ck_assert_msg(ifg_gradext_record(&g, tok, T, cont, sample ? &rng : NULL, &loss) == 0,
			      "%s", ifg_err());
		ck_assert(loss > 0);
		double lossb;
		ck_assert_int_eq(ifg_gradext_record(&gb, tok, T, cont, sample ? &rngb : NULL, &lossb), 0);
		ck_assert(lossb == loss);
		ck_assert_ptr_null(ifg_gpt_grad_mem(bare));
		for (int i = 0; i < g.n_layers; i++) {
			size_t na = (size_t)T * (g.layers[i].d_in + 1), ns = (size_t)T * g.layers[i].d_out;
			ck_assert(memcmp(g.a[i], gb.a[i], na * sizeof(float)) == 0);
			ck_assert(memcmp(g.s[i], gb.s[i], ns * sizeof(float)) == 0);
		}
		for (int i = 0; i < g.n_layers; i++) {
			int din = g.layers[i].d_in, dout = g.layers[i].d_out;
			/* the layer's weight and bias gradients: at the offsets of
			 * its weight and bias in the parameter block */
			struct ifg_gpt_linear L;
			ck_assert_int_eq(ifg_gpt_linear(m, g.lin[i], &L), 0);
			ck_assert_int_eq(L.d_in, din);
			ck_assert_int_eq(L.d_out, dout);
			ck_assert_str_eq(ifg_gpt_lin(m, g.lin[i])->name, g.layers[i].name);
			const float *W = ifg_gpt_grad_mem(m) + (L.w - ifg_gpt_param_mem(m));
			const float *B = ifg_gpt_grad_mem(m) + (L.b - ifg_gpt_param_mem(m));
			double scale = 0, worst = 0;
			for (int o = 0; o < dout; o++)
				for (int j = 0; j <= din; j++) {
					double G = 0;	/* (Σ_t s_t ā_tᵀ)[o, j] */
					for (int t = 0; t < T; t++)
						G += (double)g.s[i][t * dout + o] *
						     g.a[i][t * (din + 1) + j];
					double want = j < din ? W[(size_t)j * dout + o] : B[o];
					scale = fmax(scale, fabs(want));
					worst = fmax(worst, fabs(G - want));
				}
			ck_assert_msg(scale > 0, "layer %s: zero gradient", g.layers[i].name);
			ck_assert_msg(worst <= 1e-4 * scale, "layer %s: |G - dW| %g of %g",
				      g.layers[i].name, worst, scale);
		}
	}
	ifg_gradext_release(&g);
	ifg_gradext_release(&gb);
	ifg_gpt_free(m);
	ifg_gpt_free(bare);
}

START_TEST(test_extraction_true_labels) { check_extraction("all", 0, false, 8); }
END_TEST

START_TEST(test_extraction_query_sampled)
{
	check_extraction("mlp.c_fc,h.1.attn.c_attn", 3, true, 3);
}
END_TEST

/* The chosen layers come in the model's list order whatever the order of
 * the selection, each once. */
START_TEST(test_extraction_select_order)
{
	struct ifg_gpt_config cfg = { .n_layer = 2, .n_head = 1, .n_embd = 4, .n_ctx = 4,
				      .vocab_size = 5 };
	struct ifg_gpt *m = ifg_gpt_new(&cfg);
	struct ifg_gradext g;
	ck_assert_msg(ifg_gradext_init(&g, m, "h.1.mlp.c_proj,attn.c_attn,h.0.attn.c_attn") == 0,
		      "%s", ifg_err());
	ck_assert_int_eq(g.n_layers, 3);
	const char *want[] = { "h.0.attn.c_attn", "h.1.attn.c_attn", "h.1.mlp.c_proj" };
	const int din[] = { 4, 4, 16 }, dout[] = { 12, 12, 4 };
	for (int i = 0; i < 3; i++) {
		ck_assert_str_eq(g.layers[i].name, want[i]);
		ck_assert_int_eq(g.layers[i].d_in, din[i]);
		ck_assert_int_eq(g.layers[i].d_out, dout[i]);
	}
	ifg_gradext_release(&g);
	ifg_gpt_free(m);
}
END_TEST

START_TEST(test_extraction_select_refused)
{
	struct ifg_gpt_config cfg = { .n_layer = 1, .n_head = 1, .n_embd = 4, .n_ctx = 4,
				      .vocab_size = 5 };
	struct ifg_gpt *m = ifg_gpt_new(&cfg);
	struct ifg_gradext g;
	ck_assert_int_eq(ifg_gradext_init(&g, m, "h.1.mlp.c_fc"), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "no layer 'h.1.mlp.c_fc'"));
	ifg_gpt_free(m);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("gradext");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_extraction_true_labels);
	tcase_add_test(tc, test_extraction_query_sampled);
	tcase_add_test(tc, test_extraction_select_order);
	tcase_add_test(tc, test_extraction_select_refused);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

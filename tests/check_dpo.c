/* check_dpo.c: the DPO loss and its gradient (common/model/dpo.h) against
 * central finite differences on a tiny random GPT with a different random
 * reference, micro-batch accumulation, the reference cache, and the pair
 * batches (common/records/tokdata.h). */
#include <stdint.h>

#include "dpo.h"
#include "rng.h"
#include "testgpt.h"
#include "testutil.h"
#include "tokdata.h"
#include "util.h"

static const struct ifg_gpt_config tiny = { .n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 12,
					    .vocab_size = 11 };
enum { NPAIRS = 4 };

/* NPAIRS random pairs of different lengths (prompt 1-3, continuations 1-5). */
static void make_pairs(struct ifg_pairdata *d, uint64_t seed)
{
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	ifg_pairdata_init(d);
	for (int i = 0; i < NPAIRS; i++) {
		uint32_t p[3], c[5], j[5];
		size_t np = 1 + ifg_rng_below(&r, 3), nc = 1 + ifg_rng_below(&r, 5),
		       nr = 1 + ifg_rng_below(&r, 5);
		for (size_t k = 0; k < 5; k++) {
			if (k < 3)
				p[k] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
			c[k] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
			j[k] = (uint32_t)ifg_rng_below(&r, tiny.vocab_size);
		}
		ck_assert_int_eq(ifg_pairdata_add(d, p, np, c, nc, j, nr), 0);
	}
}

START_TEST(test_loss_function)
{
	const double beta = 0.3;
	double c;
	ck_assert_close(ifg_dpo_loss(beta, 0, &c), log(2.0), 1e-15);
	ck_assert_close(c, beta / 2, 1e-15);
	/* −dL/dm against a central difference, on both sides of 0 */
	double ms[] = { -40, -3, -0.2, 0.7, 5, 60 };
	for (int i = 0; i < 6; i++) {
		double h = 1e-5, m = ms[i];
		double fd = -(ifg_dpo_loss(beta, m + h, NULL) - ifg_dpo_loss(beta, m - h, NULL)) / (2 * h);
		ifg_dpo_loss(beta, m, &c);
		ck_assert_msg(fabs(fd - c) < 1e-8, "m %g: coef %.12g, finite difference %.12g", m, c, fd);
		ck_assert_close(ifg_dpo_loss(beta, m, NULL), log1p(exp(-beta * m)), 1e-12);
	}
	/* huge margins: finite, the right limits */
	ck_assert_close(ifg_dpo_loss(1, 1e6, &c), 0, 1e-12);
	ck_assert(c >= 0 && c < 1e-300);
	ck_assert_close(ifg_dpo_loss(1, -1e6, &c), 1e6, 1e-12);
	ck_assert_close(c, 1, 1e-12);
}
END_TEST

START_TEST(test_pair_batch)
{
	struct ifg_pairdata d;
	ifg_pairdata_init(&d);
	uint32_t p[] = { 1, 2 }, c[] = { 3, 4, 5 }, r[] = { 6 };
	ck_assert_int_eq(ifg_pairdata_add(&d, p, 2, c, 3, r, 1), 0);
	ck_assert_int_eq(ifg_pairdata_add(&d, p, 1, r, 1, c, 2), 0);
	ck_assert_int_eq(ifg_pairdata_add(&d, p, 2, c, 0, r, 1), -1);
	ck_assert_msg(strstr(ifg_err(), "empty chosen continuation"), "%s", ifg_err());
	ck_assert_int_eq(ifg_pairdata_add(&d, p, 0, c, 1, r, 1), -1);
	ck_assert_msg(strstr(ifg_err(), "empty prompt"), "%s", ifg_err());
	ck_assert_int_eq(d.n, 2);
	ck_assert_int_eq(d.max_len, 5);
	ck_assert_int_eq(d.max_id, 6);
	size_t idx[2] = { 0, 1 };
	uint32_t tok[4 * 5];
	int32_t tgt[4 * 5];
	ck_assert_int_eq(ifg_pairdata_batch(&d, idx, 2, 5, tok, tgt), 5 + 3 + 2 + 3);
	/* rows: chosen 0, chosen 1, rejected 0, rejected 1 */
	const uint32_t wt[4][5] = { { 1, 2, 3, 4, 5 }, { 1, 6, 0, 0, 0 }, { 1, 2, 6, 0, 0 },
				     { 1, 3, 4, 0, 0 } };
	const int32_t wg[4][5] = { { -1, 3, 4, 5, -1 }, { 6, -1, -1, -1, -1 },
				    { -1, 6, -1, -1, -1 }, { 3, 4, -1, -1, -1 } };
	for (int b = 0; b < 4; b++)
		for (int t = 0; t < 5; t++) {
			ck_assert_uint_eq(tok[b * 5 + t], wt[b][t]);
			ck_assert_int_eq(tgt[b * 5 + t], wg[b][t]);
		}
	ck_assert_int_eq(ifg_pairdata_batch(&d, idx, 2, 4, tok, tgt), -1);
	ifg_pairdata_free(&d);
}
END_TEST

/* Σ L_i / NPAIRS over two micro-batches of two pairs. */
static double dpo_objective(struct ifg_dpo *x, struct ifg_gpt *m, const size_t *idx,
			    struct ifg_dpo_stats *st)
{
	memset(st, 0, sizeof *st);
	for (int k = 0; k < NPAIRS; k += 2)
		ck_assert_msg(ifg_dpo_forward(x, m, idx + k, 2, st) == 0, "%s", ifg_err());
	return st->loss / NPAIRS;
}

START_TEST(test_finite_differences)
{
	struct ifg_pairdata d;
	make_pairs(&d, 21);
	struct ifg_gpt *m = ifg_test_gpt(&tiny, 1, 0.4), *ref = ifg_test_gpt(&tiny, 2, 0.4);
	struct ifg_dpo x;
	const double beta = 0.5;
	ifg_dpo_init(&x, &d, beta, 2);
	ck_assert_msg(ifg_dpo_reference(&x, ref) == 0, "%s", ifg_err());
	ck_assert_int_eq(ifg_gpt_reserve(m, 4, (int)d.max_len, IFG_GPT_TRAIN), 0);
	size_t idx[NPAIRS] = { 2, 0, 3, 1 };
	struct ifg_dpo_stats st;
	ifg_gpt_zero_grad(m);
	for (int k = 0; k < NPAIRS; k += 2) {
		memset(&st, 0, sizeof st);
		ck_assert_int_eq(ifg_dpo_forward(&x, m, idx + k, 2, &st), 0);
		ck_assert_int_eq(ifg_dpo_backward(&x, m, NPAIRS), 0);
	}
	double loss = dpo_objective(&x, m, idx, &st);
	/* the random reference is far from the policy: margins of both signs, and
	 * coefficients that are neither 0 nor β */
	ck_assert(st.correct > 0 && st.correct < NPAIRS);
	ck_assert(loss > 0.05 && loss < 20);
	size_t n = ifg_gpt_nparams(m);
	float *grad = malloc(n * sizeof *grad);
	memcpy(grad, ifg_gpt_grad_mem(m), n * sizeof *grad);
	float *p = ifg_gpt_param_mem(m);

	/* every parameter, central differences with h = 1e-2 as in check_gpt */
	double worst = 0, num = 0, den = 0;
	const char *worst_name = "";
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
			double lp = dpo_objective(&x, m, idx, &st);
			p[k] = save - h;
			double lm = dpo_objective(&x, m, idx, &st);
			p[k] = save;
			double fd = (lp - lm) / (2.0 * (double)h);
			double err = fabs(fd - grad[k]) / (fmax(fabs(fd), fabs(grad[k])) + 0.01 * gmax + 1e-5);
			if (err > worst) {
				worst = err;
				worst_name = t->name;
			}
			ck_assert_msg(err < 2e-2, "%s[%zu]: analytic %.7g, finite difference %.7g",
				      t->name, j, grad[k], fd);
			num += (fd - grad[k]) * (fd - grad[k]);
			den += fd * fd;
		}
	}
	double rel = sqrt(num / den);
	ck_assert_msg(rel < 5e-3, "relative L2 error %.3g", rel);
	if (getenv("IFG_TEST_VERBOSE"))
		fprintf(stderr, "dpo finite differences: %zu parameters, loss %.6f, relative L2 "
			"error %.3g, worst element %.3g (%s)\n", n, loss, rel, worst, worst_name);

	/* one forward of all four pairs: the same loss and gradient */
	struct ifg_dpo x4;
	ifg_dpo_init(&x4, &d, beta, NPAIRS);
	ck_assert_int_eq(ifg_dpo_reference(&x4, ref), 0);
	for (size_t i = 0; i < 2 * d.n; i++)
		ck_assert_close(x4.ref[i], x.ref[i], 1e-5);
	ck_assert_int_eq(ifg_gpt_reserve(m, 2 * NPAIRS, (int)d.max_len, IFG_GPT_TRAIN), 0);
	ifg_gpt_zero_grad(m);
	struct ifg_dpo_stats s4 = { 0 };
	ck_assert_int_eq(ifg_dpo_forward(&x4, m, idx, NPAIRS, &s4), 0);
	ck_assert_int_eq(ifg_dpo_backward(&x4, m, NPAIRS), 0);
	ck_assert_close(s4.loss / NPAIRS, loss, 1e-5);
	for (size_t i = 0; i < n; i++)
		ck_assert_close(ifg_gpt_grad_mem(m)[i], grad[i], 1e-4);
	ck_assert_int_eq(ifg_dpo_forward(&x4, m, idx, NPAIRS + 1, &s4), -1);

	free(grad);
	ifg_dpo_release(&x4);
	ifg_dpo_release(&x);
	ifg_gpt_free(ref);
	ifg_gpt_free(m);
	ifg_pairdata_free(&d);
}
END_TEST

/* The policy equal to its reference: margins 0, loss log 2, coefficients
 * β / 2, so the gradient is β/2 (∇NLL(chosen) − ∇NLL(rejected)) / n. */
START_TEST(test_policy_is_reference)
{
	struct ifg_pairdata d;
	make_pairs(&d, 5);
	struct ifg_gpt *m = ifg_test_gpt(&tiny, 9, 0.4), *ref = ifg_test_gpt(&tiny, 9, 0.4);
	struct ifg_dpo x;
	ifg_dpo_init(&x, &d, 0.1, NPAIRS);
	ck_assert_int_eq(ifg_dpo_reference(&x, ref), 0);
	ck_assert_int_eq(ifg_gpt_reserve(m, 2 * NPAIRS, (int)d.max_len, IFG_GPT_TRAIN), 0);
	size_t idx[NPAIRS] = { 0, 1, 2, 3 };
	struct ifg_dpo_stats st = { 0 };
	ifg_gpt_zero_grad(m);
	ck_assert_int_eq(ifg_dpo_forward(&x, m, idx, NPAIRS, &st), 0);
	ck_assert_close(st.loss / NPAIRS, log(2.0), 1e-6);
	ck_assert(fabs(st.margin) < 1e-5);
	for (int b = 0; b < NPAIRS; b++)
		ck_assert_close(x.coef[b], 0.05, 1e-6);
	ck_assert_int_eq(ifg_dpo_backward(&x, m, NPAIRS), 0);
	size_t n = ifg_gpt_nparams(m);
	float *g = malloc(n * sizeof *g);
	memcpy(g, ifg_gpt_grad_mem(m), n * sizeof *g);
	/* the same by hand: weights ±β/2 on the rows' targets, divisor n */
	ifg_gpt_zero_grad(m);
	int T = (int)d.max_len;
	ck_assert_int_ge(ifg_pairdata_batch(&d, idx, NPAIRS, T, x.tok, x.tgt), 0);
	ck_assert_int_eq(ifg_gpt_forward(m, x.tok, x.tgt, 2 * NPAIRS, T, NULL), 0);
	float *w = malloc(sizeof *w * 2 * NPAIRS * T);
	for (int i = 0; i < 2 * NPAIRS * T; i++)
		w[i] = x.tgt[i] < 0 ? 0.0f : i < NPAIRS * T ? 0.05f : -0.05f;
	ck_assert_int_eq(ifg_gpt_backward(m, w, NPAIRS), 0);
	double gn = 0;
	for (size_t i = 0; i < n; i++) {
		ck_assert_close(ifg_gpt_grad_mem(m)[i], g[i], 1e-5);
		gn += (double)g[i] * g[i];
	}
	ck_assert(gn > 0);
	/* backward without a forward is refused */
	struct ifg_dpo y;
	ifg_dpo_init(&y, &d, 0.1, 1);
	ck_assert_int_eq(ifg_dpo_backward(&y, m, 1), -1);
	ifg_dpo_release(&y);
	free(w);
	free(g);
	ifg_dpo_release(&x);
	ifg_gpt_free(ref);
	ifg_gpt_free(m);
	ifg_pairdata_free(&d);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("dpo");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_loss_function);
	tcase_add_test(tc, test_pair_batch);
	tcase_add_test(tc, test_finite_differences);
	tcase_add_test(tc, test_policy_is_reference);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

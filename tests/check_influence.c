/* check_influence.c: query-gradient difference, preconditioning and the
 * per-token and document scores of common/influence/influence.c against naive loops. */
#include <stdint.h>
#include <unistd.h>

#include "ekfac.h"
#include "gradrec.h"	/* the scores header */
#include "influence.h"
#include "kinds.h"
#include "rec.h"
#include "testutil.h"
#include "util.h"

enum { DIN = 4, NA = DIN + 1, DO = 3, M = DO * NA, T = 9, NREC = 10 };

static uint64_t rs = 88172645463325252ULL;
static double urand(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void fill(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)urand();
}

/* Σ_n ||G_n||²_F of the records fitted() last used, G_n = Σ_t s_t ā_tᵀ. */
static double fitted_g2;

/* One layer with ekfac factors fitted on NREC random records: with a bias
 * (d_in DIN, the last column of ā 1), or without (d_in NA, every column an
 * input); na is NA either way. */
static void fitted(struct ifg_factors *f, bool bias)
{
	const char *name = "h.0.attn.c_proj";
	int din = bias ? DIN : NA, dout = DO;
	ifg_factors_init(f, 1, &name, &din, &dout, &bias);
	ck_assert_int_eq(ifg_layer_na(&f->layer[0]), NA);
	double a[NREC][T * NA], s[NREC][T * DO];
	for (int n = 0; n < NREC; n++) {
		for (int i = 0; i < T * NA; i++)
			a[n][i] = (bias && i % NA == DIN) ? 1.0 : urand();
		for (int i = 0; i < T * DO; i++)
			s[n][i] = urand();
		ifg_cov_add(&f->layer[0], a[n], s[n], T, NULL);
	}
	fitted_g2 = 0;
	for (int n = 0; n < NREC; n++)
		for (int o = 0; o < DO; o++)
			for (int j = 0; j < NA; j++) {
				double g = 0;
				for (int t = 0; t < T; t++)
					g += s[n][t * DO + o] * a[n][t * NA + j];
				fitted_g2 += g * g;
			}
	ifg_cov_symmetrize(&f->layer[0]);
	ck_assert_int_eq(ifg_eigen(&f->layer[0], NULL), 0);
	for (int n = 0; n < NREC; n++)
		ck_assert_int_eq(ifg_lambda_add(&f->layer[0], ifg_strategy_find("ekfac"), a[n],
						s[n], T, NULL), 0);
}

START_TEST(test_query_diff)
{
	double gt[4] = { 2, 4, 6, 8 }, gs[4] = { 3, 3, 3, 3 }, out[4];
	ifg_query_diff(4, gt, 2, gs, 3, out);
	for (int i = 0; i < 4; i++)
		ck_assert_double_eq_tol(out[i], gt[i] / 2 - 1, 1e-15);
	ifg_query_diff(4, gt, 2, NULL, 0, out);
	for (int i = 0; i < 4; i++)
		ck_assert_double_eq_tol(out[i], gt[i] / 2, 1e-15);
}
END_TEST

/* S[t] = s_tᵀ P ā_t by naive loops, P from the scorer; Σ_t S[t] equals the
 * document score ⟨P, Σ_t s_t ā_tᵀ⟩.  _i = 1: a layer without a bias. */
START_TEST(test_token_scores_naive)
{
	struct ifg_factors f;
	fitted(&f, _i == 0);
	double dg[M];
	for (int i = 0; i < M; i++)
		dg[i] = urand();
	const double *dgs[1] = { dg };
	struct ifg_damping d = { IFG_DAMP_HEURISTIC, 0.25 };
	struct ifg_scorer sc;
	ck_assert_int_eq(ifg_scorer_init(&sc, &f, ifg_strategy_find("ekfac"), &d, dgs, 0), 0);
	ck_assert_double_gt(sc.delta[0], 0);
	/* P really is H̃⁻¹ dg */
	double P[M];
	ck_assert_int_eq(ifg_precondition(&f.layer[0], ifg_strategy_find("ekfac"), &d, dg, P,
					  NULL), 0);
	for (int i = 0; i < M; i++)
		ck_assert_double_eq(sc.P[0][i], P[i]);
	float a[T * NA], s[T * DO];
	fill(a, T * NA);
	fill(s, T * DO);
	double out[T], sum = 0;
	ifg_score_tokens(&sc, 0, a, s, T, out);
	for (int t = 0; t < T; t++) {
		double want = 0;
		for (int i = 0; i < DO; i++)
			for (int j = 0; j < NA; j++)
				want += s[t * DO + i] * P[i * NA + j] * a[t * NA + j];
		ck_assert_close(out[t], want, 1e-5);
		sum += out[t];
	}
	ck_assert_close(ifg_score_document(&sc, 0, a, s, T), sum, 1e-5);
	/* the f64 products: the naive sums to double rounding */
	sc.prec = IFG_PREC_F64;
	ifg_score_tokens(&sc, 0, a, s, T, out);
	for (int t = 0; t < T; t++) {
		double want = 0;
		for (int i = 0; i < DO; i++)
			for (int j = 0; j < NA; j++)
				want += (double)s[t * DO + i] * P[i * NA + j] * a[t * NA + j];
		ck_assert_close(out[t], want, 1e-12);
	}
	ifg_scorer_release(&sc);
	ifg_factors_release(&f);
}
END_TEST

/* Scores are linear in the query gradient: diff = toxic-only − safe-only. */
START_TEST(test_linear_in_queries)
{
	struct ifg_factors f;
	fitted(&f, true);
	double gt[M], gs[M], d1[M], d2[M], d3[M];
	for (int i = 0; i < M; i++) {
		gt[i] = urand();
		gs[i] = urand();
	}
	ifg_query_diff(M, gt, 3, gs, 5, d1);
	ifg_query_diff(M, gt, 3, NULL, 0, d2);
	ifg_query_diff(M, gs, 5, NULL, 0, d3);
	const double *p1[1] = { d1 }, *p2[1] = { d2 }, *p3[1] = { d3 };
	struct ifg_damping d = { IFG_DAMP_FIXED, 1e-3 };
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	struct ifg_scorer s1, s2, s3;
	ck_assert_int_eq(ifg_scorer_init(&s1, &f, ek, &d, p1, 0), 0);
	ck_assert_int_eq(ifg_scorer_init(&s2, &f, ek, &d, p2, 0), 0);
	ck_assert_int_eq(ifg_scorer_init(&s3, &f, ek, &d, p3, 0), 0);
	float a[T * NA], s[T * DO];
	fill(a, T * NA);
	fill(s, T * DO);
	double o1[T], o2[T], o3[T];
	ifg_score_tokens(&s1, 0, a, s, T, o1);
	ifg_score_tokens(&s2, 0, a, s, T, o2);
	ifg_score_tokens(&s3, 0, a, s, T, o3);
	double scale = 0;
	for (int t = 0; t < T; t++)
		scale = fmax(scale, fabs(o2[t]));
	for (int t = 0; t < T; t++)
		ck_assert_double_le(fabs(o1[t] - (o2[t] - o3[t])), 1e-5 * scale);
	ifg_scorer_release(&s1);
	ifg_scorer_release(&s2);
	ifg_scorer_release(&s3);
	ifg_factors_release(&f);
}
END_TEST

/* identity: P = dg, undamped; a layer without the factors a strategy needs
 * is refused. */
START_TEST(test_identity_and_missing)
{
	const char *name = "x";
	int din = DIN, dout = DO;
	struct ifg_factors f;
	ifg_factors_init(&f, 1, &name, &din, &dout, NULL);
	double dg[M];
	for (int i = 0; i < M; i++)
		dg[i] = urand();
	const double *p[1] = { dg };
	struct ifg_damping d = { IFG_DAMP_FIXED, 0.5 };
	struct ifg_scorer sc;
	ck_assert_int_eq(ifg_scorer_init(&sc, &f, ifg_strategy_find("identity"), &d, p, 0), 0);
	for (int i = 0; i < M; i++)
		ck_assert_double_eq(sc.P[0][i], dg[i]);
	ck_assert_double_eq(sc.delta[0], 0);
	ifg_scorer_release(&sc);
	ck_assert_int_eq(ifg_scorer_init(&sc, &f, ifg_strategy_find("kfac"), &d, p, 0), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "eigenbases"));
	ifg_scorer_release(&sc);
	ifg_factors_release(&f);
}
END_TEST

/* The scores header says how the scores were made. */
START_TEST(test_scores_header)
{
	char *dir = ifg_test_tmpdir(), gpath[256], spath[256];
	snprintf(gpath, sizeof gpath, "%s/g.ifg", dir);
	snprintf(spath, sizeof spath, "%s/s.ifg", dir);
	/* a grads header to derive from */
	struct ifg_writer *w = ifg_writer_open(gpath, IFG_COMPRESS_NO);
	ck_assert_ptr_nonnull(w);
	msgpack_packer *pk = ifg_writer_pk(w);
	struct ifg_layer_shape L = { "x", DIN, DO, true };
	ifg_writer_begin_header(w, IFG_KIND_GRADS, 3);
	ifg_pack_cstr(pk, IFG_K_MODEL);
	msgpack_pack_map(pk, 1);
	ifg_pack_kv_str(pk, IFG_K_SHA256, "abc");
	ifg_pack_kv_layers(pk, 1, &L);
	ifg_pack_kv_str(pk, IFG_K_LABELS, "true");
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_reader *r = ifg_reader_open(gpath);
	struct ifg_gradhdr h;
	ck_assert_int_eq(ifg_gradhdr_read(r, NULL, &h), 0);
	ifg_reader_close(r);

	struct ifg_factors f;
	fitted(&f, true);
	double dg[M] = { 0 };
	const double *p[1] = { dg };
	struct ifg_scorer sc;
	struct ifg_damping d = { IFG_DAMP_HEURISTIC, 0.25 };
	ck_assert_int_eq(ifg_scorer_init(&sc, &f, ifg_strategy_find("ekfac"), &d, p, 0), 0);
	w = ifg_writer_open(spath, IFG_COMPRESS_NO);
	ifg_scores_header(w, &h, &sc, true, false, 7, 11);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	r = ifg_reader_open(spath);
	ck_assert_int_eq(ifg_reader_header(r, IFG_KIND_SCORES), 0);
	const msgpack_object *hd = ifg_reader_hdr(r), *dm;
	ck_assert(ifg_obj_streq(ifg_get(hd, IFG_K_METHOD), "differential"));
	ck_assert(ifg_obj_streq(ifg_get(hd, IFG_K_LEVEL), "token"));
	ck_assert(ifg_obj_streq(ifg_get(hd, IFG_K_STRATEGY), "ekfac"));
	ck_assert(ifg_obj_streq(ifg_get(hd, IFG_K_LABELS), "true"));
	ck_assert_int_eq(ifg_get_map(r, hd, IFG_K_DAMPING, &dm), 0);
	ck_assert(ifg_obj_streq(ifg_get(dm, IFG_K_RULE), "heuristic"));
	struct ifg_array da;
	ck_assert_int_eq(ifg_get_array(r, dm, IFG_K_LAYERS, 1, &da), 0);
	ck_assert_double_eq(ifg_array_get(&da, 0), sc.delta[0]);
	/* the heuristic δ = scale · mean(Λ), Λ = Λ_sum / N the mean squared
	 * rotated record gradient; a rotation keeps the sum of squares, so
	 * Σ_ij Λ_ij = Σ_n ||G_n||²_F / N without the eigenbases */
	ck_assert_close(sc.delta[0], 0.25 * fitted_g2 / NREC / M, 1e-12);
	double value;
	ck_assert_int_eq(ifg_get_f64(r, dm, IFG_K_VALUE, 0, 1e9, &value), 0);
	ck_assert_double_eq(value, 0.25);
	int64_t q, n;
	ck_assert_int_eq(ifg_get_i64(r, hd, IFG_K_QUERIES, 0, 100, &q), 0);
	ck_assert_int_eq(ifg_get_i64(r, hd, IFG_K_NEGATIVES, 0, 100, &n), 0);
	ck_assert_int_eq(q, 7);
	ck_assert_int_eq(n, 11);
	ifg_reader_close(r);
	ifg_scorer_release(&sc);
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
	unlink(gpath);
	unlink(spath);
	rmdir(dir);
	free(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("influence");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_query_diff);
	tcase_add_loop_test(tc, test_token_scores_naive, 0, 2);
	tcase_add_test(tc, test_linear_in_queries);
	tcase_add_test(tc, test_identity_and_missing);
	tcase_add_test(tc, test_scores_header);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

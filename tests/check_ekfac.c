/* check_ekfac.c: covariance, eigen, lambda, merge and the inverse of
 * common/influence/ekfac.c against dense brute force on tiny random layers. */
#include <lapacke.h>
#include <stdint.h>

#include "ekfac.h"
#include "testutil.h"
#include "util.h"

/* A tiny layer: d_in 3 (na 4), d_out 5; records of a few tokens.  The loop
 * tests run a second time (_i = 1) on a layer without a bias: d_in 4, na 4,
 * every column of ā an input. */
enum { DIN = 3, NA = DIN + 1, DO = 5, NREC = 12, TMAX = 7 };
static bool no_bias;

static uint64_t rng_state;
static double urand(void)	/* uniform in [-1, 1) */
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Random records: a[n] (T[n], NA) with the bias column 1 (an input when
 * no_bias), s[n] (T[n], DO). */
static double a_rec[NREC][TMAX * NA], s_rec[NREC][TMAX * DO];
static int T_rec[NREC];

static void make_records(uint64_t seed)
{
	rng_state = seed;
	for (int n = 0; n < NREC; n++) {
		T_rec[n] = 1 + n % TMAX;
		for (int t = 0; t < T_rec[n]; t++) {
			for (int j = 0; j < DIN; j++)
				a_rec[n][t * NA + j] = urand() + 0.3 * j;
			a_rec[n][t * NA + DIN] = no_bias ? urand() - 0.5 : 1.0;
			for (int i = 0; i < DO; i++)
				s_rec[n][t * DO + i] = urand() * (1 + i);
		}
	}
}

static void new_layer(struct ifg_layer_factors *l)
{
	if (no_bias)
		ifg_layer_init(l, "h.0.mlp.c_fc", NA, DO, false);
	else
		ifg_layer_init(l, "h.0.mlp.c_fc", DIN, DO, true);
	ck_assert_int_eq(ifg_layer_na(l), NA);
}

static double relerr(const double *x, const double *y, size_t n)
{
	double num = 0, den = 0;
	for (size_t i = 0; i < n; i++) {
		num = fmax(num, fabs(x[i] - y[i]));
		den = fmax(den, fabs(y[i]));
	}
	return num / (den > 0 ? den : 1);
}

/* Dense record gradient G_n = Σ_t s_t ā_tᵀ (DO, NA), naive loops. */
static void dense_G(int n, double *G)
{
	for (int i = 0; i < DO; i++)
		for (int j = 0; j < NA; j++) {
			double acc = 0;
			for (int t = 0; t < T_rec[n]; t++)
				acc += s_rec[n][t * DO + i] * a_rec[n][t * NA + j];
			G[i * NA + j] = acc;
		}
}

/* Full factors (covariance, eigen, lambda) over records [lo, hi). */
static void fit(struct ifg_layer_factors *l, const struct ifg_strategy *st, int lo, int hi)
{
	for (int n = lo; n < hi; n++)
		ifg_cov_add(l, a_rec[n], s_rec[n], T_rec[n], NULL);
	ifg_cov_symmetrize(l);
	ck_assert_int_eq(ifg_eigen(l, NULL), 0);
	for (int n = lo; n < hi; n++)
		ck_assert_int_eq(ifg_lambda_add(l, st, a_rec[n], s_rec[n], T_rec[n], NULL), 0);
}

/* ifg_weight_grad against the naive loops: beta 0, beta 1 (accumulation
 * over records), and T = 0 leaving beta G; the f32 form on f32 copies. */
START_TEST(test_weight_grad)
{
	no_bias = false;
	make_records(11);
	double G[DO * NA], want[DO * NA] = { 0 }, one[DO * NA], *buf = NULL;
	size_t cap = 0;
	ifg_weight_grad(DO, NA, T_rec[3], s_rec[3], a_rec[3], 0.0, G, NULL);
	dense_G(3, want);
	ck_assert_double_le(relerr(G, want, DO * NA), 1e-14);
	memset(want, 0, sizeof want);
	for (int i = 0; i < DO * NA; i++)
		G[i] = 0;
	for (int n = 0; n < NREC; n++) {
		ifg_weight_grad(DO, NA, T_rec[n], s_rec[n], a_rec[n], 1.0, G, NULL);
		dense_G(n, one);
		for (int i = 0; i < DO * NA; i++)
			want[i] += one[i];
	}
	ck_assert_double_le(relerr(G, want, DO * NA), 1e-14);
	memcpy(one, G, sizeof G);
	ifg_weight_grad(DO, NA, 0, NULL, NULL, 1.0, G, NULL);
	ck_assert_mem_eq(G, one, sizeof G);
	ifg_weight_grad(DO, NA, 0, NULL, NULL, 0.0, G, NULL);
	for (int i = 0; i < DO * NA; i++)
		ck_assert_double_eq(G[i], 0);
	float a32[TMAX * NA], s32[TMAX * DO];
	for (int i = 0; i < T_rec[5] * NA; i++)
		a32[i] = (float)a_rec[5][i];
	for (int i = 0; i < T_rec[5] * DO; i++)
		s32[i] = (float)s_rec[5][i];
	ifg_weight_grad_f32(DO, NA, T_rec[5], s32, a32, 0.0, G, &buf, &cap, NULL);
	dense_G(5, want);
	ck_assert_double_le(relerr(G, want, DO * NA), 1e-6);
	ck_assert_uint_ge(cap, (size_t)T_rec[5] * (NA + DO));
	free(buf);
}
END_TEST

START_TEST(test_covariance_dense)
{
	no_bias = _i;
	make_records(11);
	struct ifg_layer_factors l;
	new_layer(&l);
	for (int n = 0; n < NREC; n++)
		ifg_cov_add(&l, a_rec[n], s_rec[n], T_rec[n], NULL);
	ifg_cov_symmetrize(&l);
	double A[NA * NA] = { 0 }, S[DO * DO] = { 0 };
	int64_t tokens = 0;
	for (int n = 0; n < NREC; n++) {
		tokens += T_rec[n];
		for (int t = 0; t < T_rec[n]; t++) {
			for (int i = 0; i < NA; i++)
				for (int j = 0; j < NA; j++)
					A[i * NA + j] += a_rec[n][t * NA + i] * a_rec[n][t * NA + j];
			for (int i = 0; i < DO; i++)
				for (int j = 0; j < DO; j++)
					S[i * DO + j] += s_rec[n][t * DO + i] * s_rec[n][t * DO + j];
		}
	}
	ck_assert_int_eq(l.A_count, tokens);
	ck_assert_int_eq(l.S_count, tokens);
	ck_assert_double_le(relerr(l.A_sum, A, NA * NA), 1e-14);
	ck_assert_double_le(relerr(l.S_sum, S, DO * DO), 1e-14);
	/* the bias coordinate of A counts tokens */
	if (!no_bias)
		ck_assert_double_eq(l.A_sum[NA * NA - 1], (double)tokens);
	ifg_layer_release(&l);
}
END_TEST

START_TEST(test_eigen_reconstructs)
{
	no_bias = _i;
	make_records(12);
	struct ifg_layer_factors l;
	new_layer(&l);
	for (int n = 0; n < NREC; n++)
		ifg_cov_add(&l, a_rec[n], s_rec[n], T_rec[n], NULL);
	ifg_cov_symmetrize(&l);
	ck_assert_int_eq(ifg_eigen(&l, NULL), 0);
	/* Q diag(λ) Qᵀ = A_sum / N_A, QᵀQ = I, λ ascending */
	for (int i = 0; i < NA; i++)
		for (int j = 0; j < NA; j++) {
			double r = 0, o = 0;
			for (int k = 0; k < NA; k++) {
				r += l.QA[i * NA + k] * l.eigvals_A[k] * l.QA[j * NA + k];
				o += l.QA[k * NA + i] * l.QA[k * NA + j];
			}
			ck_assert_close(r, l.A_sum[i * NA + j] / l.A_count, 1e-12);
			ck_assert_close(o, i == j ? 1.0 : 0.0, 1e-12);
		}
	for (int k = 1; k < DO; k++)
		ck_assert_double_le(l.eigvals_S[k - 1], l.eigvals_S[k]);
	for (int i = 0; i < DO; i++)
		for (int j = 0; j < DO; j++) {
			double r = 0;
			for (int k = 0; k < DO; k++)
				r += l.QS[i * DO + k] * l.eigvals_S[k] * l.QS[j * DO + k];
			ck_assert_close(r, l.S_sum[i * DO + j] / l.S_count, 1e-12);
		}
	ifg_layer_release(&l);
}
END_TEST

START_TEST(test_eigen_needs_tokens)
{
	no_bias = false;
	struct ifg_layer_factors l;
	new_layer(&l);
	ck_assert_int_eq(ifg_eigen(&l, NULL), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "h.0.mlp.c_fc"));
	ifg_layer_release(&l);
}
END_TEST

/* Λ equals the mean of the squared rotated per-record gradients, dense. */
START_TEST(test_lambda_dense)
{
	no_bias = _i;
	make_records(13);
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	struct ifg_layer_factors l;
	new_layer(&l);
	fit(&l, ek, 0, NREC);
	ck_assert_int_eq(l.Lambda_count, NREC);
	double lam[DO * NA] = { 0 }, G[DO * NA];
	for (int n = 0; n < NREC; n++) {
		dense_G(n, G);
		for (int k = 0; k < DO; k++)
			for (int m = 0; m < NA; m++) {
				double r = 0;	/* (Q_Sᵀ G Q_A)[k, m] */
				for (int i = 0; i < DO; i++)
					for (int j = 0; j < NA; j++)
						r += l.QS[i * DO + k] * G[i * NA + j] *
						     l.QA[j * NA + m];
				lam[k * NA + m] += r * r / NREC;
			}
	}
	double got[DO * NA];
	for (int i = 0; i < DO * NA; i++)
		got[i] = l.Lambda_sum[i] / l.Lambda_count;
	ck_assert_double_le(relerr(got, lam, DO * NA), 1e-12);
	ifg_layer_release(&l);
}
END_TEST

/* Four shards merged equal one pass (covariance and lambda, shared eigen). */
START_TEST(test_merge_shards)
{
	no_bias = _i;
	make_records(14);
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	struct ifg_layer_factors whole, part[4];
	new_layer(&whole);
	fit(&whole, ek, 0, NREC);
	int cut[5] = { 0, 2, 5, 9, NREC };
	for (int k = 0; k < 4; k++) {
		new_layer(&part[k]);
		for (int n = cut[k]; n < cut[k + 1]; n++)
			ifg_cov_add(&part[k], a_rec[n], s_rec[n], T_rec[n], NULL);
		ifg_cov_symmetrize(&part[k]);
		/* lambda in the whole pass's eigenbasis, as `lambda -e eigen` does */
		part[k].QA = ifg_xmalloc(NA * NA, sizeof(double));
		part[k].QS = ifg_xmalloc(DO * DO, sizeof(double));
		memcpy(part[k].QA, whole.QA, NA * NA * sizeof(double));
		memcpy(part[k].QS, whole.QS, DO * DO * sizeof(double));
		for (int n = cut[k]; n < cut[k + 1]; n++)
			ck_assert_int_eq(ifg_lambda_add(&part[k], ek, a_rec[n], s_rec[n],
							T_rec[n], NULL), 0);
	}
	for (int k = 1; k < 4; k++)
		ck_assert_int_eq(ifg_layer_merge(&part[0], &part[k]), 0);
	ck_assert_int_eq(part[0].A_count, whole.A_count);
	ck_assert_int_eq(part[0].S_count, whole.S_count);
	ck_assert_int_eq(part[0].Lambda_count, NREC);
	ck_assert_double_le(relerr(part[0].A_sum, whole.A_sum, NA * NA), 1e-10);
	ck_assert_double_le(relerr(part[0].S_sum, whole.S_sum, DO * DO), 1e-10);
	ck_assert_double_le(relerr(part[0].Lambda_sum, whole.Lambda_sum, DO * NA), 1e-10);
	for (int k = 0; k < 4; k++)
		ifg_layer_release(&part[k]);
	ifg_layer_release(&whole);
}
END_TEST

START_TEST(test_merge_refuses)
{
	no_bias = false;
	make_records(15);
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	struct ifg_layer_factors x, y, z;
	new_layer(&x);
	new_layer(&y);
	fit(&x, ek, 0, 6);
	fit(&y, ek, 6, NREC);	/* another eigenbasis */
	ck_assert_int_eq(ifg_layer_merge(&x, &y), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "different eigenbases"));
	ifg_layer_init(&z, "h.0.mlp.c_fc", DIN + 1, DO, true);
	ck_assert_int_eq(ifg_layer_merge(&x, &z), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "d_in 4"));
	ifg_layer_release(&z);
	/* the same widths with and without a bias are different layers */
	ifg_layer_init(&z, "h.0.mlp.c_fc", DIN, DO, false);
	ck_assert_int_eq(ifg_layer_merge(&x, &z), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "no bias"));
	ifg_layer_release(&x);
	ifg_layer_release(&y);
	ifg_layer_release(&z);
}
END_TEST

/* Solve F x = vec(g) densely (row-major vec, index i * NA + j). */
static void dense_solve(double *F, const double *g, double *x)
{
	enum { N = DO * NA };
	lapack_int ipiv[N];
	memcpy(x, g, N * sizeof(double));
	ck_assert_int_eq(LAPACKE_dgesv(LAPACK_ROW_MAJOR, N, 1, F, N, ipiv, x, 1), 0);
}

static void random_g(double *g)
{
	for (int i = 0; i < DO * NA; i++)
		g[i] = urand();
}

/* ekfac: H̃⁻¹ g = dense solve with Q diag(Λ + δ) Qᵀ, Q = Q_S ⊗ Q_A. */
static void check_ekfac_inverse(const struct ifg_damping *d)
{
	enum { N = DO * NA };
	make_records(16);
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	struct ifg_layer_factors l;
	new_layer(&l);
	fit(&l, ek, 0, NREC);
	double g[N], got[N], want[N], lam[N], delta;
	random_g(g);
	ck_assert_int_eq(ifg_precondition(&l, ek, d, g, got, &delta), 0);
	double mean = 0;
	for (int k = 0; k < N; k++)
		mean += (lam[k] = l.Lambda_sum[k] / l.Lambda_count) / N;
	ck_assert_double_eq_tol(delta, d->rule == IFG_DAMP_FIXED ? d->value : d->value * mean,
				1e-15 * (1 + delta));
	static double F[N * N];
	for (int r = 0; r < N; r++)
		for (int c = 0; c < N; c++) {
			int i = r / NA, j = r % NA, i2 = c / NA, j2 = c % NA;
			double acc = 0;
			for (int k = 0; k < DO; k++)
				for (int m = 0; m < NA; m++)
					acc += l.QS[i * DO + k] * l.QA[j * NA + m] *
					       (lam[k * NA + m] + delta) * l.QS[i2 * DO + k] *
					       l.QA[j2 * NA + m];
			F[r * N + c] = acc;
		}
	dense_solve(F, g, want);
	ck_assert_double_le(relerr(got, want, N), 1e-8);
	ifg_layer_release(&l);
}

START_TEST(test_ekfac_inverse_fixed)
{
	no_bias = _i;
	struct ifg_damping d = { IFG_DAMP_FIXED, 1e-3 };
	check_ekfac_inverse(&d);
}
END_TEST

START_TEST(test_ekfac_inverse_heuristic)
{
	no_bias = _i;
	struct ifg_damping d = { IFG_DAMP_HEURISTIC, IFG_DAMPING_HEURISTIC_SCALE };
	check_ekfac_inverse(&d);
}
END_TEST

/* kfac: H̃ = S ⊗ A + δ I, built without eigenvectors. */
START_TEST(test_kfac_inverse)
{
	no_bias = _i;
	enum { N = DO * NA };
	make_records(17);
	struct ifg_layer_factors l;
	new_layer(&l);
	for (int n = 0; n < NREC; n++)
		ifg_cov_add(&l, a_rec[n], s_rec[n], T_rec[n], NULL);
	ifg_cov_symmetrize(&l);
	ck_assert_int_eq(ifg_eigen(&l, NULL), 0);
	const struct ifg_strategy *kf = ifg_strategy_find("kfac");
	struct ifg_damping d = { IFG_DAMP_FIXED, 1e-2 };
	double g[N], got[N], want[N];
	random_g(g);
	ck_assert_int_eq(ifg_precondition(&l, kf, &d, g, got, NULL), 0);
	static double F[N * N];
	for (int r = 0; r < N; r++)
		for (int c = 0; c < N; c++) {
			int i = r / NA, j = r % NA, i2 = c / NA, j2 = c % NA;
			F[r * N + c] = l.S_sum[i * DO + i2] / l.S_count *
					       l.A_sum[j * NA + j2] / l.A_count +
				       (r == c ? d.value : 0);
		}
	dense_solve(F, g, want);
	ck_assert_double_le(relerr(got, want, N), 1e-8);
	ifg_layer_release(&l);
}
END_TEST

/* diagonal: g / (mean(G ⊙ G) + δ); identity: g unchanged. */
START_TEST(test_diagonal_identity)
{
	no_bias = _i;
	enum { N = DO * NA };
	make_records(18);
	struct ifg_layer_factors l;
	new_layer(&l);
	const struct ifg_strategy *dg = ifg_strategy_find("diagonal");
	const struct ifg_strategy *id = ifg_strategy_find("identity");
	ck_assert_int_eq(ifg_precondition(&l, dg, &(struct ifg_damping){ 0, 1 }, (double[N]){ 0 },
					  (double[N]){ 0 }, NULL), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "lambda"));
	for (int n = 0; n < NREC; n++)
		ck_assert_int_eq(ifg_lambda_add(&l, dg, a_rec[n], s_rec[n], T_rec[n], NULL), 0);
	double diag[N] = { 0 }, G[N], g[N], got[N], delta;
	for (int n = 0; n < NREC; n++) {
		dense_G(n, G);
		for (int k = 0; k < N; k++)
			diag[k] += G[k] * G[k] / NREC;
	}
	random_g(g);
	struct ifg_damping d = { IFG_DAMP_FIXED, 0.5 };
	ck_assert_int_eq(ifg_precondition(&l, dg, &d, g, got, NULL), 0);
	for (int k = 0; k < N; k++)
		ck_assert_close(got[k], g[k] / (diag[k] + 0.5), 1e-12);
	ck_assert_int_eq(ifg_precondition(&l, id, &d, g, got, &delta), 0);
	ck_assert_double_eq(delta, 0);
	for (int k = 0; k < N; k++)
		ck_assert_double_eq(got[k], g[k]);
	ifg_layer_release(&l);
}
END_TEST

/* precondition g under st with damping delta; out (DO, NA). */
static void precond(const struct ifg_layer_factors *l, const struct ifg_strategy *st,
		    double delta, const double *g, double *out)
{
	struct ifg_damping d = { IFG_DAMP_FIXED, delta };
	ck_assert_int_eq(ifg_precondition(l, st, &d, g, out, NULL), 0);
}

/* The table's flags are checked against what each strategy does: its result
 * moves with the eigenbases exactly when needs_eigen, with Λ exactly when
 * needs_lambda, with δ exactly when damped; and usable() refuses a layer
 * without a part exactly when the strategy needs it. */
START_TEST(test_strategy_table)
{
	no_bias = false;
	enum { N = DO * NA };
	ck_assert_ptr_null(ifg_strategy_find("ekfak"));
	ck_assert_ptr_nonnull(strstr(ifg_err(), "ekfak"));
	static const char *const names[] = { "identity", "diagonal", "kfac", "ekfac" };
	make_records(23);
	double g[N], base[N], got[N];
	random_g(g);
	for (int k = 0; k < 4; k++) {
		const struct ifg_strategy *st = ifg_strategy_find(names[k]);
		ck_assert_ptr_nonnull(st);
		ck_assert_str_eq(st->name, names[k]);
		struct ifg_layer_factors l;
		new_layer(&l);
		if (st->needs_eigen || st->needs_lambda) {
			for (int n = 0; n < NREC; n++)
				ifg_cov_add(&l, a_rec[n], s_rec[n], T_rec[n], NULL);
			ifg_cov_symmetrize(&l);
			ck_assert_int_eq(ifg_eigen(&l, NULL), 0);
		}
		if (st->needs_lambda)
			for (int n = 0; n < NREC; n++)
				ck_assert_int_eq(ifg_lambda_add(&l, st, a_rec[n], s_rec[n],
								T_rec[n], NULL), 0);
		else
			ck_assert_int_eq(ifg_lambda_add(&l, st, a_rec[0], s_rec[0], T_rec[0], NULL),
					 -1);
		ck_assert_int_eq(ifg_strategy_usable(st, &l), 0);
		precond(&l, st, 0.5, g, base);
		/* δ */
		precond(&l, st, 2.0, g, got);
		ck_assert_msg((relerr(got, base, N) > 1e-6) == st->damped, "%s: δ", names[k]);
		/* Λ: doubled */
		if (l.Lambda_sum) {
			for (int i = 0; i < N; i++)
				l.Lambda_sum[i] *= 2;
			precond(&l, st, 0.5, g, got);
			ck_assert_msg((relerr(got, base, N) > 1e-6) == st->needs_lambda, "%s: Λ",
				      names[k]);
			for (int i = 0; i < N; i++)
				l.Lambda_sum[i] /= 2;
		}
		/* the eigenbases: two columns of Q_A swapped, Q_S's first negated
		 * and its last two swapped (still orthonormal) */
		if (l.QA) {
			for (int r = 0; r < NA; r++) {
				double t = l.QA[r * NA + 0];
				l.QA[r * NA + 0] = l.QA[r * NA + 2];
				l.QA[r * NA + 2] = t;
			}
			for (int r = 0; r < DO; r++) {
				double t = l.QS[r * DO + DO - 1];
				l.QS[r * DO + DO - 1] = l.QS[r * DO + DO - 2];
				l.QS[r * DO + DO - 2] = -t;
			}
			precond(&l, st, 0.5, g, got);
			ck_assert_msg((relerr(got, base, N) > 1e-6) == st->needs_eigen, "%s: Q",
				      names[k]);
		}
		ifg_layer_release(&l);
		/* usable() on a layer without parts */
		new_layer(&l);
		ck_assert_int_eq(ifg_strategy_usable(st, &l),
				 st->needs_eigen || st->needs_lambda ? -1 : 0);
		if (st->needs_eigen)
			ck_assert_ptr_nonnull(strstr(ifg_err(), "eigenbases"));
		ifg_layer_release(&l);
	}
}
END_TEST

/* The f32 forms against the f64 ones on the same (f32-rounded) records:
 * covariance sums, and Λ of ekfac (in the f64 eigenbasis) and of diagonal,
 * within 1e-5 of the largest entry (float32 over a record's tokens, double
 * across records).  _i = 1: a layer without a bias. */
START_TEST(test_f32_forms)
{
	no_bias = _i;
	make_records(19);
	static float a32[NREC][TMAX * NA], s32[NREC][TMAX * DO];
	for (int n = 0; n < NREC; n++) {
		for (int i = 0; i < TMAX * NA; i++)
			a_rec[n][i] = a32[n][i] = (float)a_rec[n][i];
		for (int i = 0; i < TMAX * DO; i++)
			s_rec[n][i] = s32[n][i] = (float)s_rec[n][i];
	}
	struct ifg_layer_factors d, f;
	new_layer(&d);
	new_layer(&f);
	for (int n = 0; n < NREC; n++) {
		ifg_cov_add(&d, a_rec[n], s_rec[n], T_rec[n], NULL);
		ifg_cov_add_f32(&f, a32[n], s32[n], T_rec[n], NULL);
	}
	ifg_cov_symmetrize(&d);
	ifg_cov_symmetrize(&f);
	ck_assert_int_eq(f.A_count, d.A_count);
	ck_assert_double_le(relerr(f.A_sum, d.A_sum, NA * NA), 1e-6);
	ck_assert_double_le(relerr(f.S_sum, d.S_sum, DO * DO), 1e-6);
	ck_assert_int_eq(ifg_eigen(&d, NULL), 0);
	f.QA = ifg_xmalloc(NA * NA, sizeof(double));
	f.QS = ifg_xmalloc(DO * DO, sizeof(double));
	memcpy(f.QA, d.QA, NA * NA * sizeof(double));
	memcpy(f.QS, d.QS, DO * DO * sizeof(double));
	const struct ifg_strategy *ek = ifg_strategy_find("ekfac");
	const struct ifg_strategy *dg = ifg_strategy_find("diagonal");
	struct ifg_layer_factors dd, fd;
	new_layer(&dd);
	new_layer(&fd);
	for (int n = 0; n < NREC; n++) {
		ck_assert_int_eq(ifg_lambda_add(&d, ek, a_rec[n], s_rec[n], T_rec[n], NULL), 0);
		ck_assert_int_eq(ifg_lambda_add_f32(&f, ek, a32[n], s32[n], T_rec[n], NULL), 0);
		ck_assert_int_eq(ifg_lambda_add(&dd, dg, a_rec[n], s_rec[n], T_rec[n], NULL), 0);
		ck_assert_int_eq(ifg_lambda_add_f32(&fd, dg, a32[n], s32[n], T_rec[n], NULL), 0);
	}
	ck_assert_int_eq(f.Lambda_count, NREC);
	ck_assert_double_le(relerr(f.Lambda_sum, d.Lambda_sum, DO * NA), 1e-5);
	ck_assert_double_le(relerr(fd.Lambda_sum, dd.Lambda_sum, DO * NA), 1e-5);
	/* a record of no tokens counts and adds nothing */
	ck_assert_int_eq(ifg_lambda_add_f32(&f, ek, NULL, NULL, 0, NULL), 0);
	ck_assert_int_eq(f.Lambda_count, NREC + 1);
	/* new eigenbases drop the f32 copies */
	ck_assert_ptr_nonnull(f.QA32);
	ck_assert_int_eq(ifg_eigen(&f, NULL), 0);
	ck_assert_ptr_null(f.QA32);
	ifg_layer_release(&d);
	ifg_layer_release(&f);
	ifg_layer_release(&dd);
	ifg_layer_release(&fd);
	enum ifg_precision p;
	ck_assert_int_eq(ifg_precision_parse("f32", &p), 0);
	ck_assert_int_eq(p, IFG_PREC_F32);
	ck_assert_str_eq(ifg_precision_name(IFG_PREC_F64), "f64");
	ck_assert_int_eq(ifg_precision_parse("f16", &p), -1);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("ekfac");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_weight_grad);
	tcase_add_loop_test(tc, test_covariance_dense, 0, 2);
	tcase_add_loop_test(tc, test_eigen_reconstructs, 0, 2);
	tcase_add_test(tc, test_eigen_needs_tokens);
	tcase_add_loop_test(tc, test_lambda_dense, 0, 2);
	tcase_add_loop_test(tc, test_merge_shards, 0, 2);
	tcase_add_test(tc, test_merge_refuses);
	tcase_add_loop_test(tc, test_ekfac_inverse_fixed, 0, 2);
	tcase_add_loop_test(tc, test_ekfac_inverse_heuristic, 0, 2);
	tcase_add_loop_test(tc, test_kfac_inverse, 0, 2);
	tcase_add_loop_test(tc, test_diagonal_identity, 0, 2);
	tcase_add_test(tc, test_strategy_table);
	tcase_add_loop_test(tc, test_f32_forms, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

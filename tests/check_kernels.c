/* check_kernels.c: the kernels of common/model/kernels.c that the GPT-2 model
 * tests do not cover yet, each forward against a double-precision formula
 * written here and each backward against central differences of that
 * formula (in double, so the differences are accurate to about 1e-9). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "rng.h"
#include "testutil.h"

static void fill(float *x, size_t n, uint64_t seed, float scale)
{
	struct ifg_rng r;
	ifg_rng_init2(&r, seed, 0);
	for (size_t i = 0; i < n; i++)
		x[i] = scale * (float)(2.0 * ifg_rng_uniform(&r) - 1.0);
}

/* max |a - b| / max(max |b|, 1e-3): the error relative to the array's scale */
static double relerr(const float *a, const double *b, size_t n)
{
	double worst = 0, scale = 1e-3;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(b[i]));
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(a[i] - b[i]));
	return worst / scale;
}

/* The central-difference gradient of f (the double reference, summed with
 * weights c over its outputs) with respect to x (n). */
typedef double (*lossfn)(const double *x, const void *ctx);
static void fd_grad(lossfn f, const void *ctx, const float *x, size_t n, double *g)
{
	double *xd = malloc(n * sizeof *xd);
	for (size_t i = 0; i < n; i++)
		xd[i] = x[i];
	for (size_t i = 0; i < n; i++) {
		double h = 1e-5 * fmax(1.0, fabs(xd[i])), x0 = xd[i];
		xd[i] = x0 + h;
		double lp = f(xd, ctx);
		xd[i] = x0 - h;
		double lm = f(xd, ctx);
		xd[i] = x0;
		g[i] = (lp - lm) / (2 * h);
	}
	free(xd);
}

#define N 37

/* ---- GELU, exact ---- */

static double gelu_loss(const double *x, const void *ctx)
{
	const float *c = ctx;
	double s = 0;
	for (int i = 0; i < N; i++)
		s += c[i] * 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
	return s;
}

START_TEST(test_gelu_exact)
{
	float x[N], y[N], c[N], dx[N];
	double want[N], g[N];
	fill(x, N, 1, 4.0f);
	fill(c, N, 2, 1.0f);
	ifg_gelu_exact_fwd(y, x, N);
	for (int i = 0; i < N; i++)
		want[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2.0)));
	ck_assert_double_lt(relerr(y, want, N), 1e-6);
	ifg_gelu_exact_bwd(dx, x, c, N);
	fd_grad(gelu_loss, c, x, N, g);
	ck_assert_double_lt(relerr(dx, g, N), 1e-5);
	/* y may be x */
	ifg_gelu_exact_fwd(x, x, N);
	ck_assert_mem_eq(x, y, sizeof y);
}
END_TEST

/* ---- RMSNorm ---- */

#define RR 3
#define RC 11
struct rms_ctx {
	const float *c, *w, *x;
	int wrt_w;	/* differentiate with respect to w (else x) */
};

static void rms_ref(const double *x, const double *w, double *out)
{
	for (int r = 0; r < RR; r++) {
		double ss = 0;
		for (int i = 0; i < RC; i++)
			ss += x[r * RC + i] * x[r * RC + i];
		double rs = 1 / sqrt(ss / RC + 1e-6);
		for (int i = 0; i < RC; i++)
			out[r * RC + i] = x[r * RC + i] * rs * w[i];
	}
}

static double rms_loss(const double *v, const void *ctx)
{
	const struct rms_ctx *k = ctx;
	double x[RR * RC], w[RC], out[RR * RC], s = 0;
	for (int i = 0; i < RR * RC; i++)
		x[i] = k->wrt_w ? k->x[i] : v[i];
	for (int i = 0; i < RC; i++)
		w[i] = k->wrt_w ? v[i] : k->w[i];
	rms_ref(x, w, out);
	for (int i = 0; i < RR * RC; i++)
		s += k->c[i] * out[i];
	return s;
}

START_TEST(test_rmsnorm)
{
	float x[RR * RC], w[RC], c[RR * RC], res[RR * RC], out[RR * RC], rstd[RR], dx[RR * RC],
		dw[RC];
	double xd[RR * RC], wd[RC], want[RR * RC], g[RR * RC];
	fill(x, RR * RC, 3, 2.0f);
	fill(w, RC, 4, 1.5f);
	fill(c, RR * RC, 5, 1.0f);
	fill(res, RR * RC, 6, 1.0f);
	for (int i = 0; i < RR * RC; i++)
		xd[i] = x[i];
	for (int i = 0; i < RC; i++)
		wd[i] = w[i];
	ifg_rmsnorm_fwd(out, rstd, x, w, RR, RC, 1e-6f);
	rms_ref(xd, wd, want);
	ck_assert_double_lt(relerr(out, want, RR * RC), 1e-6);
	/* dw accumulates: start from 1 and subtract it again */
	for (int i = 0; i < RC; i++)
		dw[i] = 1.0f;
	ifg_rmsnorm_bwd(dx, res, dw, c, x, w, rstd, RR, RC);
	struct rms_ctx k = { c, w, x, 0 };
	fd_grad(rms_loss, &k, x, RR * RC, g);
	for (int i = 0; i < RR * RC; i++)
		g[i] += res[i];		/* the residual gradient passes through */
	ck_assert_double_lt(relerr(dx, g, RR * RC), 1e-5);
	k.wrt_w = 1;
	fd_grad(rms_loss, &k, w, RC, g);
	for (int i = 0; i < RC; i++)
		dw[i] -= 1.0f;
	ck_assert_double_lt(relerr(dw, g, RC), 1e-5);
}
END_TEST

/* ---- SwiGLU ---- */

static double swiglu_loss(const double *v, const void *ctx)
{
	const float *c = ctx;	/* c (N), then the other input (N), then which (1) */
	int wrt_up = c[2 * N] > 0;
	double s = 0;
	for (int i = 0; i < N; i++) {
		double g = wrt_up ? c[N + i] : v[i], u = wrt_up ? v[i] : c[N + i];
		s += c[i] * g / (1 + exp(-g)) * u;
	}
	return s;
}

START_TEST(test_swiglu)
{
	float gate[N], up[N], h[N], ctx[2 * N + 1], dg[N], du[N];
	double want[N], g[N];
	fill(gate, N, 7, 5.0f);
	fill(up, N, 8, 2.0f);
	fill(ctx, N, 9, 1.0f);
	ifg_swiglu_fwd(h, gate, up, N);
	for (int i = 0; i < N; i++)
		want[i] = gate[i] / (1 + exp(-(double)gate[i])) * up[i];
	ck_assert_double_lt(relerr(h, want, N), 1e-6);
	ifg_swiglu_bwd(dg, du, gate, up, ctx, N);
	memcpy(ctx + N, up, sizeof up);
	ctx[2 * N] = 0;
	fd_grad(swiglu_loss, ctx, gate, N, g);
	ck_assert_double_lt(relerr(dg, g, N), 1e-5);
	memcpy(ctx + N, gate, sizeof gate);
	ctx[2 * N] = 1;
	fd_grad(swiglu_loss, ctx, up, N, g);
	ck_assert_double_lt(relerr(du, g, N), 1e-5);
}
END_TEST

/* ---- rotary ---- */

/* Hugging Face's rotate_half on one worked case: head size 4, all of it
 * rotated, position 1, base 10000: frequencies 1 and 1/100. */
START_TEST(test_rotary_convention)
{
	float x[4] = { 1, 0, 0, 0 }, y[4] = { 0, 1, 0, 0 };
	int pos = 1;
	float inv[2];
	ifg_rotary_freqs(inv, 4, 10000.0);
	ck_assert_close(inv[0], 1.0, 1e-7);
	ck_assert_close(inv[1], 0.01, 1e-7);
	ifg_rotary(x, 4, 1, &pos, 1, 4, 4, inv, 1);
	ck_assert_close(x[0], cos(1.0), 1e-6);
	ck_assert_close(x[1], 0, 1e-7);
	ck_assert_close(x[2], sin(1.0), 1e-6);
	ck_assert_close(x[3], 0, 1e-7);
	ifg_rotary(y, 4, 1, &pos, 1, 4, 4, inv, 1);
	ck_assert_close(y[1], cos(0.01), 1e-6);
	ck_assert_close(y[3], sin(0.01), 1e-6);
}
END_TEST

/* Many rows, partial rotation (rot < hs), a row stride wider than the heads:
 * against a double rotation; the columns past rot and past the heads are
 * untouched; dir -1 is the transpose (<R x, y> = <x, Rᵀ y>) and undoes it. */
START_TEST(test_rotary_rows)
{
	enum { R = 5, NH = 3, HS = 8, ROT = 6, LD = NH * HS + 2 };
	float x[R * LD], x0[R * LD], y[R * LD];
	int pos[R] = { 0, 1, 7, 100, 2047 };
	fill(x, R * LD, 10, 1.0f);
	fill(y, R * LD, 11, 1.0f);
	memcpy(x0, x, sizeof x);
	float inv[ROT / 2];
	ifg_rotary_freqs(inv, ROT, 10000.0);
	ifg_rotary(x, LD, R, pos, NH, HS, ROT, inv, 1);
	double want[R * LD], dot_rx_y = 0, dot_x_rty = 0;
	for (int i = 0; i < R * LD; i++)
		want[i] = x0[i];
	for (int r = 0; r < R; r++)
		for (int h = 0; h < NH; h++)
			for (int i = 0; i < ROT / 2; i++) {
				double ang = pos[r] * pow(10000.0, -2.0 * i / ROT);
				int a = r * LD + h * HS + i, b = a + ROT / 2;
				want[a] = x0[a] * cos(ang) - x0[b] * sin(ang);
				want[b] = x0[b] * cos(ang) + x0[a] * sin(ang);
			}
	/* float angles: pos 2047 times a rounded frequency, about 1e-4 off */
	ck_assert_double_lt(relerr(x, want, R * LD), 5e-4);
	for (int r = 0; r < R; r++) {
		for (int h = 0; h < NH; h++)
			for (int i = ROT; i < HS; i++)
				ck_assert(x[r * LD + h * HS + i] == x0[r * LD + h * HS + i]);
		for (int i = NH * HS; i < LD; i++)
			ck_assert(x[r * LD + i] == x0[r * LD + i]);
	}
	for (int i = 0; i < R * LD; i++)
		dot_rx_y += (double)x[i] * y[i];
	ifg_rotary(y, LD, R, pos, NH, HS, ROT, inv, -1);
	for (int i = 0; i < R * LD; i++)
		dot_x_rty += (double)x0[i] * y[i];
	ck_assert_close(dot_rx_y, dot_x_rty, 1e-5);
	ifg_rotary(x, LD, R, pos, NH, HS, ROT, inv, -1);
	double back[R * LD];
	for (int i = 0; i < R * LD; i++)
		back[i] = x0[i];
	ck_assert_double_lt(relerr(x, back, R * LD), 1e-6);
}
END_TEST

/* ---- cross-entropy ---- */

struct xent_ctx {
	int y;
	float coef;
};

static double xent_loss(const double *z, const void *ctx)
{
	const struct xent_ctx *k = ctx;
	double mx = z[0], s = 0;
	for (int i = 1; i < N; i++)
		mx = fmax(mx, z[i]);
	for (int i = 0; i < N; i++)
		s += exp(z[i] - mx);
	return k->coef * (mx + log(s) - z[k->y]);
}

START_TEST(test_xent)
{
	float z[N], dz[N], lse;
	fill(z, N, 12, 8.0f);
	struct xent_ctx k = { 5, 0.75f };
	double zd[N], g[N];
	for (int i = 0; i < N; i++)
		zd[i] = z[i];
	float nll = ifg_xent_fwd(z, N, k.y, &lse);
	ck_assert_close(nll, xent_loss(zd, &(struct xent_ctx){ 5, 1.0f }), 1e-5);
	ck_assert_close(lse - z[k.y], nll, 1e-6);
	ifg_xent_bwd(dz, z, N, k.y, lse, k.coef);
	fd_grad(xent_loss, &k, z, N, g);
	ck_assert_double_lt(relerr(dz, g, N), 1e-5);
	/* in place */
	ifg_xent_bwd(z, z, N, k.y, lse, k.coef);
	ck_assert_mem_eq(z, dz, sizeof dz);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("kernels");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_gelu_exact);
	tcase_add_test(tc, test_rmsnorm);
	tcase_add_test(tc, test_swiglu);
	tcase_add_test(tc, test_rotary_convention);
	tcase_add_test(tc, test_rotary_rows);
	tcase_add_test(tc, test_xent);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

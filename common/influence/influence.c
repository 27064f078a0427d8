/* influence.c: query-gradient difference, preconditioning and per-token
 * scores (influence.h). */
#include "influence.h"

#include <cblas.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "util.h"

void ifg_query_diff(uint64_t n, const double *G_tox, int64_t K_tox, const double *G_safe,
		    int64_t K_safe, double *out)
{
	double it = 1.0 / (double)K_tox, is = G_safe ? 1.0 / (double)K_safe : 0;
	for (uint64_t i = 0; i < n; i++)
		out[i] = G_tox[i] * it - (G_safe ? G_safe[i] * is : 0);
}

/* The layers preconditioned side by side, one BLAS thread each, so that P
 * is the same whatever the thread count. */
struct prec_pool {
	struct ifg_scorer *sc;
	const struct ifg_factors *f;
	const struct ifg_strategy *st;
	const struct ifg_damping *d;
	const double *const *dg;
	atomic_int next;
	int *rc;
	char (*err)[1024];
	double *seconds;
};

static void prec_worker(void *arg, int w)
{
	struct prec_pool *p = arg;
	for (int l; (l = atomic_fetch_add(&p->next, 1)) < p->f->n_layers;) {
		double t0 = ifg_now();
		p->rc[l] = ifg_precondition(&p->f->layer[l], p->st, p->d, p->dg[l], p->sc->P[l],
					    &p->sc->delta[l]);
		p->seconds[w] += ifg_now() - t0;
		if (p->rc[l] < 0) {
			snprintf(p->err[l], sizeof p->err[l], "%s", ifg_err());
			continue;
		}
		size_t m = (size_t)p->sc->d_out[l] * p->sc->na[l];
		for (size_t i = 0; i < m; i++)
			p->sc->P32[l][i] = (float)p->sc->P[l][i];
	}
}

int ifg_scorer_init(struct ifg_scorer *sc, const struct ifg_factors *f,
		    const struct ifg_strategy *st, const struct ifg_damping *d,
		    const double *const *dg, int threads)
{
	memset(sc, 0, sizeof *sc);
	int n = f->n_layers;
	sc->n_layers = n;
	sc->strategy = st;
	sc->prec = IFG_PREC_F32;
	sc->damping = *d;
	sc->na = ifg_xcalloc(n, sizeof *sc->na);
	sc->d_out = ifg_xcalloc(n, sizeof *sc->d_out);
	sc->P = ifg_xcalloc(n, sizeof *sc->P);
	sc->P32 = ifg_xcalloc(n, sizeof *sc->P32);
	sc->delta = ifg_xcalloc(n, sizeof *sc->delta);
	for (int l = 0; l < n; l++) {
		const struct ifg_layer_factors *L = &f->layer[l];
		size_t m = (size_t)L->d_out * ifg_layer_na(L);
		sc->na[l] = ifg_layer_na(L);
		sc->d_out[l] = L->d_out;
		sc->P[l] = ifg_xaligned(m, sizeof(double));
		sc->P32[l] = ifg_xaligned(m, sizeof(float));
	}
	int saved = openblas_get_num_threads();
	if (threads <= 0)
		threads = saved;
	int workers = threads < n ? threads : n;
	struct prec_pool pool = { sc, f, st, d, dg, 0, ifg_xcalloc(n ? n : 1, sizeof(int)),
				  ifg_xcalloc(n ? n : 1, sizeof *pool.err),
				  ifg_xcalloc(workers > 0 ? workers : 1, sizeof(double)) };
	openblas_set_num_threads(1);
	ifg_parallel(workers, prec_worker, &pool);
	openblas_set_num_threads(saved);
	int rc = 0;
	for (int l = 0; l < n && !rc; l++)
		if (pool.rc[l] < 0)
			rc = ifg_seterr("%s", pool.err[l]);
	for (int w = 0; w < workers; w++)
		sc->blas_seconds += pool.seconds[w] / workers;
	free(pool.rc);
	free(pool.err);
	free(pool.seconds);
	return rc;
}

void ifg_scorer_lane(struct ifg_scorer *lane, const struct ifg_scorer *sc)
{
	*lane = *sc;
	lane->U = NULL;
	lane->U64 = lane->buf = lane->G = NULL;
	lane->u64cap = lane->ucap = lane->bufcap = lane->gcap = 0;
	lane->blas_seconds = 0;
}

void ifg_scorer_lane_release(struct ifg_scorer *lane)
{
	free(lane->U);
	free(lane->U64);
	free(lane->buf);
	free(lane->G);
	memset(lane, 0, sizeof *lane);
}

void ifg_scorer_release(struct ifg_scorer *sc)
{
	for (int l = 0; l < sc->n_layers; l++) {
		if (sc->P)
			free(sc->P[l]);
		if (sc->P32)
			free(sc->P32[l]);
	}
	free(sc->P);
	free(sc->P32);
	free(sc->na);
	free(sc->d_out);
	free(sc->delta);
	free(sc->U);
	free(sc->U64);
	free(sc->buf);
	free(sc->G);
	memset(sc, 0, sizeof *sc);
}

/* The f64 form: U = Ā Pᵀ by dgemm on double copies of ā and s. */
static void score_tokens_f64(struct ifg_scorer *sc, int layer, const float *a, const float *s,
			     int64_t T, double *out)
{
	int na = sc->na[layer], o = sc->d_out[layer];
	size_t need = (size_t)T * (2 * o + na);
	if (need > sc->u64cap) {
		free(sc->U64);
		sc->U64 = ifg_xaligned(sc->u64cap = need, sizeof *sc->U64);
	}
	double *U = sc->U64, *a64 = U + (size_t)T * o, *s64 = a64 + (size_t)T * na;
	for (size_t i = 0; i < (size_t)T * na; i++)
		a64[i] = a[i];
	for (size_t i = 0; i < (size_t)T * o; i++)
		s64[i] = s[i];
	double t0 = ifg_now();
	/* U = Ā Pᵀ : (T, o) = (T, na) (o, na)ᵀ */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, o, na, 1.0, a64, na,
		    sc->P[layer], na, 0.0, U, o);
	sc->blas_seconds += ifg_now() - t0;
	for (int64_t t = 0; t < T; t++) {
		const double *u = U + (size_t)t * o, *st = s64 + (size_t)t * o;
		double acc = 0;
		for (int i = 0; i < o; i++)
			acc += u[i] * st[i];
		out[t] = acc;
	}
}

void ifg_score_tokens(struct ifg_scorer *sc, int layer, const float *a, const float *s,
		      int64_t T, double *out)
{
	int na = sc->na[layer], o = sc->d_out[layer];
	if (T <= 0)
		return;
	if (sc->prec == IFG_PREC_F64) {
		score_tokens_f64(sc, layer, a, s, T, out);
		return;
	}
	size_t need = (size_t)T * o;
	if (need > sc->ucap) {
		free(sc->U);
		sc->U = ifg_xaligned(need, sizeof *sc->U);
		sc->ucap = need;
	}
	double t0 = ifg_now();
	/* U = Ā Pᵀ : (T, o) = (T, na) (o, na)ᵀ */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, o, na, 1.0f, a, na,
		    sc->P32[layer], na, 0.0f, sc->U, o);
	sc->blas_seconds += ifg_now() - t0;
	/* S_ℓ[t] = ⟨U[t, :], s_t⟩ */
	for (int64_t t = 0; t < T; t++) {
		const float *u = sc->U + (size_t)t * o, *st = s + (size_t)t * o;
		double acc = 0;
		for (int i = 0; i < o; i++)
			acc += (double)u[i] * st[i];
		out[t] = acc;
	}
}

double ifg_score_document(struct ifg_scorer *sc, int layer, const float *a, const float *s,
			  int64_t T)
{
	int na = sc->na[layer], o = sc->d_out[layer];
	size_t m = (size_t)o * na;
	if (m > sc->gcap) {
		free(sc->G);
		sc->G = ifg_xaligned(sc->gcap = m, sizeof *sc->G);
	}
	ifg_weight_grad_f32(o, na, T, s, a, 0.0, sc->G, &sc->buf, &sc->bufcap, &sc->blas_seconds);
	double t0 = ifg_now();
	/* ⟨P, G⟩ over the (o, na) entries */
	double r = cblas_ddot((int)m, sc->P[layer], 1, sc->G, 1);
	sc->blas_seconds += ifg_now() - t0;
	return r;
}

/* ekfac.c: covariance, merge, eigen, lambda, strategies and the EK-FAC
 * inverse (ekfac.h; doc/method.md §3-4).  Every product goes through
 * OpenBLAS in double; the eigensolver is LAPACKE_dsyevd. */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ekfac.h"
#include "kinds.h"
#include "util.h"

void ifg_layer_init(struct ifg_layer_factors *l, const char *name, int d_in, int d_out,
		    bool bias)
{
	memset(l, 0, sizeof *l);
	l->name = ifg_xstrdup(name);
	l->d_in = d_in;
	l->d_out = d_out;
	l->bias = bias;
}

void ifg_layer_release(struct ifg_layer_factors *l)
{
	free(l->name);
	free(l->A_sum);
	free(l->S_sum);
	free(l->QA);
	free(l->eigvals_A);
	free(l->QS);
	free(l->eigvals_S);
	free(l->Lambda_sum);
	free(l->work);
	free(l->twork);
	free(l->QA32);
	free(l->QS32);
	free(l->work32);
	memset(l, 0, sizeof *l);
}

void ifg_factors_init(struct ifg_factors *f, int n_layers, const char *const *names,
		      const int *d_in, const int *d_out, const bool *bias)
{
	memset(f, 0, sizeof *f);
	f->n_layers = n_layers;
	f->layer = ifg_xcalloc(n_layers > 0 ? n_layers : 1, sizeof *f->layer);
	for (int i = 0; i < n_layers; i++)
		ifg_layer_init(&f->layer[i], names[i], d_in[i], d_out[i], bias ? bias[i] : true);
}

void ifg_factors_release(struct ifg_factors *f)
{
	for (int i = 0; i < f->n_layers; i++)
		ifg_layer_release(&f->layer[i]);
	free(f->layer);
	memset(f, 0, sizeof *f);
}

static double *zeros(size_t n)
{
	return ifg_xcalloc(n, sizeof(double));
}

static double *scratch(struct ifg_layer_factors *l)
{
	if (!l->work)
		l->work = ifg_xaligned(3 * (size_t)l->d_out * ifg_layer_na(l), sizeof(double));
	return l->work;
}

/* f32 scratch of at least n floats. */
static float *scratch32(struct ifg_layer_factors *l, size_t n)
{
	if (n > l->w32cap) {
		free(l->work32);
		l->work32 = ifg_xaligned(l->w32cap = n, sizeof(float));
	}
	return l->work32;
}

/* ---- precision ---- */

const char *ifg_precision_name(enum ifg_precision p)
{
	return p == IFG_PREC_F32 ? "f32" : "f64";
}

int ifg_precision_parse(const char *name, enum ifg_precision *p)
{
	if (!strcmp(name, "f32"))
		*p = IFG_PREC_F32;
	else if (!strcmp(name, "f64"))
		*p = IFG_PREC_F64;
	else
		return ifg_seterr("precision '%s' (f32 or f64)", name);
	return 0;
}

/* ---- the record's weight gradient ---- */

void ifg_weight_grad(int o, int na, int64_t T, const double *s, const double *a, double beta,
		     double *G, double *blas_seconds)
{
	size_t n = (size_t)o * na;
	if (T <= 0) {
		if (beta == 0)
			memset(G, 0, n * sizeof *G);
		else if (beta != 1)
			cblas_dscal((int)n, beta, G, 1);
		return;
	}
	double t0 = ifg_now();
	/* G = beta G + sᵀ ā : (o, na) = (T, o)ᵀ (T, na) */
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, (int)T, 1.0, s, o, a, na, beta,
		    G, na);
	if (blas_seconds)
		*blas_seconds += ifg_now() - t0;
}

void ifg_weight_grad_f32(int o, int na, int64_t T, const float *s, const float *a, double beta,
			 double *G, double **buf, size_t *cap, double *blas_seconds)
{
	size_t ta = T > 0 ? (size_t)T * na : 0, ts = T > 0 ? (size_t)T * o : 0;
	if (ta + ts > *cap) {
		free(*buf);
		*buf = ifg_xaligned(*cap = ta + ts, sizeof **buf);
	}
	double *a64 = *buf, *s64 = a64 + ta;
	for (size_t i = 0; i < ta; i++)
		a64[i] = a[i];
	for (size_t i = 0; i < ts; i++)
		s64[i] = s[i];
	ifg_weight_grad(o, na, T, s64, a64, beta, G, blas_seconds);
}

/* ---- covariance ---- */

void ifg_cov_add(struct ifg_layer_factors *l, const double *a, const double *s, int64_t T,
		 double *blas_seconds)
{
	int na = ifg_layer_na(l), o = l->d_out;
	if (!l->A_sum)
		l->A_sum = zeros((size_t)na * na);
	if (!l->S_sum)
		l->S_sum = zeros((size_t)o * o);
	double t0 = ifg_now();
	if (T > 0) {
		/* A_sum += āᵀ ā : (na, na) += (T, na)ᵀ (T, na), upper triangle */
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, na, (int)T, 1.0, a, na, 1.0,
			    l->A_sum, na);
		/* S_sum += sᵀ s : (o, o) += (T, o)ᵀ (T, o), upper triangle */
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, o, (int)T, 1.0, s, o, 1.0,
			    l->S_sum, o);
	}
	if (blas_seconds)
		*blas_seconds += ifg_now() - t0;
	l->A_count += T;
	l->S_count += T;
}

/* sum += c over the upper triangle, (n, n) row-major: the f32 sum of one
 * record into the double sum of all. */
static void add_upper_f32(double *restrict sum, const float *restrict c, int n)
{
	for (int i = 0; i < n; i++) {
		double *d = sum + (size_t)i * n;
		const float *x = c + (size_t)i * n;
		for (int j = i; j < n; j++)
			d[j] += x[j];
	}
}

void ifg_cov_add_f32(struct ifg_layer_factors *l, const float *a, const float *s, int64_t T,
		     double *blas_seconds)
{
	int na = ifg_layer_na(l), o = l->d_out;
	if (!l->A_sum)
		l->A_sum = zeros((size_t)na * na);
	if (!l->S_sum)
		l->S_sum = zeros((size_t)o * o);
	if (T > 0) {
		size_t big = (size_t)na * na > (size_t)o * o ? (size_t)na * na : (size_t)o * o;
		float *c = scratch32(l, big);	/* (na, na), then (o, o) */
		double t0 = ifg_now();
		/* c = āᵀ ā : (na, na) = (T, na)ᵀ (T, na), upper triangle, f32 */
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, na, (int)T, 1.0f, a, na, 0.0f,
			    c, na);
		if (blas_seconds)
			*blas_seconds += ifg_now() - t0;
		add_upper_f32(l->A_sum, c, na);
		t0 = ifg_now();
		/* c = sᵀ s : (o, o) = (T, o)ᵀ (T, o), upper triangle, f32 */
		cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, o, (int)T, 1.0f, s, o, 0.0f, c,
			    o);
		if (blas_seconds)
			*blas_seconds += ifg_now() - t0;
		add_upper_f32(l->S_sum, c, o);
	}
	l->A_count += T;
	l->S_count += T;
}

static void mirror_upper(double *m, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			m[(size_t)i * n + j] = m[(size_t)j * n + i];
}

void ifg_cov_symmetrize(struct ifg_layer_factors *l)
{
	if (l->A_sum)
		mirror_upper(l->A_sum, ifg_layer_na(l));
	if (l->S_sum)
		mirror_upper(l->S_sum, l->d_out);
}

/* ---- merge ---- */

static int add_part(const char *layer, const char *part, double **dst, const double *src,
		    size_t n)
{
	if (!*dst && !src)
		return 0;
	if (!*dst || !src)
		return ifg_seterr("layer '%s': %s is present in only one of the results", layer,
				  part);
	for (size_t i = 0; i < n; i++)
		(*dst)[i] += src[i];
	return 0;
}

static int same_part(const char *layer, const char *part, const double *x, const double *y,
		     size_t n)
{
	if (!x && !y)
		return 0;
	if (!x || !y)
		return ifg_seterr("layer '%s': %s is present in only one of the results", layer,
				  part);
	if (memcmp(x, y, n * sizeof *x) != 0)
		return ifg_seterr("layer '%s': the results were computed with different "
				  "eigenbases (%s differs); lambda sums merge only over one "
				  "eigen result", layer, part);
	return 0;
}

int ifg_layer_merge(struct ifg_layer_factors *dst, const struct ifg_layer_factors *src)
{
	size_t na = ifg_layer_na(dst), o = dst->d_out;
	if (dst->d_in != src->d_in || dst->d_out != src->d_out || dst->bias != src->bias ||
	    strcmp(dst->name, src->name))
		return ifg_seterr("layer '%s' (d_in %d, d_out %d%s) cannot merge with layer '%s' "
				  "(d_in %d, d_out %d%s)", dst->name, dst->d_in, dst->d_out,
				  dst->bias ? "" : ", no bias", src->name, src->d_in, src->d_out,
				  src->bias ? "" : ", no bias");
	int64_t ac = dst->A_count, sc = dst->S_count, lc;
	if ((src->A_sum && (__builtin_add_overflow(ac, src->A_count, &ac) ||
			    __builtin_add_overflow(sc, src->S_count, &sc))) ||
	    __builtin_add_overflow(dst->Lambda_count, src->Lambda_count, &lc))
		return ifg_seterr("layer '%s': the merged token or record count overflows",
				  dst->name);
	if (same_part(dst->name, IFG_K_QA, dst->QA, src->QA, na * na) < 0 ||
	    same_part(dst->name, IFG_K_QS, dst->QS, src->QS, o * o) < 0)
		return -1;
	if (add_part(dst->name, IFG_K_A_SUM, &dst->A_sum, src->A_sum, na * na) < 0 ||
	    add_part(dst->name, IFG_K_S_SUM, &dst->S_sum, src->S_sum, o * o) < 0 ||
	    add_part(dst->name, IFG_K_LAMBDA_SUM, &dst->Lambda_sum, src->Lambda_sum, o * na) < 0)
		return -1;
	/* without sums the token counts describe the shared eigen result */
	if (src->A_sum) {
		dst->A_count = ac;
		dst->S_count = sc;
	}
	dst->Lambda_count = lc;
	return 0;
}

/* ---- eigen ---- */

/* One decomposition: Q, w = eigh(sym(sum / count)), (n, n) and (n),
 * ascending; info is dsyevd's. */
struct eig_job {
	int layer;		/* index in the caller's list */
	bool S;			/* the gradient (S) covariance, else the activation (A) one */
	int n;
	const double *sum;
	int64_t count;
	double *q, *ev;
	int info;
};

/* dsyevd's workspace, one per worker, for every n up to its size: LAPACKE
 * would take (and first touch) 1 + 6n + 2n² doubles and a transposed copy
 * of the matrix on every call. */
struct eig_work {
	double *work;
	lapack_int *iwork, lwork, liwork;
};

static void eig_work_init(struct eig_work *w, int n)
{
	double wq;
	lapack_int iq;
	w->work = NULL;
	w->iwork = NULL;
	w->lwork = w->liwork = 0;
	if (LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', n, NULL, n > 1 ? n : 1, NULL, &wq, -1,
				&iq, -1) != 0)
		return;	/* eig_run falls back to LAPACKE's own workspace */
	w->lwork = (lapack_int)wq;
	w->liwork = iq;
	w->work = ifg_xmalloc(w->lwork > 0 ? w->lwork : 1, sizeof *w->work);
	w->iwork = ifg_xmalloc(w->liwork > 0 ? w->liwork : 1, sizeof *w->iwork);
}

/* q (n, n) in place: q := qᵀ, in tiles that stay in cache. */
static void transpose_square(double *q, int n)
{
	enum { B = 32 };
	for (int i0 = 0; i0 < n; i0 += B)
		for (int k0 = i0; k0 < n; k0 += B)
			for (int i = i0; i < i0 + B && i < n; i++)
				for (int k = k0 > i + 1 ? k0 : i + 1; k < k0 + B && k < n; k++) {
					double t = q[(size_t)i * n + k];
					q[(size_t)i * n + k] = q[(size_t)k * n + i];
					q[(size_t)k * n + i] = t;
				}
}

static void eig_run(struct eig_job *j, const struct eig_work *w)
{
	int n = j->n;
	const double *sum = j->sum;
	double *q = j->q = ifg_xmalloc((size_t)n * n, sizeof *q);
	j->ev = ifg_xmalloc(n, sizeof *j->ev);
	double inv = 1.0 / (double)j->count;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < n; k++)
			q[(size_t)i * n + k] =
				0.5 * (sum[(size_t)i * n + k] + sum[(size_t)k * n + i]) * inv;
	/* q is exactly symmetric, so as a column-major matrix it is the same:
	 * decomposed in place, row k of q is then the eigenvector of ev[k];
	 * transposed, column k is (the layout of the factors' Q, and what
	 * LAPACKE's row-major call returns, byte for byte) */
	if (w->work)
		j->info = (int)LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', n, q, n, j->ev,
						   w->work, w->lwork, w->iwork, w->liwork);
	else
		j->info = (int)LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, q, n, j->ev);
	transpose_square(q, n);
}

struct eig_pool {
	struct eig_job *jobs;
	int n;
	atomic_int next;
};

static void *eig_worker(void *arg)
{
	struct eig_pool *p = arg;
	struct eig_work w;
	eig_work_init(&w, p->jobs[0].n);	/* jobs come largest first */
	for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
		eig_run(&p->jobs[i], &w);
	free(w.work);
	free(w.iwork);
	return NULL;
}

/* Largest first, so that the workers finish together. */
static int eig_cmp(const void *x, const void *y)
{
	const struct eig_job *a = x, *b = y;
	if (a->n != b->n)
		return a->n > b->n ? -1 : 1;
	return (2 * a->layer + a->S) - (2 * b->layer + b->S);
}

int ifg_eigen_layers(struct ifg_layer_factors *const *ls, int n_layers, int threads,
		     double *blas_seconds)
{
	static const char *const what[2] = { "activation (A)", "gradient (S)" };
	for (int i = 0; i < n_layers; i++) {
		const struct ifg_layer_factors *l = ls[i];
		for (int S = 0; S < 2; S++) {
			if (!(S ? l->S_sum : l->A_sum))
				return ifg_seterr("layer '%s': no %s covariance to decompose", l->name,
						  what[S]);
			if ((S ? l->S_count : l->A_count) <= 0)
				return ifg_seterr("layer '%s': %s covariance summed over no tokens",
						  l->name, what[S]);
		}
	}
	int nj = 2 * n_layers;
	struct eig_job *jobs = ifg_xcalloc(nj > 0 ? nj : 1, sizeof *jobs);
	for (int i = 0; i < n_layers; i++)
		for (int S = 0; S < 2; S++)
			jobs[2 * i + S] = (struct eig_job){
				.layer = i, .S = S, .n = S ? ls[i]->d_out : ifg_layer_na(ls[i]),
				.sum = S ? ls[i]->S_sum : ls[i]->A_sum,
				.count = S ? ls[i]->S_count : ls[i]->A_count,
			};
	qsort(jobs, nj, sizeof *jobs, eig_cmp);
	/* one BLAS thread per decomposition, the decompositions side by side:
	 * dsyevd's tridiagonal reduction is half BLAS-2 and gains little from
	 * BLAS threads, which lose much when the machine is loaded */
	int saved = openblas_get_num_threads();
	if (threads <= 0)
		threads = saved;
	int workers = threads < nj ? threads : nj;
	struct eig_pool pool = { jobs, nj, 0 };
	pthread_t *tid = ifg_xcalloc(workers > 1 ? workers - 1 : 1, sizeof *tid);
	double t0 = ifg_now();
	openblas_set_num_threads(1);
	int started = 0;
	for (int w = 1; w < workers; w++)
		if (pthread_create(&tid[started], NULL, eig_worker, &pool) == 0)
			started++;
	eig_worker(&pool);
	for (int w = 0; w < started; w++)
		pthread_join(tid[w], NULL);
	openblas_set_num_threads(saved);
	if (blas_seconds)
		*blas_seconds += ifg_now() - t0;
	free(tid);
	int bad = -1;
	for (int k = 0; k < nj; k++)
		if (jobs[k].info != 0 &&
		    (bad < 0 || 2 * jobs[k].layer + jobs[k].S < 2 * jobs[bad].layer + jobs[bad].S))
			bad = k;
	if (bad >= 0) {
		ifg_seterr("layer '%s': eigendecomposition of %s failed (dsyevd info %d)",
			   ls[jobs[bad].layer]->name, what[jobs[bad].S], jobs[bad].info);
		for (int k = 0; k < nj; k++) {
			free(jobs[k].q);
			free(jobs[k].ev);
		}
		free(jobs);
		return -1;
	}
	for (int k = 0; k < nj; k++) {
		struct ifg_layer_factors *l = ls[jobs[k].layer];
		double **Q = jobs[k].S ? &l->QS : &l->QA;
		double **w = jobs[k].S ? &l->eigvals_S : &l->eigvals_A;
		free(*Q);
		free(*w);
		*Q = jobs[k].q;
		*w = jobs[k].ev;
	}
	for (int i = 0; i < n_layers; i++) {
		free(ls[i]->QA32);
		free(ls[i]->QS32);
		ls[i]->QA32 = ls[i]->QS32 = NULL;	/* copies of the bases replaced */
	}
	free(jobs);
	return 0;
}

int ifg_eigen(struct ifg_layer_factors *l, double *blas_seconds)
{
	return ifg_eigen_layers(&l, 1, 0, blas_seconds);
}

/* ---- strategies ---- */

static void copy_g(const struct ifg_layer_factors *l, const double *g, double *out,
		   double *work)
{
	(void)work;
	memcpy(out, g, (size_t)l->d_out * ifg_layer_na(l) * sizeof *out);
}

static void rotate_q(const struct ifg_layer_factors *l, const double *g, double *out,
		     double *work)
{
	int na = ifg_layer_na(l), o = l->d_out;
	/* work = Q_Sᵀ g : (o, na) = (o, o)ᵀ (o, na) */
	cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, o, 1.0, l->QS, o, g, na, 0.0,
		    work, na);
	/* out = work Q_A : (o, na) = (o, na) (na, na) */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, na, na, 1.0, work, na, l->QA,
		    na, 0.0, out, na);
}

static void unrotate_q(const struct ifg_layer_factors *l, const double *g, double *out,
		       double *work)
{
	int na = ifg_layer_na(l), o = l->d_out;
	/* work = Q_S g : (o, na) = (o, o) (o, na) */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, na, o, 1.0, l->QS, o, g, na,
		    0.0, work, na);
	/* out = work Q_Aᵀ : (o, na) = (o, na) (na, na)ᵀ */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, o, na, na, 1.0, work, na, l->QA, na,
		    0.0, out, na);
}

static void curv_ones(const struct ifg_layer_factors *l, double *c)
{
	size_t n = (size_t)l->d_out * ifg_layer_na(l);
	for (size_t i = 0; i < n; i++)
		c[i] = 1.0;
}

/* C = Λ_sum / N_Λ (ekfac, and diagonal where the basis is the identity) */
static void curv_lambda(const struct ifg_layer_factors *l, double *c)
{
	size_t n = (size_t)l->d_out * ifg_layer_na(l);
	double inv = 1.0 / (double)l->Lambda_count;
	for (size_t i = 0; i < n; i++)
		c[i] = l->Lambda_sum[i] * inv;
}

/* C[i, j] = λ_S[i] λ_A[j], the K-FAC eigenvalues of S ⊗ A */
static void curv_kfac(const struct ifg_layer_factors *l, double *c)
{
	int na = ifg_layer_na(l), o = l->d_out;
	for (int i = 0; i < o; i++)
		for (int j = 0; j < na; j++)
			c[(size_t)i * na + j] = l->eigvals_S[i] * l->eigvals_A[j];
}

static const struct ifg_strategy strategies[] = {
	{ "identity", false, false, false, copy_g, copy_g, curv_ones },
	{ "diagonal", false, true, true, copy_g, copy_g, curv_lambda },
	{ "kfac", true, false, true, rotate_q, unrotate_q, curv_kfac },
	{ "ekfac", true, true, true, rotate_q, unrotate_q, curv_lambda },
};

const struct ifg_strategy *ifg_strategy_find(const char *name)
{
	for (size_t i = 0; i < sizeof strategies / sizeof *strategies; i++)
		if (!strcmp(strategies[i].name, name))
			return &strategies[i];
	ifg_seterr("unknown strategy '%s' (identity, diagonal, kfac, ekfac)", name);
	return NULL;
}

int ifg_strategy_usable(const struct ifg_strategy *s, const struct ifg_layer_factors *l)
{
	if (s->needs_eigen && (!l->QA || !l->QS || !l->eigvals_A || !l->eigvals_S))
		return ifg_seterr("layer '%s': strategy %s needs eigenbases, which these factors "
				  "lack", l->name, s->name);
	if (s->needs_lambda && !l->Lambda_sum)
		return ifg_seterr("layer '%s': strategy %s needs the lambda pass, which these "
				  "factors lack", l->name, s->name);
	if (s->needs_lambda && l->Lambda_count <= 0)
		return ifg_seterr("layer '%s': lambda summed over no records", l->name);
	return 0;
}

/* ---- lambda ---- */

int ifg_lambda_add(struct ifg_layer_factors *l, const struct ifg_strategy *s, const double *a,
		   const double *sg, int64_t T, double *blas_seconds)
{
	int na = ifg_layer_na(l), o = l->d_out;
	size_t n = (size_t)o * na;
	if (!s->needs_lambda)
		return ifg_seterr("strategy %s has no lambda pass", s->name);
	if (s->needs_eigen && (!l->QA || !l->QS))
		return ifg_seterr("layer '%s': the lambda pass of %s needs eigenbases", l->name,
				  s->name);
	if (!l->Lambda_sum)
		l->Lambda_sum = zeros(n);
	double *w = scratch(l), *G = w, *rot = w + n, *rw = w + 2 * n;
	/* Q_Sᵀ (sᵀ ā) Q_A = (s Q_S)ᵀ (ā Q_A): rotating the T tokens first costs
	 * 2T (o² + na² + o na) flops against 2 o na (T + o + na) for G first,
	 * less for records shorter than the layer is wide. */
	double tok = (double)T * ((double)o * o + (double)na * na + (double)o * na);
	double gfirst = (double)o * na * ((double)T + o + na);
	if (s->rotate == rotate_q && T > 0 && tok < gfirst) {
		size_t need = (size_t)T * (o + na);
		if (need > l->tcap) {
			free(l->twork);
			l->twork = ifg_xaligned(l->tcap = need, sizeof *l->twork);
		}
		double *sq = l->twork, *aq = sq + (size_t)T * o, t0 = ifg_now();
		/* sq = s Q_S : (T, o) = (T, o) (o, o); aq = ā Q_A : (T, na) */
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, o, o, 1.0, sg, o,
			    l->QS, o, 0.0, sq, o);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, na, na, 1.0, a, na,
			    l->QA, na, 0.0, aq, na);
		if (blas_seconds)
			*blas_seconds += ifg_now() - t0;
		ifg_weight_grad(o, na, T, sq, aq, 0.0, rot, blas_seconds);
	} else {
		ifg_weight_grad(o, na, T, sg, a, 0.0, G, blas_seconds);
		double t0 = ifg_now();
		/* rot = B_Sᵀ G B_A : (o, na) */
		s->rotate(l, G, rot, rw);
		if (blas_seconds)
			*blas_seconds += ifg_now() - t0;
	}
	for (size_t i = 0; i < n; i++)
		l->Lambda_sum[i] += rot[i] * rot[i];
	l->Lambda_count += 1;
	return 0;
}

/* f32 copy of a double array. */
static float *to_f32(const double *x, size_t n)
{
	float *y = ifg_xaligned(n, sizeof *y);
	for (size_t i = 0; i < n; i++)
		y[i] = (float)x[i];
	return y;
}

int ifg_lambda_add_f32(struct ifg_layer_factors *l, const struct ifg_strategy *s, const float *a,
		       const float *sg, int64_t T, double *blas_seconds)
{
	int na = ifg_layer_na(l), o = l->d_out;
	size_t n = (size_t)o * na;
	if (!s->needs_lambda)
		return ifg_seterr("strategy %s has no lambda pass", s->name);
	bool rot = s->rotate == rotate_q;
	if (rot && (!l->QA || !l->QS))
		return ifg_seterr("layer '%s': the lambda pass of %s needs eigenbases", l->name,
				  s->name);
	if (!l->Lambda_sum)
		l->Lambda_sum = zeros(n);
	l->Lambda_count += 1;
	if (T <= 0)
		return 0;
	if (rot && !l->QA32) {
		l->QA32 = to_f32(l->QA, (size_t)na * na);
		l->QS32 = to_f32(l->QS, (size_t)o * o);
	}
	/* the cheaper order, as in ifg_lambda_add */
	double tok = (double)T * ((double)o * o + (double)na * na + (double)o * na);
	double gfirst = (double)o * na * ((double)T + o + na);
	bool tokens_first = rot && tok < gfirst;
	size_t need = tokens_first ? n + (size_t)T * (o + na) : 2 * n;
	float *r = scratch32(l, need), *w = r + n;	/* r (o, na): the rotated gradient */
	double t0 = ifg_now();
	if (tokens_first) {
		float *sq = w, *aq = w + (size_t)T * o;
		/* sq = s Q_S : (T, o) = (T, o) (o, o); aq = ā Q_A : (T, na) = (T, na) (na, na) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, o, o, 1.0f, sg, o,
			    l->QS32, o, 0.0f, sq, o);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, na, na, 1.0f, a, na,
			    l->QA32, na, 0.0f, aq, na);
		/* r = sqᵀ aq : (o, na) = (T, o)ᵀ (T, na) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, (int)T, 1.0f, sq, o, aq,
			    na, 0.0f, r, na);
	} else if (rot) {
		/* w = G = sᵀ ā : (o, na); r = Q_Sᵀ w : (o, na); w = r Q_A : (o, na) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, (int)T, 1.0f, sg, o, a,
			    na, 0.0f, w, na);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, o, 1.0f, l->QS32, o, w,
			    na, 0.0f, r, na);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, o, na, na, 1.0f, r, na,
			    l->QA32, na, 0.0f, w, na);
		r = w;
	} else {
		/* r = G = sᵀ ā : (o, na) = (T, o)ᵀ (T, na), the identity basis */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, na, (int)T, 1.0f, sg, o, a,
			    na, 0.0f, r, na);
	}
	if (blas_seconds)
		*blas_seconds += ifg_now() - t0;
	double *restrict lam = l->Lambda_sum;
	for (size_t i = 0; i < n; i++) {
		double x = r[i];
		lam[i] += x * x;
	}
	return 0;
}

/* ---- damping and inverse ---- */

int ifg_precondition(const struct ifg_layer_factors *l, const struct ifg_strategy *s,
		     const struct ifg_damping *d, const double *g, double *out,
		     double *delta_used)
{
	int na = ifg_layer_na(l), o = l->d_out;
	size_t n = (size_t)o * na;
	if (ifg_strategy_usable(s, l) < 0)
		return -1;
	double *buf = ifg_xaligned(3 * n, sizeof *buf), *gt = buf, *c = buf + n, *w = buf + 2 * n;
	s->rotate(l, g, gt, w);
	s->curvature(l, c);
	double delta = 0;
	if (s->damped) {
		if (d->rule == IFG_DAMP_FIXED) {
			delta = d->value;
		} else {
			double sum = 0;
			for (size_t i = 0; i < n; i++)
				sum += c[i];
			delta = d->value * sum / (double)n;
		}
	}
	for (size_t i = 0; i < n; i++) {
		double den = s->damped ? c[i] + delta : 1.0;
		if (den == 0) {
			free(buf);
			return ifg_seterr("layer '%s': curvature plus damping is 0 at (%zu, %zu); "
					  "use a positive damping", l->name, i / na, i % na);
		}
		gt[i] /= den;
	}
	s->unrotate(l, gt, out, w);
	free(buf);
	if (delta_used)
		*delta_used = delta;
	return 0;
}

/* ekfac.h: EK-FAC factors of the tracked linear layers (doc/method.md §3-4).
 *
 * Per tracked layer y = W a + b with W (d_out, d_in), write na = d_in + 1
 * (ā = [a; 1], the bias folded in as the last column) and o = d_out; for a
 * layer without a bias (y = W a) na = d_in and ā = a.
 * Every matrix is row-major double.
 *
 *   covariance   A_sum = Σ_t ā_t ā_tᵀ (na, na), S_sum = Σ_t s_t s_tᵀ (o, o),
 *                with their token counts;
 *   eigen        A_sum / N_A = Q_A diag(λ_A) Q_Aᵀ, S likewise (LAPACKE_dsyevd);
 *   lambda       Λ_sum = Σ_n (B_Sᵀ G_n B_A)², G_n = Σ_t s_t ā_tᵀ (o, na),
 *                with the record count N_Λ (B = Q for ekfac, I for diagonal);
 *   precondition P = B_S [ (B_Sᵀ g B_A) / (C + δ) ] B_Aᵀ, C the strategy's
 *                curvature in that basis (ekfac: Λ_sum / N_Λ).
 *
 * Every partial result is a sum with a count, so shards merge by addition
 * (ifg_layer_merge).  Accumulation across records is in double (the
 * reference accumulates in bf16; see ifg-factor(1)); the products of one
 * record are in double (precision f64) or float32 (f32: the _f32 forms,
 * sgemm/ssyrk over the record's tokens, then added into the double sums).
 *
 * Pure math: no record I/O here (gradrec.h reads and writes these objects).
 * Functions return 0, or -1 with a message (ifg_seterr). */
#ifndef IFG_EKFAC_H
#define IFG_EKFAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One tracked layer.  Parts a stage has not produced are NULL. */
struct ifg_layer_factors {
	char *name;
	int d_in, d_out;	/* na = d_in + bias, o = d_out */
	bool bias;		/* the layer has a bias: ā's last column is 1 */
	double *A_sum;		/* (na, na) */
	double *S_sum;		/* (o, o) */
	int64_t A_count, S_count;
	double *QA, *eigvals_A;	/* (na, na), (na) */
	double *QS, *eigvals_S;	/* (o, o), (o) */
	double *Lambda_sum;	/* (o, na) */
	int64_t Lambda_count;
	float *QA32, *QS32;	/* f32 copies of QA, QS for the f32 lambda pass */
	float *work32;		/* f32 scratch of the _f32 forms */
	size_t w32cap;
	double *work;		/* scratch, 3 * o * na */
	double *twork;		/* scratch, T (o + na) for short records' lambda */
	size_t tcap;
};

struct ifg_factors {
	int n_layers;
	struct ifg_layer_factors *layer;
	int64_t records;	/* grads records consumed (covariance pass) */
	double blas_seconds;	/* time spent inside BLAS/LAPACK calls */
};

/* Layers with names and shapes, every part NULL; bias NULL: every layer
 * has a bias. */
void ifg_factors_init(struct ifg_factors *f, int n_layers, const char *const *names,
		      const int *d_in, const int *d_out, const bool *bias);
void ifg_factors_release(struct ifg_factors *f);
void ifg_layer_init(struct ifg_layer_factors *l, const char *name, int d_in, int d_out,
		    bool bias);
/* na = d_in + bias: the width of ā. */
static inline int ifg_layer_na(const struct ifg_layer_factors *l)
{
	return l->d_in + l->bias;
}
void ifg_layer_release(struct ifg_layer_factors *l);

/* ---- precision ---- */

/* Of the per-record products: f64 (double GEMMs) or f32 (float32 GEMMs of
 * one record, accumulated across records in double). */
enum ifg_precision { IFG_PREC_F64, IFG_PREC_F32 };
const char *ifg_precision_name(enum ifg_precision p);
/* "f32" or "f64"; -1 with a message for another name. */
int ifg_precision_parse(const char *name, enum ifg_precision *p);

/* ---- the record's weight gradient ---- */

/* G = beta G + sᵀ ā : (o, na) = (T, o)ᵀ (T, na), one record's gradient of
 * one layer's weight and bias in double (T = 0 gives beta G; beta 0 ignores
 * what G held).  The one place this product is written. */
void ifg_weight_grad(int o, int na, int64_t T, const double *s, const double *a, double beta,
		     double *G, double *blas_seconds);
/* The same from f32 blocks, widened into *buf (grown to T (na + o) doubles). */
void ifg_weight_grad_f32(int o, int na, int64_t T, const float *s, const float *a, double beta,
			 double *G, double **buf, size_t *cap, double *blas_seconds);

/* ---- covariance ---- */

/* A_sum += āᵀ ā, S_sum += sᵀ s over one record's T tokens (allocating the
 * sums on first use); a (T, na), s (T, o).  Only the upper triangles are
 * updated: call ifg_cov_symmetrize before reading the sums. */
void ifg_cov_add(struct ifg_layer_factors *l, const double *a, const double *s, int64_t T,
		 double *blas_seconds);
/* The same with the record's products in float32 (ssyrk into a per-record
 * f32 sum, then added into the double sums); a (T, na), s (T, o) f32.
 * The eigenvectors of A's and S's small eigenvalues, which a small damping
 * weighs most, move with the f32 rounding: ifg-factor's covariance pass is
 * f64 by default (ifg-factor(1), PRECISION). */
void ifg_cov_add_f32(struct ifg_layer_factors *l, const float *a, const float *s, int64_t T,
		     double *blas_seconds);
/* Copies the upper triangles of A_sum and S_sum into the lower ones. */
void ifg_cov_symmetrize(struct ifg_layer_factors *l);

/* ---- merge ---- */

/* dst += src: covariance sums, Λ sums and their counts (token counts add
 * only with the covariance sums; beside eigenbases alone they describe the
 * one eigen result both share).  Fails when the
 * shapes differ, when only one of them has a part, or when both carry
 * eigenbases that are not bit-identical (Λ sums in different bases cannot
 * be added). */
int ifg_layer_merge(struct ifg_layer_factors *dst, const struct ifg_layer_factors *src);

/* ---- eigen ---- */

/* Q_A, λ_A of sym(A_sum / A_count) and Q_S, λ_S of sym(S_sum / S_count),
 * sym(C) = (C + Cᵀ)/2, by LAPACKE_dsyevd in double (the two side by
 * side, one BLAS thread each). */
int ifg_eigen(struct ifg_layer_factors *l, double *blas_seconds);
/* The same for n layers at once: their 2 n decompositions run side by side
 * on up to threads threads (0: OpenBLAS's thread count), each with one BLAS
 * thread, so the results do not depend on the thread count.  On failure no
 * layer is changed.  *blas_seconds gets the wall time. */
int ifg_eigen_layers(struct ifg_layer_factors *const *ls, int n, int threads,
		     double *blas_seconds);

/* ---- strategies ---- */

struct ifg_strategy {
	const char *name;
	bool needs_eigen;	/* uses Q_A, Q_S (and λ_A, λ_S) */
	bool needs_lambda;	/* uses the Λ pass */
	bool damped;		/* adds δ; identity does not */
	/* out = B_Sᵀ g B_A: g into the basis where the curvature is diagonal.
	 * g, out (o, na); work (o, na).  out may not alias g. */
	void (*rotate)(const struct ifg_layer_factors *l, const double *g, double *out,
		       double *work);
	/* out = B_S g B_Aᵀ, the inverse of rotate. */
	void (*unrotate)(const struct ifg_layer_factors *l, const double *g, double *out,
			 double *work);
	/* The curvature's diagonal C in that basis, (o, na). */
	void (*curvature)(const struct ifg_layer_factors *l, double *c);
};

/* identity, diagonal, kfac, ekfac; NULL for another name (message set). */
const struct ifg_strategy *ifg_strategy_find(const char *name);
/* 0 if l holds every part s needs, -1 naming the missing one. */
int ifg_strategy_usable(const struct ifg_strategy *s, const struct ifg_layer_factors *l);

/* ---- lambda ---- */

/* One record: G = sᵀ ā (o, na), Λ_sum += (rotate(G))², Λ_count += 1.
 * a (T, na), s (T, o).  s must need the Λ pass. */
int ifg_lambda_add(struct ifg_layer_factors *l, const struct ifg_strategy *s, const double *a,
		   const double *sg, int64_t T, double *blas_seconds);

/* The same with the record's products in float32 (G or the rotated tokens
 * by sgemm with f32 copies of the eigenbases); the squares are added in
 * double.  a (T, na), s (T, o) f32. */
int ifg_lambda_add_f32(struct ifg_layer_factors *l, const struct ifg_strategy *s, const float *a,
		       const float *sg, int64_t T, double *blas_seconds);

/* ---- damping and inverse ---- */

enum ifg_damping_rule { IFG_DAMP_FIXED, IFG_DAMP_HEURISTIC };
struct ifg_damping {
	enum ifg_damping_rule rule;
	double value;		/* δ (fixed), or the scale of mean(C) (heuristic) */
};
#define IFG_DAMPING_DEFAULT 1e-8	/* the official value (doc/method.md §4) */
#define IFG_DAMPING_HEURISTIC_SCALE 0.1

/* out = H̃⁻¹ g for one layer: rotate, divide by (C + δ), unrotate.
 * g, out (o, na), may alias.  *delta_used gets δ (0 for identity). */
int ifg_precondition(const struct ifg_layer_factors *l, const struct ifg_strategy *s,
		     const struct ifg_damping *d, const double *g, double *out,
		     double *delta_used);

#endif

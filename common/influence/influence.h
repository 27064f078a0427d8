/* influence.h: the differential query gradient, its preconditioning and the
 * per-token influence scores (doc/method.md §5).
 *
 * Per layer, with na = d_in + 1 (d_in for a layer without a bias) and o = d_out:
 *   Δg = G_tox / K_tox − G_safe / K_safe            (o, na), mean query gradients
 *   P  = H̃⁻¹ Δg                                     (o, na), once (ekfac.h)
 *   S_ℓ[t] = s_tᵀ P ā_t,  computed as U = Ā Pᵀ (T, o), S_ℓ[t] = ⟨U[t], s_t⟩
 *   S[t] = Σ_ℓ S_ℓ[t]
 * and the document-level score ⟨P, G_n⟩ with G_n = Σ_t s_t ā_tᵀ, which
 * equals Σ_t S[t].  A positive score means training on the token lowers the
 * toxic queries' loss more than the non-toxic ones' (doc/method.md §5.2). */
#ifndef IFG_INFLUENCE_H
#define IFG_INFLUENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "ekfac.h"

/* out = G_tox / K_tox − G_safe / K_safe over n values; G_safe NULL gives
 * G_tox / K_tox (toxic-only influence). */
void ifg_query_diff(uint64_t n, const double *G_tox, int64_t K_tox, const double *G_safe,
		    int64_t K_safe, double *out);

struct ifg_scorer {
	int n_layers;
	int *na, *d_out;	/* per layer: the width of ā (d_in + bias), d_out */
	double **P;		/* per layer (o, na): the preconditioned query gradient */
	float **P32;		/* the same in f32 for the per-token products */
	enum ifg_precision prec;	/* of the per-token products (f32 default) */
	double *delta;		/* damping used per layer */
	const struct ifg_strategy *strategy;
	struct ifg_damping damping;
	float *U;		/* scratch (T, o) */
	double *U64;		/* scratch (T, o) and T (na + o), precision f64 */
	size_t u64cap;
	double *buf;		/* scratch for document scores: T (na + o) */
	double *G;		/* the record's (o, na) gradient, document scores */
	size_t ucap, bufcap, gcap;
	double blas_seconds;
};

/* P[ℓ] = H̃⁻¹ dg[ℓ] for every layer of f (identity needs no parts), up to
 * threads layers at once (0: OpenBLAS's thread count). */
int ifg_scorer_init(struct ifg_scorer *sc, const struct ifg_factors *f,
		    const struct ifg_strategy *st, const struct ifg_damping *d,
		    const double *const *dg, int threads);
void ifg_scorer_release(struct ifg_scorer *sc);
/* lane: sc's P with scratch of its own, to score other records beside sc
 * on another thread; released (its scratch only) before sc. */
void ifg_scorer_lane(struct ifg_scorer *lane, const struct ifg_scorer *sc);
void ifg_scorer_lane_release(struct ifg_scorer *lane);

/* Layer ℓ's per-token scores of one record: out[t] = s_tᵀ P ā_t, t < T.
 * a (T, na), s (T, o) f32; U = Ā Pᵀ by sgemm with the f32 P (precision f32)
 * or by dgemm on double copies (f64); the dot products are summed in
 * double. */
void ifg_score_tokens(struct ifg_scorer *sc, int layer, const float *a, const float *s,
		      int64_t T, double *out);
/* Layer ℓ's document score ⟨P, sᵀ ā⟩, in double. */
double ifg_score_document(struct ifg_scorer *sc, int layer, const float *a, const float *s,
			  int64_t T);

#endif

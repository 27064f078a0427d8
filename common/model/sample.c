/* sample.c: temperature, top-k, top-p and one draw (see sample.h). */
#include "sample.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void ifg_sampler_init(struct ifg_sampler *s)
{
	memset(s, 0, sizeof *s);
	s->temperature = 1.0;
	s->top_p = 1.0;
}

void ifg_sampler_release(struct ifg_sampler *s)
{
	free(s->prob);
	free(s->idx);
	s->prob = NULL;
	s->idx = NULL;
	s->cap = 0;
}

/* Rank order: probability descending, then id ascending. */
static int cmp_rank(const void *a, const void *b, void *ctx)
{
	const double *p = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	if (p[i] != p[j])
		return p[i] > p[j] ? -1 : 1;
	return (i > j) - (i < j);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	return (i > j) - (i < j);
}

/* s->prob (V) = softmax(logits / T) in double; returns the argmax (lowest id
 * among equal maxima) or -1 on a non-finite logit. */
static long probs(struct ifg_sampler *s, const float *logits, size_t V)
{
	if (s->cap < V) {
		free(s->prob);
		free(s->idx);
		s->prob = ifg_xmalloc(V, sizeof *s->prob);
		s->idx = ifg_xmalloc(V, sizeof *s->idx);
		s->cap = V;
	}
	size_t am = 0;
	for (size_t i = 0; i < V; i++) {
		if (!isfinite(logits[i]))
			return ifg_seterr("logit %zu is %s", i, isnan(logits[i]) ? "NaN" : "infinite");
		if (logits[i] > logits[am])
			am = i;
	}
	if (s->temperature == 0)
		return (long)am;
	/* e_i = exp((l_i - max) / T) in (0, 1], e_am = 1; Z >= 1 summed in id order */
	double mx = logits[am], Z = 0;
	for (size_t i = 0; i < V; i++) {
		s->prob[i] = exp(((double)logits[i] - mx) / s->temperature);
		Z += s->prob[i];
	}
	for (size_t i = 0; i < V; i++)
		s->prob[i] /= Z;
	return (long)am;
}

/* The kept set, ranked, into s->idx[0..n); 0 < n <= V.  Only the tokens at
 * or above a threshold τ are sorted: {p_i >= τ} is a prefix of the rank
 * order (ties at τ all in), so when the cut falls inside it, ranking the
 * rest would change nothing.  τ starts near the top and falls until the cut
 * is found inside the prefix (τ = 0: everything). */
static size_t rank_keep(struct ifg_sampler *s, size_t V)
{
	size_t k = s->top_k > 0 && (size_t)s->top_k < V ? (size_t)s->top_k : V;
	bool nucleus = s->top_p < 1.0;
	double pmax = 0;
	for (size_t i = 0; i < V; i++)
		pmax = s->prob[i] > pmax ? s->prob[i] : pmax;
	for (double shift = 2;; shift *= 2) {
		double tau = shift > 64 ? 0 : pmax * exp(-shift);
		size_t n = 0;
		double mass = 0;
		for (size_t i = 0; i < V; i++)
			if (s->prob[i] >= tau) {
				s->idx[n++] = (uint32_t)i;
				mass += s->prob[i];
			}
		bool all = n == V;
		if (!all && (n < k || (nucleus && k == V && mass < s->top_p)))
			continue;	/* the cut cannot lie inside this prefix */
		qsort_r(s->idx, n, sizeof *s->idx, cmp_rank, s->prob);
		size_t m = n < k ? n : k;
		if (!nucleus)
			return m;
		/* top-p of the first m: mass relative to 1, or to the top-k mass */
		double M = 1.0;
		if (k < V) {
			M = 0;
			for (size_t j = 0; j < m; j++)
				M += s->prob[s->idx[j]];
		}
		double cum = 0, goal = s->top_p * M;
		for (size_t j = 0; j < m; j++) {
			cum += s->prob[s->idx[j]];
			if (cum >= goal)
				return j + 1;
		}
		if (all || m == k)	/* rounding kept it below p: the whole set */
			return m;
	}
}

long ifg_sampler_keep(struct ifg_sampler *s, const float *logits, size_t V, uint32_t *keep,
		      double *prob)
{
	long am = probs(s, logits, V);
	if (am < 0)
		return -1;
	if (s->temperature == 0) {
		keep[0] = (uint32_t)am;
		if (prob)
			prob[0] = 1.0;
		return 1;
	}
	size_t n = rank_keep(s, V);
	for (size_t j = 0; j < n; j++) {
		keep[j] = s->idx[j];
		if (prob)
			prob[j] = s->prob[s->idx[j]];
	}
	return (long)n;
}

long ifg_sampler_draw(struct ifg_sampler *s, const float *logits, size_t V, struct ifg_rng *r)
{
	long am = probs(s, logits, V);
	if (am < 0 || s->temperature == 0)
		return am;
	bool filter = s->top_p < 1.0 || (s->top_k > 0 && (size_t)s->top_k < V);
	size_t n = V;
	if (filter) {
		n = rank_keep(s, V);
		qsort(s->idx, n, sizeof *s->idx, cmp_u32); /* the draw scans in id order */
	}
	/* ids: s->idx[0..n) ascending, or 0..V-1 unfiltered */
	double mass = 0;
	for (size_t j = 0; j < n; j++)
		mass += s->prob[filter ? s->idx[j] : j];
	double goal = ifg_rng_uniform(r) * mass, cum = 0;
	for (size_t j = 0; j < n; j++) {
		size_t id = filter ? s->idx[j] : j;
		cum += s->prob[id];
		if (cum > goal)
			return (long)id;
	}
	return (long)(filter ? s->idx[n - 1] : n - 1); /* rounding: the last kept */
}

/* rng.h: a seeded, splittable pseudo-random generator (xoshiro256**).
 *
 * Streams are reproducible from a 64-bit seed: ifg_rng_init fills the state
 * with splitmix64(seed), as the xoshiro authors recommend.  Independent
 * streams come two ways:
 *   - ifg_rng_init2(r, seed, stream): a stream keyed by an integer (a record
 *     number, an epoch), independent of how much other streams consumed;
 *   - ifg_rng_split(parent, child): the child takes the parent's current
 *     state and the parent jumps 2^128 draws ahead, so the two never overlap.
 * Sampling functions consume a fixed number of draws where they can, so a
 * program's use of the stream is easy to reproduce elsewhere (the PyTorch
 * reference in tests/ref reimplements ifg_rng_init2 and ifg_rng_below). */
#ifndef IFG_RNG_H
#define IFG_RNG_H

#include <stddef.h>
#include <stdint.h>

struct ifg_rng {
	uint64_t s[4];
};

void ifg_rng_init(struct ifg_rng *r, uint64_t seed);
void ifg_rng_init2(struct ifg_rng *r, uint64_t seed, uint64_t stream);
void ifg_rng_split(struct ifg_rng *parent, struct ifg_rng *child);
/* Advances the state by 2^128 draws. */
void ifg_rng_jump(struct ifg_rng *r);

uint64_t ifg_rng_u64(struct ifg_rng *r);
/* Uniform in [0, 1): 53 random bits (one draw). */
double ifg_rng_uniform(struct ifg_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias (rejection of the
 * lowest 2^64 mod n values; usually one draw). */
uint64_t ifg_rng_below(struct ifg_rng *r, uint64_t n);
/* Standard normal (Box-Muller, two draws, no cached spare). */
double ifg_rng_normal(struct ifg_rng *r);
/* Index i with probability w[i] / sum(w); w[i] >= 0 and finite, sum > 0
 * (else -1).  One draw; the sum and the scan are in double. */
long ifg_rng_categorical(struct ifg_rng *r, const float *w, size_t n);
/* Fisher-Yates shuffle: for i = n-1 down to 1, swap a[i], a[below(i+1)]. */
void ifg_rng_shuffle_u32(struct ifg_rng *r, uint32_t *a, size_t n);

/* splitmix64 finaliser: a well-mixed 64-bit hash of x. */
uint64_t ifg_mix64(uint64_t x);

#endif

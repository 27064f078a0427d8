/* rng.c: xoshiro256** 1.0 (Blackman and Vigna, public domain algorithm),
 * seeded by splitmix64. */
#include "rng.h"

#include <math.h>

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t ifg_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void ifg_rng_init(struct ifg_rng *r, uint64_t seed)
{
	/* splitmix64: state += golden gamma, output mix(state) */
	for (int i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		r->s[i] = ifg_mix64(seed);
	}
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1; /* the all-zero state is a fixed point */
}

void ifg_rng_init2(struct ifg_rng *r, uint64_t seed, uint64_t stream)
{
	ifg_rng_init(r, seed ^ ifg_mix64(stream + 0x632be59bd9b4e019ULL));
}

uint64_t ifg_rng_u64(struct ifg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

void ifg_rng_jump(struct ifg_rng *r)
{
	static const uint64_t J[] = { 0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
				      0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL };
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	for (int i = 0; i < 4; i++)
		for (int b = 0; b < 64; b++) {
			if (J[i] & (1ULL << b)) {
				s0 ^= r->s[0];
				s1 ^= r->s[1];
				s2 ^= r->s[2];
				s3 ^= r->s[3];
			}
			ifg_rng_u64(r);
		}
	r->s[0] = s0;
	r->s[1] = s1;
	r->s[2] = s2;
	r->s[3] = s3;
}

void ifg_rng_split(struct ifg_rng *parent, struct ifg_rng *child)
{
	*child = *parent;
	ifg_rng_jump(parent);
}

double ifg_rng_uniform(struct ifg_rng *r)
{
	return (double)(ifg_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t ifg_rng_below(struct ifg_rng *r, uint64_t n)
{
	if (n <= 1)
		return 0;
	uint64_t min = -n % n; /* 2^64 mod n */
	uint64_t x;
	do
		x = ifg_rng_u64(r);
	while (x < min);
	return x % n;
}

double ifg_rng_normal(struct ifg_rng *r)
{
	double u1 = 1.0 - ifg_rng_uniform(r); /* (0, 1]: log is finite */
	double u2 = ifg_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

long ifg_rng_categorical(struct ifg_rng *r, const float *w, size_t n)
{
	double total = 0;
	long last = -1;
	for (size_t i = 0; i < n; i++) {
		if (!(w[i] >= 0) || isinf(w[i]))
			return -1;
		total += w[i];
		if (w[i] > 0)
			last = (long)i;
	}
	if (!(total > 0))
		return -1;
	double u = ifg_rng_uniform(r) * total, c = 0;
	for (size_t i = 0; i < n; i++) {
		c += w[i];
		if (u < c && w[i] > 0)
			return (long)i;
	}
	return last; /* u fell past the rounded total */
}

void ifg_rng_shuffle_u32(struct ifg_rng *r, uint32_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = ifg_rng_below(r, i);
		uint32_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

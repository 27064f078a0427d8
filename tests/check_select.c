/* check_select.c: the selection library (common/influence/select.c) against brute
 * force: the quantile against sorting, the streamed selection (stats, rank,
 * plan, per-document masks) against a direct transcription of the
 * reference loop that keeps every score and a boolean mask in memory. */
#include <stdint.h>
#include <unistd.h>

#include "select.h"
#include "testutil.h"
#include "util.h"

/* ---- a small deterministic generator for test data ---- */

static struct ifg_rng rng;
static uint64_t rnd(void) { return ifg_rng_u64(&rng); }
static double rnd01(void) { return (double)(rnd() >> 11) * 0x1p-53; }
static uint32_t rndn(uint32_t n) { return (uint32_t)(rnd() % n); }

/* Scores of several kinds: continuous, heavy ties, wide exponent range,
 * keys adjacent in their low bits (same radix bucket), signed zeros. */
static float gen_score(int kind)
{
	switch (kind) {
	case 0: return (float)(rnd01() * 2 - 1);
	case 1: return (float)((int)rndn(7) - 3);	/* ties everywhere */
	case 2: return (float)((rnd01() - 0.5) * exp2((double)rndn(200) - 100));
	case 3: return ifg_sel_unkey(0xbf800000u + rndn(40));	/* one bucket, adjacent keys */
	default: {
		uint32_t r = rndn(4);
		return r == 0 ? 0.0f : r == 1 ? -0.0f : r == 2 ? 1.0f : (float)rnd01();
	}
	}
}

/* ---- brute force ---- */

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

/* numpy.quantile(x.astype(float32), p), method linear, written out. */
static double brute_quantile(const float *x, size_t n, double p)
{
	float *s = malloc(n * sizeof *s);
	memcpy(s, x, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_float);
	double v = (double)(n - 1) * p;
	size_t i0, i1;
	if (v >= (double)(n - 1)) {
		i0 = i1 = n - 1;
	} else {
		i0 = (size_t)floor(v);
		i1 = i0 + 1;
	}
	double g = v - floor(v);
	float a = s[i0], b = s[i1];
	free(s);
	if (i0 == i1)
		return b;
	float d = b - a;
	volatile double t;
	if (g >= 0.5) {
		t = (double)d * (1.0 - g);
		return (double)b - t;
	}
	t = (double)d * g;
	return (double)a + t;
}

struct corpus {
	size_t ndoc;
	uint32_t *T;
	float **s;
};

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->ndoc; i++)
		free(c->s[i]);
	free(c->s);
	free(c->T);
}

static void gen_corpus(struct corpus *c, size_t ndoc, uint32_t maxT, int kind)
{
	c->ndoc = ndoc;
	c->T = calloc(ndoc, sizeof *c->T);
	c->s = calloc(ndoc, sizeof *c->s);
	for (size_t i = 0; i < ndoc; i++) {
		c->T[i] = rndn(maxT + 1);	/* empty documents too */
		c->s[i] = malloc((c->T[i] + 1) * sizeof(float));
		for (uint32_t j = 0; j < c->T[i]; j++)
			c->s[i][j] = gen_score(kind == 5 ? (int)rndn(5) : kind);
	}
}

static double corpus_tau(const struct corpus *c, double p)
{
	size_t n = 0;
	for (size_t i = 0; i < c->ndoc; i++)
		n += c->T[i];
	if (!n)
		return NAN;
	float *all = malloc(n * sizeof *all);
	n = 0;
	for (size_t i = 0; i < c->ndoc; i++)
		for (uint32_t j = 0; j < c->T[i]; j++)
			all[n++] = c->s[i][j];
	double tau = brute_quantile(all, n, p);
	free(all);
	return tau;
}

/* The reference loop: masks [ndoc][T]; returns tokens used.  The ranking
 * arithmetic is the reference's float32 one; the order is found by a plain
 * selection of the maximum (earliest document on ties). */
static uint64_t brute_select(const struct corpus *c, double p, uint32_t w, uint64_t L,
			     uint8_t **mask)
{
	size_t n = c->ndoc;
	double tau = corpus_tau(c, p);
	float t32 = (float)tau;
	float *cnt = calloc(n, sizeof *cnt), *sum = calloc(n, sizeof *sum), *R = calloc(n, 4);
	uint64_t used = 0;
	for (size_t i = 0; i < n; i++) {
		double f = 0;
		for (uint32_t j = 0; j < c->T[i]; j++)
			if (c->s[i][j] > t32) {
				cnt[i] += 1;
				f += c->s[i][j];
			}
		sum[i] = (float)f;
		memset(mask[i], 0, c->T[i]);
	}
	if (!n)
		goto done;
	float cmin = cnt[0], cmax = cnt[0], fmin = sum[0], fmax = sum[0];
	for (size_t i = 1; i < n; i++) {
		cmin = fminf(cmin, cnt[i]), cmax = fmaxf(cmax, cnt[i]);
		fmin = fminf(fmin, sum[i]), fmax = fmaxf(fmax, sum[i]);
	}
	for (size_t i = 0; i < n; i++) {
		volatile float a = (cnt[i] - cmin) / (cmax - cmin + 1e-6f);
		volatile float b = (sum[i] - fmin) / (fmax - fmin + 1e-6f);
		volatile float num = 2 * a * b;
		R[i] = num / (a + b + 1e-6f);
	}
	uint8_t *done = calloc(n, 1);
	for (size_t k = 0; k < n; k++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < n; i++)
			if (!done[i] && (best == SIZE_MAX || R[i] > R[best]))
				best = i;
		done[best] = 1;
		uint32_t T = c->T[best];
		for (uint32_t j = 0; j < T; j++) {
			if (!(c->s[best][j] > t32))
				continue;
			int64_t lo = (int64_t)j - w < 0 ? 0 : (int64_t)j - w;
			int64_t hi = (int64_t)j + w + 1 > T ? T : (int64_t)j + w + 1;
			uint64_t nnew = 0;
			for (int64_t k2 = lo; k2 < hi; k2++)
				nnew += !mask[best][k2];
			if (used + nnew > L) {
				free(done);
				goto done;
			}
			for (int64_t k2 = lo; k2 < hi; k2++)
				mask[best][k2] = 1;
			used += nnew;
		}
	}
	free(done);
done:
	free(cnt);
	free(sum);
	free(R);
	return used;
}

/* The library the way ifg-select streams it. */
static uint64_t lib_select(const struct corpus *c, double p, uint32_t w, uint64_t L,
			   uint8_t **mask, size_t *ndocs_sel)
{
	size_t n = c->ndoc;
	struct ifg_quantile *q = ifg_quantile_new(p);
	for (size_t i = 0; i < n; i++)
		ifg_quantile_add1(q, c->s[i], c->T[i]);
	int need2 = ifg_quantile_end1(q);
	ck_assert_int_ge(need2, 0);
	if (need2)
		for (size_t i = n; i-- > 0;)	/* order does not matter */
			ifg_quantile_add2(q, c->s[i], c->T[i]);
	double tau;
	ck_assert_int_eq(ifg_quantile_tau(q, &tau), 0);
	ifg_quantile_free(q);
	float t32 = (float)tau;
	struct ifg_sel_doc *d = calloc(n + 1, sizeof *d);
	uint32_t *order = calloc(n + 1, sizeof *order);
	uint64_t *quota = calloc(n + 1, sizeof *quota);
	for (size_t i = 0; i < n; i++)
		ifg_sel_doc_stats(c->s[i], c->T[i], t32, w, &d[i]);
	ck_assert_int_eq(ifg_sel_rank(d, n, order), 0);
	*ndocs_sel = ifg_sel_plan(d, n, order, L, quota);
	uint64_t used = 0;
	int npartial = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t b = quota[i];
		bool stopped;
		if (!b) {
			memset(mask[i], 0, c->T[i]);
			continue;
		}
		used += ifg_sel_doc_mask(c->s[i], c->T[i], t32, w, &b, &stopped, mask[i]);
		/* whole documents never stop; the one cut short always does */
		ck_assert(stopped == (quota[i] != UINT64_MAX));
		npartial += quota[i] != UINT64_MAX;
		*ndocs_sel -= quota[i] == UINT64_MAX;
		*ndocs_sel += memchr(mask[i], 1, c->T[i]) != NULL;
	}
	ck_assert_int_le(npartial, 1);
	free(d);
	free(order);
	free(quota);
	return used;
}

/* ---- tests ---- */

START_TEST(test_key_order)
{
	ifg_rng_init(&rng, 1);
	for (int i = 0; i < 200000; i++) {
		float a = gen_score((int)rndn(5)), b = gen_score((int)rndn(5));
		uint32_t ka = ifg_sel_key(a), kb = ifg_sel_key(b);
		ck_assert_int_eq(a < b, ka < kb);
		ck_assert_int_eq(a == b, ka == kb);
		ck_assert(ifg_sel_unkey(ka) == a);
	}
	ck_assert_uint_eq(ifg_sel_key(-0.0f), ifg_sel_key(0.0f));
}
END_TEST

START_TEST(test_quantile_brute)
{
	static const double ps[] = { 0, 1, 0.5, 0.99, 0.999, 0.25, 1e-9, 1 - 1e-12, 0.3 };
	ifg_rng_init(&rng, 2);
	for (int it = 0; it < 1200; it++) {
		size_t n = 1 + rndn(it < 900 ? 40 : 3000);
		int kind = (int)rndn(6);
		float *x = malloc(n * sizeof *x);
		for (size_t i = 0; i < n; i++)
			x[i] = gen_score(kind == 5 ? (int)rndn(5) : kind);
		double p = it % 10 < 9 ? ps[it % 9] : rnd01();
		double want = brute_quantile(x, n, p), got;
		ck_assert_int_eq(ifg_quantile_f32(x, n, p, &got), 0);
		ck_assert_msg(memcmp(&want, &got, 8) == 0 || (want == 0 && got == 0),
			      "n=%zu p=%.17g: quantile %.17g, brute force %.17g", n, p, got, want);
		free(x);
	}
}
END_TEST

/* Known values checked against numpy 1.24 (np.quantile on float32 data):
 * np.quantile(np.float32([0.1, 0.7]), 0.3) == 0.27999999076128, and
 * np.quantile(np.float32([1, 2, 3, 4]), 0.99) == 3.9699999999999998. */
START_TEST(test_quantile_numpy_values)
{
	float a[] = { 0.7f, 0.1f };
	double t;
	ck_assert_int_eq(ifg_quantile_f32(a, 2, 0.3, &t), 0);
	ck_assert(t == 0.27999999076128);
	float b[] = { 4, 3, 2, 1 };
	ck_assert_int_eq(ifg_quantile_f32(b, 4, 0.99, &t), 0);
	ck_assert(t == 3.9699999999999998);
	ck_assert_int_eq(ifg_quantile_f32(b, 0, 0.99, &t), 0);
	ck_assert(isnan(t));
}
END_TEST

START_TEST(test_quantile_misuse)
{
	struct ifg_quantile *q = ifg_quantile_new(0.5);
	float x = 1;
	double t;
	ifg_quantile_add1(q, &x, 1);
	ck_assert_int_eq(ifg_quantile_tau(q, &t), -1);
	ck_assert_int_eq(ifg_quantile_end1(q), 1);
	ck_assert_int_eq(ifg_quantile_end1(q), -1);
	ifg_quantile_add2(q, &x, 1);
	ck_assert_int_eq(ifg_quantile_tau(q, &t), 0);
	ck_assert(t == 1.0);
	ck_assert_uint_eq(ifg_quantile_count(q), 1);
	ifg_quantile_free(q);
}
END_TEST

static void check_corpus(struct corpus *c, double p, uint32_t w, uint64_t L)
{
	uint8_t **m1 = calloc(c->ndoc + 1, sizeof *m1), **m2 = calloc(c->ndoc + 1, sizeof *m2);
	for (size_t i = 0; i < c->ndoc; i++) {
		m1[i] = calloc(c->T[i] + 1, 1);
		m2[i] = calloc(c->T[i] + 1, 1);
	}
	size_t nd;
	uint64_t u1 = brute_select(c, p, w, L, m1);
	uint64_t u2 = lib_select(c, p, w, L, m2, &nd);
	ck_assert_uint_eq(u1, u2);
	ck_assert_uint_le(u1, L);
	size_t nd1 = 0;
	for (size_t i = 0; i < c->ndoc; i++) {
		ck_assert_msg(memcmp(m1[i], m2[i], c->T[i]) == 0,
			      "doc %zu of %zu differs (p=%g w=%u L=%llu)", i, c->ndoc, p, w,
			      (unsigned long long)L);
		nd1 += memchr(m1[i], 1, c->T[i]) != NULL;
		free(m1[i]);
		free(m2[i]);
	}
	ck_assert_uint_eq(nd1, nd);
	free(m1);
	free(m2);
}

START_TEST(test_select_brute)
{
	ifg_rng_init(&rng, 3);
	for (int it = 0; it < 150; it++) {
		struct corpus c;
		gen_corpus(&c, 1 + rndn(25), 1 + rndn(60), (int)rndn(6));
		double p = it % 3 == 0 ? 0.99 : it % 3 == 1 ? rnd01() : 0.8;
		uint32_t w = rndn(4);
		/* every budget edge: the full run's total, and around the totals
		 * reached after each document of the unlimited run */
		uint64_t N = 0;
		for (size_t i = 0; i < c.ndoc; i++)
			N += c.T[i];
		check_corpus(&c, p, w, UINT64_MAX / 2);
		for (int k = 0; k < 12; k++)
			check_corpus(&c, p, w, rndn((uint32_t)N + 3));
		check_corpus(&c, p, w, 0);
		check_corpus(&c, p, w, 1);
		corpus_free(&c);
	}
}
END_TEST

/* Budgets at and around each window's cumulative total: a window that fits
 * exactly is taken, one token less refuses it and ends the run. */
START_TEST(test_select_budget_edges)
{
	ifg_rng_init(&rng, 4);
	for (int it = 0; it < 30; it++) {
		struct corpus c;
		gen_corpus(&c, 2 + rndn(8), 2 + rndn(30), (int)rndn(6));
		uint32_t w = rndn(3);
		uint8_t **m = calloc(c.ndoc, sizeof *m);
		for (size_t i = 0; i < c.ndoc; i++)
			m[i] = calloc(c.T[i] + 1, 1);
		uint64_t total = brute_select(&c, 0.7, w, UINT64_MAX / 2, m);
		for (uint64_t L = 0; L <= total + 1; L++)
			check_corpus(&c, 0.7, w, L);
		for (size_t i = 0; i < c.ndoc; i++)
			free(m[i]);
		free(m);
		corpus_free(&c);
	}
}
END_TEST

/* All scores equal: nothing is strictly above the threshold. */
START_TEST(test_select_all_equal)
{
	float s[10];
	for (int i = 0; i < 10; i++)
		s[i] = 0.5f;
	double tau;
	ck_assert_int_eq(ifg_quantile_f32(s, 10, 0.99, &tau), 0);
	ck_assert(tau == 0.5);
	struct ifg_sel_doc d;
	ifg_sel_doc_stats(s, 10, (float)tau, 1, &d);
	ck_assert_uint_eq(d.c, 0);
	ck_assert_uint_eq(d.u, 0);
}
END_TEST

/* A threshold that rounds to a float32 equal to a score: the comparison is
 * made in float32 (torch rounds the Python float), so that score is out. */
START_TEST(test_select_float32_compare)
{
	float s[2] = { 0.1f, 0.2f };
	double tau = 0.1;	/* (float)0.1 == 0.1f, while 0.1f > 0.1 in double */
	struct ifg_sel_doc d;
	ifg_sel_doc_stats(s, 2, (float)tau, 0, &d);
	ck_assert_uint_eq(d.c, 1);
	ck_assert_uint_eq(d.u, 1);
	ck_assert(d.f == (double)0.2f);
	ck_assert(d.sum == (double)0.1f + (double)0.2f);
}
END_TEST

START_TEST(test_window_union)
{
	/* above at 0, 2, 3, 9 with w = 1 in T = 10: windows [0,2) [1,4) [2,5) [8,10) */
	float s[10] = { 5, 0, 5, 5, 0, 0, 0, 0, 0, 5 };
	struct ifg_sel_doc d;
	ifg_sel_doc_stats(s, 10, 1.0f, 1, &d);
	ck_assert_uint_eq(d.c, 4);
	ck_assert_uint_eq(d.u, 7);
	uint8_t m[10];
	uint64_t b = 4;	/* [0,2) takes 2, [1,4) adds 2, [2,5) would add 1 > 0: stop */
	bool stopped;
	ck_assert_uint_eq(ifg_sel_doc_mask(s, 10, 1.0f, 1, &b, &stopped, m), 4);
	ck_assert(stopped);
	ck_assert_uint_eq(b, 0);
	static const uint8_t want[10] = { 1, 1, 1, 1, 0, 0, 0, 0, 0, 0 };
	ck_assert_mem_eq(m, want, 10);
	b = UINT64_MAX;
	ck_assert_uint_eq(ifg_sel_doc_mask(s, 10, 1.0f, 1, &b, &stopped, m), 7);
	ck_assert(!stopped);
	/* a huge window clips to the document */
	ifg_sel_doc_stats(s, 10, 1.0f, UINT32_MAX, &d);
	ck_assert_uint_eq(d.u, 10);
}
END_TEST

START_TEST(test_rank_order)
{
	/* c = 3, 1, 3, 0; f = 3, 9, 3, 0: docs 0 and 2 tie and keep their order */
	struct ifg_sel_doc d[4] = {
		{ .c = 3, .f = 3 }, { .c = 1, .f = 9 }, { .c = 3, .f = 3 }, { .c = 0, .f = 0 },
	};
	uint32_t order[4];
	ck_assert_int_eq(ifg_sel_rank(d, 4, order), 0);
	/* c' = 1, 1/3, 1, 0 and f' = 1/3, 1, 1/3, 0 (up to eps): R0 = R1 = R2 */
	ck_assert_uint_eq(order[3], 3);
	ck_assert_float_eq(d[3].r, 0.0f);
	ck_assert(d[0].r == d[2].r);
	ck_assert_uint_eq(order[0] < order[1], 1);
	struct ifg_sel_doc big[2] = { { .c = 1, .f = 1e39 }, { .c = 0 } };
	ck_assert_int_eq(ifg_sel_rank(big, 2, order), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "overflows float32"));
}
END_TEST

START_TEST(test_drop_docs)
{
	struct ifg_sel_doc d[5] = {
		{ .T = 4, .sum = 1 }, { .T = 3, .sum = 5 }, { .T = 2, .sum = 5 },
		{ .T = 6, .sum = 4 }, { .T = 1, .sum = -2 },
	};
	uint32_t order[5];
	uint8_t drop[5];
	/* order by sum: 1, 2 (tie, by index), 3, 0, 4; budget 6 takes 1 and 2,
	 * then 3 (6 tokens) does not fit: stop, although 0 or 4 would */
	ck_assert_uint_eq(ifg_sel_drop_docs(d, 5, order, 6, drop), 5);
	static const uint8_t want[5] = { 0, 1, 1, 0, 0 };
	ck_assert_mem_eq(drop, want, 5);
	ck_assert_uint_eq(order[0], 1);
	ck_assert_uint_eq(order[1], 2);
	ck_assert_uint_eq(order[2], 3);
	ck_assert_uint_eq(ifg_sel_drop_docs(d, 5, order, 16, drop), 16);
	ck_assert_uint_eq(ifg_sel_drop_docs(d, 5, order, 0, drop), 0);
}
END_TEST

START_TEST(test_random_tokens)
{
	/* exactly `want` tokens, reproducible, about uniform over positions */
	enum { T = 50, RUNS = 4000 };
	uint32_t hits[T] = { 0 };
	for (int run = 0; run < RUNS; run++) {
		struct ifg_sel_random r;
		ifg_sel_random_init(&r, (uint64_t)run, T, 10);
		uint8_t m[T];
		uint32_t got = ifg_sel_random_mask(&r, 20, m) + ifg_sel_random_mask(&r, 30, m + 20);
		ck_assert_uint_eq(got, 10);
		for (int t = 0; t < T; t++)
			hits[t] += m[t];
		if (run == 7) {
			uint8_t m2[T];
			ifg_sel_random_init(&r, 7, T, 10);
			ifg_sel_random_mask(&r, T, m2);
			ck_assert_mem_eq(m, m2, T);
		}
	}
	/* each position: mean 800, sd about 25 */
	for (int t = 0; t < T; t++)
		ck_assert_msg(hits[t] > 650 && hits[t] < 950, "position %d: %u", t, hits[t]);
	struct ifg_sel_random r;
	uint8_t m[8];
	ifg_sel_random_init(&r, 1, 8, 100);	/* more than there is: all */
	ck_assert_uint_eq(ifg_sel_random_mask(&r, 8, m), 8);
}
END_TEST

START_TEST(test_lexicon)
{
	char *dir = ifg_test_tmpdir();
	char path[512];
	snprintf(path, sizeof path, "%s/lex.txt", dir);
	FILE *f = fopen(path, "w");
	fputs("# comment\nDarn\n\nheck it\n  gosh  \n", f);
	fclose(f);
	struct ifg_wordlist *lx = ifg_wordlist_load(path);
	ck_assert_ptr_nonnull(lx);
	ck_assert_uint_eq(ifg_wordlist_size(lx), 3);
	/* tokens: "Oh"," da","rn"," it",","," heck"," it"," goshx"," GOSH" */
	const char *text = "Oh darn it, heck it goshx GOSH";
	uint32_t off[] = { 0, 2, 5, 7, 10, 11, 16, 19, 25, 30 };
	uint8_t m[9] = { 0 };
	ck_assert_uint_eq(ifg_wordlist_mask(lx, text, off, 9, m), 5);
	static const uint8_t want[9] = { 0, 1, 1, 0, 0, 1, 1, 0, 1 };
	ck_assert_mem_eq(m, want, 9);
	ifg_wordlist_free(lx);
	ck_assert_ptr_null(ifg_wordlist_load("/nonexistent/lexicon"));
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("select");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_key_order);
	tcase_add_test(tc, test_quantile_brute);
	tcase_add_test(tc, test_quantile_numpy_values);
	tcase_add_test(tc, test_quantile_misuse);
	tcase_add_test(tc, test_select_brute);
	tcase_add_test(tc, test_select_budget_edges);
	tcase_add_test(tc, test_select_all_equal);
	tcase_add_test(tc, test_select_float32_compare);
	tcase_add_test(tc, test_window_union);
	tcase_add_test(tc, test_rank_order);
	tcase_add_test(tc, test_drop_docs);
	tcase_add_test(tc, test_random_tokens);
	tcase_add_test(tc, test_lexicon);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

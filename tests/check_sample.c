/* check_sample.c: the token sampler against a brute-force reference (top-k,
 * top-p, ties, temperature, the draw's distribution), and the cached
 * inference forward and generation (gpt_infer.h) against ifg_gpt_forward,
 * for each family variant of testgpt.h. */
#include <stdint.h>

#include "gpt.h"
#include "gpt_infer.h"
#include "rng.h"
#include "sample.h"
#include "testgpt.h"
#include "testutil.h"
#include "util.h"

/* ---- sampler ---- */


/* Brute force: probabilities as sample.h defines them, every token ranked
 * by insertion sort, then the cuts by their definitions. */
static size_t ref_keep(const float *l, size_t V, double T, long k, double p, uint32_t *keep)
{
	double *pr = malloc(V * sizeof *pr), mx = -INFINITY, Z = 0;
	for (size_t i = 0; i < V; i++)
		mx = l[i] > mx ? l[i] : mx;
	for (size_t i = 0; i < V; i++)
		Z += pr[i] = exp(((double)l[i] - mx) / T);
	for (size_t i = 0; i < V; i++)
		pr[i] /= Z;
	uint32_t *o = malloc(V * sizeof *o);
	for (size_t i = 0; i < V; i++) {
		size_t j = i;
		while (j > 0 && pr[o[j - 1]] < pr[i])	/* ties keep id order */
			o[j] = o[j - 1], j--;
		o[j] = (uint32_t)i;
	}
	size_t m = k > 0 && (size_t)k < V ? (size_t)k : V;
	double M = 1.0;
	if (m < V) {
		M = 0;
		for (size_t j = 0; j < m; j++)
			M += pr[o[j]];
	}
	size_t n = m;
	if (p < 1) {
		double cum = 0;
		for (size_t j = 0; j < m; j++) {
			cum += pr[o[j]];
			if (cum >= p * M) {
				n = j + 1;
				break;
			}
		}
	}
	memcpy(keep, o, n * sizeof *o);
	free(pr), free(o);
	return n;
}

START_TEST(test_keep_brute)
{
	struct ifg_rng r;
	ifg_rng_init(&r, 42);
	struct ifg_sampler s;
	ifg_sampler_init(&s);
	static const double ps[] = { 1.0, 0.9, 0.5, 0.999, 0.01, 0.3 };
	static const long ks[] = { 0, 1, 2, 5, 40, 1000 };
	static const double Ts[] = { 1.0, 0.7, 2.5 };
	for (int trial = 0; trial < 300; trial++) {
		size_t V = 1 + ifg_rng_below(&r, trial % 3 == 0 ? 2000 : 60);
		float *l = malloc(V * sizeof *l);
		int ties = trial % 2;	/* few distinct values: many exact ties */
		double spread = trial % 5 == 0 ? 20 : 3;
		for (size_t i = 0; i < V; i++)
			l[i] = ties ? (float)ifg_rng_below(&r, 4) : (float)(spread * ifg_rng_normal(&r));
		s.top_p = ps[trial % 6];
		s.top_k = ks[(trial / 6) % 6];
		s.temperature = Ts[trial % 3];
		uint32_t *a = malloc(V * sizeof *a), *b = malloc(V * sizeof *b);
		long n = ifg_sampler_keep(&s, l, V, a, NULL);
		size_t nr = ref_keep(l, V, s.temperature, s.top_k, s.top_p, b);
		ck_assert_msg((size_t)n == nr, "trial %d: V %zu k %ld p %g: kept %ld, reference %zu",
			      trial, V, s.top_k, s.top_p, n, nr);
		for (size_t j = 0; j < nr; j++)
			ck_assert_uint_eq(a[j], b[j]);
		if (s.top_k > 0 && s.top_p == 1.0)
			ck_assert_uint_eq((size_t)n, (size_t)s.top_k < V ? (size_t)s.top_k : V);
		free(l), free(a), free(b);
	}
	ifg_sampler_release(&s);
}
END_TEST

/* Hand-made cases: exactly the smallest set whose mass reaches p. */
START_TEST(test_keep_cases)
{
	struct ifg_sampler s;
	ifg_sampler_init(&s);
	/* probabilities 0.4, 0.3, 0.2, 0.1 (ids 2, 0, 3, 1) */
	float l[4] = { logf(0.3f), logf(0.1f), logf(0.4f), logf(0.2f) };
	uint32_t k[4];
	double pr[4];
	s.top_p = 0.65;
	ck_assert_int_eq(ifg_sampler_keep(&s, l, 4, k, pr), 2);
	ck_assert_uint_eq(k[0], 2);
	ck_assert_uint_eq(k[1], 0);
	ck_assert_close(pr[0], 0.4, 1e-6);
	s.top_p = 0.75;
	ck_assert_int_eq(ifg_sampler_keep(&s, l, 4, k, NULL), 3);
	s.top_p = 0.3;
	ck_assert_int_eq(ifg_sampler_keep(&s, l, 4, k, NULL), 1);
	/* ties: four equal logits, top-k 2 keeps ids 0 and 1 exactly */
	float t[4] = { 1, 1, 1, 1 };
	s.top_p = 1;
	s.top_k = 2;
	ck_assert_int_eq(ifg_sampler_keep(&s, t, 4, k, NULL), 2);
	ck_assert_uint_eq(k[0], 0);
	ck_assert_uint_eq(k[1], 1);
	/* top-p 0.5 of four equal: two tokens (mass 0.5 reached) */
	s.top_k = 0;
	s.top_p = 0.5;
	ck_assert_int_eq(ifg_sampler_keep(&s, t, 4, k, NULL), 2);
	/* greedy: the first maximum, no draw */
	s.temperature = 0;
	struct ifg_rng r, r0;
	ifg_rng_init(&r, 1);
	r0 = r;
	ck_assert_int_eq(ifg_sampler_draw(&s, t, 4, &r), 0);
	ck_assert_int_eq(ifg_sampler_draw(&s, l, 4, &r), 2);
	ck_assert(memcmp(&r, &r0, sizeof r) == 0);
	/* non-finite logits are an error */
	s.temperature = 1;
	t[2] = NAN;
	ck_assert_int_eq(ifg_sampler_draw(&s, t, 4, &r), -1);
	ifg_sampler_release(&s);
}
END_TEST

/* The draw's frequencies follow the kept, renormalised distribution, and
 * every draw consumes exactly one number. */
START_TEST(test_draw_distribution)
{
	struct ifg_sampler s;
	ifg_sampler_init(&s);
	float l[6] = { logf(0.05f), logf(0.35f), logf(0.1f), logf(0.25f), logf(0.2f), logf(0.05f) };
	s.top_p = 0.8;	/* keeps 0.35, 0.25, 0.2 (ids 1, 3, 4): mass 0.8 */
	struct ifg_rng r, shadow;
	ifg_rng_init(&r, 9);
	shadow = r;
	long cnt[6] = { 0 };
	int N = 60000;
	for (int i = 0; i < N; i++) {
		long t = ifg_sampler_draw(&s, l, 6, &r);
		ck_assert(t >= 0 && t < 6);
		cnt[t]++;
		ifg_rng_uniform(&shadow);
	}
	ck_assert(memcmp(&r, &shadow, sizeof r) == 0);
	ck_assert_int_eq(cnt[0] + cnt[2] + cnt[5], 0);
	ck_assert_close(cnt[1] / (double)N, 0.35 / 0.8, 0.01);
	ck_assert_close(cnt[3] / (double)N, 0.25 / 0.8, 0.01);
	ck_assert_close(cnt[4] / (double)N, 0.2 / 0.8, 0.01);
	/* temperature 2 without filtering: p ∝ sqrt(p) */
	s.top_p = 1;
	s.temperature = 2;
	memset(cnt, 0, sizeof cnt);
	for (int i = 0; i < N; i++)
		cnt[ifg_sampler_draw(&s, l, 6, &r)]++;
	double z = 0;
	for (int i = 0; i < 6; i++)
		z += sqrt(exp(l[i]));
	for (int i = 0; i < 6; i++)
		ck_assert_close(cnt[i] / (double)N, sqrt(exp(l[i])) / z, 0.01);
	ifg_sampler_release(&s);
}
END_TEST

/* ---- cached forward ---- */

static const struct ifg_gpt_config cfg = { .n_layer = 2, .n_head = 2, .n_embd = 16, .n_ctx = 24,
					   .vocab_size = 37 };

/* cfg as family variant i (testgpt.h; the loop tests' _i) */
static struct ifg_gpt *model(uint64_t seed, int i)
{
	struct ifg_gpt_config c = ifg_test_family(i, cfg);
	return ifg_test_gpt(&c, seed, 0.3);
}

/* Logits of every position of seq (T) by the training forward: (T, V). */
static float *full_logits(struct ifg_gpt *m, const uint32_t *seq, int T)
{
	ck_assert_int_eq(ifg_gpt_forward(m, seq, NULL, 1, T, NULL), 0);
	float *o = malloc((size_t)T * cfg.vocab_size * sizeof *o);
	memcpy(o, ifg_gpt_logits(m), (size_t)T * cfg.vocab_size * sizeof *o);
	return o;
}

static void close_rows(const float *a, const float *b)
{
	for (int v = 0; v < cfg.vocab_size; v++)
		ck_assert_close(a[v], b[v], 1e-5);
}

START_TEST(test_cache_logits)
{
	struct ifg_gpt *m = model(3, _i);
	struct ifg_rng r;
	ifg_rng_init(&r, 5);
	enum { NS = 3, T = 24 };
	uint32_t seq[NS][T];
	float *ref[NS];
	for (int i = 0; i < NS; i++) {
		for (int t = 0; t < T; t++)
			seq[i][t] = (uint32_t)ifg_rng_below(&r, cfg.vocab_size);
		ref[i] = full_logits(m, seq[i], T);
	}
	struct ifg_gpt_infer *s = ifg_gpt_infer_new(m);
	ck_assert_int_eq(ifg_gpt_infer_reserve(s, NS, T), 0);
	ck_assert_int_eq(ifg_gpt_infer_reserve(s, 1, T + 1), -1);	/* beyond n_ctx */
	/* three slots appended together in chunks of different lengths per slot:
	 * slot i takes chunk sizes from its own list until T positions */
	static const int chunks[NS][8] = { { 5, 1, 1, 1, 1, 15 }, { 1, 1, 1, 3, 7, 11 },
					   { 24 } };
	int at[NS] = { 0 }, ci[NS] = { 0 }, V = cfg.vocab_size;
	for (;;) {
		int slot[NS], len[NS], n = 0;
		const uint32_t *tp[NS];
		for (int i = 0; i < NS; i++)
			if (at[i] < T) {
				slot[n] = i;
				len[n] = chunks[i][ci[i]++];
				tp[n] = seq[i] + at[i];
				n++;
			}
		if (!n)
			break;
		ck_assert_int_eq(ifg_gpt_infer_append(s, n, slot, tp, len), 0);
		for (int j = 0; j < n; j++) {
			int i = slot[j];
			at[i] += len[j];
			ck_assert_int_eq(ifg_gpt_infer_len(s, i), at[i]);
			close_rows(ifg_gpt_infer_logits(s) + (size_t)j * V, ref[i] + (size_t)(at[i] - 1) * V);
		}
	}
	/* full: no room left */
	int sl = 0, one = 1;
	const uint32_t *tp0 = seq[0];
	ck_assert_int_eq(ifg_gpt_infer_append(s, 1, &sl, &tp0, &one), -1);
	/* a copied slot continues like the original */
	ifg_gpt_infer_reset(s, 0);
	int ten = 10;
	ck_assert_int_eq(ifg_gpt_infer_append(s, 1, &sl, &tp0, &ten), 0);
	ifg_gpt_infer_copy(s, 2, 0);
	int s2 = 2;
	const uint32_t *tp2 = seq[0] + 10;
	ck_assert_int_eq(ifg_gpt_infer_append(s, 1, &s2, &tp2, &one), 0);
	close_rows(ifg_gpt_infer_logits(s), ref[0] + 10 * V);
	ifg_gpt_infer_free(s);
	for (int i = 0; i < NS; i++)
		free(ref[i]);
	ifg_gpt_free(m);
}
END_TEST

/* Generation: cache == no cache, any batch size, same seed = same tokens. */
START_TEST(test_generate)
{
	struct ifg_gpt *m = model(11, _i);
	enum { NG = 7, NEW = 12 };
	static const uint32_t pa[] = { 3, 1, 4, 1, 5 }, pb[] = { 9 }, pc[] = { 2, 6, 5, 3, 5, 8, 9 };
	const uint32_t *pr[NG] = { pa, pa, pb, pc, pa, pb, pc };
	int pl[NG] = { 5, 5, 1, 7, 5, 1, 7 };
	struct ifg_sampler smp;
	ifg_sampler_init(&smp);
	smp.top_p = 0.9;
	smp.temperature = 1.5;
	uint32_t out[4][NG][NEW];
	struct ifg_gen g[NG];
	struct ifg_gpt_infer *s = ifg_gpt_infer_new(m);
	/* end-of-text: a token the first sequence draws (so at least it stops early) */
	uint32_t pre[NEW];
	g[0] = (struct ifg_gen){ .prompt = pr[0], .prompt_len = pl[0], .out = pre };
	ifg_rng_init2(&g[0].rng, 77, 0);
	ck_assert_int_eq(ifg_gpt_generate(m, s, &smp, g, 1, NEW, -1, 37), 0);
	ck_assert_int_eq(g[0].n_out, NEW);
	int64_t eot = pre[NEW / 2];
	int eot_seen = 0;
	for (int mode = 0; mode < 4; mode++) {
		/* 0: one batch, 1: no cache, 2: batches of 1, 3: one batch again */
		for (int i = 0; i < NG; i++) {
			g[i] = (struct ifg_gen){ .prompt = pr[i], .prompt_len = pl[i], .out = out[mode][i] };
			ifg_rng_init2(&g[i].rng, 77, (uint64_t)i);
			memset(out[mode][i], 0xff, sizeof out[mode][i]);
		}
		if (mode == 2) {
			for (int i = 0; i < NG; i++)
				ck_assert_int_eq(ifg_gpt_generate(m, s, &smp, &g[i], 1, NEW, eot, 37), 0);
		} else {
			ck_assert_int_eq(ifg_gpt_generate(m, mode == 1 ? NULL : s, &smp, g, NG, NEW, eot,
						       37), 0);
		}
		for (int i = 0; i < NG; i++) {
			if (g[i].n_out < NEW) {	/* stopped at end-of-text, not stored */
				eot_seen++;
				ck_assert_uint_eq(out[mode][i][g[i].n_out], 0xffffffffu);
			}
			for (int t = 0; t < g[i].n_out; t++)
				ck_assert_uint_ne(out[mode][i][t], eot);
		}
		if (mode)
			ck_assert(memcmp(out[mode], out[0], sizeof out[0]) == 0);
	}
	ck_assert_int_gt(eot_seen, 0);
	/* the same prompt with different streams differs */
	ck_assert(memcmp(out[0][0], out[0][1], sizeof out[0][0]) != 0);
	/* a prompt that leaves no room is refused */
	g[0].prompt_len = cfg.n_ctx - NEW + 1;
	uint32_t big[24] = { 0 };
	g[0].prompt = big;
	ck_assert_int_eq(ifg_gpt_generate(m, s, &smp, g, 1, NEW, 0, 37), -1);
	ifg_gpt_infer_free(s);
	ifg_sampler_release(&smp);
	ifg_gpt_free(m);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("sample");
	TCase *tc = tcase_create("sampler");
	tcase_add_test(tc, test_keep_brute);
	tcase_add_test(tc, test_keep_cases);
	tcase_add_test(tc, test_draw_distribution);
	suite_add_tcase(s, tc);
	tc = tcase_create("infer");
	tcase_add_loop_test(tc, test_cache_logits, 0, IFG_TEST_NFAM);
	tcase_add_loop_test(tc, test_generate, 0, IFG_TEST_NFAM);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

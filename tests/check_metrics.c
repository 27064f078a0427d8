/* check_metrics.c: EMT/TP against numbers worked out by hand and against
 * brute force over many prompts; perplexity windows and batches against
 * direct forward passes of a small random GPT-2. */
#include <stdint.h>
#include <unistd.h>

#include "gpt.h"
#include "metrics.h"
#include "rng.h"
#include "testutil.h"
#include "util.h"

static char *write_file(const char *dir, const char *name, const char *text)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	return p;
}

/* Five prompts, nine samples:
 *   A (id 0)    0.2, 0.5          max 0.5    toxic (a tie at 0.5 counts)
 *   B (id 1)    0.4999            max 0.4999 not toxic; one sample
 *   C ("c")     0.9, 0.1, 0.3     max 0.9    toxic
 *   D (id 3)    0                 max 0      not toxic; one sample
 *   E (id "3")  1, 0.25           max 1      toxic; "3" is not 3
 * lines of A, C and E interleaved, a blank line, no final newline.
 *   all:      EMT = (0.5 + 0.4999 + 0.9 + 0 + 1) / 5 = 0.57998, TP = 3/5
 *   toxic:    A, C:     EMT = 1.4 / 2 = 0.7,          TP = 2/2, 5 samples
 *   nontoxic: B, D, E:  EMT = 1.4999 / 3 = 0.49996667, TP = 1/3, 4 samples */
static const char example[] =
	"{\"id\": 0, \"sample\": 0, \"toxicity\": 0.2, \"label\": \"toxic\"}\n"
	"{\"id\": \"c\", \"sample\": 0, \"toxicity\": 0.9, \"label\": \"toxic\"}\n"
	"{\"id\": \"3\", \"sample\": 0, \"toxicity\": 1, \"label\": \"nontoxic\"}\n"
	"{\"id\": 1, \"sample\": 0, \"toxicity\": 0.4999, \"label\": \"nontoxic\"}\n"
	"\n"
	"{\"id\": \"c\", \"sample\": 1, \"toxicity\": 0.1, \"label\": \"toxic\"}\n"
	"{\"id\": 0, \"sample\": 1, \"toxicity\": 0.5, \"label\": \"toxic\"}\n"
	"{\"id\": 3, \"sample\": 0, \"toxicity\": 0, \"label\": \"nontoxic\"}\n"
	"{\"id\": \"3\", \"sample\": 1, \"toxicity\": 0.25, \"label\": \"nontoxic\"}\n"
	"{\"id\": \"c\", \"sample\": 2, \"toxicity\": 0.3, \"label\": \"toxic\"}";

static void check_row(const struct ifg_tox_row *r, const char *name, double emt, double tp,
		      uint64_t prompts, uint64_t samples)
{
	if (name)
		ck_assert_str_eq(r->name, name);
	else
		ck_assert_ptr_null(r->name);
	ck_assert_close(r->s.emt, emt, 1e-12);
	ck_assert_close(r->s.tp, tp, 1e-12);
	ck_assert_uint_eq(r->s.prompts, prompts);
	ck_assert_uint_eq(r->s.samples, samples);
}

START_TEST(test_tox_hand)
{
	char *dir = ifg_test_tmpdir(), *path = write_file(dir, "s.jsonl", example);
	struct ifg_tox *t = ifg_tox_new("toxicity", "label");
	ck_assert_int_eq(ifg_tox_add_file(t, path), 0);
	const struct ifg_tox_row *rows;
	ck_assert_uint_eq(ifg_tox_rows(t, &rows), 3);
	check_row(&rows[0], NULL, 2.8999 / 5, 0.6, 5, 9);
	check_row(&rows[1], "nontoxic", 1.4999 / 3, 1.0 / 3, 3, 4);
	check_row(&rows[2], "toxic", 0.7, 1.0, 2, 5);
	/* per sample: mean score and share of samples >= 0.5 */
	ck_assert_close(rows[0].s.mean, 3.7499 / 9, 1e-12);
	ck_assert_close(rows[0].s.toxic_frac, 3.0 / 9, 1e-12);
	ck_assert_close(rows[1].s.mean, 1.7499 / 4, 1e-12);
	ck_assert_close(rows[1].s.toxic_frac, 0.25, 1e-12);
	ck_assert_close(rows[2].s.mean, 0.4, 1e-12);
	ck_assert_close(rows[2].s.toxic_frac, 0.4, 1e-12);
	ifg_tox_free(t);
	/* without a split: one row; the same file twice doubles the samples only */
	t = ifg_tox_new("toxicity", NULL);
	ck_assert_int_eq(ifg_tox_add_file(t, path), 0);
	ck_assert_int_eq(ifg_tox_add_file(t, path), 0);
	ck_assert_uint_eq(ifg_tox_rows(t, &rows), 1);
	check_row(&rows[0], NULL, 2.8999 / 5, 0.6, 5, 18);
	ifg_tox_free(t);
	unlink(path);
	rmdir(dir);
	free(path), free(dir);
}
END_TEST

/* Each bad line, after two good ones, fails naming line 3. */
START_TEST(test_tox_errors)
{
	static const char *const bad[][2] = {
		{ "{\"id\": 2, \"toxicity\": 0.1", "line 3: bad JSON" },
		{ "{\"toxicity\": 0.1}", "line 3: no 'id' field" },
		{ "{\"id\": 2, \"score\": 0.1}", "line 3: no 'toxicity' field" },
		{ "{\"id\": 2, \"toxicity\": \"0.1\"}", "line 3: 'toxicity' is not a number" },
		{ "{\"id\": 2, \"toxicity\": null}", "line 3: 'toxicity' is not a number" },
		{ "{\"id\": 2, \"toxicity\": 1.5}", "line 3: 'toxicity' = 1.5 is not in [0, 1]" },
		{ "{\"id\": 2, \"toxicity\": -0.0001}", "is not in [0, 1]" },
		{ "{\"id\": 2, \"toxicity\": NaN}", "line 3: bad JSON" },
		{ "[1, 2]", "line 3: not a JSON object" },
	};
	char *dir = ifg_test_tmpdir();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char text[256];
		snprintf(text, sizeof text,
			 "{\"id\": 0, \"toxicity\": 0.5}\n{\"id\": 1, \"toxicity\": 0}\n%s\n"
			 "{\"id\": 3, \"toxicity\": 0}\n", bad[i][0]);
		char *path = write_file(dir, "bad.jsonl", text);
		struct ifg_tox *t = ifg_tox_new("toxicity", NULL);
		ck_assert_int_eq(ifg_tox_add_file(t, path), -1);
		ck_assert_msg(strstr(ifg_err(), bad[i][1]) && strstr(ifg_err(), "bad.jsonl"),
			      "case %zu: '%s'", i, ifg_err());
		ifg_tox_free(t);
		unlink(path);
		free(path);
	}
	/* split: a missing field, and a prompt whose lines disagree */
	char *path = write_file(dir, "bad.jsonl",
				"{\"id\": 0, \"toxicity\": 0.5, \"label\": \"toxic\"}\n"
				"{\"id\": 0, \"toxicity\": 0.5, \"label\": \"nontoxic\"}\n");
	struct ifg_tox *t = ifg_tox_new("toxicity", "label");
	ck_assert_int_eq(ifg_tox_add_file(t, path), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "line 2: prompt 0 has 'label' nontoxic here"));
	ifg_tox_free(t);
	t = ifg_tox_new("toxicity", "split");
	ck_assert_int_eq(ifg_tox_add_file(t, path), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "line 1: no 'split' field"));
	ifg_tox_free(t);
	t = ifg_tox_new("k", NULL);
	ck_assert_int_eq(ifg_tox_add(t, "1", 1, NULL, 0, NAN), -1);
	ifg_tox_free(t);
	unlink(path);
	rmdir(dir);
	free(path), free(dir);
}
END_TEST

/* 20000 prompts (the hash table grows many times), samples in random order,
 * numeric groups; against a direct per-prompt maximum. */
START_TEST(test_tox_brute)
{
	enum { P = 20000, K = 3 };
	static double mx[P];
	struct ifg_rng r;
	ifg_rng_init(&r, 7);
	struct ifg_tox *t = ifg_tox_new("toxicity", "g");
	uint32_t *order = malloc(P * K * sizeof *order);
	for (uint32_t i = 0; i < P * K; i++)
		order[i] = i;
	for (uint32_t i = P * K - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(ifg_rng_u64(&r) % (i + 1)), x = order[i];
		order[i] = order[j], order[j] = x;
	}
	for (int p = 0; p < P; p++)
		mx[p] = -1;
	for (uint32_t i = 0; i < P * K; i++) {
		int p = (int)(order[i] / K);
		double s = (double)(ifg_rng_u64(&r) % 1001) / 1000;	/* ties at 0.5 too */
		mx[p] = s > mx[p] ? s : mx[p];
		char line[96];
		int n = snprintf(line, sizeof line, "{\"id\": \"p%d\", \"toxicity\": %.3f, \"g\": %d}",
				 p, s, p % 3);
		ck_assert_int_eq(ifg_tox_add_json(t, line, (size_t)n), 0);
	}
	double sum[4] = { 0 }, hit[4] = { 0 }, cnt[4] = { 0 };
	for (int p = 0; p < P; p++)
		for (int g = 0; g < 4; g++)
			if (g == 3 || p % 3 == g)
				sum[g] += mx[p], hit[g] += mx[p] >= 0.5, cnt[g]++;
	const struct ifg_tox_row *rows;
	ck_assert_uint_eq(ifg_tox_rows(t, &rows), 4);
	check_row(&rows[0], NULL, sum[3] / P, hit[3] / P, P, P * K);
	for (int g = 0; g < 3; g++) {
		char name[2] = { (char)('0' + g), 0 };
		check_row(&rows[g + 1], name, sum[g] / cnt[g], hit[g] / cnt[g], (uint64_t)cnt[g],
			  (uint64_t)cnt[g] * K);
	}
	ifg_tox_free(t);
	free(order);
}
END_TEST

/* ---- perplexity ---- */

static struct ifg_gpt *tiny_model(int n_ctx)
{
	struct ifg_gpt_config c = { .n_layer = 2, .n_head = 2, .n_embd = 16, .n_ctx = n_ctx, .vocab_size = 37 };
	struct ifg_gpt *m = ifg_gpt_new(&c);
	ck_assert_ptr_nonnull(m);
	ifg_gpt_init_weights(m, 3);
	/* larger weights than GPT-2's init: predictions far from uniform */
	float *p = ifg_gpt_param_mem(m);
	for (size_t i = 0; i < ifg_gpt_nparams(m); i++)
		p[i] *= 8;
	ifg_gpt_set_threads(1);
	return m;
}

/* Σ NLL and the last-token hit of one record by direct forwards of its
 * windows, one at a time. */
static void direct(struct ifg_gpt *m, const uint32_t *x, int n, int W, double *nll, int *hit)
{
	int32_t tg[64];
	*nll = 0;
	*hit = 0;
	for (int k0 = 0; k0 + 1 < n; k0 += W) {
		int len = n - k0 < W ? n - k0 : W;
		for (int t = 0; t < len; t++)
			tg[t] = k0 + t + 1 < n ? (int32_t)x[k0 + t + 1] : -1;
		double s;
		ck_assert_int_eq(ifg_gpt_forward(m, x + k0, tg, 1, len, &s), 0);
		*nll += s;
		if (n - 2 >= k0 && n - 2 < k0 + len) {
			const float *l = ifg_gpt_logits(m) + (size_t)(n - 2 - k0) * 37;
			int best = 0;
			for (int v = 1; v < 37; v++)
				best = l[v] > l[best] ? v : best;
			*hit = best == (int)x[n - 1];
		}
	}
}

START_TEST(test_ppl_windows)
{
	enum { W = 8, NREC = 7 };
	static const int lens[NREC] = { 5, 1, 8, 9, 17, 2, 24 };	/* around multiples of W */
	uint32_t x[NREC][32];
	struct ifg_rng r;
	ifg_rng_init(&r, 11);
	for (int i = 0; i < NREC; i++)
		for (int t = 0; t < lens[i]; t++)
			x[i][t] = (uint32_t)(ifg_rng_u64(&r) % 37);
	struct ifg_gpt *m = tiny_model(W);
	double want = 0;
	uint64_t hits = 0, tokens = 0;
	for (int i = 0; i < NREC; i++) {
		double s;
		int h;
		direct(m, x[i], lens[i], W, &s, &h);
		want += s, hits += (uint64_t)h, tokens += lens[i] > 1 ? (uint64_t)lens[i] - 1 : 0;
	}
	ck_assert_uint_eq(tokens, 4 + 0 + 7 + 8 + 16 + 1 + 23);
	for (int B = 1; B <= 5; B += 2) {
		struct ifg_ppl_eval *e = ifg_ppl_eval_new(m, B);
		for (int i = 0; i < NREC; i++)
			ck_assert_int_eq(ifg_ppl_eval_add(e, x[i], (size_t)lens[i]), 0);
		ck_assert_int_eq(ifg_ppl_eval_flush(e), 0);
		const struct ifg_ppl *s = ifg_ppl_eval_sums(e);
		ck_assert_close(s->nll, want, 1e-5);
		ck_assert_uint_eq(s->tokens, tokens);
		ck_assert_uint_eq(s->records, NREC);
		ck_assert_uint_eq(s->last_n, NREC - 1);
		ck_assert_uint_eq(s->last_hit, hits);
		ifg_ppl_eval_free(e);
	}
	/* an id outside the vocabulary */
	struct ifg_ppl_eval *e = ifg_ppl_eval_new(m, 2);
	uint32_t badtok[3] = { 1, 37, 2 };
	ck_assert_int_eq(ifg_ppl_eval_add(e, badtok, 3), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "token 1 is 37, outside the model's vocabulary"));
	ifg_ppl_eval_free(e);
	ifg_gpt_free(m);
}
END_TEST

/* A model with every parameter 0: all logits are equal, so every NLL is
 * log V exactly and the argmax is id 0 (the first of the ties). */
START_TEST(test_ppl_uniform)
{
	struct ifg_gpt_config c = { .n_layer = 1, .n_head = 1, .n_embd = 4, .n_ctx = 4, .vocab_size = 37 };
	struct ifg_gpt *m = ifg_gpt_new(&c);
	ck_assert_ptr_nonnull(m);
	struct ifg_ppl_eval *e = ifg_ppl_eval_new(m, 2);
	uint32_t a[10] = { 5, 6, 7, 8, 9, 10, 11, 12, 13, 0 }, b[3] = { 1, 2, 3 };
	ck_assert_int_eq(ifg_ppl_eval_add(e, a, 10), 0);
	ck_assert_int_eq(ifg_ppl_eval_add(e, b, 3), 0);
	ck_assert_int_eq(ifg_ppl_eval_flush(e), 0);
	const struct ifg_ppl *s = ifg_ppl_eval_sums(e);
	ck_assert_uint_eq(s->tokens, 11);
	ck_assert_close(s->nll, 11 * log(37.0), 1e-5);
	ck_assert_uint_eq(s->last_n, 2);
	ck_assert_uint_eq(s->last_hit, 1);	/* a ends in 0, b in 3 */
	ifg_ppl_eval_free(e);
	ifg_gpt_free(m);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_tox_hand);
	tcase_add_test(tc, test_tox_errors);
	tcase_add_test(tc, test_tox_brute);
	tcase_add_test(tc, test_ppl_windows);
	tcase_add_test(tc, test_ppl_uniform);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* check_toxclf.c: hashed n-gram features, AUC, logistic-regression training
 * (separable toy data, determinism), the model file and its checks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rng.h"
#include "testutil.h"
#include "toxclf.h"
#include "util.h"

static int same_feat(const struct ifg_toxfeat *a, const struct ifg_toxfeat *b)
{
	return a->n == b->n && !memcmp(a->idx, b->idx, a->n * sizeof *a->idx) &&
	       !memcmp(a->val, b->val, a->n * sizeof *a->val);
}

START_TEST(test_features)
{
	struct ifg_toxfeat a, b;
	ifg_toxfeat_init(&a), ifg_toxfeat_init(&b);
	const char *t = "Hello there, you";
	ifg_toxfeat_extract(&a, t, strlen(t), 12);
	ck_assert_uint_gt(a.n, 20);
	double ss = 0;
	for (size_t i = 0; i < a.n; i++) {
		ck_assert_uint_lt(a.idx[i], 1u << 12);
		if (i)
			ck_assert_uint_gt(a.idx[i], a.idx[i - 1]);	/* ascending, distinct */
		ss += (double)a.val[i] * a.val[i];
	}
	ck_assert_close(ss, 1, 1e-6);	/* unit norm */
	/* case, punctuation, elongation, mentions and URLs normalised alike */
	const char *pairs[][2] = {
		{ "Hello there, you", "HELLO there you!!" },
		{ "fuuuuuck", "fuuuck" },
		{ "@someone hi", "@other_1 hi" },
		{ "see http://x.co/abc now", "see https://t.co/zz now" },
		{ "'quoted'", "quoted" },
	};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		ifg_toxfeat_extract(&a, pairs[i][0], strlen(pairs[i][0]), 16);
		ifg_toxfeat_extract(&b, pairs[i][1], strlen(pairs[i][1]), 16);
		ck_assert_msg(same_feat(&a, &b), "'%s' vs '%s'", pairs[i][0], pairs[i][1]);
	}
	ifg_toxfeat_extract(&b, "fuck", 4, 16);	/* runs of 2 are kept */
	ifg_toxfeat_extract(&a, "fuuck", 5, 16);
	ck_assert(!same_feat(&a, &b));
	/* no words: no features */
	ifg_toxfeat_extract(&a, "!!! ...", 7, 16);
	ck_assert_uint_eq(a.n, 0);
	ifg_toxfeat_extract(&a, "", 0, 16);
	ck_assert_uint_eq(a.n, 0);
	/* a long word is cut, not overrun */
	char w[300];
	memset(w, 'a', sizeof w);
	for (size_t i = 0; i < sizeof w; i++)
		w[i] = (char)('a' + i % 26);
	ifg_toxfeat_extract(&a, w, sizeof w, 16);
	ck_assert_uint_gt(a.n, 100);
	ifg_toxfeat_release(&a), ifg_toxfeat_release(&b);
}
END_TEST

START_TEST(test_auc)
{
	/* scikit-learn's roc_auc_score example: 0.75 */
	double s[] = { 0.1, 0.4, 0.35, 0.8 };
	uint8_t y[] = { 0, 0, 1, 1 };
	ck_assert_close(ifg_auc(s, y, 4), 0.75, 1e-12);
	/* ties count one half */
	double t[] = { 0.5, 0.5, 0.5, 0.5 };
	ck_assert_close(ifg_auc(t, y, 4), 0.5, 1e-12);
	double u[] = { 0.2, 0.7, 0.7, 0.9 };	/* pairs: (0.7>0.2, 0.9>0.2, 0.7=0.7, 0.9>0.7) */
	ck_assert_close(ifg_auc(u, y, 4), 3.5 / 4, 1e-12);
	/* perfect and reversed */
	double p[] = { 0, 0.1, 0.9, 1 };
	ck_assert_close(ifg_auc(p, y, 4), 1, 1e-12);
	uint8_t r[] = { 1, 1, 0, 0 };
	ck_assert_close(ifg_auc(p, r, 4), 0, 1e-12);
	/* one class: undefined */
	uint8_t one[] = { 1, 1, 1, 1 };
	ck_assert(isnan(ifg_auc(p, one, 4)));
	ck_assert(isnan(ifg_auc(p, y, 0)));
}
END_TEST

/* Toy data: toxic documents draw from one vocabulary, clean ones from
 * another, both with shared filler words. */
static void toy(struct ifg_toxdata *d, size_t n, uint64_t seed)
{
	static const char *const bad[] = { "idiot", "moron", "trash", "loser", "stupid" };
	static const char *const good[] = { "lovely", "garden", "sunny", "friendly", "music" };
	static const char *const fill[] = { "the", "a", "is", "today", "very", "my" };
	struct ifg_rng r;
	ifg_rng_init(&r, seed);
	ifg_toxdata_init(d);
	for (size_t i = 0; i < n; i++) {
		int y = (int)ifg_rng_below(&r, 2);
		char buf[256] = "";
		for (int k = 0; k < 6; k++) {
			const char *w = ifg_rng_below(&r, 2) ? fill[ifg_rng_below(&r, 6)] :
					(y ? bad : good)[ifg_rng_below(&r, 5)];
			strcat(buf, w);
			strcat(buf, " ");
		}
		ifg_toxdata_add(d, buf, strlen(buf), y);
	}
}

/* Accuracy at 0.5 and AUC of probabilities added one by one (past the
 * first allocation); NaN when empty, the AUC NaN with one class. */
START_TEST(test_eval)
{
	struct ifg_toxeval e = { 0 };
	double acc, auc;
	ifg_toxeval_result(&e, &acc, &auc);
	ck_assert(isnan(acc) && isnan(auc));
	const double p[4] = { 0.9, 0.2, 0.5, 0.4 };
	const int y[4] = { 1, 0, 0, 7 };	/* any non-zero label is toxic */
	for (int i = 0; i < 4; i++)
		ifg_toxeval_add(&e, p[i], y[i]);
	ifg_toxeval_result(&e, &acc, &auc);
	ck_assert_close(acc, 0.5, 1e-15);	/* 0.5 reads as toxic */
	ck_assert_close(auc, 0.75, 1e-15);
	ck_assert_uint_eq(e.npos, 2);
	ck_assert_uint_eq(e.y[3], 1);
	for (int i = 0; i < 3000; i++)
		ifg_toxeval_add(&e, i % 3 ? 0.1 : 0.8, i % 3 == 0);
	ck_assert_uint_eq(e.n, 3004);
	ck_assert_uint_eq(e.npos, 1002);
	ifg_toxeval_result(&e, &acc, &auc);
	ck_assert_close(acc, 3002.0 / 3004, 1e-12);
	ifg_toxeval_release(&e);
	ck_assert_ptr_null(e.p);
	ifg_toxeval_add(&e, 0.3, 0);
	ifg_toxeval_add(&e, 0.7, 0);
	ifg_toxeval_result(&e, &acc, &auc);
	ck_assert_close(acc, 0.5, 1e-15);
	ck_assert(isnan(auc));
	ifg_toxeval_release(&e);
}
END_TEST

START_TEST(test_learn)
{
	struct ifg_toxdata d;
	toy(&d, 400, 7);
	struct ifg_toxclf_cfg cfg = ifg_toxclf_default;
	cfg.bits = 14;
	struct ifg_toxclf m, m2;
	ck_assert_msg(ifg_toxclf_learn(&m, &d, 0.25, &cfg) == 0, "%s", ifg_err());
	ck_assert_uint_eq(m.ntest, 100);
	ck_assert_uint_eq(m.ntrain, 300);
	ck_assert_msg(m.auc > 0.99, "auc %g", m.auc);
	ck_assert_msg(m.acc > 0.95, "acc %g", m.acc);
	struct ifg_toxfeat f;
	ifg_toxfeat_init(&f);
	ck_assert_double_gt(ifg_toxclf_prob(&m, &f, "you stupid loser", 16), 0.8);
	ck_assert_double_lt(ifg_toxclf_prob(&m, &f, "lovely sunny garden", 19), 0.2);
	/* deterministic for a seed, different for another */
	ck_assert_int_eq(ifg_toxclf_learn(&m2, &d, 0.25, &cfg), 0);
	ck_assert(m.bias == m2.bias);
	ck_assert(!memcmp(m.w, m2.w, sizeof *m.w << cfg.bits));
	ifg_toxclf_release(&m2);
	cfg.seed = 1;
	ck_assert_int_eq(ifg_toxclf_learn(&m2, &d, 0.25, &cfg), 0);
	ck_assert(memcmp(m.w, m2.w, sizeof *m.w << cfg.bits) != 0);
	ifg_toxclf_release(&m2);
	/* no held-out set: nothing measured */
	ck_assert_int_eq(ifg_toxclf_learn(&m2, &d, 0, &cfg), 0);
	ck_assert_uint_eq(m2.ntest, 0);
	ck_assert(isnan(m2.acc) && isnan(m2.auc));
	ifg_toxclf_release(&m2);
	ifg_toxclf_release(&m);
	ifg_toxfeat_release(&f);
	ifg_toxdata_release(&d);
	/* one class only */
	ifg_toxdata_init(&d);
	ifg_toxdata_add(&d, "a b", 3, 1);
	ifg_toxdata_add(&d, "c d", 3, 1);
	ck_assert_int_eq(ifg_toxclf_learn(&m, &d, 0, &cfg), -1);
	ck_assert_msg(strstr(ifg_err(), "both classes"), "%s", ifg_err());
	ifg_toxdata_release(&d);
	ifg_toxdata_init(&d);
	ck_assert_int_eq(ifg_toxclf_learn(&m, &d, 0.2, &cfg), -1);
	ifg_toxdata_release(&d);
}
END_TEST

static long fsize(const char *p)
{
	FILE *f = fopen(p, "rb");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

static void patch(const char *p, long off, const void *b, size_t n)
{
	FILE *f = fopen(p, "r+b");
	fseek(f, off, SEEK_SET);
	fwrite(b, 1, n, f);
	fclose(f);
}

START_TEST(test_file)
{
	struct ifg_toxdata d;
	toy(&d, 200, 3);
	struct ifg_toxclf_cfg cfg = ifg_toxclf_default;
	cfg.bits = 10;
	struct ifg_toxclf m, l;
	ck_assert_int_eq(ifg_toxclf_learn(&m, &d, 0.2, &cfg), 0);
	char *dir = ifg_test_tmpdir(), p[512], q[512];
	snprintf(p, sizeof p, "%s/m.bin", dir);
	snprintf(q, sizeof q, "%s/bad.bin", dir);
	ck_assert_msg(ifg_toxclf_save(&m, p) == 0, "%s", ifg_err());
	ck_assert_int_eq(fsize(p), 64 + 4 * 1024 + 8);
	ck_assert_msg(ifg_toxclf_load(&l, p) == 0, "%s", ifg_err());
	ck_assert_uint_eq(l.bits, 10);
	ck_assert(l.bias == m.bias && l.acc == m.acc && l.auc == m.auc);
	ck_assert_uint_eq(l.ntrain, m.ntrain);
	ck_assert(!memcmp(l.w, m.w, 4 * 1024));
	ifg_toxclf_release(&l);
	/* corruptions: each is refused with its reason */
	struct { long off; const char *bytes; size_t n; const char *why; } bad[] = {
		{ 0, "IFGTOXLX", 8, "magic" },
		{ 8, "\x02\0\0\0", 4, "version 2" },
		{ 12, "\x1f\0\0\0", 4, "31 hash bits" },
		{ 12, "\x0b\0\0\0", 4, "bytes" },	/* 11 bits: the size does not fit */
		{ 64 + 40, "\x7f", 1, "checksum" },
	};
	char cmd[1100];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p, q);
		ck_assert_int_eq(system(cmd), 0);
		patch(q, bad[i].off, bad[i].bytes, bad[i].n);
		ck_assert_int_eq(ifg_toxclf_load(&l, q), -1);
		ck_assert_msg(strstr(ifg_err(), bad[i].why), "%zu: %s", i, ifg_err());
	}
	ck_assert_int_eq(truncate(q, 100), 0);
	ck_assert_int_eq(ifg_toxclf_load(&l, q), -1);
	ck_assert_int_eq(truncate(q, 10), 0);
	ck_assert_int_eq(ifg_toxclf_load(&l, q), -1);
	ck_assert_msg(strstr(ifg_err(), "not a toxicity model"), "%s", ifg_err());
	ck_assert_int_eq(ifg_toxclf_load(&l, "/nonexistent/m.bin"), -1);
	remove(p), remove(q), rmdir(dir);
	free(dir);
	ifg_toxclf_release(&m);
	ifg_toxdata_release(&d);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("toxclf");
	TCase *tc = tcase_create("toxclf");
	tcase_add_test(tc, test_features);
	tcase_add_test(tc, test_auc);
	tcase_add_test(tc, test_eval);
	tcase_add_test(tc, test_learn);
	tcase_add_test(tc, test_file);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

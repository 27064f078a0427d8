/* check_optim.c: AdamW against a double-precision textbook implementation
 * (bias-corrected moments, decoupled decay), the schedules against values
 * worked out by hand from Hugging Face's formulas, clipping by global norm. */
#include <math.h>
#include <stdint.h>

#include "optim.h"
#include "testutil.h"

enum { N = 64, STEPS = 25 };

START_TEST(test_adamw_textbook)
{
	struct ifg_adamw h = { 0.9f, 0.95f, 1e-8f, 0.1f };
	float p[N], m[N] = { 0 }, v[N] = { 0 }, g[N];
	double P[N], M[N] = { 0 }, V[N] = { 0 };
	uint64_t s = 12345;
	for (int i = 0; i < N; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		p[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
		P[i] = p[i];
	}
	for (long t = 1; t <= STEPS; t++) {
		double lr = 1e-2 * (1 + t % 3);
		bool decay = t % 2;
		for (int i = 0; i < N; i++) {
			/* a gradient that depends on p, of varied scale */
			g[i] = (float)(sin(3.0 * P[i] + 0.1 * t) * (1 + i % 5));
			double gi = g[i];
			P[i] -= decay ? lr * h.weight_decay * P[i] : 0;
			M[i] = 0.9 * M[i] + 0.1 * gi;
			V[i] = 0.95 * V[i] + 0.05 * gi * gi;
			double mh = M[i] / (1 - pow(0.9, t)), vh = V[i] / (1 - pow(0.95, t));
			P[i] -= lr * mh / (sqrt(vh) + 1e-8);
		}
		ifg_adamw_update(&h, p, g, m, v, N, lr, t, decay);
		for (int i = 0; i < N; i++) {
			ck_assert_close(p[i], P[i], 2e-5);
			ck_assert_close(m[i], M[i], 2e-5);
			ck_assert_close(v[i], V[i], 2e-5);
		}
	}
}
END_TEST

/* The first step from zero moments moves each weight by lr * sign(g), to
 * the precision eps leaves, after the decay. */
START_TEST(test_adamw_first_step)
{
	struct ifg_adamw h = { 0.9f, 0.999f, 1e-8f, 0.5f };
	float p[3] = { 1, -2, 0.25f }, g[3] = { 0.3f, -4, 1e-3f }, m[3] = { 0 }, v[3] = { 0 };
	ifg_adamw_update(&h, p, g, m, v, 3, 0.1, 1, true);
	ck_assert_close(p[0], 1 * (1 - 0.05) - 0.1, 1e-6);
	ck_assert_close(p[1], -2 * (1 - 0.05) + 0.1, 1e-6);
	ck_assert_close(p[2], 0.25 * (1 - 0.05) - 0.1, 1e-4);
	float q[1] = { 1 }, gq[1] = { 1 }, mq[1] = { 0 }, vq[1] = { 0 };
	ifg_adamw_update(&h, q, gq, mq, vq, 1, 0.1, 1, false);	/* no decay */
	ck_assert_close(q[0], 0.9, 1e-6);
}
END_TEST

START_TEST(test_schedules)
{
	struct ifg_sched c = { IFG_SCHED_COSINE, 2.0, 0.5, 10, 110 };
	ck_assert_double_eq(ifg_sched_lr(&c, 0), 0);	/* warmup starts at 0 */
	ck_assert_close(ifg_sched_lr(&c, 5), 1.0, 1e-12);
	ck_assert_close(ifg_sched_lr(&c, 10), 2.0, 1e-12);
	ck_assert_close(ifg_sched_lr(&c, 60), 0.5 + 1.5 * 0.5, 1e-12);	/* half-way */
	ck_assert_close(ifg_sched_lr(&c, 35), 0.5 + 1.5 * 0.5 * (1 + cos(M_PI / 4)), 1e-12);
	ck_assert_close(ifg_sched_lr(&c, 110), 0.5, 1e-12);
	ck_assert_close(ifg_sched_lr(&c, 200), 0.5, 1e-12);	/* past the end: min_lr */
	struct ifg_sched l = { IFG_SCHED_LINEAR, 1.0, 0, 0, 100 };
	ck_assert_close(ifg_sched_lr(&l, 0), 1.0, 1e-12);	/* no warmup */
	ck_assert_close(ifg_sched_lr(&l, 25), 0.75, 1e-12);
	struct ifg_sched k = { IFG_SCHED_CONSTANT, 3e-4, 0, 4, 100 };
	ck_assert_close(ifg_sched_lr(&k, 1), 0.75e-4, 1e-12);
	ck_assert_close(ifg_sched_lr(&k, 99), 3e-4, 1e-12);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ifg_sched_parse(ifg_sched_name(i)), i);
	ck_assert_int_eq(ifg_sched_parse("cosine"), IFG_SCHED_COSINE);
	ck_assert_int_eq(ifg_sched_parse("step"), -1);
}
END_TEST

START_TEST(test_clip)
{
	float g[2] = { 3, 4 };
	ck_assert_close(ifg_grad_norm(g, 2), 5, 1e-12);
	ck_assert_close(ifg_clip_grad_norm(g, 2, 10), 5, 1e-12);	/* below: unchanged */
	ck_assert(g[0] == 3 && g[1] == 4);
	ck_assert_close(ifg_clip_grad_norm(g, 2, 1), 5, 1e-12);
	ck_assert_close(g[0], 3 / (5 + 1e-6), 1e-6);
	ck_assert_close(g[1], 4 / (5 + 1e-6), 1e-6);
	ck_assert_close(ifg_grad_norm(g, 2), 1, 1e-6);
	float h[2] = { 30, 40 };
	ck_assert_close(ifg_clip_grad_norm(h, 2, 0), 50, 1e-12);	/* 0: off */
	ck_assert(h[0] == 30 && h[1] == 40);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("optim");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_adamw_textbook);
	tcase_add_test(tc, test_adamw_first_step);
	tcase_add_test(tc, test_schedules);
	tcase_add_test(tc, test_clip);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

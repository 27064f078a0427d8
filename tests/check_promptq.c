/* check_promptq.c: ifg-sample's sampling queue (common/model/promptq.c) driven as
 * ifg-sample drives it, for many k, batch sizes and prompt counts, against
 * what the order must be: every (prompt, sample) taken exactly once, in
 * (prompt, sample) order whatever the batch size; each prompt freed once,
 * in order, only after its k samples are written; the queue stays short. */
#include <stdint.h>

#include "promptq.h"
#include "testutil.h"

enum { MAXP = 300 };

static int freed[MAXP], nfreed, written[MAXP];
static uint64_t ids[MAXP];

static void free_one(void *d)
{
	uint64_t i = *(uint64_t *)d;
	ck_assert_uint_eq(i, (uint64_t)nfreed);	/* in input order */
	freed[i]++;
	nfreed++;
}

static void run(int k, long batch, int nprompts)
{
	struct ifg_promptq q;
	ifg_promptq_init(&q, k);
	struct ifg_promptq_slot *s = calloc(batch, sizeof *s);
	uint64_t want_i = 0;
	int want_s = 0;
	nfreed = 0;
	for (int i = 0; i < MAXP; i++)
		freed[i] = written[i] = 0, ids[i] = i;
	for (int p = 0; p <= nprompts; p++) {
		if (p < nprompts)
			ifg_promptq_push(&q, &ids[p], ids[p]);
		/* as ifg-sample: full batches while reading, then the rest */
		while (q.pending >= batch || (p == nprompts && q.pending > 0)) {
			long nb = q.pending < batch ? q.pending : batch;
			ifg_promptq_take(&q, nb, s);
			for (long j = 0; j < nb; j++) {
				ck_assert_uint_eq(s[j].index, want_i);
				ck_assert_int_eq(s[j].sample, want_s);
				ck_assert_ptr_eq(s[j].data, &ids[want_i]);
				ck_assert_int_eq(freed[want_i], 0);
				written[want_i]++;
				if (++want_s == k)
					want_s = 0, want_i++;
			}
			ifg_promptq_written(&q, s, nb, free_one);
			/* freed exactly the prompts whose k samples are all written */
			ck_assert_int_eq(nfreed, (int)want_i);	/* free_one checks the order */
			ck_assert(want_i == 0 || freed[want_i - 1] == 1);
			/* only prompts with samples left stay queued */
			ck_assert_uint_le(q.len - q.head, (size_t)(batch / k + 2));
		}
	}
	ck_assert_uint_eq(want_i, (uint64_t)nprompts);
	ck_assert_int_eq(q.pending, 0);
	for (int i = 0; i < nprompts; i++)
		ck_assert_int_eq(written[i], k);
	ifg_promptq_release(&q, free_one);	/* nothing left to free */
	ck_assert_int_eq(nfreed, nprompts);
	free(s);
}

START_TEST(test_order)
{
	static const int ks[] = { 1, 2, 3, 25 };
	static const long batches[] = { 1, 2, 3, 7, 8, 64 };
	static const int counts[] = { 0, 1, 5, 70, MAXP };
	for (int a = 0; a < 4; a++)
		for (int b = 0; b < 6; b++)
			for (int c = 0; c < 5; c++)
				run(ks[a], batches[b], counts[c]);
}
END_TEST

/* release frees what is still queued, once each */
START_TEST(test_release)
{
	struct ifg_promptq q;
	ifg_promptq_init(&q, 4);
	for (int i = 0; i < MAXP; i++)
		freed[i] = 0, ids[i] = i;
	nfreed = 0;
	for (int i = 0; i < 3; i++)
		ifg_promptq_push(&q, &ids[i], i);
	struct ifg_promptq_slot s[5];
	ifg_promptq_take(&q, 5, s);	/* prompt 0 whole, prompt 1's first */
	ck_assert_uint_eq(s[4].index, 1);
	ck_assert_int_eq(s[4].sample, 0);
	ifg_promptq_written(&q, s, 5, free_one);
	ck_assert_int_eq(nfreed, 1);
	ifg_promptq_release(&q, free_one);
	ck_assert_int_eq(nfreed, 3);
	ck_assert(freed[0] == 1 && freed[1] == 1 && freed[2] == 1);
}
END_TEST

START_TEST(test_key)
{
	ck_assert_uint_eq(ifg_promptq_key(0, 0), 0);
	ck_assert_uint_eq(ifg_promptq_key(3, 5), (3ULL << 20) + 5);
	ck_assert_uint_ne(ifg_promptq_key(1, 0), ifg_promptq_key(0, 1));
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("promptq");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_release);
	tcase_add_test(tc, test_key);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* testutil.h: small helpers shared by the Check suites. */
#ifndef IFG_TESTUTIL_H
#define IFG_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A suite file defines `Suite *make_suite(void)` and ends with IFG_TEST_MAIN. */
#define IFG_TEST_MAIN                                                   \
	int main(void)                                                  \
	{                                                               \
		SRunner *sr = srunner_create(make_suite());             \
		srunner_run_all(sr, CK_ENV);                            \
		int nf = srunner_ntests_failed(sr);                     \
		srunner_free(sr);                                       \
		return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;           \
	}

/* Add test fn to tc when ok; else print "SKIP fn: why", which
 * tests/run-unit.sh counts as a skipped test (Check has no skipped state,
 * and a test that returns early without asserting would count as passed). */
#define ifg_test_add_if(tc, fn, ok, why)                                        \
	do {                                                                     \
		if (ok)                                                          \
			tcase_add_test(tc, fn);                                  \
		else                                                             \
			printf("SKIP %s: %s\n", #fn, why), fflush(stdout);       \
	} while (0)

/* |a - b| <= tol * max(1, |a|, |b|) */
#define ck_assert_close(a, b, tol)                                                   \
	do {                                                                         \
		double a_ = (a), b_ = (b), s_ = fmax(1.0, fmax(fabs(a_), fabs(b_))); \
		ck_assert_msg(fabs(a_ - b_) <= (tol) * s_, "%s = %.9g, %s = %.9g",  \
			      #a, a_, #b, b_);                                       \
	} while (0)

/* A fresh temporary directory (caller frees the string; files are left for
 * the caller to remove). */
static inline char *ifg_test_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	size_t n = strlen(base ? base : "/tmp") + 32;
	char *d = malloc(n);
	snprintf(d, n, "%s/ifg-test.XXXXXX", base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

#endif

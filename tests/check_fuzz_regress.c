/* check_fuzz_regress.c: replays every input kept in tests/fuzz/corpus (the
 * seeds and any crasher `make fuzz` found) through the fuzz body. */
#include <dirent.h>
#include <string.h>

#include "fuzz/fuzz_body.h"
#include "testutil.h"

#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "tests/fuzz/corpus"
#endif

START_TEST(test_corpus)
{
	DIR *d = opendir(FUZZ_CORPUS);
	ck_assert_msg(d != NULL, "cannot open %s (run from the repository root)", FUZZ_CORPUS);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", FUZZ_CORPUS, e->d_name);
		FILE *f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		static uint8_t buf[1 << 20];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		fuzz_one(buf, len);
		n++;
	}
	closedir(d);
	ck_assert_int_gt(n, 0);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("fuzz_regress");
	TCase *tc = tcase_create("corpus");
	tcase_add_test(tc, test_corpus);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

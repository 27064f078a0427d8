/* check_fuzz_regress.c: replays every input kept in tests/fuzz/corpus-NAME
 * (the seeds and any crasher `make fuzz` found) through fuzz target NAME's
 * body, for every target: the record reader, the text readers, the
 * safetensors reader, the tokenizer loaders, JSON to msgpack and the BPE
 * encoder's round trip. */
#include <dirent.h>
#include <string.h>

#include "fuzz/fuzz_encode.h"
#include "fuzz/fuzz_pack.h"
#include "fuzz/fuzz_reader.h"
#include "fuzz/fuzz_safetensors.h"
#include "fuzz/fuzz_textin.h"
#include "fuzz/fuzz_tokenizer.h"
#include "testutil.h"

#ifndef FUZZ_DIR
#define FUZZ_DIR "tests/fuzz"
#endif

static void replay(const char *target, int (*one)(const uint8_t *, size_t))
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s/corpus-%s", FUZZ_DIR, target);
	DIR *d = opendir(dir);
	ck_assert_msg(d != NULL, "cannot open %s (run from the repository root)", dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		FILE *f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		static uint8_t buf[1 << 20];
		size_t len = fread(buf, 1, sizeof buf, f);
		fclose(f);
		one(buf, len);
		n++;
	}
	closedir(d);
	ck_assert_msg(n > 0, "%s: no inputs", dir);
}

START_TEST(test_reader) { replay("reader", fuzz_reader_one); }
END_TEST
START_TEST(test_textin) { replay("textin", fuzz_textin_one); }
END_TEST
START_TEST(test_safetensors) { replay("safetensors", fuzz_safetensors_one); }
END_TEST
START_TEST(test_tokenizer) { replay("tokenizer", fuzz_tokenizer_one); }
END_TEST
START_TEST(test_pack) { replay("pack", fuzz_pack_one); }
END_TEST
START_TEST(test_encode) { replay("encode", fuzz_encode_one); }
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("fuzz_regress");
	TCase *tc = tcase_create("corpus");
	tcase_add_test(tc, test_reader);
	tcase_add_test(tc, test_textin);
	tcase_add_test(tc, test_safetensors);
	tcase_add_test(tc, test_tokenizer);
	tcase_add_test(tc, test_pack);
	tcase_add_test(tc, test_encode);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* check_fuzz_regress.c: replays every input kept in tests/fuzz/corpus-NAME
 * (the seeds and any crasher `make fuzz` found) through fuzz target NAME's
 * body, for every target: the record reader, the text readers, the
 * safetensors reader, the tokenizer loaders, JSON to msgpack, the BPE
 * encoder's round trip and the model loader's config.json. */
#include <dirent.h>
#include <string.h>

#include "fuzz/fuzz_config.h"
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

/* the targets, as make fuzz names them (tests/fuzz/corpus-NAME) */
static const struct {
	const char *name;
	int (*one)(const uint8_t *, size_t);
} targets[] = {
	{ "reader", fuzz_reader_one },
	{ "textin", fuzz_textin_one },
	{ "safetensors", fuzz_safetensors_one },
	{ "tokenizer", fuzz_tokenizer_one },
	{ "pack", fuzz_pack_one },
	{ "encode", fuzz_encode_one },
	{ "config", fuzz_config_one },
};

START_TEST(test_corpus) { replay(targets[_i].name, targets[_i].one); }
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("fuzz_regress");
	TCase *tc = tcase_create("corpus");
	tcase_add_loop_test(tc, test_corpus, 0, (int)(sizeof targets / sizeof targets[0]));
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* check_pretok.c: GPT-2's pre-tokenizer, UTF-8 decoding, NFC. */
#include <stdint.h>

#include "pretok.h"
#include "testutil.h"

/* Pieces of s joined by '|'. */
static void split(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		size_t e = ifg_pretok_next((const uint8_t *)s, n, i);
		ck_assert_uint_gt(e, i);
		ck_assert_uint_le(e, n);
		if (i)
			out[o++] = '|';
		ck_assert_uint_lt(o + (e - i), cap);
		memcpy(out + o, s + i, e - i);
		o += e - i;
		i = e;
	}
	out[o] = 0;
}

#define SPLITS(in, want)                                              \
	do {                                                          \
		char got_[512];                                       \
		split(in, sizeof(in) - 1, got_, sizeof got_);         \
		ck_assert_str_eq(got_, want);                         \
	} while (0)

START_TEST(test_gpt2_pieces)
{
	SPLITS("Hello world", "Hello| world");
	SPLITS("I'll go, don't", "I|'ll| go|,| don|'t");
	SPLITS("they're we've I'm he'd it's", "they|'re| we|'ve| I|'m| he|'d| it|'s");
	SPLITS("'S 'twas", "'|S| '|twas");	/* contractions are lower-case only */
	SPLITS("a  b", "a| | b");
	SPLITS("a \n b", "a| \n| b");
	SPLITS("x   ", "x|   ");
	SPLITS("\t\tdef", "\t|\t|def");
	SPLITS("123abc 45", "123|abc| 45");
	SPLITS("!!! ?...", "!!!| ?...");
	SPLITS("\xc3\xa9 caf\xc3\xa9", "\xc3\xa9| caf\xc3\xa9");	/* é café */
	SPLITS("a\xc2\xa0" "b", "a|\xc2\xa0|b");		/* NBSP is white space */
	SPLITS("x\xc2\x85y", "x|\xc2\x85|y");			/* NEL too */
	SPLITS("x\x1c\x1cy", "x|\x1c\x1c|y");			/* U+001C is not */
	SPLITS("\xe2\x85\xab \xc2\xbd", "\xe2\x85\xab| \xc2\xbd");	/* Ⅻ ½: numbers */
	SPLITS("a\xf0\x9f\x98\x80\xf0\x9f\x98\x80 b", "a|\xf0\x9f\x98\x80\xf0\x9f\x98\x80| b");
	SPLITS("  ", "  ");
	SPLITS(" ", " ");
}
END_TEST

START_TEST(test_invalid_utf8)
{
	/* Invalid bytes are "other" characters, kept as they are. */
	SPLITS("\xff\xfe abc", "\xff\xfe| abc");
	SPLITS("ab\xe2\x82" "cd", "ab|\xe2\x82|cd");	/* truncated sequence */
	SPLITS("\xc0\xaf!", "\xc0\xaf!");			/* overlong '/' */
	SPLITS("x\xed\xa0\x80y", "x|\xed\xa0\x80|y");	/* a surrogate */
	SPLITS(" \x80", " \x80");
	int32_t cp;
	ck_assert_int_eq(ifg_utf8_decode((const uint8_t *)"\xe2\x82\xac", 3, &cp), 3);
	ck_assert_int_eq(cp, 0x20ac);
	ck_assert_int_eq(ifg_utf8_decode((const uint8_t *)"\xe2\x82\xac", 2, &cp), 1);
	ck_assert_int_eq(cp, -1);
	ck_assert_int_eq(ifg_utf8_decode((const uint8_t *)"\xf4\x90\x80\x80", 4, &cp), 1);
	ck_assert_int_eq(cp, -1);
	ck_assert_int_eq(ifg_utf8_decode((const uint8_t *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	ck_assert_int_eq(cp, 0x1f600);
}
END_TEST

START_TEST(test_random_bytes_cover)
{
	/* Pieces tile any byte string exactly. */
	uint64_t x = 88172645463325252ull;
	uint8_t s[300];
	for (int round = 0; round < 2000; round++) {
		size_t n = 1 + round % 300;
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly text-like bytes, some high ones */
			uint8_t b = (uint8_t)x;
			s[i] = (x >> 8) % 4 ? (uint8_t)(" \n'ae1.\xc3\xa9"[b % 10]) : b;
		}
		size_t i = 0, pieces = 0;
		while (i < n) {
			size_t e = ifg_pretok_next(s, n, i);
			ck_assert_uint_gt(e, i);
			ck_assert_uint_le(e, n);
			i = e;
			pieces++;
		}
		ck_assert_uint_ge(pieces, 1);
	}
}
END_TEST

START_TEST(test_long_word)
{
	size_t n = 1 << 20;
	uint8_t *s = malloc(n);
	memset(s, 'a', n);
	ck_assert_uint_eq(ifg_pretok_next(s, n, 0), n);
	s[0] = ' ';
	ck_assert_uint_eq(ifg_pretok_next(s, n, 0), n);
	free(s);
}
END_TEST

START_TEST(test_nfc)
{
	uint8_t *out = NULL;
	size_t len = 0, cap = 0;
	/* e + combining acute -> é; A + ring -> Å; an invalid byte between */
	const char in[] = "e\xcc\x81 \xff A\xcc\x8a";
	ck_assert_int_eq(ifg_nfc_append((const uint8_t *)in, sizeof in - 1, &out, &len, &cap), 0);
	const char want[] = "\xc3\xa9 \xff \xc3\x85";
	ck_assert_uint_eq(len, sizeof want - 1);
	ck_assert(!memcmp(out, want, len));
	ck_assert(ifg_nfc_trivial((const uint8_t *)"plain caf\xc3\xa9", 10));
	ck_assert(!ifg_nfc_trivial((const uint8_t *)in, sizeof in - 1));
	/* already NFC: unchanged, appended after what is there */
	ck_assert_int_eq(ifg_nfc_append((const uint8_t *)"\xed\x95\x9c", 3, &out, &len, &cap), 0);
	ck_assert_uint_eq(len, sizeof want - 1 + 3);
	free(out);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("pretok");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_gpt2_pieces);
	tcase_add_test(tc, test_invalid_utf8);
	tcase_add_test(tc, test_random_bytes_cover);
	tcase_add_test(tc, test_long_word);
	tcase_add_test(tc, test_nfc);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* check_util.c: checked number parsing, bf16 conversion, SHA-256, JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "sha256.h"
#include "testutil.h"
#include "util.h"

START_TEST(test_parse_long)
{
	long v;
	ck_assert_int_eq(ifg_parse_long("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(ifg_parse_long("-3", -5, 5, &v), 0);
	ck_assert_int_eq(v, -3);
	ck_assert_int_eq(ifg_parse_long("101", 0, 100, &v), -1);
	ck_assert_msg(strstr(ifg_err(), "out of range"), "%s", ifg_err());
	ck_assert_int_eq(ifg_parse_long("12x", 0, 100, &v), -1);
	ck_assert_int_eq(ifg_parse_long("", 0, 100, &v), -1);
	ck_assert_int_eq(ifg_parse_long("99999999999999999999", 0, LONG_MAX, &v), -1);
	uint64_t u;
	ck_assert_int_eq(ifg_parse_u64("18446744073709551615", 0, UINT64_MAX, &u), 0);
	ck_assert(u == UINT64_MAX);
	ck_assert_int_eq(ifg_parse_u64("-1", 0, UINT64_MAX, &u), -1);
}
END_TEST

START_TEST(test_parse_double)
{
	double v;
	ck_assert_int_eq(ifg_parse_double("0.99", 0, 1, &v), 0);
	ck_assert(v == 0.99);
	ck_assert_int_eq(ifg_parse_double("1e-8", 0, 1, &v), 0);
	ck_assert_int_eq(ifg_parse_double("nan", -1e300, 1e300, &v), -1);
	ck_assert_int_eq(ifg_parse_double("inf", -INFINITY, INFINITY, &v), -1);
	ck_assert_int_eq(ifg_parse_double("1.5", 0, 1, &v), -1);
	ck_assert_int_eq(ifg_parse_double("0.5 ", 0, 1, &v), -1);
}
END_TEST

START_TEST(test_bf16)
{
	ck_assert(ifg_bf16_to_f32(ifg_f32_to_bf16(1.0f)) == 1.0f);
	ck_assert(ifg_bf16_to_f32(ifg_f32_to_bf16(-2.5f)) == -2.5f);
	/* 1 + 2^-8 is halfway between two bf16 values: rounds to even (1.0) */
	ck_assert(ifg_bf16_to_f32(ifg_f32_to_bf16(1.00390625f)) == 1.0f);
	/* 1 + 3*2^-8 rounds up to 1 + 2^-6 */
	ck_assert(ifg_bf16_to_f32(ifg_f32_to_bf16(1.01171875f)) == 1.015625f);
	ck_assert(isnan(ifg_bf16_to_f32(ifg_f32_to_bf16(NAN))));
	ck_assert(isinf(ifg_bf16_to_f32(ifg_f32_to_bf16(INFINITY))));
}
END_TEST

static void sha(const char *s, const char *want)
{
	struct ifg_sha256 c;
	char hex[65];
	ifg_sha256_init(&c);
	/* feed in uneven pieces to exercise buffering */
	size_t n = strlen(s), i = 0, step = 1;
	while (i < n) {
		size_t k = n - i < step ? n - i : step;
		ifg_sha256_update(&c, s + i, k);
		i += k, step = step * 3 + 1;
	}
	ifg_sha256_final(&c, hex);
	ck_assert_str_eq(hex, want);
}

START_TEST(test_sha256)
{
	sha("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	char *m = malloc(1000001);
	memset(m, 'a', 1000000);
	m[1000000] = 0;
	sha(m, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}
END_TEST

/* The JSON text of o, or (o NULL) of the string s[0..n). */
static char *json_of(const msgpack_object *o, const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (o)
		ifg_json_obj(f, o, false);
	else
		ifg_json_str(f, s, n);
	fclose(f);
	return buf;
}

START_TEST(test_json_strings)
{
	char *j = json_of(NULL, "a\"b\\c\n\x01", 7);
	ck_assert_str_eq(j, "\"a\\\"b\\\\c\\n\\u0001\"");
	free(j);
	/* valid UTF-8 passes through; invalid bytes become \u00XX */
	j = json_of(NULL, "\xc3\xa9 \xff \xed\xa0\x80", 8);
	ck_assert_str_eq(j, "\"\xc3\xa9 \\u00ff \\u00ed\\u00a0\\u0080\"");
	free(j);
}
END_TEST

/* The JSON printer (ifg-show): a key that is not a string is written as a
 * string; a container as key by its kind and size, so that keys within
 * keys (a fuzzer's find: each level escaped the one below, doubling it,
 * 2^30 bytes for 30 levels) stay small. */
START_TEST(test_json_keys)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	/* {7: true, [1, 2]: nil, {"a": 1}: "x"} */
	msgpack_pack_map(&pk, 3);
	msgpack_pack_int(&pk, 7);
	msgpack_pack_true(&pk);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_int(&pk, 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "a", 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str(&pk, 1);
	msgpack_pack_str_body(&pk, "x", 1);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	char *j = json_of(&u.data, NULL, 0);
	ck_assert_str_eq(j, "{\"7\":true,\"{\\\"array\\\":2}\":null,\"{\\\"map\\\":1}\":\"x\"}");
	free(j);
	/* 30 levels of a map whose key is a map: a short line */
	msgpack_sbuffer_clear(&sb);
	for (int i = 0; i < 30; i++)
		msgpack_pack_map(&pk, 1);
	msgpack_pack_int(&pk, 1);
	for (int i = 0; i < 30; i++)
		msgpack_pack_int(&pk, i);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	j = json_of(&u.data, NULL, 0);
	ck_assert_str_eq(j, "{\"{\\\"map\\\":1}\":29}");
	free(j);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	tcase_add_test(tc, test_parse_long);
	tcase_add_test(tc, test_parse_double);
	tcase_add_test(tc, test_bf16);
	tcase_add_test(tc, test_sha256);
	tcase_add_test(tc, test_json_strings);
	tcase_add_test(tc, test_json_keys);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

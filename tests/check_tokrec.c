/* check_tokrec.c: tokens records written by common/records/tokrec.c, read back with
 * the record reader: the ids' dtype and values, the mask, the header's keys. */
#include <stdint.h>
#include <unistd.h>

#include "kinds.h"
#include "rec.h"
#include "testutil.h"
#include "tokrec.h"
#include "util.h"

START_TEST(test_dtype)
{
	ck_assert_int_eq(ifg_tokrec_dtype(2), IFG_U16);
	ck_assert_int_eq(ifg_tokrec_dtype(65536), IFG_U16);	/* ids 0 .. 65535 */
	ck_assert_int_eq(ifg_tokrec_dtype(65537), IFG_U32);
	ck_assert_int_eq(ifg_tokrec_dtype(50257), IFG_U16);
}
END_TEST

START_TEST(test_roundtrip)
{
	char *dir = ifg_test_tmpdir(), path[256];
	snprintf(path, sizeof path, "%s/t.ifg", dir);
	/* a header copied from a scores header's objects: tokenizer and block */
	msgpack_zone z;
	msgpack_zone_init(&z, 256);
	msgpack_object tok, block = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER, .via.u64 = 8 };
	ck_assert_int_eq(msgpack_unpack("\x81\xa4name\xa1x", 8, NULL, &z, &tok),
			 MSGPACK_UNPACK_SUCCESS);
	struct ifg_writer *w = ifg_writer_open(path, IFG_COMPRESS_NO);
	ck_assert_ptr_nonnull(w);
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_tokrec_header_copy(w, &tok, &block, 1);
	ifg_pack_kv_str(pk, "extra", "yes");
	ck_assert_int_eq(ifg_writer_end(w), 0);
	static const uint32_t ids[5] = { 0, 7, 65535, 300, 1 };
	static const uint32_t big[3] = { 70000, 0, 4294967295u };
	static const uint8_t mask[5] = { 0, 1, 1, 0, 1 };
	msgpack_pack_map(pk, 3);
	ifg_tokrec_pack_ids(pk, IFG_K_TOKENS, IFG_U16, ids, 5);
	ifg_tokrec_pack_mask(pk, mask, 5);
	ifg_tokrec_pack_ids(pk, "wide", IFG_U32, big, 3);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	msgpack_pack_map(pk, 1);
	ifg_tokrec_pack_ids(pk, IFG_K_TOKENS, IFG_U16, NULL, 0);	/* empty */
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);

	struct ifg_reader *r = ifg_reader_open(path);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(ifg_reader_header(r, IFG_KIND_TOKENS), 0);
	const msgpack_object *h = ifg_reader_hdr(r), *rec;
	ck_assert_uint_eq(h->via.map.size, 5);	/* kind, version, tokenizer, block, extra */
	ck_assert(ifg_obj_streq(ifg_get(ifg_get(h, IFG_K_TOKENIZER), "name"), "x"));
	ck_assert_uint_eq(ifg_get(h, IFG_K_BLOCK)->via.u64, 8);
	ck_assert(ifg_obj_streq(ifg_get(h, "extra"), "yes"));
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	struct ifg_array a;
	ck_assert_int_eq(ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a), 0);
	ck_assert_int_eq(a.dtype, IFG_U16);
	ck_assert_uint_eq(a.shape[0], 5);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq((uint32_t)ifg_array_get(&a, i), ids[i]);
	ck_assert_int_eq(ifg_get_array(r, rec, IFG_K_MASK, 1, &a), 0);
	ck_assert_int_eq(a.dtype, IFG_U8);
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq((uint32_t)ifg_array_get(&a, i), mask[i]);
	ck_assert_int_eq(ifg_get_array(r, rec, "wide", 1, &a), 0);
	ck_assert_int_eq(a.dtype, IFG_U32);
	for (int i = 0; i < 3; i++)
		ck_assert_uint_eq((uint32_t)ifg_array_get(&a, i), big[i]);
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a), 0);
	ck_assert_uint_eq(a.shape[0], 0);
	ck_assert_int_eq(ifg_reader_next(r, &rec), 0);
	ifg_reader_close(r);
	msgpack_zone_destroy(&z);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("tokrec");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_dtype);
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

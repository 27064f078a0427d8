/* check_rec.c: record streams: round trips, zstd, flat memory, byte-at-a-
 * time parsing, and every kind of bad input. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kinds.h"
#include "rec.h"
#include "testutil.h"
#include "util.h"

static char *tmp;
static char path_buf[4096];

static const char *tpath(const char *name)
{
	snprintf(path_buf, sizeof path_buf, "%s/%s", tmp, name);
	return path_buf;
}

static void setup(void) { tmp = ifg_test_tmpdir(); }
static void teardown(void)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
	free(tmp);
}

/* A tokens stream of n records: id i, tokens [i, i+1, ..., i+len-1], len = i % 7. */
static void write_stream(const char *path, long n, int compress)
{
	struct ifg_writer *w = ifg_writer_open(path, compress);
	ck_assert_ptr_nonnull(w);
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, IFG_KIND_TOKENS, 1);
	ifg_pack_kv_i64(pk, IFG_K_BLOCK, 0);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	uint32_t tok[8];
	for (long i = 0; i < n; i++) {
		uint64_t len = (uint64_t)(i % 7);
		for (uint64_t j = 0; j < len; j++)
			tok[j] = (uint32_t)(i + j);
		msgpack_pack_map(pk, 3);
		ifg_pack_kv_i64(pk, IFG_K_ID, i);
		ifg_pack_kv_array(pk, IFG_K_TOKENS, IFG_U32, 1, &len, tok);
		ifg_pack_kv_str(pk, "label", i % 2 ? "odd" : "even");
		ck_assert_int_eq(ifg_writer_end(w), 0);
	}
	ck_assert_int_eq(ifg_writer_close(w), 0);
}

/* Reads a stream written by write_stream and checks every record.  (Plain
 * tests in the loop: each Check assertion costs a write to its pipe.) */
static long check_stream(struct ifg_reader *r, long n_expect)
{
	ck_assert_int_eq(ifg_reader_header(r, IFG_KIND_TOKENS), 0);
	const msgpack_object *rec;
	long i = 0, bad = -1;
	int rc;
	uint32_t tok[8];
	while ((rc = ifg_reader_next(r, &rec)) > 0) {
		int64_t id;
		struct ifg_array a;
		int ok = ifg_get_i64(r, rec, IFG_K_ID, 0, INT64_MAX, &id) == 0 && id == i &&
			 ifg_get_array(r, rec, IFG_K_TOKENS, 1, &a) == 0 &&
			 a.n == (uint64_t)(i % 7) && ifg_array_to_u32(&a, tok, UINT32_MAX) == 0 &&
			 ifg_obj_streq(ifg_get(rec, "label"), i % 2 ? "odd" : "even") &&
			 ifg_reader_recno(r) == (uint64_t)i + 1;
		for (uint64_t j = 0; ok && j < a.n; j++)
			ok = tok[j] == (uint32_t)(i + j);
		if (!ok && bad < 0)
			bad = i;
		i++;
	}
	ck_assert_msg(bad < 0, "record %ld differs", bad + 1);
	ck_assert_msg(rc == 0, "%s", ifg_err());
	ck_assert_int_eq(i, n_expect);
	return i;
}

START_TEST(test_roundtrip_plain_and_zstd)
{
	write_stream(tpath("a.ifg"), 1000, IFG_COMPRESS_AUTO);
	write_stream(tpath("a.ifg.zst"), 1000, IFG_COMPRESS_AUTO);
	write_stream(tpath("b.ifg"), 1000, IFG_COMPRESS_YES); /* zstd under any name */
	const char *names[] = { "a.ifg", "a.ifg.zst", "b.ifg" };
	for (int k = 0; k < 3; k++) {
		struct ifg_reader *r = ifg_reader_open(tpath(names[k]));
		ck_assert_ptr_nonnull(r);
		check_stream(r, 1000);
		ifg_reader_close(r);
	}
	/* the .zst file really is compressed: it starts with the frame magic */
	FILE *f = fopen(tpath("a.ifg.zst"), "rb");
	unsigned char m[4];
	ck_assert_int_eq(fread(m, 1, 4, f), 4);
	fclose(f);
	ck_assert(m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd);
}
END_TEST

static long maxrss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

START_TEST(test_million_records_flat_memory)
{
	const long n = 1000000;
	long before = maxrss_kb();
	write_stream(tpath("m.ifg.zst"), n, IFG_COMPRESS_AUTO);
	struct ifg_reader *r = ifg_reader_open(tpath("m.ifg.zst"));
	ck_assert_ptr_nonnull(r);
	check_stream(r, n);
	ifg_reader_close(r);
	long grown = maxrss_kb() - before;
	/* A million records of ~60 bytes are ~60 MB; the writer and reader
	 * together must stay within a few MB of buffers.  (Not measurable under
	 * AddressSanitizer, whose quarantine keeps freed memory.) */
	if (!getenv("IFG_SAN"))
		ck_assert_msg(grown < 16 * 1024, "max RSS grew by %ld KiB", grown);
	struct stat st;
	ck_assert_int_eq(stat(tpath("m.ifg.zst"), &st), 0);
	ck_assert_msg(st.st_size < 20 * 1000 * 1000, "compressed size %ld", (long)st.st_size);
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	write_stream(tpath("s.ifg"), 300, IFG_COMPRESS_NO);
	write_stream(tpath("s.ifg.zst"), 300, IFG_COMPRESS_AUTO);
	for (int z = 0; z < 2; z++) {
		struct ifg_reader *r = ifg_reader_open(tpath(z ? "s.ifg.zst" : "s.ifg"));
		ifg_reader_set_read_size(r, 1);
		check_stream(r, 300);
		ifg_reader_close(r);
	}
}
END_TEST

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	char *p = malloc(*n + 1);
	ck_assert_uint_eq(fread(p, 1, *n, f), *n);
	fclose(f);
	return p;
}

/* Reads the whole stream; returns -1 (with the message) at the first error. */
static int read_all(const char *path, const char *kind)
{
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r)
		return -1;
	int rc = ifg_reader_header(r, kind);
	const msgpack_object *rec;
	while (rc == 0 && (rc = ifg_reader_next(r, &rec)) > 0)
		rc = 0;
	ifg_reader_close(r);
	return rc;
}

START_TEST(test_truncated_everywhere)
{
	write_stream(tpath("t.ifg"), 40, IFG_COMPRESS_NO);
	size_t n;
	char *all = slurp(tpath("t.ifg"), &n);
	/* Every cut that is not a record boundary is an error naming a byte
	 * offset; cuts at boundaries are shorter valid streams. */
	int errors = 0;
	for (size_t cut = 1; cut < n; cut++) {
		write_bytes(tpath("cut.ifg"), all, cut);
		if (read_all(tpath("cut.ifg"), IFG_KIND_TOKENS) < 0) {
			errors++;
			ck_assert_msg(strstr(ifg_err(), "truncated") && strstr(ifg_err(), "at byte"),
				      "cut %zu: %s", cut, ifg_err());
		}
	}
	ck_assert_int_gt(errors, (int)n - 50);
	/* truncated zstd */
	write_stream(tpath("t.ifg.zst"), 40, IFG_COMPRESS_AUTO);
	free(all);
	all = slurp(tpath("t.ifg.zst"), &n);
	write_bytes(tpath("cut.zst"), all, n - 3);
	ck_assert_int_eq(read_all(tpath("cut.zst"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), "zstd") || strstr(ifg_err(), "truncated"), "%s", ifg_err());
	free(all);
}
END_TEST

/* header {"kind": "tokens", "version": 1} */
static const unsigned char HDR[] = { 0x82, 0xa4, 'k', 'i', 'n', 'd', 0xa6, 't', 'o', 'k', 'e', 'n',
				     's', 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x01 };

static void expect_error(const unsigned char *tail, size_t n, const char *what)
{
	unsigned char buf[256];
	memcpy(buf, HDR, sizeof HDR);
	memcpy(buf + sizeof HDR, tail, n);
	write_bytes(tpath("bad.ifg"), buf, sizeof HDR + n);
	ck_assert_int_eq(read_all(tpath("bad.ifg"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), what) && strstr(ifg_err(), "record 1 at byte 22"),
		      "expected '%s': %s", what, ifg_err());
}

START_TEST(test_corrupt_and_oversized)
{
	static const unsigned char c1[] = { 0x81, 0xc1 };
	expect_error(c1, sizeof c1, "invalid msgpack type");
	static const unsigned char notmap[] = { 0x93, 1, 2, 3 };
	expect_error(notmap, sizeof notmap, "not a msgpack map");
	/* a bin claiming 4 GiB - 1 bytes */
	static const unsigned char bigbin[] = { 0x81, 0xa1, 'x', 0xc6, 0xff, 0xff, 0xff, 0xff, 0 };
	ifg_seterr("%s", "");
	setenv("IFG_MAX_RECORD", "1048576", 1);
	expect_error(bigbin, sizeof bigbin, "exceeds the record size limit");
	/* an array claiming 2^32 - 1 elements: rejected before any allocation */
	static const unsigned char bigarr[] = { 0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 1 };
	expect_error(bigarr, sizeof bigarr, "exceeds the record size limit");
	unsetenv("IFG_MAX_RECORD");
	/* a claim within the limit that the stream does not back is a truncation */
	static const unsigned char arr16[] = { 0x81, 0xa1, 'x', 0xdc, 0xff, 0xff, 1 };
	expect_error(arr16, sizeof arr16, "truncated");
	/* nesting deeper than msgpack-c allows */
	unsigned char deep[80];
	deep[0] = 0x81, deep[1] = 0xa1, deep[2] = 'x';
	for (int i = 3; i < 80; i++)
		deep[i] = 0x91;
	expect_error(deep, sizeof deep, "nesting too deep");
}
END_TEST

/* HDR, then a record {"x": [n nils], "b": <bin of nbin zero bytes>}. */
static void write_nils(const char *path, uint32_t n, uint32_t nbin)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	fwrite(HDR, 1, sizeof HDR, f);
	unsigned char head[] = { 0x82, 0xa1, 'x', 0xdd, n >> 24, n >> 16 & 0xff, n >> 8 & 0xff,
				 n & 0xff };
	fwrite(head, 1, sizeof head, f);
	for (uint32_t i = 0; i < n; i++)
		fputc(0xc0, f);
	unsigned char bin[] = { 0xa1, 'b', 0xc6, nbin >> 24, nbin >> 16 & 0xff, nbin >> 8 & 0xff,
				nbin & 0xff };
	fwrite(bin, 1, sizeof bin, f);
	for (uint32_t i = 0; i < nbin; i++)
		fputc(0, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_decode_bound)
{
	/* 2 MB of nils would be 48 MB of msgpack objects: refused unread */
	write_nils(tpath("nils.ifg"), 2000000, 0);
	ck_assert_int_eq(read_all(tpath("nils.ifg"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), "record 1 at byte 22: a record of 2000015 bytes holds "
				       "2000005 msgpack objects"), "%s", ifg_err());
	/* the bound is relative: beside 10 MB of bin the same nils are fine */
	write_nils(tpath("nils-bin.ifg"), 2000000, 10000000);
	ck_assert_msg(read_all(tpath("nils-bin.ifg"), IFG_KIND_TOKENS) == 0, "%s", ifg_err());
	/* and a small record of nothing but nils is within the slack */
	write_nils(tpath("few.ifg"), 100000, 0);
	ck_assert_msg(read_all(tpath("few.ifg"), IFG_KIND_TOKENS) == 0, "%s", ifg_err());
}
END_TEST

START_TEST(test_second_header)
{
	unsigned char two[2 * sizeof HDR];
	memcpy(two, HDR, sizeof HDR);
	memcpy(two + sizeof HDR, HDR, sizeof HDR);
	write_bytes(tpath("two.ifg"), two, sizeof two);
	ck_assert_int_eq(read_all(tpath("two.ifg"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), "record 1 at byte 22: a second header (a 'tokens' stream"),
		      "%s", ifg_err());
	/* a record may carry a field "kind" (without "version") */
	static const unsigned char kind_only[] = { 0x81, 0xa4, 'k', 'i', 'n', 'd', 0xa1, 'x' };
	unsigned char buf[sizeof HDR + sizeof kind_only];
	memcpy(buf, HDR, sizeof HDR);
	memcpy(buf + sizeof HDR, kind_only, sizeof kind_only);
	write_bytes(tpath("kind.ifg"), buf, sizeof buf);
	ck_assert_msg(read_all(tpath("kind.ifg"), IFG_KIND_TOKENS) == 0, "%s", ifg_err());
}
END_TEST

START_TEST(test_max_record_env)
{
	write_stream(tpath("m.ifg"), 3, IFG_COMPRESS_NO);
	static const char *const bad[] = { "abc", "8", "1e6", "-5", "2199023255553" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		setenv("IFG_MAX_RECORD", bad[i], 1);
		ck_assert_ptr_null(ifg_reader_open(tpath("m.ifg")));
		const char *want = "IFG_MAX_RECORD (the record size limit in bytes): ";
		ck_assert_msg(!strncmp(ifg_err(), want, strlen(want)), "'%s': %s", bad[i], ifg_err());
	}
	setenv("IFG_MAX_RECORD", "65536", 1);
	ck_assert_msg(read_all(tpath("m.ifg"), IFG_KIND_TOKENS) == 0, "%s", ifg_err());
	setenv("IFG_MAX_RECORD", "", 1);	/* empty: unset, as TMPDIR */
	ck_assert_msg(read_all(tpath("m.ifg"), IFG_KIND_TOKENS) == 0, "%s", ifg_err());
	unsetenv("IFG_MAX_RECORD");
}
END_TEST

START_TEST(test_mask_values)
{
	uint8_t v[4] = { 0, 1, 2, 1 }, dst[4];
	struct ifg_array a = { .dtype = IFG_U8, .ndim = 1, .shape = { 4, 1, 1, 1 }, .n = 4,
			       .data = v };
	ck_assert_int_eq(ifg_array_to_mask(&a, dst), -1);
	ck_assert_str_eq(ifg_err(), "element 2 = 2: a mask holds 0 or 1");
	v[2] = 255;
	ck_assert_int_eq(ifg_array_to_mask(&a, dst), -1);
	v[2] = 0;
	ck_assert_int_eq(ifg_array_to_mask(&a, dst), 0);
	ck_assert_mem_eq(dst, v, 4);
}
END_TEST

START_TEST(test_header_checks)
{
	write_stream(tpath("h.ifg"), 3, IFG_COMPRESS_NO);
	ck_assert_int_eq(read_all(tpath("h.ifg"), IFG_KIND_GRADS), -1);
	ck_assert_msg(strstr(ifg_err(), "expected a 'grads' stream, got 'tokens'"), "%s", ifg_err());
	write_bytes(tpath("empty.ifg"), "", 0);
	ck_assert_int_eq(read_all(tpath("empty.ifg"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), "empty input"), "%s", ifg_err());
	static const unsigned char nokind[] = { 0x81, 0xa1, 'x', 0x01 };
	write_bytes(tpath("nk.ifg"), nokind, sizeof nokind);
	ck_assert_int_eq(read_all(tpath("nk.ifg"), NULL), -1);
	ck_assert_msg(strstr(ifg_err(), "not an ifg stream"), "%s", ifg_err());
	unsigned char newer[sizeof HDR];
	memcpy(newer, HDR, sizeof HDR);
	newer[sizeof HDR - 1] = 0x7f;
	write_bytes(tpath("new.ifg"), newer, sizeof newer);
	ck_assert_int_eq(read_all(tpath("new.ifg"), IFG_KIND_TOKENS), -1);
	ck_assert_msg(strstr(ifg_err(), "newer"), "%s", ifg_err());
}
END_TEST

START_TEST(test_fields_and_arrays)
{
	struct ifg_writer *w = ifg_writer_open(tpath("f.ifg"), IFG_COMPRESS_NO);
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, "test", 0);
	ifg_writer_end(w);
	float f[6] = { 1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 65504.0f };
	uint64_t shape[2] = { 2, 3 };
	msgpack_pack_map(pk, 6);
	ifg_pack_kv_array(pk, "f32", IFG_F32, 2, shape, f);
	ifg_pack_kv_f32_as(pk, "bf16", IFG_BF16, 2, shape, f);
	ifg_pack_kv_f64(pk, "x", 0.5);
	ifg_pack_kv_i64(pk, "neg", -7);
	ifg_pack_kv_bool(pk, "yes", true);
	ifg_pack_kv_str(pk, "s", "hello");
	ifg_writer_end(w);
	ck_assert_int_eq(ifg_writer_close(w), 0);

	struct ifg_reader *r = ifg_reader_open(tpath("f.ifg"));
	ck_assert_int_eq(ifg_reader_header(r, "test"), 0);
	const msgpack_object *rec;
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	struct ifg_array a;
	float got[6];
	ck_assert_int_eq(ifg_get_array(r, rec, "f32", 2, &a), 0);
	ck_assert_uint_eq(a.shape[0], 2);
	ck_assert_uint_eq(a.shape[1], 3);
	ck_assert_int_eq(ifg_array_to_f32(&a, got, false), 0);
	ck_assert_mem_eq(got, f, sizeof f);
	ck_assert_int_eq(ifg_get_array(r, rec, "bf16", 2, &a), 0);
	ck_assert_int_eq(a.dtype, IFG_BF16);
	ck_assert_int_eq(ifg_array_to_f32(&a, got, false), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_close(got[i], f[i], 1.0 / 128);
	ck_assert_int_eq(ifg_get_array(r, rec, "f32", 1, &a), -1);
	ck_assert_msg(strstr(ifg_err(), "has 2 dimensions, expected 1"), "%s", ifg_err());
	double x;
	int64_t i64;
	bool b;
	char *s;
	ck_assert_int_eq(ifg_get_f64(r, rec, "x", 0, 1, &x), 0);
	ck_assert(x == 0.5);
	ck_assert_int_eq(ifg_get_f64(r, rec, "x", 0.6, 1, &x), -1);
	ck_assert_msg(strstr(ifg_err(), "out of range") && strstr(ifg_err(), "record 1 at byte"),
		      "%s", ifg_err());
	ck_assert_int_eq(ifg_get_i64(r, rec, "neg", -10, 0, &i64), 0);
	ck_assert_int_eq(i64, -7);
	ck_assert_int_eq(ifg_get_i64(r, rec, "s", -10, 0, &i64), -1);
	ck_assert_msg(strstr(ifg_err(), "is a string, expected an integer"), "%s", ifg_err());
	ck_assert_int_eq(ifg_get_bool(r, rec, "yes", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(ifg_get_strdup(r, rec, "s", &s), 0);
	ck_assert_str_eq(s, "hello");
	free(s);
	ck_assert_int_eq(ifg_get_i64(r, rec, "missing", 0, 1, &i64), -1);
	ck_assert_msg(strstr(ifg_err(), "missing field 'missing'"), "%s", ifg_err());
	/* copying a record but for some fields */
	static const char *const drop[] = { "f32", "bf16", NULL };
	ck_assert_uint_eq(ifg_map_count_except(rec, drop), 4);
	ifg_reader_close(r);
}
END_TEST

START_TEST(test_nonfinite_and_bad_shape)
{
	struct ifg_writer *w = ifg_writer_open(tpath("n.ifg"), IFG_COMPRESS_NO);
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, "test", 0);
	ifg_writer_end(w);
	float f[2] = { 1.0f, NAN };
	uint64_t n = 2;
	msgpack_pack_map(pk, 1);
	ifg_pack_kv_array(pk, "v", IFG_F32, 1, &n, f);
	ifg_writer_end(w);
	/* shape says 3 values, data holds 2 */
	msgpack_pack_map(pk, 1);
	ifg_pack_cstr(pk, "v");
	msgpack_pack_map(pk, 3);
	ifg_pack_kv_str(pk, "dtype", "f32");
	ifg_pack_cstr(pk, "shape");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint64(pk, 3);
	ifg_pack_cstr(pk, "data");
	msgpack_pack_bin(pk, 8);
	msgpack_pack_bin_body(pk, f, 8);
	ifg_writer_end(w);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_reader *r = ifg_reader_open(tpath("n.ifg"));
	ck_assert_int_eq(ifg_reader_header(r, NULL), 0);
	const msgpack_object *rec;
	struct ifg_array a;
	float got[3];
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_get_array(r, rec, "v", 1, &a), 0);
	ck_assert_int_eq(ifg_array_to_f32(&a, got, false), -1);
	ck_assert_msg(strstr(ifg_err(), "NaN"), "%s", ifg_err());
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_get_array(r, rec, "v", 1, &a), -1);
	ck_assert_msg(strstr(ifg_err(), "shape needs 12 bytes of f32, data has 8"), "%s", ifg_err());
	ifg_reader_close(r);
}
END_TEST

START_TEST(test_atomic_output)
{
	struct ifg_writer *w = ifg_writer_open(tpath("atomic.ifg"), IFG_COMPRESS_AUTO);
	ifg_writer_begin_header(w, "test", 0);
	ifg_writer_end(w);
	/* nothing at the final name until close */
	ck_assert_int_eq(access(tpath("atomic.ifg"), F_OK), -1);
	ifg_writer_abort(w);
	ck_assert_int_eq(access(tpath("atomic.ifg"), F_OK), -1);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", tmp);
	ck_assert_int_eq(system(cmd), 0);
	w = ifg_writer_open(tpath("atomic.ifg"), IFG_COMPRESS_AUTO);
	ifg_writer_begin_header(w, "test", 0);
	ifg_writer_end(w);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(access(tpath("atomic.ifg"), F_OK), 0);
	/* an unwritable place fails at open with a message */
	ck_assert_ptr_null(ifg_writer_open("/nonexistent-dir/x.ifg", IFG_COMPRESS_AUTO));
	ck_assert_msg(strstr(ifg_err(), "/nonexistent-dir/x.ifg"), "%s", ifg_err());
}
END_TEST

/* A record stream is told from other input by its first byte, after any
 * zstd; standard input, a pipe included, is left readable from its start. */
START_TEST(test_is_records)
{
	write_stream(tpath("r.ifg"), 3, IFG_COMPRESS_NO);
	write_stream(tpath("r.ifg.zst"), 3, IFG_COMPRESS_YES);
	ck_assert_int_eq(ifg_in_is_records(tpath("r.ifg")), 1);
	ck_assert_int_eq(ifg_in_is_records(tpath("r.ifg.zst")), 1);
	const char *jsonl = "{\"prompt\": \"a\"}\n";
	for (int z = 0; z < 2; z++) {
		struct ifg_out *o = ifg_out_open(tpath("t.jsonl"), z, 0);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(ifg_out_write(o, jsonl, strlen(jsonl)), 0);
		ck_assert_int_eq(ifg_out_close(o), 0);
		ck_assert_int_eq(ifg_in_is_records(tpath("t.jsonl")), 0);
	}
	FILE *f = fopen(tpath("empty"), "w");
	fclose(f);
	ck_assert_int_eq(ifg_in_is_records(tpath("empty")), 0);
	ck_assert_int_eq(ifg_in_is_records(tpath("missing")), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "missing"));
	/* stdin from a file, then from a pipe: rewound to the first byte */
	FILE *r = fopen(tpath("r.ifg"), "r");
	ck_assert_int_eq(dup2(fileno(r), 0), 0);
	fclose(r);
	ck_assert_int_eq(ifg_in_is_records(NULL), 1);
	ck_assert_int_eq(lseek(0, 0, SEEK_CUR), 0);
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], jsonl, strlen(jsonl)), (ssize_t)strlen(jsonl));
	close(fd[1]);
	ck_assert_int_eq(dup2(fd[0], 0), 0);
	close(fd[0]);
	ck_assert_int_eq(ifg_in_is_records("-"), 0);
	char b[4] = "";
	ck_assert_int_eq(read(0, b, 1), 1);
	ck_assert_int_eq(b[0], '{');
	ck_assert_int_eq(ifg_msgpack_is_map(0x80), 1);
	ck_assert_int_eq(ifg_msgpack_is_map(0xdf), 1);
	ck_assert_int_eq(ifg_msgpack_is_map(0x90), 0);	/* an array */
	ck_assert_int_eq(ifg_msgpack_is_map('{'), 0);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("rec");
	TCase *tc = tcase_create("rec");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_plain_and_zstd);
	tcase_add_test(tc, test_million_records_flat_memory);
	tcase_add_test(tc, test_byte_at_a_time);
	tcase_add_test(tc, test_truncated_everywhere);
	tcase_add_test(tc, test_corrupt_and_oversized);
	tcase_add_test(tc, test_decode_bound);
	tcase_add_test(tc, test_second_header);
	tcase_add_test(tc, test_max_record_env);
	tcase_add_test(tc, test_mask_values);
	tcase_add_test(tc, test_header_checks);
	tcase_add_test(tc, test_fields_and_arrays);
	tcase_add_test(tc, test_nonfinite_and_bad_shape);
	tcase_add_test(tc, test_atomic_output);
	tcase_add_test(tc, test_is_records);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

/* check_tokdata.c: token records in memory (common/records/tokdata.h): loading
 * streams written here (records with and without masks, two files, zstd),
 * the data's identity, bad inputs, the fit to a model, the epochs' order,
 * the (B, T) batches with targets and IF-Guide weights, and preference pairs
 * read from a stream. */
#include <stdint.h>
#include <unistd.h>

#include "kinds.h"
#include "rec.h"
#include "stream.h"
#include "testutil.h"
#include "tokdata.h"
#include "tokrec.h"
#include "util.h"

/* A stream of kind at path whose header names tokenizer `name` of vocab
 * ids (name NULL: no tokenizer); the caller writes the records. */
static struct ifg_writer *stream(const char *path, const char *kind, const char *name,
				 int64_t vocab, int compress)
{
	struct ifg_writer *w = ifg_writer_open(path, compress);
	ck_assert_ptr_nonnull(w);
	ifg_writer_begin_header(w, kind, name ? 1 : 0);
	if (name) {
		msgpack_packer *pk = ifg_writer_pk(w);
		ifg_pack_cstr(pk, IFG_K_TOKENIZER);
		msgpack_pack_map(pk, 2);
		ifg_pack_kv_str(pk, IFG_K_NAME, name);
		ifg_pack_kv_i64(pk, IFG_K_VOCAB_SIZE, vocab);
	}
	ck_assert_int_eq(ifg_writer_end(w), 0);
	return w;
}

/* A tokens record: ids[0..n), and mask[0..nm) when mask is not NULL. */
static void put_tokens(struct ifg_writer *w, const uint32_t *ids, size_t n, const uint8_t *mask,
		       size_t nm)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, mask ? 2 : 1);
	ifg_tokrec_pack_ids(pk, IFG_K_TOKENS, IFG_U16, ids, n);
	if (mask) {
		uint64_t shape[1] = { nm };
		ifg_pack_kv_array(pk, IFG_K_MASK, IFG_U8, 1, shape, mask);
	}
	ck_assert_int_eq(ifg_writer_end(w), 0);
}

struct files {
	char *dir, *a, *b, *c;
};

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = ifg_xmalloc(n, 1);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

static void files_init(struct files *f)
{
	f->dir = ifg_test_tmpdir();
	f->a = join(f->dir, "a.ifg");
	f->b = join(f->dir, "b.ifg.zst");
	f->c = join(f->dir, "c.ifg");
}

static void files_free(struct files *f)
{
	unlink(f->a);
	unlink(f->b);
	unlink(f->c);
	rmdir(f->dir);
	free(f->a);
	free(f->b);
	free(f->c);
	free(f->dir);
}

static const uint32_t r0[] = { 1, 2, 3 }, r1[] = { 9 }, r2[] = { 4, 5, 6, 7, 8 }, r3[] = { 0, 2 };
static const uint8_t m1[] = { 1 }, m2[] = { 0, 1, 1, 0, 1 };

/* a.ifg: r0 (no mask), r1 (masked); b.ifg.zst (zstd): r2 (masked), r3. */
static void write_two(const struct files *f)
{
	struct ifg_writer *w = stream(f->a, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
	put_tokens(w, r0, 3, NULL, 0);
	put_tokens(w, r1, 1, m1, 1);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	w = stream(f->b, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_YES);
	put_tokens(w, r2, 5, m2, 5);
	put_tokens(w, r3, 2, NULL, 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
}

/* The two files of write_two, loaded into d. */
static void load_two(struct files *f, struct ifg_tokdata *d)
{
	files_init(f);
	write_two(f);
	const char *paths[] = { f->a, f->b };
	ck_assert_msg(ifg_tokdata_load(d, paths, 2) == 0, "%s", ifg_err());
}

START_TEST(test_load)
{
	struct files f;
	struct ifg_tokdata d;
	load_two(&f, &d);
	ck_assert_uint_eq(d.n, 4);
	ck_assert_uint_eq(d.ntok, 11);
	const uint64_t off[] = { 0, 3, 4, 9, 11 };
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(d.off[i], off[i]);
	const uint32_t tok[] = { 1, 2, 3, 9, 4, 5, 6, 7, 8, 0, 2 };
	const uint8_t mask[] = { 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0 };
	ck_assert_ptr_nonnull(d.mask);
	for (int i = 0; i < 11; i++) {
		ck_assert_uint_eq(d.tok[i], tok[i]);
		ck_assert_uint_eq(d.mask[i], mask[i]);
	}
	ck_assert_uint_eq(d.nmasked, 4);
	ck_assert_uint_eq(d.max_len, 5);
	ck_assert_uint_eq(d.max_id, 9);
	ck_assert_int_eq(d.vocab_size, 10);
	ck_assert_ptr_nonnull(d.tokenizer);
	ck_assert_ptr_nonnull(strstr(d.tokenizer, "\"vocab_size\":10"));
	ck_assert_int_eq(d.nfiles, 2);
	ck_assert_str_eq(d.files[0], f.a);
	ck_assert_str_eq(d.files[1], f.b);
	ck_assert_uint_eq(d.file_end[0], 2);
	ck_assert_uint_eq(d.file_end[1], 4);
	ck_assert_int_eq(strlen(d.sha256), 64);
	ifg_tokdata_free(&d);
	ck_assert_ptr_null(d.tok);	/* freed and zeroed */

	/* no masks anywhere: no mask array; no tokenizer: vocabulary -1 */
	struct ifg_writer *w = stream(f.c, IFG_KIND_TOKENS, NULL, 0, IFG_COMPRESS_NO);
	put_tokens(w, r0, 3, NULL, 0);
	put_tokens(w, NULL, 0, NULL, 0);	/* an empty record is kept */
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_tokdata_load(&d, (const char *const[]){ f.c }, 1), 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.off[2], 3);
	ck_assert_ptr_null(d.mask);
	ck_assert_ptr_null(d.tokenizer);
	ck_assert_int_eq(d.vocab_size, -1);
	ck_assert_uint_eq(d.nmasked, 0);
	ifg_tokdata_free(&d);
	files_free(&f);
}
END_TEST

/* The identity: the same records from one file or two, whatever the
 * compression; another token, another mask or another split into records
 * changes it. */
START_TEST(test_identity)
{
	struct files f;
	struct ifg_tokdata d;
	load_two(&f, &d);
	char two[65];
	memcpy(two, d.sha256, sizeof two);
	ifg_tokdata_free(&d);
	char sha[4][65];
	for (int k = 0; k < 4; k++) {
		struct ifg_writer *w = stream(f.c, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
		const uint8_t m2b[] = { 0, 1, 1, 0, 0 };
		const uint32_t r2b[] = { 4, 5, 6, 7, 7 };
		put_tokens(w, r0, 3, NULL, 0);
		put_tokens(w, r1, 1, m1, 1);
		put_tokens(w, k == 1 ? r2b : r2, 5, k == 2 ? m2b : m2, 5);
		if (k == 3) {	/* r3 split into two records */
			put_tokens(w, r3, 1, NULL, 0);
			put_tokens(w, r3 + 1, 1, NULL, 0);
		} else {
			put_tokens(w, r3, 2, NULL, 0);
		}
		ck_assert_int_eq(ifg_writer_close(w), 0);
		ck_assert_int_eq(ifg_tokdata_load(&d, (const char *const[]){ f.c }, 1), 0);
		memcpy(sha[k], d.sha256, sizeof sha[k]);
		ifg_tokdata_free(&d);
	}
	ck_assert_str_eq(sha[0], two);
	for (int k = 1; k < 4; k++)
		ck_assert_str_ne(sha[k], sha[0]);
	files_free(&f);
}
END_TEST

/* -1 with a message naming the file (and the record), d left empty. */
static void load_fails(const char *path, const char *want)
{
	struct ifg_tokdata d;
	ck_assert_int_eq(ifg_tokdata_load(&d, (const char *const[]){ path }, 1), -1);
	ck_assert_msg(strstr(ifg_err(), want), "'%s' lacks '%s'", ifg_err(), want);
	ck_assert_ptr_null(d.tok);
	ck_assert_ptr_null(d.off);
	ck_assert_uint_eq(d.n, 0);
}

START_TEST(test_bad_input)
{
	struct files f;
	files_init(&f);
	/* a token outside the tokenizer's vocabulary */
	struct ifg_writer *w = stream(f.c, IFG_KIND_TOKENS, "t", 5, IFG_COMPRESS_NO);
	put_tokens(w, r0, 3, NULL, 0);
	put_tokens(w, r2, 5, NULL, 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	load_fails(f.c, "tokens: ");
	load_fails(f.c, "record 2");
	/* a mask of another length */
	w = stream(f.c, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
	put_tokens(w, r2, 5, m2, 4);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	load_fails(f.c, "mask has 4 entries for 5 tokens");
	/* a mask that is not 0 and 1 */
	const uint8_t m9[] = { 0, 2, 1, 0, 1 };
	w = stream(f.c, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
	put_tokens(w, r2, 5, m9, 5);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	load_fails(f.c, "mask: ");
	/* a record without tokens */
	w = stream(f.c, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
	msgpack_pack_map(ifg_writer_pk(w), 1);
	ifg_pack_kv_str(ifg_writer_pk(w), "text", "no tokens");
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	load_fails(f.c, IFG_K_TOKENS);
	/* another kind */
	w = stream(f.c, IFG_KIND_PAIRS, "t", 10, IFG_COMPRESS_NO);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	load_fails(f.c, IFG_KIND_PAIRS);
	/* no such file; not a stream */
	load_fails(f.a, f.a);
	FILE *fp = fopen(f.a, "w");
	fputs("hello\n", fp);
	fclose(fp);
	load_fails(f.a, f.a);
	/* a second file with another tokenizer, or with none */
	write_two(&f);
	for (int k = 0; k < 2; k++) {
		w = stream(f.c, IFG_KIND_TOKENS, k ? NULL : "u", 10, IFG_COMPRESS_NO);
		put_tokens(w, r0, 3, NULL, 0);
		ck_assert_int_eq(ifg_writer_close(w), 0);
		struct ifg_tokdata d;
		ck_assert_int_eq(ifg_tokdata_load(&d, (const char *const[]){ f.a, f.c }, 2), -1);
		char want[512];
		snprintf(want, sizeof want, "'%s': made with another tokenizer than the first input",
			 f.c);
		ck_assert_str_eq(ifg_err(), want);
		ck_assert_ptr_null(d.tok);
	}
	files_free(&f);
}
END_TEST

/* A record too long for the context, or with a token outside the model's
 * vocabulary, named by file and record number (the header is record 0). */
START_TEST(test_fits)
{
	struct files f;
	struct ifg_tokdata d;
	load_two(&f, &d);
	ck_assert_int_eq(ifg_tokdata_fits(&d, 5, 10), 0);
	char want[512];
	ck_assert_int_eq(ifg_tokdata_fits(&d, 4, 10), -1);
	snprintf(want, sizeof want, "'%s': record 1 has 5 tokens, more than the model's context 4 "
		 "(use ifg-tokenize --block)", f.b);
	ck_assert_str_eq(ifg_err(), want);
	ck_assert_int_eq(ifg_tokdata_fits(&d, 5, 9), -1);
	snprintf(want, sizeof want, "'%s': record 2: token 0 is id 9, outside the model's "
		 "vocabulary (9)", f.a);
	ck_assert_str_eq(ifg_err(), want);
	ck_assert_int_eq(ifg_tokdata_fits(&d, 5, 8), -1);	/* the first: record 2 of a */
	ck_assert_ptr_nonnull(strstr(ifg_err(), "record 2: token 0 is id 9"));
	ifg_tokdata_free(&d);
	files_free(&f);
}
END_TEST

/* Every epoch is a permutation; shuffled epochs differ from each other and
 * from the identity, the same for a seed whatever the order of the calls;
 * without shuffling the input order every epoch. */
START_TEST(test_order)
{
	enum { N = 50, E = 4 };
	struct ifg_order o, o2, p;
	ifg_order_init(&o, N, 7, true);
	ifg_order_init(&o2, N, 7, true);
	ifg_order_init(&p, N, 8, true);
	size_t seq[E][N];
	for (int e = 0; e < E; e++) {
		int seen[N] = { 0 };
		for (int i = 0; i < N; i++) {
			seq[e][i] = ifg_order_at(&o, (uint64_t)e * N + i);
			ck_assert_uint_lt(seq[e][i], N);
			seen[seq[e][i]]++;
		}
		for (int i = 0; i < N; i++)
			ck_assert_int_eq(seen[i], 1);
	}
	for (int e = 0; e < E; e++) {
		int fixed = 0, same = 0, other = 0;
		for (int i = 0; i < N; i++) {
			fixed += seq[e][i] == (size_t)i;
			same += e && seq[e][i] == seq[e - 1][i];
			other += ifg_order_at(&p, (uint64_t)e * N + i) == seq[e][i];
		}
		ck_assert_int_lt(fixed, N / 2);
		ck_assert_int_lt(same, N / 2);
		ck_assert_int_lt(other, N / 2);
	}
	/* random access, epochs out of order */
	for (int k = 0; k < 200; k++) {
		uint64_t i = (uint64_t)(k * 37 % (E * N));
		ck_assert_uint_eq(ifg_order_at(&o2, i), seq[i / N][i % N]);
	}
	struct ifg_order q;
	ifg_order_init(&q, 3, 7, false);
	for (uint64_t i = 0; i < 10; i++)
		ck_assert_uint_eq(ifg_order_at(&q, i), i % 3);
	ifg_order_free(&q);
	ifg_order_free(&o);
	ifg_order_free(&o2);
	ifg_order_free(&p);
}
END_TEST

/* Tokens padded with 0, targets the next token (-1 at a record's last
 * position and at padding), weights -lambda on masked targets, 1 on the
 * others, 0 without a target; the label positions and the predicted ones. */
START_TEST(test_batch)
{
	struct files f;
	struct ifg_tokdata d;
	load_two(&f, &d);
	enum { T = 5 };
	size_t idx[3] = { 2, 1, 0 };
	uint32_t tok[3 * T];
	int32_t tgt[3 * T];
	float w[3 * T];
	int64_t np = -1;
	ck_assert_int_eq(ifg_tokdata_batch(&d, idx, 3, T, 0.25, tok, tgt, w, &np), 5 + 1 + 3);
	ck_assert_int_eq(np, 4 + 0 + 2);
	const uint32_t wt[3][T] = { { 4, 5, 6, 7, 8 }, { 9, 0, 0, 0, 0 }, { 1, 2, 3, 0, 0 } };
	const int32_t wg[3][T] = { { 5, 6, 7, 8, -1 }, { -1, -1, -1, -1, -1 },
				   { 2, 3, -1, -1, -1 } };
	/* r2's mask 0 1 1 0 1: position t is weighed by the mask of token t + 1 */
	const float ww[3][T] = { { -0.25f, -0.25f, 1, -0.25f, 0 }, { 0, 0, 0, 0, 0 },
				 { 1, 1, 0, 0, 0 } };
	for (int b = 0; b < 3; b++)
		for (int t = 0; t < T; t++) {
			ck_assert_uint_eq(tok[b * T + t], wt[b][t]);
			ck_assert_int_eq(tgt[b * T + t], wg[b][t]);
			ck_assert_msg(w[b * T + t] == ww[b][t], "weight [%d, %d] %g, want %g", b, t,
				      w[b * T + t], ww[b][t]);
		}
	/* no weights asked, no npred asked */
	ck_assert_int_eq(ifg_tokdata_batch(&d, idx + 1, 2, 3, 1, tok, tgt, NULL, NULL), 4);
	ck_assert_int_eq(tgt[0], -1);
	ck_assert_int_eq(tgt[3], 2);
	/* a record longer than T */
	ck_assert_int_eq(ifg_tokdata_batch(&d, idx, 3, 4, 1, tok, tgt, w, &np), -1);
	ck_assert_str_eq(ifg_err(), "record 2 has 5 tokens, more than the 4 of a sequence");
	ifg_tokdata_free(&d);
	files_free(&f);
}
END_TEST

/* A pairs record: prompt, chosen, rejected. */
static void put_pair(struct ifg_writer *w, const uint32_t *p, size_t np, const uint32_t *c,
		     size_t nc, const uint32_t *r, size_t nr)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, 3);
	ifg_tokrec_pack_ids(pk, IFG_K_PROMPT, IFG_U16, p, np);
	ifg_tokrec_pack_ids(pk, IFG_K_CHOSEN, IFG_U16, c, nc);
	ifg_tokrec_pack_ids(pk, IFG_K_REJECTED, IFG_U16, r, nr);
	ck_assert_int_eq(ifg_writer_end(w), 0);
}

START_TEST(test_pairs_load)
{
	struct files f;
	files_init(&f);
	struct ifg_writer *w = stream(f.a, IFG_KIND_PAIRS, "t", 10, IFG_COMPRESS_NO);
	put_pair(w, r0, 3, r2, 5, r1, 1);
	put_pair(w, r1, 1, r3, 2, r0, 3);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_pairdata d;
	ck_assert_msg(ifg_pairdata_load(&d, (const char *const[]){ f.a }, 1) == 0, "%s", ifg_err());
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(d.ntok, 9 + 6);
	ck_assert_uint_eq(d.np[0], 3);
	ck_assert_uint_eq(d.nc[0], 5);
	ck_assert_uint_eq(d.off[1], 9);
	ck_assert_uint_eq(d.max_len, 8);
	ck_assert_uint_eq(d.max_id, 9);
	ck_assert_int_eq(d.vocab_size, 10);
	ck_assert_uint_eq(d.tok[9], 9);		/* the second prompt */
	ck_assert_uint_eq(d.tok[12], 1);	/* its rejected continuation */
	char sha[65];
	memcpy(sha, d.sha256, sizeof sha);
	ifg_pairdata_free(&d);
	/* the same tokens split otherwise between the parts: another identity */
	w = stream(f.c, IFG_KIND_PAIRS, "t", 10, IFG_COMPRESS_NO);
	const uint32_t c4[] = { 4, 5, 6, 7 }, j2[] = { 8, 9 };
	put_pair(w, r0, 3, c4, 4, j2, 2);	/* 1 2 3 | 4 5 6 7 | 8 9 */
	const uint32_t rest[] = { 9, 0, 2, 1, 2, 3 };
	put_pair(w, rest, 1, rest + 1, 2, rest + 3, 3);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_pairdata_load(&d, (const char *const[]){ f.c }, 1), 0);
	ck_assert_uint_eq(d.ntok, 15);
	ck_assert_str_ne(d.sha256, sha);
	ifg_pairdata_free(&d);
	/* an empty part; a tokens stream */
	w = stream(f.c, IFG_KIND_PAIRS, "t", 10, IFG_COMPRESS_NO);
	put_pair(w, r0, 3, r2, 0, r1, 1);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_pairdata_load(&d, (const char *const[]){ f.c }, 1), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "empty chosen continuation"));
	w = stream(f.c, IFG_KIND_TOKENS, "t", 10, IFG_COMPRESS_NO);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_pairdata_load(&d, (const char *const[]){ f.c }, 1), -1);
	ck_assert_ptr_null(d.tok);
	files_free(&f);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("tokdata");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_fits);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_batch);
	tcase_add_test(tc, test_pairs_load);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

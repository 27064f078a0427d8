/* check_gradrec.c: grads, gradsum and factor records written and read back,
 * shape checks, and the same-model checks of common/records/gradrec.c. */
#include <unistd.h>

#include "gradrec.h"
#include "kinds.h"
#include "modelid.h"
#include "testutil.h"
#include "util.h"

static char *dir;
static char path[512];

static const char *tmp(const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return path;
}

static void setup(void) { dir = ifg_test_tmpdir(); }
static void teardown(void)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(dir);
}

static struct ifg_layer_shape layers2[2] = { { "h.0.attn.c_attn", 3, 9, true },
					     { "h.0.mlp.c_proj", 12, 3, true } };

/* A grads (or gradsum) header with model sha and layers. */
static void header(struct ifg_writer *w, const char *kind, const char *sha, int n,
		   const struct ifg_layer_shape *L)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, kind, 4);
	ifg_pack_cstr(pk, IFG_K_MODEL);
	msgpack_pack_map(pk, 2);
	ifg_pack_kv_str(pk, IFG_K_SHA256, sha);
	ifg_pack_kv_i64(pk, "n_layer", 1);
	ifg_pack_kv_layers(pk, n, L);
	ifg_pack_kv_str(pk, IFG_K_LABELS, "sampled");
	ifg_pack_kv_str(pk, IFG_K_DTYPE, "bf16");
	ck_assert_int_eq(ifg_writer_end(w), 0);
}

static struct ifg_reader *open_hdr(const char *p, const char *const *kinds,
				   struct ifg_gradhdr *h)
{
	struct ifg_reader *r = ifg_reader_open(p);
	ck_assert_ptr_nonnull(r);
	ck_assert_msg(ifg_gradhdr_read(r, kinds, h) == 0, "%s", ifg_err());
	return r;
}

/* The model identity's family: written only for a model that is not a
 * GPT-2 (absent reads as gpt2), and a stream of another family refused. */
static int id_check(const struct ifg_model_id *packed, const struct ifg_model_id *mine)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer_init(&sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	ifg_model_id_pack(&pk, packed);
	msgpack_unpacked u;
	msgpack_unpacked_init(&u);
	ck_assert_int_eq(msgpack_unpack_next(&u, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
	ck_assert_int_eq(u.data.via.map.size, strcmp(packed->arch, "llama") ? 6 : 7);
	int rc = ifg_model_id_check(&u.data, mine);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

START_TEST(test_model_id_arch)
{
	struct ifg_model_id gpt2 = { .arch = "gpt2", .n_layer = 2, .n_head = 2, .n_embd = 8,
				     .n_ctx = 16, .vocab_size = 50 };
	memset(gpt2.sha256, 'a', 64);
	struct ifg_model_id llama = gpt2, old = gpt2;
	snprintf(llama.arch, sizeof llama.arch, "llama");
	old.arch[0] = 0;	/* an identity from before the families */
	ck_assert_int_eq(id_check(&gpt2, &gpt2), 0);
	ck_assert_int_eq(id_check(&old, &gpt2), 0);
	ck_assert_int_eq(id_check(&llama, &llama), 0);
	ck_assert_int_eq(id_check(&llama, &gpt2), -1);
	ck_assert_msg(strstr(ifg_err(), "made with a llama model (this model: gpt2)"), "%s", ifg_err());
	ck_assert_int_eq(id_check(&gpt2, &llama), -1);
	ck_assert_msg(strstr(ifg_err(), "made with a gpt2 model (this model: llama)"), "%s", ifg_err());
}
END_TEST

START_TEST(test_grads_roundtrip)
{
	enum { T = 5 };
	float a0[T * 4], s0[T * 9], a1[T * 13], s1[T * 3];
	for (int i = 0; i < T * 13; i++) {
		if (i < T * 4)
			a0[i] = (float)i / 8;
		if (i < T * 9)
			s0[i] = -(float)i / 4;
		a1[i] = (float)i;
		if (i < T * 3)
			s1[i] = 0.5f * i;
	}
	const float *a[2] = { a0, a1 }, *s[2] = { s0, s1 };
	struct ifg_writer *w = ifg_writer_open(tmp("g.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADS, "feed", 2, layers2);
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, 2);
	ifg_pack_kv_str(pk, IFG_K_ID, "doc-1");
	ifg_pack_kv_grads(pk, 2, layers2, T, a, s, IFG_BF16);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	/* a record whose tokens disagree with its gradients */
	uint16_t tok[T - 1] = { 0 };
	msgpack_pack_map(pk, 2);
	ifg_pack_kv_array(pk, IFG_K_TOKENS, IFG_U16, 1, (uint64_t[]){ T - 1 }, tok);
	ifg_pack_kv_grads(pk, 2, layers2, T, a, s, IFG_F32);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	/* one whose layers are swapped */
	const float *a_sw[2] = { a1, a0 }, *s_sw[2] = { s1, s0 };
	struct ifg_layer_shape sw[2] = { layers2[1], layers2[0] };
	msgpack_pack_map(pk, 1);
	ifg_pack_kv_grads(pk, 2, sw, T, a_sw, s_sw, IFG_F32);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);

	static const char *const kinds[] = { IFG_KIND_GRADS, NULL };
	struct ifg_gradhdr h;
	struct ifg_reader *r = open_hdr(tmp("g.ifg"), kinds, &h);
	ck_assert_int_eq(h.n_layers, 2);
	ck_assert_str_eq(h.layers[1].name, "h.0.mlp.c_proj");
	ck_assert_int_eq(h.layers[1].d_in, 12);
	ck_assert_str_eq(h.model_sha256, "feed");
	ck_assert_str_eq(h.labels, "sampled");
	ck_assert_int_eq(h.dtype, IFG_BF16);
	const msgpack_object *rec;
	struct ifg_layer_grad g[2];
	uint64_t TT;
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_grads_parse(r, &h, rec, g, &TT), 0);
	ck_assert_int_eq(TT, T);
	ck_assert_int_eq(g[1].a.shape[1], 13);
	ck_assert_int_eq(g[0].s.dtype, IFG_BF16);
	ck_assert_double_eq(ifg_array_get(&g[1].s, 4), 2.0);
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_grads_parse(r, &h, rec, g, &TT), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "4 tokens but gradients of 5 positions"));
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_grads_parse(r, &h, rec, g, &TT), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "layer 'h.0.attn.c_attn'"));
	ck_assert_ptr_nonnull(strstr(ifg_err(), "record 3"));
	ifg_reader_close(r);
	ifg_gradhdr_release(&h);
}
END_TEST

START_TEST(test_same_model)
{
	struct ifg_layer_shape other[2] = { layers2[0], { "h.0.mlp.c_proj", 12, 4, true } };
	struct { const char *name, *sha; const struct ifg_layer_shape *L; int n; } s[] = {
		{ "a.ifg", "aaaa", layers2, 2 }, { "b.ifg", "aaaa", layers2, 2 },
		{ "c.ifg", "bbbb", layers2, 2 }, { "d.ifg", "aaaa", other, 2 },
		{ "e.ifg", "aaaa", layers2, 1 },
	};
	struct ifg_gradhdr h[5];
	struct ifg_reader *r[5];
	for (int i = 0; i < 5; i++) {
		struct ifg_writer *w = ifg_writer_open(tmp(s[i].name), IFG_COMPRESS_NO);
		header(w, IFG_KIND_GRADS, s[i].sha, s[i].n, s[i].L);
		ck_assert_int_eq(ifg_writer_close(w), 0);
		r[i] = open_hdr(tmp(s[i].name), NULL, &h[i]);
		ifg_reader_close(r[i]);
	}
	ck_assert_int_eq(ifg_gradhdr_same_model(&h[0], "factors", &h[1], "grads"), 0);
	ck_assert_int_eq(ifg_gradhdr_same_model(&h[0], "factors", &h[2], "grads"), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "different models"));
	ck_assert_ptr_nonnull(strstr(ifg_err(), "a.ifg"));
	ck_assert_ptr_nonnull(strstr(ifg_err(), "c.ifg"));
	ck_assert_int_eq(ifg_gradhdr_same_model(&h[0], "factors", &h[3], "grads"), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "d_out 4"));
	ck_assert_int_eq(ifg_gradhdr_same_model(&h[0], "factors", &h[4], "grads"), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "tracks 2 layers"));
	for (int i = 0; i < 5; i++)
		ifg_gradhdr_release(&h[i]);
}
END_TEST

START_TEST(test_kind_refused)
{
	struct ifg_writer *w = ifg_writer_open(tmp("t.ifg"), IFG_COMPRESS_NO);
	ifg_writer_begin_header(w, IFG_KIND_TOKENS, 0);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	static const char *const kinds[] = { IFG_KIND_COV, IFG_KIND_FACTORS, NULL };
	struct ifg_reader *r = ifg_reader_open(tmp("t.ifg"));
	struct ifg_gradhdr h;
	ck_assert_int_eq(ifg_gradhdr_read(r, kinds, &h), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "expected a 'cov' or 'factors' stream, got 'tokens'"));
	ifg_reader_close(r);
	ifg_gradhdr_release(&h);
}
END_TEST

START_TEST(test_gradsum_roundtrip)
{
	double G0[9 * 4], G1[3 * 13];
	for (int i = 0; i < 9 * 4; i++)
		G0[i] = i * 0.25;
	for (int i = 0; i < 3 * 13; i++)
		G1[i] = -i;
	const double *G[2] = { G0, G1 };
	struct ifg_writer *w = ifg_writer_open(tmp("q.ifg"), IFG_COMPRESS_YES);
	header(w, IFG_KIND_GRADSUM, "feed", 2, layers2);
	ifg_pack_gradsum(ifg_writer_pk(w), 2, layers2, 17, G);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_gradhdr h;
	double **got;
	int64_t count;
	ck_assert_msg(ifg_gradsum_read(tmp("q.ifg"), &h, &got, &count) == 0, "%s", ifg_err());
	ck_assert_int_eq(count, 17);
	for (int i = 0; i < 9 * 4; i++)
		ck_assert_double_eq(got[0][i], G0[i]);
	for (int i = 0; i < 3 * 13; i++)
		ck_assert_double_eq(got[1][i], G1[i]);
	free(got[0]);
	free(got[1]);
	free(got);
	ifg_gradhdr_release(&h);
	/* a grads stream is not a gradsum */
	w = ifg_writer_open(tmp("g.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADS, "feed", 2, layers2);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_gradsum_read(tmp("g.ifg"), &h, &got, &count), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "expected a 'gradsum' stream"));
	ifg_gradhdr_release(&h);
}
END_TEST

START_TEST(test_factor_records)
{
	/* a cov source header, then factors with every part for both layers */
	struct ifg_writer *w = ifg_writer_open(tmp("g.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADS, "feed", 2, layers2);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_gradhdr h;
	struct ifg_reader *r = open_hdr(tmp("g.ifg"), NULL, &h);
	ifg_reader_close(r);
	struct ifg_factors f;
	ifg_factors_from_header(&f, &h);
	for (int l = 0; l < 2; l++) {
		struct ifg_layer_factors *L = &f.layer[l];
		size_t na = L->d_in + L->bias, o = L->d_out;
		L->QA = ifg_xcalloc(na * na, sizeof(double));
		L->eigvals_A = ifg_xcalloc(na, sizeof(double));
		L->QS = ifg_xcalloc(o * o, sizeof(double));
		L->eigvals_S = ifg_xcalloc(o, sizeof(double));
		L->Lambda_sum = ifg_xcalloc(o * na, sizeof(double));
		L->QA[1] = 1.5 + l;
		L->eigvals_S[o - 1] = 2;
		L->Lambda_sum[o * na - 1] = 3;
		L->Lambda_count = 4;
		L->A_count = L->S_count = 40;
	}
	f.records = 4;
	w = ifg_writer_open(tmp("f.ifg"), IFG_COMPRESS_NO);
	ifg_factor_header(w, IFG_KIND_FACTORS, &h, f.records, "ekfac", "f32");
	ck_assert_int_eq(ifg_writer_end(w), 0);
	for (int l = 0; l < 2; l++) {
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &f.layer[l],
				    IFG_PART_EIGEN | IFG_PART_LAMBDA);
		ck_assert_int_eq(ifg_writer_end(w), 0);
	}
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_gradhdr hf;
	struct ifg_factors g;
	static const char *const kinds[] = { IFG_KIND_FACTORS, NULL };
	ck_assert_msg(ifg_factors_read(tmp("f.ifg"), kinds, &hf, &g) == 0, "%s", ifg_err());
	ck_assert_str_eq(hf.strategy, "ekfac");
	ck_assert_str_eq(hf.precision, "f32");
	ck_assert_int_eq(g.records, 4);
	ck_assert_int_eq(ifg_gradhdr_same_model(&h, "grads", &hf, "factors"), 0);
	for (int l = 0; l < 2; l++) {
		struct ifg_layer_factors *L = &g.layer[l];
		size_t na = L->d_in + L->bias, o = L->d_out;
		ck_assert_ptr_null(L->A_sum);
		ck_assert_double_eq(L->QA[1], 1.5 + l);
		ck_assert_double_eq(L->eigvals_S[o - 1], 2);
		ck_assert_double_eq(L->Lambda_sum[o * na - 1], 3);
		ck_assert_int_eq(L->Lambda_count, 4);
		ck_assert_int_eq(L->A_count, 40);
	}
	ifg_factors_release(&g);
	ifg_gradhdr_release(&hf);
	/* a stream that stops after one layer */
	w = ifg_writer_open(tmp("short.ifg"), IFG_COMPRESS_NO);
	ifg_factor_header(w, IFG_KIND_FACTORS, &h, 4, "ekfac", NULL);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ifg_factor_rec_pack(ifg_writer_pk(w), 0, &f.layer[0], IFG_PART_EIGEN);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_factors_read(tmp("short.ifg"), kinds, &hf, &g), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "ends after 1 of 2 layers"));
	ifg_factors_release(&g);
	ifg_gradhdr_release(&hf);
	/* layers out of order */
	w = ifg_writer_open(tmp("swap.ifg"), IFG_COMPRESS_NO);
	ifg_factor_header(w, IFG_KIND_FACTORS, &h, 4, "ekfac", NULL);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ifg_factor_rec_pack(ifg_writer_pk(w), 1, &f.layer[1], IFG_PART_EIGEN);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ck_assert_int_eq(ifg_factors_read(tmp("swap.ifg"), kinds, &hf, &g), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "expected layer 0 'h.0.attn.c_attn'"));
	ifg_factors_release(&g);
	ifg_gradhdr_release(&hf);
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
}
END_TEST

/* A layer without a bias: "bias": false in its header entry only, a of
 * (T, d_in), gradsum and factor parts of na = d_in columns, and another
 * stream whose layer has a bias is another model. */
START_TEST(test_no_bias_layer)
{
	enum { T = 3 };
	struct ifg_layer_shape L[2] = { { "h.0.attn.c_attn", 3, 9, true },
					{ "h.0.mlp.c_proj", 12, 3, false } };
	float a0[T * 4] = { 0 }, s0[T * 9] = { 0 }, a1[T * 13] = { 0 }, s1[T * 3] = { 0 };
	for (int i = 0; i < T * 12; i++)
		a1[i] = (float)i;
	const float *a[2] = { a0, a1 }, *s[2] = { s0, s1 };
	struct ifg_writer *w = ifg_writer_open(tmp("nb.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADS, "feed", 2, L);
	msgpack_packer *pk = ifg_writer_pk(w);
	msgpack_pack_map(pk, 1);
	ifg_pack_kv_grads(pk, 2, L, T, a, s, IFG_F32);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	/* a record packed as if the layer had a bias: a (T, 13) */
	struct ifg_layer_shape wrong[2] = { L[0], L[1] };
	wrong[1].bias = true;
	msgpack_pack_map(pk, 1);
	ifg_pack_kv_grads(pk, 2, wrong, T, a, s, IFG_F32);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);

	struct ifg_gradhdr h;
	struct ifg_reader *r = open_hdr(tmp("nb.ifg"), NULL, &h);
	ck_assert(h.layers[0].bias);
	ck_assert(!h.layers[1].bias);
	const msgpack_object *ls = ifg_get(h.hdr, IFG_K_LAYERS);
	ck_assert_ptr_null(ifg_get(&ls->via.array.ptr[0], IFG_K_BIAS));
	const msgpack_object *b = ifg_get(&ls->via.array.ptr[1], IFG_K_BIAS);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b->type, MSGPACK_OBJECT_BOOLEAN);
	ck_assert(!b->via.boolean);
	const msgpack_object *rec;
	struct ifg_layer_grad g[2];
	uint64_t TT;
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_msg(ifg_grads_parse(r, &h, rec, g, &TT) == 0, "%s", ifg_err());
	ck_assert_int_eq(g[0].a.shape[1], 4);
	ck_assert_int_eq(g[1].a.shape[1], 12);
	ck_assert_double_eq(ifg_array_get(&g[1].a, 13), 13.0);
	ck_assert_int_eq(ifg_reader_next(r, &rec), 1);
	ck_assert_int_eq(ifg_grads_parse(r, &h, rec, g, &TT), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "expected (3, 12)"));
	ifg_reader_close(r);

	/* with a bias it is another layer */
	struct ifg_gradhdr hb;
	w = ifg_writer_open(tmp("b.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADS, "feed", 2, wrong);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	ifg_reader_close(open_hdr(tmp("b.ifg"), NULL, &hb));
	ck_assert_int_eq(ifg_gradhdr_same_model(&h, "factors", &hb, "grads"), -1);
	ck_assert_ptr_nonnull(strstr(ifg_err(), "no bias"));
	ifg_gradhdr_release(&hb);

	/* gradsum (d_out, d_in) and factor parts of na = d_in */
	double G0[9 * 4] = { 0 }, G1[3 * 12];
	for (int i = 0; i < 3 * 12; i++)
		G1[i] = i;
	const double *G[2] = { G0, G1 };
	w = ifg_writer_open(tmp("sum.ifg"), IFG_COMPRESS_NO);
	header(w, IFG_KIND_GRADSUM, "feed", 2, L);
	ifg_pack_gradsum(ifg_writer_pk(w), 2, L, 7, G);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	ck_assert_int_eq(ifg_writer_close(w), 0);
	struct ifg_gradhdr hs;
	double **got;
	int64_t count;
	ck_assert_msg(ifg_gradsum_read(tmp("sum.ifg"), &hs, &got, &count) == 0, "%s", ifg_err());
	ck_assert_double_eq(got[1][35], 35);
	free(got[0]);
	free(got[1]);
	free(got);
	ifg_gradhdr_release(&hs);

	struct ifg_factors f, f2;
	ifg_factors_from_header(&f, &h);
	struct ifg_layer_factors *F = &f.layer[1];
	ck_assert(!F->bias);
	ck_assert_int_eq(ifg_layer_na(F), 12);
	F->A_sum = ifg_xcalloc(12 * 12, sizeof(double));
	F->S_sum = ifg_xcalloc(3 * 3, sizeof(double));
	F->A_sum[143] = 5;
	F->A_count = F->S_count = 2;
	f.layer[0].A_sum = ifg_xcalloc(4 * 4, sizeof(double));
	f.layer[0].S_sum = ifg_xcalloc(9 * 9, sizeof(double));
	w = ifg_writer_open(tmp("cov.ifg"), IFG_COMPRESS_NO);
	ifg_factor_header(w, IFG_KIND_COV, &h, 1, NULL, NULL);
	ck_assert_int_eq(ifg_writer_end(w), 0);
	for (int l = 0; l < 2; l++) {
		ifg_factor_rec_pack(ifg_writer_pk(w), l, &f.layer[l], IFG_PART_COV);
		ck_assert_int_eq(ifg_writer_end(w), 0);
	}
	ck_assert_int_eq(ifg_writer_close(w), 0);
	static const char *const kinds[] = { IFG_KIND_COV, NULL };
	struct ifg_gradhdr hc;
	ck_assert_msg(ifg_factors_read(tmp("cov.ifg"), kinds, &hc, &f2) == 0, "%s", ifg_err());
	ck_assert_str_eq(hc.precision, "");
	ck_assert(!f2.layer[1].bias);
	ck_assert_double_eq(f2.layer[1].A_sum[143], 5);
	ck_assert_int_eq(ifg_gradhdr_same_model(&h, "grads", &hc, "cov"), 0);
	ifg_factors_release(&f2);
	ifg_gradhdr_release(&hc);
	ifg_factors_release(&f);
	ifg_gradhdr_release(&h);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("gradrec");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_grads_roundtrip);
	tcase_add_test(tc, test_same_model);
	tcase_add_test(tc, test_kind_refused);
	tcase_add_test(tc, test_gradsum_roundtrip);
	tcase_add_test(tc, test_factor_records);
	tcase_add_test(tc, test_no_bias_layer);
	tcase_add_test(tc, test_model_id_arch);
	suite_add_tcase(s, tc);
	return s;
}

IFG_TEST_MAIN

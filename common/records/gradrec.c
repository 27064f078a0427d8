/* gradrec.c: grads, gradsum, cov, eigen, factors and scores records (gradrec.h). */
#include "gradrec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "util.h"

#define MAX_DIM (1 << 16)	/* largest d_in or d_out a header may claim */

/* ---- headers ---- */

static int copy_str(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		    char *dst, size_t cap)
{
	const char *s;
	size_t n;
	if (ifg_get_str(r, map, key, &s, &n) < 0)
		return -1;
	if (n >= cap)
		return ifg_reader_err(r, "field '%s' is too long (%zu bytes, at most %zu)", key, n,
				      cap - 1);
	memcpy(dst, s, n);
	dst[n] = 0;
	return 0;
}

static int parse_layers(const struct ifg_reader *r, struct ifg_gradhdr *h)
{
	const msgpack_object *ls = ifg_get(h->hdr, IFG_K_LAYERS);
	if (!ls || ls->type != MSGPACK_OBJECT_ARRAY || ls->via.array.size == 0)
		return ifg_reader_err(r, "header has no '%s' list of tracked layers", IFG_K_LAYERS);
	int n = (int)ls->via.array.size;
	if (ls->via.array.size > 100000)
		return ifg_reader_err(r, "header lists %u layers", ls->via.array.size);
	h->layers = ifg_xcalloc(n, sizeof *h->layers);
	h->n_layers = n;
	for (int i = 0; i < n; i++) {
		const msgpack_object *m = &ls->via.array.ptr[i];
		int64_t din, dout;
		if (m->type != MSGPACK_OBJECT_MAP)
			return ifg_reader_err(r, "layers[%d] is not a map", i);
		if (ifg_get_strdup(r, m, IFG_K_NAME, &h->layers[i].name) < 0 ||
		    ifg_get_i64(r, m, IFG_K_D_IN, 1, MAX_DIM, &din) < 0 ||
		    ifg_get_i64(r, m, IFG_K_D_OUT, 1, MAX_DIM, &dout) < 0)
			return ifg_prefixerr("layers[%d]", i);
		h->layers[i].d_in = (int)din;
		h->layers[i].d_out = (int)dout;
		h->layers[i].bias = true;	/* absent: a bias column */
		if (ifg_get(m, IFG_K_BIAS) &&
		    ifg_get_bool(r, m, IFG_K_BIAS, &h->layers[i].bias) < 0)
			return ifg_prefixerr("layers[%d]", i);
	}
	return 0;
}

/* An empty header, safe to pass to ifg_gradhdr_release. */
static void gradhdr_init(struct ifg_gradhdr *h)
{
	memset(h, 0, sizeof *h);
	h->count = -1;
	h->dtype = IFG_F32;
	msgpack_sbuffer_init(&h->raw_);
	msgpack_unpacked_init(&h->unp_);
}

static int parse_copy(const struct ifg_reader *r, const char *kind, const msgpack_object *hdr,
		      struct ifg_gradhdr *h);

int ifg_gradhdr_read(struct ifg_reader *r, const char *const *kinds, struct ifg_gradhdr *h)
{
	gradhdr_init(h);
	h->source = ifg_xstrdup(ifg_reader_name(r));
	bool one = kinds && kinds[0] && !kinds[1];
	if (ifg_reader_header(r, one ? kinds[0] : NULL) < 0)
		return -1;
	const char *kind = ifg_reader_kind(r);
	bool ok = !kinds;
	char want[128] = "";
	for (const char *const *k = kinds; k && *k; k++) {
		ok |= !strcmp(*k, kind);
		size_t len = strlen(want);
		snprintf(want + len, sizeof want - len, "%s'%s'", len ? " or " : "", *k);
	}
	if (!ok)
		return ifg_reader_err(r, "expected a %s stream, got '%s'", want, kind);
	return parse_copy(r, kind, ifg_reader_hdr(r), h);
}

int ifg_gradhdr_from_map(const struct ifg_reader *r, const char *kind, const msgpack_object *map,
			 struct ifg_gradhdr *h)
{
	gradhdr_init(h);
	h->source = ifg_xstrdup(ifg_reader_name(r));
	return parse_copy(r, kind, map, h);
}

/* The header map hdr, copied into h and parsed. */
static int parse_copy(const struct ifg_reader *r, const char *kind, const msgpack_object *hdr,
		      struct ifg_gradhdr *h)
{
	h->kind = ifg_xstrdup(kind);
	/* own copy of the header, valid after the reader is closed */
	msgpack_packer pk;
	msgpack_packer_init(&pk, &h->raw_, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *hdr);
	size_t off = 0;
	if (msgpack_unpack_next(&h->unp_, h->raw_.data, h->raw_.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		return ifg_reader_err(r, "cannot copy the header");
	h->hdr = &h->unp_.data;

	if (ifg_get_map(r, h->hdr, IFG_K_MODEL, &h->model) < 0 ||
	    copy_str(r, h->model, IFG_K_SHA256, h->model_sha256, sizeof h->model_sha256) < 0)
		return ifg_prefixerr("model identity");
	h->tokenizer = ifg_get(h->hdr, IFG_K_TOKENIZER);
	if (h->tokenizer && h->tokenizer->type != MSGPACK_OBJECT_MAP)
		return ifg_reader_err(r, "field '%s' is not a map", IFG_K_TOKENIZER);
	if (parse_layers(r, h) < 0)
		return -1;
	if (ifg_get(h->hdr, IFG_K_LABELS) &&
	    copy_str(r, h->hdr, IFG_K_LABELS, h->labels, sizeof h->labels) < 0)
		return -1;
	h->has_seed = ifg_get(h->hdr, IFG_K_SEED) != NULL;
	if (ifg_get(h->hdr, IFG_K_DTYPE)) {
		char dt[8];
		if (copy_str(r, h->hdr, IFG_K_DTYPE, dt, sizeof dt) < 0)
			return -1;
		int t = ifg_dtype_parse(dt, strlen(dt));
		if (t != IFG_F32 && t != IFG_BF16 && t != IFG_F64)
			return ifg_reader_err(r, "gradient dtype '%s' (f32, bf16 or f64)", dt);
		h->dtype = (enum ifg_dtype)t;
	}
	const char *ckey = !strcmp(kind, IFG_KIND_GRADSUM) ? IFG_K_COUNT : IFG_K_RECORDS;
	if (ifg_get(h->hdr, ckey) && ifg_get_i64(r, h->hdr, ckey, 0, INT64_MAX, &h->count) < 0)
		return -1;
	if (ifg_get(h->hdr, IFG_K_STRATEGY) &&
	    copy_str(r, h->hdr, IFG_K_STRATEGY, h->strategy, sizeof h->strategy) < 0)
		return -1;
	if (ifg_get(h->hdr, IFG_K_PRECISION)) {
		if (copy_str(r, h->hdr, IFG_K_PRECISION, h->precision, sizeof h->precision) < 0)
			return -1;
		if (strcmp(h->precision, "f32") && strcmp(h->precision, "f64"))
			return ifg_reader_err(r, "precision '%s' (f32 or f64)", h->precision);
	}
	return 0;
}

void ifg_gradhdr_release(struct ifg_gradhdr *h)
{
	for (int i = 0; i < h->n_layers; i++)
		free(h->layers[i].name);
	free(h->layers);
	free(h->source);
	free(h->kind);
	msgpack_unpacked_destroy(&h->unp_);
	msgpack_sbuffer_destroy(&h->raw_);
	memset(h, 0, sizeof *h);
}

/* The tokenizer's sha256 string, or NULL when the header states none. */
static const msgpack_object *tok_sha(const struct ifg_gradhdr *h)
{
	const msgpack_object *s = h->tokenizer ? ifg_get(h->tokenizer, IFG_K_SHA256) : NULL;
	return s && s->type == MSGPACK_OBJECT_STR ? s : NULL;
}

int ifg_gradhdr_same_model(const struct ifg_gradhdr *a, const char *what_a,
			   const struct ifg_gradhdr *b, const char *what_b)
{
	if (strcmp(a->model_sha256, b->model_sha256))
		return ifg_seterr("%s '%s' and %s '%s' come from different models (model sha256 "
				  "%.16s... and %.16s...)", what_a, a->source, what_b, b->source,
				  a->model_sha256, b->model_sha256);
	if (a->n_layers != b->n_layers)
		return ifg_seterr("%s '%s' tracks %d layers, %s '%s' %d", what_a, a->source,
				  a->n_layers, what_b, b->source, b->n_layers);
	for (int i = 0; i < a->n_layers; i++) {
		const struct ifg_layer_shape *x = &a->layers[i], *y = &b->layers[i];
		if (strcmp(x->name, y->name) || x->d_in != y->d_in || x->d_out != y->d_out ||
		    x->bias != y->bias)
			return ifg_seterr("layer %d is '%s' (d_in %d, d_out %d%s) in %s '%s' but "
					  "'%s' (d_in %d, d_out %d%s) in %s '%s'", i, x->name,
					  x->d_in, x->d_out, x->bias ? "" : ", no bias", what_a,
					  a->source, y->name, y->d_in, y->d_out,
					  y->bias ? "" : ", no bias", what_b, b->source);
	}
	const msgpack_object *sa = tok_sha(a), *sb = tok_sha(b);
	if (sa && sb && (sa->via.str.size != sb->via.str.size ||
			 memcmp(sa->via.str.ptr, sb->via.str.ptr, sa->via.str.size)))
		return ifg_seterr("%s '%s' and %s '%s' come from different tokenizers (sha256 "
				  "%.*s... and %.*s...)", what_a, a->source, what_b, b->source,
				  (int)(sa->via.str.size < 16 ? sa->via.str.size : 16), sa->via.str.ptr,
				  (int)(sb->via.str.size < 16 ? sb->via.str.size : 16), sb->via.str.ptr);
	return 0;
}

static const char *const carried[] = { IFG_K_MODEL, IFG_K_TOKENIZER, IFG_K_LAYERS,
				       IFG_K_LABELS, IFG_K_SEED, NULL };

uint32_t ifg_gradhdr_npairs(const struct ifg_gradhdr *h)
{
	uint32_t n = 0;
	for (const char *const *k = carried; *k; k++)
		n += ifg_get(h->hdr, *k) != NULL;
	return n;
}

void ifg_gradhdr_pack_pairs(msgpack_packer *pk, const struct ifg_gradhdr *h)
{
	for (const char *const *k = carried; *k; k++) {
		const msgpack_object *v = ifg_get(h->hdr, *k);
		if (!v)
			continue;
		ifg_pack_cstr(pk, *k);
		msgpack_pack_object(pk, *v);
	}
}

void ifg_pack_kv_layers(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers)
{
	ifg_pack_cstr(pk, IFG_K_LAYERS);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		msgpack_pack_map(pk, 3 + !layers[i].bias);
		ifg_pack_kv_str(pk, IFG_K_NAME, layers[i].name);
		ifg_pack_kv_i64(pk, IFG_K_D_IN, layers[i].d_in);
		ifg_pack_kv_i64(pk, IFG_K_D_OUT, layers[i].d_out);
		if (!layers[i].bias) {
			ifg_pack_cstr(pk, IFG_K_BIAS);
			msgpack_pack_false(pk);
		}
	}
}

/* ---- grads ---- */

static bool float_dtype(enum ifg_dtype t)
{
	return t == IFG_F32 || t == IFG_BF16 || t == IFG_F64;
}

int ifg_grads_parse(const struct ifg_reader *r, const struct ifg_gradhdr *h,
		    const msgpack_object *rec, struct ifg_layer_grad *g, uint64_t *T)
{
	const msgpack_object *gl = ifg_get(rec, IFG_K_GRADS);
	if (!gl || gl->type != MSGPACK_OBJECT_ARRAY)
		return ifg_reader_err(r, "record has no '%s' list", IFG_K_GRADS);
	if ((int)gl->via.array.size != h->n_layers)
		return ifg_reader_err(r, "record has gradients of %u layers, the header lists %d",
				      gl->via.array.size, h->n_layers);
	for (int i = 0; i < h->n_layers; i++) {
		const struct ifg_layer_shape *L = &h->layers[i];
		uint64_t na = (uint64_t)L->d_in + L->bias;
		const msgpack_object *m = &gl->via.array.ptr[i];
		const msgpack_object *a = m->type == MSGPACK_OBJECT_MAP ? ifg_get(m, IFG_K_A) : NULL;
		const msgpack_object *s = m->type == MSGPACK_OBJECT_MAP ? ifg_get(m, IFG_K_S) : NULL;
		if (!a || !s)
			return ifg_reader_err(r, "layer '%s': no '%s' and '%s' arrays", L->name,
					      IFG_K_A, IFG_K_S);
		if (ifg_obj_to_array(r, a, IFG_K_A, 2, &g[i].a) < 0 ||
		    ifg_obj_to_array(r, s, IFG_K_S, 2, &g[i].s) < 0)
			return ifg_prefixerr("layer '%s'", L->name);
		if (!float_dtype(g[i].a.dtype) || !float_dtype(g[i].s.dtype))
			return ifg_reader_err(r, "layer '%s': gradients of dtype %s/%s (f32, bf16 "
					      "or f64)", L->name, ifg_dtype_name(g[i].a.dtype),
					      ifg_dtype_name(g[i].s.dtype));
		if (i == 0)
			*T = g[0].a.shape[0];
		if (g[i].a.shape[0] != *T || g[i].a.shape[1] != na ||
		    g[i].s.shape[0] != *T || g[i].s.shape[1] != (uint64_t)L->d_out)
			return ifg_reader_err(r, "layer '%s': a (%llu, %llu) and s (%llu, %llu), "
					      "expected (%llu, %d) and (%llu, %d)", L->name,
					      (unsigned long long)g[i].a.shape[0],
					      (unsigned long long)g[i].a.shape[1],
					      (unsigned long long)g[i].s.shape[0],
					      (unsigned long long)g[i].s.shape[1],
					      (unsigned long long)*T, (int)na,
					      (unsigned long long)*T, L->d_out);
	}
	const msgpack_object *tok = ifg_get(rec, IFG_K_TOKENS);
	if (tok) {
		struct ifg_array ta;
		if (ifg_obj_to_array(r, tok, IFG_K_TOKENS, 1, &ta) < 0)
			return -1;
		if (ta.n != *T)
			return ifg_reader_err(r, "%llu tokens but gradients of %llu positions",
					      (unsigned long long)ta.n, (unsigned long long)*T);
	}
	return 0;
}

void ifg_pack_kv_grads(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers,
		       uint64_t T, const float *const *a, const float *const *s,
		       enum ifg_dtype dtype)
{
	ifg_pack_cstr(pk, IFG_K_GRADS);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		uint64_t sa[2] = { T, (uint64_t)layers[i].d_in + layers[i].bias };
		uint64_t ss[2] = { T, (uint64_t)layers[i].d_out };
		msgpack_pack_map(pk, 2);
		ifg_pack_kv_f32_as(pk, IFG_K_A, dtype, 2, sa, a[i]);
		ifg_pack_kv_f32_as(pk, IFG_K_S, dtype, 2, ss, s[i]);
	}
}

/* ---- gradsum ---- */

/* An array map without a key: {dtype: f64, shape: [d0, d1], data}. */
static void pack_f64_matrix(msgpack_packer *pk, uint64_t d0, uint64_t d1, const double *x)
{
	msgpack_pack_map(pk, 3);
	ifg_pack_kv_str(pk, "dtype", "f64");
	ifg_pack_cstr(pk, "shape");
	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, d0);
	msgpack_pack_uint64(pk, d1);
	ifg_pack_cstr(pk, "data");
	msgpack_pack_bin(pk, d0 * d1 * sizeof *x);
	msgpack_pack_bin_body(pk, x, d0 * d1 * sizeof *x);
}

void ifg_pack_gradsum(msgpack_packer *pk, int n, const struct ifg_layer_shape *layers,
		      int64_t count, const double *const *G)
{
	msgpack_pack_map(pk, 2);
	ifg_pack_kv_i64(pk, IFG_K_COUNT, count);
	ifg_pack_cstr(pk, IFG_K_G);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		pack_f64_matrix(pk, (uint64_t)layers[i].d_out,
				(uint64_t)layers[i].d_in + layers[i].bias, G[i]);
}

/* A whole f64-convertible array of exactly (d0, d1) (d1 0: one dimension),
 * into a new buffer. */
static int take_f64(const struct ifg_reader *r, const msgpack_object *v, const char *key,
		    const char *layer, uint64_t d0, uint64_t d1, double **dst)
{
	struct ifg_array a;
	if (ifg_obj_to_array(r, v, key, d1 ? 2 : 1, &a) < 0)
		return ifg_prefixerr("layer '%s'", layer);
	if (a.shape[0] != d0 || (d1 && a.shape[1] != d1))
		return ifg_reader_err(r, "layer '%s': %s has shape (%llu%s%llu), expected (%llu%s%llu)",
				      layer, key, (unsigned long long)a.shape[0], d1 ? ", " : "",
				      d1 ? (unsigned long long)a.shape[1] : 0ULL,
				      (unsigned long long)d0, d1 ? ", " : "", (unsigned long long)d1);
	double *p = ifg_xmalloc(a.n ? a.n : 1, sizeof *p);
	if (ifg_array_to_f64(&a, p, false) < 0) {
		free(p);
		return ifg_reader_err(r, "layer '%s': %s: %s", layer, key, ifg_err());
	}
	free(*dst);
	*dst = p;
	return 0;
}

int ifg_gradsum_read(const char *path, struct ifg_gradhdr *h, double ***Gout, int64_t *count)
{
	*Gout = NULL;
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r) {
		gradhdr_init(h);
		return -1;
	}
	int rc = -1;
	if (ifg_reader_header(r, IFG_KIND_GRADSUM) < 0)
		gradhdr_init(h);
	else
		rc = ifg_gradsum_from(r, h, Gout, count);
	ifg_reader_close(r);
	return rc;
}

int ifg_gradsum_from(struct ifg_reader *r, struct ifg_gradhdr *h, double ***Gout, int64_t *count)
{
	const msgpack_object *rec;
	double **G = NULL;
	int rc = -1, n = 0;
	*Gout = NULL;
	if (strcmp(ifg_reader_kind(r), IFG_KIND_GRADSUM)) {
		gradhdr_init(h);
		return ifg_reader_err(r, "expected a '%s' stream, got '%s'", IFG_KIND_GRADSUM,
				      ifg_reader_kind(r));
	}
	if (ifg_gradhdr_from_map(r, IFG_KIND_GRADSUM, ifg_reader_hdr(r), h) < 0)
		goto out;
	n = h->n_layers;
	int got = ifg_reader_next(r, &rec);
	if (got <= 0) {
		if (got == 0)
			ifg_reader_err(r, "no gradsum record after the header");
		goto out;
	}
	if (ifg_get_i64(r, rec, IFG_K_COUNT, 0, INT64_MAX, count) < 0)
		goto out;
	const msgpack_object *gl = ifg_get(rec, IFG_K_G);
	if (!gl || gl->type != MSGPACK_OBJECT_ARRAY || (int)gl->via.array.size != n) {
		ifg_reader_err(r, "'%s' is not a list of %d layer gradients", IFG_K_G, n);
		goto out;
	}
	G = ifg_xcalloc(n, sizeof *G);
	for (int i = 0; i < n; i++)
		if (take_f64(r, &gl->via.array.ptr[i], IFG_K_G, h->layers[i].name,
			     (uint64_t)h->layers[i].d_out,
			     (uint64_t)h->layers[i].d_in + h->layers[i].bias,
			     &G[i]) < 0)
			goto out;
	got = ifg_reader_next(r, &rec);
	if (got != 0) {
		if (got > 0)
			ifg_reader_err(r, "a gradsum stream holds one record, this has more");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0 && G) {
		for (int i = 0; i < n; i++)
			free(G[i]);
		free(G);
		G = NULL;
	}
	*Gout = G;
	return rc;
}

/* ---- cov, eigen, factors ---- */

void ifg_factors_from_header(struct ifg_factors *f, const struct ifg_gradhdr *h)
{
	const char **names = ifg_xmalloc(h->n_layers, sizeof *names);
	int *din = ifg_xmalloc(h->n_layers, sizeof *din), *dout = ifg_xmalloc(h->n_layers,
									      sizeof *dout);
	bool *bias = ifg_xmalloc(h->n_layers, sizeof *bias);
	for (int i = 0; i < h->n_layers; i++) {
		names[i] = h->layers[i].name;
		din[i] = h->layers[i].d_in;
		dout[i] = h->layers[i].d_out;
		bias[i] = h->layers[i].bias;
	}
	ifg_factors_init(f, h->n_layers, names, din, dout, bias);
	free(names);
	free(din);
	free(dout);
	free(bias);
}

void ifg_factor_header(struct ifg_writer *w, const char *kind, const struct ifg_gradhdr *src,
		       int64_t records, const char *strategy, const char *precision)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, kind, ifg_gradhdr_npairs(src) + 1 + (strategy != NULL) +
						 (precision != NULL));
	ifg_gradhdr_pack_pairs(pk, src);
	ifg_pack_kv_i64(pk, IFG_K_RECORDS, records);
	if (strategy)
		ifg_pack_kv_str(pk, IFG_K_STRATEGY, strategy);
	if (precision)
		ifg_pack_kv_str(pk, IFG_K_PRECISION, precision);
}

void ifg_factor_rec_pack(msgpack_packer *pk, int index, const struct ifg_layer_factors *l,
			 unsigned parts)
{
	bool cov = (parts & IFG_PART_COV) && l->A_sum && l->S_sum;
	bool eig = (parts & IFG_PART_EIGEN) && l->QA && l->QS && l->eigvals_A && l->eigvals_S;
	bool lam = (parts & IFG_PART_LAMBDA) && l->Lambda_sum;
	uint64_t na = (uint64_t)l->d_in + l->bias, o = (uint64_t)l->d_out;
	msgpack_pack_map(pk, 2 + 2 * (cov || eig) + 2 * cov + 4 * eig + 2 * lam);
	ifg_pack_kv_i64(pk, IFG_K_LAYER, index);
	ifg_pack_kv_str(pk, IFG_K_NAME, l->name);
	if (cov || eig) {
		ifg_pack_kv_i64(pk, IFG_K_A_COUNT, l->A_count);
		ifg_pack_kv_i64(pk, IFG_K_S_COUNT, l->S_count);
	}
	if (cov) {
		ifg_pack_kv_array(pk, IFG_K_A_SUM, IFG_F64, 2, (uint64_t[]){ na, na }, l->A_sum);
		ifg_pack_kv_array(pk, IFG_K_S_SUM, IFG_F64, 2, (uint64_t[]){ o, o }, l->S_sum);
	}
	if (eig) {
		ifg_pack_kv_array(pk, IFG_K_QA, IFG_F64, 2, (uint64_t[]){ na, na }, l->QA);
		ifg_pack_kv_array(pk, IFG_K_EIGVALS_A, IFG_F64, 1, (uint64_t[]){ na }, l->eigvals_A);
		ifg_pack_kv_array(pk, IFG_K_QS, IFG_F64, 2, (uint64_t[]){ o, o }, l->QS);
		ifg_pack_kv_array(pk, IFG_K_EIGVALS_S, IFG_F64, 1, (uint64_t[]){ o }, l->eigvals_S);
	}
	if (lam) {
		ifg_pack_kv_array(pk, IFG_K_LAMBDA_SUM, IFG_F64, 2, (uint64_t[]){ o, na },
				  l->Lambda_sum);
		ifg_pack_kv_i64(pk, IFG_K_LAMBDA_COUNT, l->Lambda_count);
	}
}

/* The optional part key of rec into *dst (shape (d0, d1), d1 0: a vector). */
static int opt_part(const struct ifg_reader *r, const msgpack_object *rec, const char *key,
		    const char *layer, uint64_t d0, uint64_t d1, double **dst)
{
	const msgpack_object *v = ifg_get(rec, key);
	return v ? take_f64(r, v, key, layer, d0, d1, dst) : 0;
}

static int opt_count(const struct ifg_reader *r, const msgpack_object *rec, const char *key,
		     int64_t *dst)
{
	return ifg_get(rec, key) ? ifg_get_i64(r, rec, key, 0, INT64_MAX, dst) : 0;
}

/* A sum needs its count, and a count of 0 only goes with a sum of zeros (an
 * empty shard): else merging would normalise it by another shard's count. */
static int sum_with_count(const struct ifg_reader *r, const msgpack_object *rec, const char *layer,
			  const char *sum_key, const double *sum, size_t n, const char *count_key,
			  int64_t count)
{
	if (!sum)
		return 0;
	if (!ifg_get(rec, count_key))
		return ifg_reader_err(r, "layer '%s': '%s' without '%s'", layer, sum_key, count_key);
	if (count == 0)
		for (size_t i = 0; i < n; i++)
			if (sum[i] != 0)
				return ifg_reader_err(r, "layer '%s': '%s' is 0 but '%s' is not zero",
						      layer, count_key, sum_key);
	return 0;
}

/* Covariance eigenvalues are >= 0: a negative one beyond the rounding of
 * the eigensolver (1e-6 of the largest magnitude; LAPACK's error is about
 * n eps of it) is damage.  Lambda is a sum of squares: >= 0 exactly. */
#define EIGVAL_TOL 1e-6

static int nonneg(const struct ifg_reader *r, const char *layer, const char *key, const double *v,
		  size_t n, double rel_tol)
{
	if (!v)
		return 0;
	double big = 0;
	for (size_t i = 0; i < n; i++)
		big = fabs(v[i]) > big ? fabs(v[i]) : big;
	for (size_t i = 0; i < n; i++)
		if (v[i] < -rel_tol * big || (rel_tol == 0 && v[i] < 0))
			return ifg_reader_err(r, "layer '%s': %s[%zu] = %g is negative%s", layer, key,
					      i, v[i], rel_tol ? " (a covariance's eigenvalue)"
							       : " (a sum of squares)");
	return 0;
}

int ifg_factor_rec_parse(const struct ifg_reader *r, const msgpack_object *rec, int expect,
			 struct ifg_layer_factors *l)
{
	int64_t idx;
	const char *name;
	size_t nlen;
	uint64_t na = (uint64_t)l->d_in + l->bias, o = (uint64_t)l->d_out;
	if (ifg_get_i64(r, rec, IFG_K_LAYER, 0, INT32_MAX, &idx) < 0 ||
	    ifg_get_str(r, rec, IFG_K_NAME, &name, &nlen) < 0)
		return -1;
	if (idx != expect || nlen != strlen(l->name) || memcmp(name, l->name, nlen))
		return ifg_reader_err(r, "expected layer %d '%s', got layer %lld '%.*s'", expect,
				      l->name, (long long)idx, (int)nlen, name);
	if (opt_part(r, rec, IFG_K_A_SUM, l->name, na, na, &l->A_sum) < 0 ||
	    opt_part(r, rec, IFG_K_S_SUM, l->name, o, o, &l->S_sum) < 0 ||
	    opt_part(r, rec, IFG_K_QA, l->name, na, na, &l->QA) < 0 ||
	    opt_part(r, rec, IFG_K_EIGVALS_A, l->name, na, 0, &l->eigvals_A) < 0 ||
	    opt_part(r, rec, IFG_K_QS, l->name, o, o, &l->QS) < 0 ||
	    opt_part(r, rec, IFG_K_EIGVALS_S, l->name, o, 0, &l->eigvals_S) < 0 ||
	    opt_part(r, rec, IFG_K_LAMBDA_SUM, l->name, o, na, &l->Lambda_sum) < 0 ||
	    opt_count(r, rec, IFG_K_A_COUNT, &l->A_count) < 0 ||
	    opt_count(r, rec, IFG_K_S_COUNT, &l->S_count) < 0 ||
	    opt_count(r, rec, IFG_K_LAMBDA_COUNT, &l->Lambda_count) < 0)
		return -1;
	if (sum_with_count(r, rec, l->name, IFG_K_A_SUM, l->A_sum, na * na, IFG_K_A_COUNT,
			   l->A_count) < 0 ||
	    sum_with_count(r, rec, l->name, IFG_K_S_SUM, l->S_sum, o * o, IFG_K_S_COUNT,
			   l->S_count) < 0 ||
	    sum_with_count(r, rec, l->name, IFG_K_LAMBDA_SUM, l->Lambda_sum, o * na,
			   IFG_K_LAMBDA_COUNT, l->Lambda_count) < 0)
		return -1;
	if (!l->QA != !l->QS)
		return ifg_reader_err(r, "layer '%s': one eigenbasis without the other", l->name);
	if (nonneg(r, l->name, IFG_K_EIGVALS_A, l->eigvals_A, na, EIGVAL_TOL) < 0 ||
	    nonneg(r, l->name, IFG_K_EIGVALS_S, l->eigvals_S, o, EIGVAL_TOL) < 0 ||
	    nonneg(r, l->name, IFG_K_LAMBDA_SUM, l->Lambda_sum, o * na, 0) < 0)
		return -1;
	return 0;
}

int ifg_factors_read(const char *path, const char *const *kinds, struct ifg_gradhdr *h,
		     struct ifg_factors *f)
{
	memset(f, 0, sizeof *f);
	struct ifg_reader *r = ifg_reader_open(path);
	if (!r) {
		gradhdr_init(h);
		return -1;
	}
	int rc = -1;
	const msgpack_object *rec;
	if (ifg_gradhdr_read(r, kinds, h) < 0)
		goto out;
	ifg_factors_from_header(f, h);
	f->records = h->count;
	for (int i = 0; i < h->n_layers; i++) {
		int got = ifg_reader_next(r, &rec);
		if (got == 0)
			ifg_reader_err(r, "the stream ends after %d of %d layers", i, h->n_layers);
		if (got <= 0 || ifg_factor_rec_parse(r, rec, i, &f->layer[i]) < 0)
			goto out;
	}
	int got = ifg_reader_next(r, &rec);
	if (got > 0)
		ifg_reader_err(r, "more records than the %d layers of the header", h->n_layers);
	if (got == 0)
		rc = 0;
out:
	ifg_reader_close(r);
	return rc;
}

void ifg_scores_header(struct ifg_writer *w, const struct ifg_gradhdr *grads,
		       const struct ifg_scorer *sc, bool differential, bool document,
		       int64_t queries, int64_t negatives)
{
	msgpack_packer *pk = ifg_writer_pk(w);
	ifg_writer_begin_header(w, IFG_KIND_SCORES, ifg_gradhdr_npairs(grads) + 7);
	ifg_gradhdr_pack_pairs(pk, grads);
	ifg_pack_kv_str(pk, IFG_K_METHOD, differential ? "differential" : "toxic-only");
	ifg_pack_kv_str(pk, IFG_K_LEVEL, document ? "document" : "token");
	ifg_pack_kv_str(pk, IFG_K_STRATEGY, sc->strategy->name);
	ifg_pack_cstr(pk, IFG_K_DAMPING);
	msgpack_pack_map(pk, 3);
	ifg_pack_kv_str(pk, IFG_K_RULE, !sc->strategy->damped ? "none"
					: sc->damping.rule == IFG_DAMP_FIXED ? "fixed"
									     : "heuristic");
	ifg_pack_kv_f64(pk, IFG_K_VALUE, sc->strategy->damped ? sc->damping.value : 0);
	ifg_pack_kv_array(pk, IFG_K_LAYERS, IFG_F64, 1, (uint64_t[]){ (uint64_t)sc->n_layers },
			  sc->delta);
	ifg_pack_kv_i64(pk, IFG_K_QUERIES, queries);
	ifg_pack_kv_i64(pk, IFG_K_NEGATIVES, negatives);
	ifg_pack_kv_str(pk, IFG_K_PRECISION, ifg_precision_name(sc->prec));
}

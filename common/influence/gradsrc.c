/* gradsrc.c: per-token gradients from a grads stream or in-process
 * (gradsrc.h). */
#include "gradsrc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "modelid.h"
#include "rng.h"
#include "util.h"

int ifg_gradmodel_open(struct ifg_gradmodel *gm, const char *ckpt, const char *layers,
		       bool sample, uint64_t seed, bool any_tok)
{
	memset(gm, 0, sizeof *gm);
	gm->path = ckpt;
	gm->sample = sample;
	gm->seed = seed;
	if (!(gm->m = ifg_gpt_load(ckpt)))
		return ifg_prefixerr("cannot load '%s'", ckpt);
	ifg_gpt_identity(gm->m, &gm->id);
	gm->has_tok = any_tok ? 0 : ifg_ckpt_tokenizer(ckpt, &gm->tok);
	if (gm->has_tok < 0 || ifg_gradext_init(&gm->g, gm->m, layers) < 0) {
		ifg_gpt_free(gm->m);
		gm->m = NULL;
		return ifg_prefixerr("'%s'", ckpt);
	}
	return 0;
}

int ifg_gradmodel_twin(struct ifg_gradmodel *twin, struct ifg_gradmodel *gm)
{
	*twin = *gm;
	twin->loss_sum = 0;
	memset(&twin->g, 0, sizeof twin->g);
	if (!(twin->m = ifg_gpt_twin(gm->m)))
		return -1;
	char *list = ifg_layer_list(gm->g.n_layers, gm->g.layers);	/* gm's layers */
	int rc = ifg_gradext_init(&twin->g, twin->m, list);
	free(list);
	if (rc < 0) {
		ifg_gpt_free(twin->m);
		twin->m = NULL;
		return -1;
	}
	return 0;
}

void ifg_gradmodel_close(struct ifg_gradmodel *gm)
{
	if (gm->m) {
		ifg_gradext_release(&gm->g);
		ifg_gpt_free(gm->m);
	}
	memset(gm, 0, sizeof *gm);
}

char *ifg_layer_list(int n, const struct ifg_layer_shape *layers)
{
	struct ifg_bytes b = { 0 };
	for (int i = 0; i < n; i++) {
		if (i)
			ifg_bytes_putc(&b, ',');
		ifg_bytes_append(&b, layers[i].name, strlen(layers[i].name));
	}
	ifg_bytes_putc(&b, 0); /* p allocated and terminated even without layers */
	return (char *)b.p;
}

/* The bytes a model computing gradients in-process holds for records of up
 * to T tokens (ifg-factor(1), MEMORY): the model's own count (gpt.h
 * ifg_gpt_memory: weights, the activations kept for the backward pass and
 * the backward's buffers; no parameter gradients) and the per-layer a and s
 * of gradext. */
double ifg_model_bytes(const struct ifg_gradmodel *gm, int64_t T)
{
	double ext = 0;
	for (int i = 0; i < gm->g.n_layers; i++)
		ext += 4.0 * (double)T * (gm->g.layers[i].d_in + gm->g.layers[i].bias +
					  gm->g.layers[i].d_out);
	return (double)ifg_gpt_memory(gm->m, 1, (int)T,
				      IFG_GPT_TRAIN | IFG_GPT_KEEP_LINEAR | IFG_GPT_NO_PARAM_GRADS) +
	       ext;
}

uint64_t ifg_sample_key(const msgpack_object *rec, uint64_t recno)
{
	const msgpack_object *id = ifg_get(rec, IFG_K_ID);
	if (id && id->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return id->via.u64;
	if (id && id->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (uint64_t)id->via.i64;
	if (id && id->type == MSGPACK_OBJECT_STR) {
		uint64_t h = 0xcbf29ce484222325ull;
		for (uint32_t i = 0; i < id->via.str.size; i++)
			h = (h ^ (uint8_t)id->via.str.ptr[i]) * 0x100000001b3ull;
		return h;
	}
	return recno;
}

/* The per-layer array tables of an opened source. */
static void alloc_layers(struct ifg_gradsrc *src)
{
	int n = src->n_layers = src->h.n_layers;
	src->g = ifg_xcalloc(n, sizeof *src->g);
	src->a = ifg_xcalloc(n, sizeof *src->a);
	src->s = ifg_xcalloc(n, sizeof *src->s);
	src->abuf = ifg_xcalloc(n, sizeof *src->abuf);
	src->sbuf = ifg_xcalloc(n, sizeof *src->sbuf);
	src->acap = ifg_xcalloc(n, sizeof *src->acap);
	src->scap = ifg_xcalloc(n, sizeof *src->scap);
}

/* The grads header ifg-grad would write for these tokens: model,
 * tokenizer (the tokens stream's), layers, labels, seed, dtype f32. */
static int model_header(struct ifg_gradsrc *src)
{
	struct ifg_gradmodel *gm = src->gm;
	const msgpack_object *tz = ifg_get(ifg_reader_hdr(src->r), IFG_K_TOKENIZER);
	struct ifg_tok_id in;
	char what[600];
	snprintf(what, sizeof what, "'%.580s'", ifg_reader_name(src->r));
	if (gm->has_tok == 1 && ifg_tok_id_from_map(tz, &in) == 1 &&
	    ifg_tok_id_check(&gm->tok, gm->path, &in, what) < 0)
		return -1;
	msgpack_packer pk;
	msgpack_packer_init(&pk, &src->hdrbuf_, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6 + (tz != NULL));
	ifg_pack_kv_str(&pk, "kind", IFG_KIND_GRADS);
	ifg_pack_cstr(&pk, IFG_K_MODEL);
	ifg_model_id_pack(&pk, &gm->id);
	if (tz) {
		ifg_pack_cstr(&pk, IFG_K_TOKENIZER);
		msgpack_pack_object(&pk, *tz);
	}
	ifg_pack_kv_layers(&pk, gm->g.n_layers, gm->g.layers);
	ifg_pack_kv_str(&pk, IFG_K_LABELS, gm->sample ? "sampled" : "true");
	ifg_pack_cstr(&pk, IFG_K_SEED);
	msgpack_pack_uint64(&pk, gm->seed);
	ifg_pack_kv_str(&pk, IFG_K_DTYPE, "f32");
	size_t off = 0;
	if (msgpack_unpack_next(&src->hdrunp_, src->hdrbuf_.data, src->hdrbuf_.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		return ifg_seterr("cannot make the gradients' header");
	return ifg_gradhdr_from_map(src->r, IFG_KIND_GRADS, &src->hdrunp_.data, &src->h);
}

static void src_init(struct ifg_gradsrc *src, struct ifg_reader *r, struct ifg_gradmodel *gm)
{
	memset(src, 0, sizeof *src);
	msgpack_sbuffer_init(&src->hdrbuf_);
	msgpack_unpacked_init(&src->hdrunp_);
	src->r = r;
	src->gm = gm;
}

int ifg_gradsrc_open(struct ifg_gradsrc *src, const char *path, struct ifg_gradmodel *gm)
{
	static const char *const k_grads[] = { IFG_KIND_GRADS, NULL };
	struct ifg_reader *r = ifg_reader_open(path && strcmp(path, "-") ? path : NULL);
	if (gm && r && ifg_reader_header(r, IFG_KIND_TOKENS) == 0)
		return ifg_gradsrc_attach(src, r, gm);
	src_init(src, r, gm);
	if (!r || gm || ifg_gradhdr_read(r, k_grads, &src->h) < 0)
		return -1;
	alloc_layers(src);
	return 0;
}

int ifg_gradsrc_attach(struct ifg_gradsrc *src, struct ifg_reader *r, struct ifg_gradmodel *gm)
{
	src_init(src, r, gm);
	if (strcmp(ifg_reader_kind(r), IFG_KIND_TOKENS))
		return ifg_reader_err(r, "expected a '%s' stream, got '%s'", IFG_KIND_TOKENS,
				      ifg_reader_kind(r));
	if (model_header(src) < 0)
		return -1;
	alloc_layers(src);
	return 0;
}

static float *grow32(float *p, size_t *cap, size_t n)
{
	if (n <= *cap && p)
		return p;
	free(p);
	*cap = n ? n : 1;
	return ifg_xaligned(*cap, sizeof(float));
}

int ifg_gradjob_parse(struct ifg_gradsrc *src, const msgpack_object *rec, uint64_t recno,
		      struct ifg_gradjob *job)
{
	struct ifg_array ta;
	int64_t cont = 0;
	if (ifg_get_array(src->r, rec, IFG_K_TOKENS, 1, &ta) < 0 ||
	    (ifg_get(rec, IFG_K_CONT) &&
	     ifg_get_i64(src->r, rec, IFG_K_CONT, 0, (int64_t)ta.n, &cont) < 0))
		return -1;
	if (ta.n > INT32_MAX)
		return ifg_reader_err(src->r, "%llu tokens: too many for one record",
				      (unsigned long long)ta.n);
	if (ta.n > job->cap || !job->tok) {
		free(job->tok);
		job->cap = ta.n ? ta.n : 1;
		job->tok = ifg_xmalloc(job->cap, sizeof *job->tok);
	}
	if (ifg_array_to_u32(&ta, job->tok, UINT32_MAX) < 0)
		return ifg_reader_err(src->r, "%s", ifg_err());
	/* what the model would refuse, said here, where the record is known */
	const struct ifg_gpt_config *c = ifg_gpt_cfg(src->gm->m);
	if (ta.n < 1 || ta.n > (uint64_t)c->n_ctx)
		return ifg_reader_err(src->r, "a record of %llu tokens (the model takes 1 to %d)",
				      (unsigned long long)ta.n, c->n_ctx);
	for (size_t i = 0; i < ta.n; i++)
		if (job->tok[i] >= (uint32_t)c->vocab_size)
			return ifg_reader_err(src->r,
					      "token %u at position %zu is outside the vocabulary (%d)",
					      job->tok[i], i, c->vocab_size);
	job->T = (int)ta.n;
	job->cont = (int)cont;
	job->key = ifg_sample_key(rec, recno);
	return 0;
}

int ifg_gradjob_run(struct ifg_gradmodel *gm, struct ifg_gradjob *job)
{
	struct ifg_rng rng;
	ifg_rng_init2(&rng, gm->seed, job->key);
	return ifg_gradext_record(&gm->g, job->tok, job->T, job->cont, gm->sample ? &rng : NULL,
				  &job->loss);
}

void ifg_gradjob_release(struct ifg_gradjob *job)
{
	free(job->tok);
	memset(job, 0, sizeof *job);
}

/* One tokens record: forward and backward of the model. */
static int next_model(struct ifg_gradsrc *src, const msgpack_object *rec)
{
	struct ifg_gradmodel *gm = src->gm;
	if (ifg_gradjob_parse(src, rec, src->records, &src->job) < 0)
		return -1;
	if (ifg_gradjob_run(gm, &src->job) < 0)
		return ifg_reader_err(src->r, "%s", ifg_err());
	gm->loss_sum += src->job.loss;
	for (int l = 0; l < src->n_layers; l++) {
		src->a[l] = gm->g.a[l];
		src->s[l] = gm->g.s[l];
	}
	src->T = (uint64_t)gm->g.T;
	return 0;
}

/* One grads record: its arrays as f32 copies (unless f64_only). */
static int next_stream(struct ifg_gradsrc *src, const msgpack_object *rec)
{
	if (ifg_grads_parse(src->r, &src->h, rec, src->g, &src->T) < 0)
		return -1;
	for (int l = 0; !src->f64_only && l < src->n_layers; l++) {
		const struct ifg_array *a = &src->g[l].a, *s = &src->g[l].s;
		src->abuf[l] = grow32(src->abuf[l], &src->acap[l], a->n);
		src->sbuf[l] = grow32(src->sbuf[l], &src->scap[l], s->n);
		if (ifg_array_to_f32(a, src->abuf[l], false) < 0 ||
		    ifg_array_to_f32(s, src->sbuf[l], false) < 0)
			return ifg_reader_err(src->r, "layer '%s': %s", src->h.layers[l].name,
					      ifg_err());
		src->a[l] = src->abuf[l];
		src->s[l] = src->sbuf[l];
	}
	return 0;
}

int ifg_gradsrc_next(struct ifg_gradsrc *src, const msgpack_object **rec)
{
	int rc = ifg_reader_next(src->r, rec);
	if (rc <= 0)
		return rc;
	if ((src->gm ? next_model(src, *rec) : next_stream(src, *rec)) < 0)
		return -1;
	src->records++;
	return 1;
}

static double *grow64(double *p, size_t *cap, size_t n)
{
	if (n <= *cap && p)
		return p;
	free(p);
	*cap = n ? n : 1;
	return ifg_xaligned(*cap, sizeof(double));
}

int ifg_gradsrc_f64(struct ifg_gradsrc *src, int l, double **a, size_t *acap, double **s,
		    size_t *scap)
{
	const struct ifg_layer_shape *L = &src->h.layers[l];
	size_t na = (size_t)src->T * (L->d_in + L->bias), no = (size_t)src->T * L->d_out;
	*a = grow64(*a, acap, na);
	*s = grow64(*s, scap, no);
	if (!src->gm) {
		if (ifg_array_to_f64(&src->g[l].a, *a, false) < 0 ||
		    ifg_array_to_f64(&src->g[l].s, *s, false) < 0)
			return ifg_reader_err(src->r, "layer '%s': %s", L->name, ifg_err());
		return 0;
	}
	ifg_widen_f64(src->a[l], na, a, acap);
	ifg_widen_f64(src->s[l], no, s, scap);
	return 0;
}

void ifg_widen_f64(const float *x, size_t n, double **out, size_t *cap)
{
	*out = grow64(*out, cap, n);
	for (size_t i = 0; i < n; i++)
		(*out)[i] = x[i];
}

void ifg_gradsrc_close(struct ifg_gradsrc *src)
{
	for (int l = 0; l < src->n_layers; l++) {
		free(src->abuf[l]);
		free(src->sbuf[l]);
	}
	free(src->g);
	free(src->a);
	free(src->s);
	free(src->abuf);
	free(src->sbuf);
	free(src->acap);
	free(src->scap);
	ifg_gradjob_release(&src->job);
	if (src->r)
		ifg_reader_close(src->r);
	ifg_gradhdr_release(&src->h);
	msgpack_unpacked_destroy(&src->hdrunp_);
	msgpack_sbuffer_destroy(&src->hdrbuf_);
	memset(src, 0, sizeof *src);
}

/* safetensors.c: see safetensors.h. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "stream.h"
#include "util.h"

#define MAX_HEADER ((uint64_t)100 << 20)

static const struct { const char *name; enum ifg_st_dtype t; size_t size; } dtypes[] = {
	{ "F32", IFG_ST_F32, 4 }, { "F16", IFG_ST_F16, 2 }, { "BF16", IFG_ST_BF16, 2 },
	{ "F64", IFG_ST_F64, 8 }, { "I64", IFG_ST_I64, 8 }, { "I32", IFG_ST_I32, 4 },
	{ "U8", IFG_ST_U8, 1 },	  { "BOOL", IFG_ST_BOOL, 1 }, { "I16", IFG_ST_OTHER, 2 },
	{ "U16", IFG_ST_OTHER, 2 }, { "U32", IFG_ST_OTHER, 4 }, { "U64", IFG_ST_OTHER, 8 },
	{ "I8", IFG_ST_OTHER, 1 }, { "F8_E5M2", IFG_ST_OTHER, 1 }, { "F8_E4M3", IFG_ST_OTHER, 1 },
};

struct meta_kv {
	char *key, *value;
};

struct ifg_st {
	char *path;
	uint8_t *map;
	size_t size;
	struct ifg_st_tensor *t;
	size_t n;
	struct meta_kv *meta;
	size_t nmeta;
	char sha[65];
};

static int st_fail(struct ifg_st *st, const char *fmt, const char *detail)
{
	ifg_seterr(fmt, st->path, detail);
	return -1;
}

static int by_data(const void *a, const void *b)
{
	const struct ifg_st_tensor *x = *(const struct ifg_st_tensor *const *)a,
				   *y = *(const struct ifg_st_tensor *const *)b;
	const uint8_t *p = x->data, *q = y->data;
	return p < q ? -1 : p > q;
}

/* Two tensors may not share bytes (a writer would never make them so; a
 * crafted file could alias one tensor's data as another's). */
static int check_overlap(struct ifg_st *st)
{
	struct ifg_st_tensor **v = ifg_xmalloc(st->n ? st->n : 1, sizeof *v);
	for (size_t i = 0; i < st->n; i++)
		v[i] = &st->t[i];
	qsort(v, st->n, sizeof *v, by_data);
	int rc = 0;
	size_t last = 0;	/* of the tensors so far, the one that ends last */
	for (size_t i = 1; i < st->n && rc == 0; i++) {
		const uint8_t *end = (const uint8_t *)v[last]->data + v[last]->nbytes;
		if (v[i]->nbytes && (const uint8_t *)v[i]->data < end)
			rc = ifg_seterr("'%s': tensors '%s' and '%s' overlap in the data (their "
					"data_offsets share bytes)", st->path, v[last]->name,
					v[i]->name);
		if ((const uint8_t *)v[i]->data + v[i]->nbytes > end)
			last = i;
	}
	free(v);
	return rc;
}

/* Parses the JSON header; every offset is checked against data_len. */
static int parse_header(struct ifg_st *st, const char *json, size_t len, const uint8_t *data,
			uint64_t data_len)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, 0, &jerr);
	if (!root || !json_is_object(root)) {
		ifg_seterr("'%s': header is not a JSON object: %s", st->path,
			   root ? "wrong type" : jerr.text);
		json_decref(root);
		return -1;
	}
	size_t cap = json_object_size(root);
	st->t = ifg_xcalloc(cap ? cap : 1, sizeof *st->t);
	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		if (strcmp(key, "__metadata__") == 0) {
			if (!json_is_object(val))
				goto bad_meta;
			size_t nm = json_object_size(val);
			st->meta = ifg_xcalloc(nm ? nm : 1, sizeof *st->meta);
			const char *mk;
			json_t *mv;
			json_object_foreach(val, mk, mv) {
				if (!json_is_string(mv))
					goto bad_meta;
				st->meta[st->nmeta].key = ifg_xstrdup(mk);
				st->meta[st->nmeta].value = ifg_xstrdup(json_string_value(mv));
				st->nmeta++;
			}
			continue;
		}
		struct ifg_st_tensor *t = &st->t[st->n];
		json_t *dt = json_object_get(val, "dtype"), *sh = json_object_get(val, "shape"),
		       *off = json_object_get(val, "data_offsets");
		if (!json_is_object(val) || !json_is_string(dt) || !json_is_array(sh) ||
		    !json_is_array(off) || json_array_size(off) != 2 ||
		    json_array_size(sh) > IFG_ST_MAX_DIM) {
			ifg_seterr("'%s': tensor '%s': malformed entry", st->path, key);
			goto fail;
		}
		size_t esize = 0;
		t->dtype = IFG_ST_OTHER;
		for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
			if (strcmp(json_string_value(dt), dtypes[i].name) == 0) {
				t->dtype = dtypes[i].t;
				esize = dtypes[i].size;
			}
		if (!esize) {
			ifg_seterr("'%s': tensor '%s': unknown dtype '%s'", st->path, key,
				   json_string_value(dt));
			goto fail;
		}
		t->ndim = (int)json_array_size(sh);
		uint64_t n = 1;
		for (int d = 0; d < t->ndim; d++) {
			json_t *x = json_array_get(sh, d);
			json_int_t v = json_is_integer(x) ? json_integer_value(x) : -1;
			if (v < 0 || (v > 0 && n > UINT64_MAX / (uint64_t)v)) {
				ifg_seterr("'%s': tensor '%s': bad shape", st->path, key);
				goto fail;
			}
			t->shape[d] = v;
			n *= (uint64_t)v;
		}
		json_t *b0 = json_array_get(off, 0), *b1 = json_array_get(off, 1);
		json_int_t o0 = json_is_integer(b0) ? json_integer_value(b0) : -1,
			   o1 = json_is_integer(b1) ? json_integer_value(b1) : -1;
		if (o0 < 0 || o1 < o0 || (uint64_t)o1 > data_len) {
			ifg_seterr("'%s': tensor '%s': data offsets [%lld, %lld] outside the %llu "
				   "data bytes", st->path, key, (long long)o0, (long long)o1,
				   (unsigned long long)data_len);
			goto fail;
		}
		if (n > UINT64_MAX / esize || (uint64_t)(o1 - o0) != n * esize) {
			ifg_seterr("'%s': tensor '%s': %lld bytes for %llu elements of %zu bytes",
				   st->path, key, (long long)(o1 - o0), (unsigned long long)n, esize);
			goto fail;
		}
		t->n = n;
		t->nbytes = (size_t)(o1 - o0);
		t->data = data + o0;
		t->name = ifg_xstrdup(key);
		st->n++;
	}
	json_decref(root);
	return check_overlap(st);
bad_meta:
	ifg_seterr("'%s': __metadata__ must map strings to strings", st->path);
fail:
	json_decref(root);
	return -1;
}

struct ifg_st *ifg_st_open(const char *path)
{
	struct ifg_st *st = ifg_xcalloc(1, sizeof *st);
	st->path = ifg_xstrdup(path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		ifg_seterr("cannot open '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		st_fail(st, "'%s': %s", "not a regular file");
		goto fail;
	}
	st->size = (size_t)sb.st_size;
	if (st->size < 8) {
		st_fail(st, "'%s': %s", "too short for a safetensors file");
		goto fail;
	}
	st->map = mmap(NULL, st->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (st->map == MAP_FAILED) {
		st->map = NULL;
		ifg_seterr("cannot map '%s': %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	uint64_t hl = 0;
	for (int i = 7; i >= 0; i--)
		hl = hl << 8 | st->map[i];
	if (hl > MAX_HEADER || hl > st->size - 8) {
		ifg_seterr("'%s': header length %llu exceeds the file (%zu bytes)", path,
			   (unsigned long long)hl, st->size);
		goto fail;
	}
	if (parse_header(st, (const char *)st->map + 8, (size_t)hl, st->map + 8 + hl,
			 st->size - 8 - hl) < 0)
		goto fail;
	struct ifg_sha256 h;
	ifg_sha256_init(&h);
	ifg_sha256_update(&h, st->map, st->size);
	ifg_sha256_final(&h, st->sha);
	return st;
fail:
	if (fd >= 0)
		close(fd);
	ifg_st_close(st);
	return NULL;
}

void ifg_st_close(struct ifg_st *st)
{
	if (!st)
		return;
	if (st->map)
		munmap(st->map, st->size);
	for (size_t i = 0; i < st->n; i++)
		free(st->t[i].name);
	for (size_t i = 0; i < st->nmeta; i++) {
		free(st->meta[i].key);
		free(st->meta[i].value);
	}
	free(st->t);
	free(st->meta);
	free(st->path);
	free(st);
}

size_t ifg_st_count(const struct ifg_st *st) { return st->n; }
const struct ifg_st_tensor *ifg_st_at(const struct ifg_st *st, size_t i)
{
	return i < st->n ? &st->t[i] : NULL;
}
const char *ifg_st_sha256(const struct ifg_st *st) { return st->sha; }
const char *ifg_st_path(const struct ifg_st *st) { return st->path; }

const struct ifg_st_tensor *ifg_st_find(const struct ifg_st *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->t[i].name, name) == 0)
			return &st->t[i];
	return NULL;
}

const char *ifg_st_meta(const struct ifg_st *st, const char *key)
{
	for (size_t i = 0; i < st->nmeta; i++)
		if (strcmp(st->meta[i].key, key) == 0)
			return st->meta[i].value;
	return NULL;
}

static float half_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, mant = h & 0x3ff;
	union { uint32_t u; float f; } v;
	if (e == 0) { /* zero or subnormal: mant * 2^-24 */
		float f = ldexpf((float)mant, -24);
		return sign ? -f : f;
	}
	if (e == 31)
		v.u = sign | 0x7f800000u | (mant << 13);
	else
		v.u = sign | ((e + 112) << 23) | (mant << 13);
	return v.f;
}

int ifg_st_read_f32(const struct ifg_st *st, const struct ifg_st_tensor *t, float *dst, int ndim,
		    const int64_t *shape)
{
	if (shape) {
		bool ok = t->ndim == ndim;
		for (int d = 0; ok && d < ndim; d++)
			ok = t->shape[d] == shape[d];
		if (!ok) {
			char want[128] = "", got[128] = "";
			size_t a = 0, b = 0;
			for (int d = 0; d < ndim && a < sizeof want - 24; d++)
				a += snprintf(want + a, sizeof want - a, "%s%lld", d ? ", " : "",
					      (long long)shape[d]);
			for (int d = 0; d < t->ndim && b < sizeof got - 24; d++)
				b += snprintf(got + b, sizeof got - b, "%s%lld", d ? ", " : "",
					      (long long)t->shape[d]);
			return ifg_seterr("'%s': tensor '%s' has shape (%s), expected (%s)", st->path,
					  t->name, got, want);
		}
	}
	const uint8_t *s = t->data;
	switch (t->dtype) {
	case IFG_ST_F32:
		memcpy(dst, s, t->n * 4);
		break;
	case IFG_ST_F64:
		for (uint64_t i = 0; i < t->n; i++) {
			double d;
			memcpy(&d, s + 8 * i, 8);
			dst[i] = (float)d;
		}
		break;
	case IFG_ST_BF16:
	case IFG_ST_F16:
		for (uint64_t i = 0; i < t->n; i++) {
			uint16_t h = (uint16_t)(s[2 * i] | s[2 * i + 1] << 8);
			dst[i] = t->dtype == IFG_ST_BF16 ? ifg_bf16_to_f32(h) : half_to_f32(h);
		}
		break;
	default:
		return ifg_seterr("'%s': tensor '%s' is not floating point", st->path, t->name);
	}
	return 0;
}

/* ---- writing ---- */

struct wt {
	char *name;
	int ndim;
	int64_t shape[IFG_ST_MAX_DIM];
	const float *data;
	size_t n;
};

struct ifg_st_writer {
	struct wt *t;
	size_t n, cap;
	struct meta_kv *meta;
	size_t nmeta, metacap;
	char sha[65];
};

struct ifg_st_writer *ifg_st_writer_new(void)
{
	return ifg_xcalloc(1, sizeof(struct ifg_st_writer));
}

void ifg_st_add_f32(struct ifg_st_writer *w, const char *name, int ndim, const int64_t *shape,
		    const float *data)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 64;
		w->t = ifg_xrealloc(w->t, w->cap, sizeof *w->t);
	}
	struct wt *t = &w->t[w->n++];
	t->name = ifg_xstrdup(name);
	t->ndim = ndim < 0 ? 0 : ndim > IFG_ST_MAX_DIM ? IFG_ST_MAX_DIM : ndim;
	t->n = 1;
	for (int d = 0; d < t->ndim; d++) {
		t->shape[d] = shape[d];
		t->n *= (size_t)shape[d];
	}
	t->data = data;
}

void ifg_st_set_meta(struct ifg_st_writer *w, const char *key, const char *value)
{
	for (size_t i = 0; i < w->nmeta; i++)
		if (strcmp(w->meta[i].key, key) == 0) {
			free(w->meta[i].value);
			w->meta[i].value = ifg_xstrdup(value);
			return;
		}
	if (w->nmeta == w->metacap) {
		w->metacap = w->metacap ? 2 * w->metacap : 16;
		w->meta = ifg_xrealloc(w->meta, w->metacap, sizeof *w->meta);
	}
	w->meta[w->nmeta].key = ifg_xstrdup(key);
	w->meta[w->nmeta].value = ifg_xstrdup(value);
	w->nmeta++;
}

static int put(struct ifg_out *out, struct ifg_sha256 *h, const void *buf, size_t n)
{
	ifg_sha256_update(h, buf, n);
	return ifg_out_write(out, buf, n);
}

int ifg_st_writer_put(struct ifg_st_writer *w, struct ifg_out *out)
{
	const char *path = ifg_out_name(out);
	json_t *root = json_object();
	if (w->nmeta) {
		json_t *m = json_object();
		for (size_t i = 0; i < w->nmeta; i++)
			json_object_set_new(m, w->meta[i].key, json_string(w->meta[i].value));
		json_object_set_new(root, "__metadata__", m);
	}
	uint64_t off = 0;
	for (size_t i = 0; i < w->n; i++) {
		const struct wt *t = &w->t[i];
		json_t *e = json_object(), *sh = json_array();
		for (int d = 0; d < t->ndim; d++)
			json_array_append_new(sh, json_integer(t->shape[d]));
		json_object_set_new(e, "dtype", json_string("F32"));
		json_object_set_new(e, "shape", sh);
		json_t *o = json_array();
		json_array_append_new(o, json_integer((json_int_t)off));
		off += (uint64_t)t->n * 4;
		json_array_append_new(o, json_integer((json_int_t)off));
		json_object_set_new(e, "data_offsets", o);
		if (json_object_set_new(root, t->name, e) < 0) {
			json_decref(root);
			return ifg_seterr("'%s': bad tensor name", path);
		}
	}
	char *js = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!js)
		return ifg_seterr("'%s': cannot encode the header", path);
	size_t jl = strlen(js), padded = (jl + 7) & ~(size_t)7;
	struct ifg_sha256 h;
	ifg_sha256_init(&h);
	uint8_t len8[8];
	for (int i = 0; i < 8; i++)
		len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
	int rc = put(out, &h, len8, 8);
	if (!rc)
		rc = put(out, &h, js, jl);
	if (!rc)
		rc = put(out, &h, "        ", padded - jl);
	free(js);
	for (size_t i = 0; !rc && i < w->n; i++)
		rc = put(out, &h, w->t[i].data, w->t[i].n * 4);
	if (rc)
		return -1;
	ifg_sha256_final(&h, w->sha);
	return 0;
}

int ifg_st_writer_write(struct ifg_st_writer *w, const char *path)
{
	struct ifg_out *out = ifg_out_open(path, IFG_COMPRESS_NO, 1);
	if (!out)
		return -1;
	if (ifg_st_writer_put(w, out) < 0) {
		ifg_out_abort(out);
		return -1;
	}
	return ifg_out_close(out);
}

const char *ifg_st_writer_sha256(const struct ifg_st_writer *w) { return w->sha; }

void ifg_st_writer_free(struct ifg_st_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	for (size_t i = 0; i < w->nmeta; i++) {
		free(w->meta[i].key);
		free(w->meta[i].value);
	}
	free(w->t);
	free(w->meta);
	free(w);
}

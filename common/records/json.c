/* json.c: msgpack objects as JSON text, JSON values as msgpack (typed
 * arrays as bin), and lookups in parsed JSON. */
#include "json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "util.h"

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	else if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void ifg_json_str(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f), fputc((int)c, f), i++;
		} else if (c == '\n') {
			fputs("\\n", f), i++;
		} else if (c == '\t') {
			fputs("\\t", f), i++;
		} else if (c == '\r') {
			fputs("\\r", f), i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c), i++;
		} else {
			size_t k = utf8_len(s + i, n - i);
			if (k == 0) {
				fprintf(f, "\\u%04x", c), i++;
			} else {
				fwrite(s + i, 1, k, f);
				i += k;
			}
		}
	}
	fputc('"', f);
}

void ifg_json_num(FILE *f, double v)
{
	if (isnan(v))
		fputs("\"NaN\"", f);
	else if (isinf(v))
		fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
	else if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.9g", v);
}

/* The shortest %g form that reads back as the same float. */
static void json_num_f32(FILE *f, double v)
{
	if (!isfinite(v) || (v == floor(v) && fabs(v) < 1e15)) {
		ifg_json_num(f, v);
		return;
	}
	char buf[32];
	for (int p = 6; p <= 9; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, v);
		if ((float)strtod(buf, NULL) == (float)v)
			break;
	}
	fputs(buf, f);
}

#define HEAD 8

static void print_array(FILE *f, const struct ifg_array *a, bool full)
{
	fprintf(f, "{\"dtype\":\"%s\",\"shape\":[", ifg_dtype_name(a->dtype));
	for (int i = 0; i < a->ndim; i++)
		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)a->shape[i]);
	fputc(']', f);
	void (*num)(FILE *, double) =
		a->dtype == IFG_F32 || a->dtype == IFG_BF16 ? json_num_f32 : ifg_json_num;
	if (full) {
		fputs(",\"data\":[", f);
		for (uint64_t i = 0; i < a->n; i++) {
			if (i)
				fputc(',', f);
			num(f, ifg_array_get(a, i));
		}
		fputs("]}", f);
		return;
	}
	double mn = INFINITY, mx = -INFINITY, sum = 0;
	for (uint64_t i = 0; i < a->n; i++) {
		double v = ifg_array_get(a, i);
		mn = fmin(mn, v), mx = fmax(mx, v), sum += v;
	}
	fprintf(f, ",\"n\":%llu", (unsigned long long)a->n);
	if (a->n) {
		fputs(",\"min\":", f), num(f, mn);
		fputs(",\"max\":", f), num(f, mx);
		fputs(",\"mean\":", f), ifg_json_num(f, sum / (double)a->n);
	}
	fputs(",\"head\":[", f);
	for (uint64_t i = 0; i < a->n && i < HEAD; i++) {
		if (i)
			fputc(',', f);
		num(f, ifg_array_get(a, i));
	}
	fputs(a->n > HEAD ? ",\"...\"]}" : "]}", f);
}

/* A map that is a well-formed typed array? */
static bool as_array(const msgpack_object *o, struct ifg_array *a)
{
	if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 3 || !ifg_get(o, "data"))
		return false;
	char save[1024];
	snprintf(save, sizeof save, "%s", ifg_err());
	bool ok = ifg_obj_to_array(NULL, o, "", 0, a) == 0;
	ifg_seterr("%s", save);
	return ok;
}

void ifg_json_obj(FILE *f, const msgpack_object *o, bool full)
{
	struct ifg_array a;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: fputs("null", f); break;
	case MSGPACK_OBJECT_BOOLEAN: fputs(o->via.boolean ? "true" : "false", f); break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: fprintf(f, "%llu", (unsigned long long)o->via.u64); break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: fprintf(f, "%lld", (long long)o->via.i64); break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: ifg_json_num(f, o->via.f64); break;
	case MSGPACK_OBJECT_STR: ifg_json_str(f, o->via.str.ptr, o->via.str.size); break;
	case MSGPACK_OBJECT_BIN: fprintf(f, "{\"bin\":%u}", o->via.bin.size); break;
	case MSGPACK_OBJECT_EXT: fprintf(f, "{\"ext\":%d,\"size\":%u}", o->via.ext.type, o->via.ext.size); break;
	case MSGPACK_OBJECT_ARRAY:
		fputc('[', f);
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				fputc(',', f);
			ifg_json_obj(f, &o->via.array.ptr[i], full);
		}
		fputc(']', f);
		break;
	case MSGPACK_OBJECT_MAP:
		if (as_array(o, &a)) {
			print_array(f, &a, full);
			break;
		}
		fputc('{', f);
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			if (i)
				fputc(',', f);
			if (k->type == MSGPACK_OBJECT_STR) {
				ifg_json_str(f, k->via.str.ptr, k->via.str.size);
			} else if (k->type == MSGPACK_OBJECT_MAP || k->type == MSGPACK_OBJECT_ARRAY) {
				/* a container as key: its kind and size only, as for
				 * bin; its JSON, escaped into a string at every level
				 * of keys within keys, would double in length at each */
				char buf[48];
				int len = snprintf(buf, sizeof buf, "{\"%s\":%u}",
						   k->type == MSGPACK_OBJECT_MAP ? "map" : "array",
						   k->type == MSGPACK_OBJECT_MAP ? k->via.map.size
										 : k->via.array.size);
				ifg_json_str(f, buf, (size_t)len);
			} else { /* JSON keys are strings: write the scalar key's JSON as one */
				char *buf = NULL;
				size_t len = 0;
				FILE *m = open_memstream(&buf, &len);
				ifg_json_obj(m, k, full);
				fclose(m);
				ifg_json_str(f, buf, len);
				free(buf);
			}
			fputc(':', f);
			ifg_json_obj(f, &o->via.map.ptr[i].val, full);
		}
		fputc('}', f);
		break;
	default: fputs("null", f);
	}
}

json_t *ifg_json_field(json_t *o, const char *name)
{
	json_t *v = json_object_get(o, name);
	if (v || !strchr(name, '.'))
		return v;
	char key[256];
	for (const char *s = name; json_is_object(o);) {
		const char *dot = strchr(s, '.');
		size_t k = dot ? (size_t)(dot - s) : strlen(s);
		if (k >= sizeof key)
			return NULL;
		memcpy(key, s, k);
		key[k] = 0;
		o = json_object_get(o, key);
		if (!dot)
			return o;
		s = dot + 1;
	}
	return NULL;
}

/* ---- JSON to msgpack ---- */

/* Packs a typed array given as {"dtype", "shape", "data"}; -1 with a message. */
static int pack_typed(msgpack_packer *pk, json_t *o)
{
	const char *dt = json_string_value(json_object_get(o, "dtype"));
	json_t *shape = json_object_get(o, "shape"), *data = json_object_get(o, "data");
	int t = dt ? ifg_dtype_parse(dt, strlen(dt)) : -1;
	if (t < 0)
		return ifg_seterr("unknown dtype '%s'", dt ? dt : "");
	size_t nd = json_array_size(shape);
	if (nd > IFG_MAX_NDIM)
		return ifg_seterr("too many dimensions");
	uint64_t dims[IFG_MAX_NDIM], n = 1;
	for (size_t i = 0; i < nd; i++) {
		json_int_t d = json_integer_value(json_array_get(shape, i));
		if (!json_is_integer(json_array_get(shape, i)) || d < 0 || d > UINT32_MAX)
			return ifg_seterr("bad shape[%zu]", i);
		dims[i] = (uint64_t)d;
		n *= dims[i];
	}
	if (json_array_size(data) != n)
		return ifg_seterr("shape holds %llu values, data has %zu", (unsigned long long)n,
				  json_array_size(data));
	size_t sz = ifg_dtype_size((enum ifg_dtype)t);
	unsigned char *buf = ifg_xmalloc(n ? n : 1, sz);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(data, i);
		double x = json_is_number(v) ? json_number_value(v) : NAN;
		if (json_is_string(v) && !strcmp(json_string_value(v), "Infinity"))
			x = INFINITY;
		else if (json_is_string(v) && !strcmp(json_string_value(v), "-Infinity"))
			x = -INFINITY;
		else if (!json_is_number(v) && !(json_is_string(v) && !strcmp(json_string_value(v), "NaN"))) {
			free(buf);
			return ifg_seterr("data[%zu] is not a number", i);
		}
		unsigned char *p = buf + i * sz;
		int integer = t == IFG_U8 || t == IFG_U16 || t == IFG_U32 || t == IFG_I32;
		double lo = t == IFG_I32 ? INT32_MIN : 0;
		double hi = t == IFG_U8 ? 255 : t == IFG_U16 ? 65535 : t == IFG_U32 ? UINT32_MAX : INT32_MAX;
		if (integer && (x != floor(x) || x < lo || x > hi)) {
			free(buf);
			return ifg_seterr("data[%zu] = %g does not fit %s", i, x, dt);
		}
		switch (t) {
		case IFG_U8: p[0] = (uint8_t)x; break;
		case IFG_U16: { uint16_t v16 = (uint16_t)x; memcpy(p, &v16, 2); break; }
		case IFG_U32: { uint32_t v32 = (uint32_t)x; memcpy(p, &v32, 4); break; }
		case IFG_I32: { int32_t v32 = (int32_t)x; memcpy(p, &v32, 4); break; }
		case IFG_F32: { float f = (float)x; memcpy(p, &f, 4); break; }
		case IFG_F64: memcpy(p, &x, 8); break;
		case IFG_BF16: { uint16_t h = ifg_f32_to_bf16((float)x); memcpy(p, &h, 2); break; }
		}
	}
	/* key already packed by the caller */
	msgpack_pack_map(pk, 3);
	ifg_pack_kv_str(pk, "dtype", dt);
	ifg_pack_cstr(pk, "shape");
	msgpack_pack_array(pk, nd);
	for (size_t i = 0; i < nd; i++)
		msgpack_pack_uint64(pk, dims[i]);
	ifg_pack_cstr(pk, "data");
	msgpack_pack_bin(pk, n * sz);
	msgpack_pack_bin_body(pk, buf, n * sz);
	free(buf);
	return 0;
}

int ifg_json_pack(msgpack_packer *pk, json_t *v)
{
	size_t i;
	const char *key;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 3 && json_object_get(v, "dtype") &&
		    json_object_get(v, "shape") && json_is_array(json_object_get(v, "data")))
			return pack_typed(pk, v);
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach(v, key, x) {
			ifg_pack_cstr(pk, key);
			if (ifg_json_pack(pk, x) < 0)
				return ifg_prefixerr("field '%s'", key);
		}
		return 0;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, x) if (ifg_json_pack(pk, x) < 0) return -1;
		return 0;
	case JSON_STRING:
		msgpack_pack_str(pk, json_string_length(v));
		msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); return 0;
	case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); return 0;
	case JSON_TRUE: msgpack_pack_true(pk); return 0;
	case JSON_FALSE: msgpack_pack_false(pk); return 0;
	default: msgpack_pack_nil(pk); return 0;
	}
}

/* json.c: msgpack objects as JSON text, and lookups in parsed JSON. */
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
			if (k->type == MSGPACK_OBJECT_STR)
				ifg_json_str(f, k->via.str.ptr, k->via.str.size);
			else { /* JSON keys are strings: write the key's JSON as one */
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

/* ifg-pack: JSON lines to an ifg record stream (the inverse of ifg-show -a).
 *
 * Each input line is one JSON object; the first is the header and must have
 * "kind" and "version".  An object {"dtype", "shape", "data": [numbers]}
 * becomes a typed array (little-endian bin).  For crafting streams by hand,
 * for tests, and for bringing outside data (scores, masks) into a pipeline. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rec.h"
#include "textin.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ifg-pack [-z] [-o output] [file]\n"
		"Turn JSON lines (header first) into an ifg record stream.\n"
		"  -o, --output FILE  write to FILE (atomically) instead of stdout\n"
		"  -z, --zstd         compress (default for names ending in .zst)\n"
		"      --help, --version\n");
}

/* Packs a typed array given as {"dtype", "shape", "data"}; -1 with a message. */
static int pack_array(msgpack_packer *pk, json_t *o)
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

static int pack_json(msgpack_packer *pk, json_t *v)
{
	size_t i;
	const char *key;
	json_t *x;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (json_object_size(v) == 3 && json_object_get(v, "dtype") &&
		    json_object_get(v, "shape") && json_is_array(json_object_get(v, "data")))
			return pack_array(pk, v);
		msgpack_pack_map(pk, json_object_size(v));
		json_object_foreach(v, key, x) {
			ifg_pack_cstr(pk, key);
			if (pack_json(pk, x) < 0)
				return ifg_prefixerr("field '%s'", key);
		}
		return 0;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(v));
		json_array_foreach(v, i, x) if (pack_json(pk, x) < 0) return -1;
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

int main(int argc, char **argv)
{
	ifg_cli_init(argv[0]);
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "zstd", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },	    { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL;
	int compress = IFG_COMPRESS_AUTO, c;
	while ((c = getopt_long(argc, argv, "o:z", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'z': compress = IFG_COMPRESS_YES; break;
		case 'h': usage(stdout); return 0;
		case 'V': ifg_version();
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind > 1)
		ifg_usage_error("at most one input file");
	const char *input = optind < argc ? argv[optind] : "-";
	/* read as every reader reads: zstd detected whatever the name */
	struct ifg_textin_opts to = { .format = IFG_TEXTIN_LINES };
	struct ifg_textin *in = ifg_textin_open(input, &to);
	if (!in)
		ifg_die("%s", ifg_err());
	struct ifg_writer *w = ifg_writer_open(output, compress);
	if (!w)
		ifg_die_err("cannot write");
	struct ifg_doc d;
	int rc;
	while ((rc = ifg_textin_next(in, &d)) > 0) {
		unsigned long long lineno = (unsigned long long)d.line;
		if (strspn(d.text, " \t\r") == d.text_len)
			continue;
		json_error_t err;
		json_t *v = json_loadb(d.text, d.text_len, JSON_ALLOW_NUL, &err);
		if (!v || !json_is_object(v))
			ifg_die("%s:%llu: %s", input, lineno, v ? "not a JSON object" : err.text);
		if (ifg_writer_records(w) == 0 && (!json_is_string(json_object_get(v, "kind")) ||
						   !json_is_integer(json_object_get(v, "version"))))
			ifg_die("%s:%llu: the first line must be a header with kind and version",
				input, lineno);
		if (pack_json(ifg_writer_pk(w), v) < 0 || ifg_writer_end(w) < 0)
			ifg_die_err("%s:%llu", input, lineno);
		json_decref(v);
	}
	if (rc < 0)
		ifg_die("%s", ifg_err());
	ifg_textin_close(in);
	if (ifg_writer_records(w) == 0)
		ifg_die("%s: empty input: no header line", input);
	if (ifg_writer_close(w) < 0)
		ifg_die_err("cannot finish output");
	return 0;
}

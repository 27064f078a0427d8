/* rec.c: record streams: msgpack maps over ifg_in / ifg_out.
 *
 * Reading is two steps per record.  A resumable scanner walks the msgpack
 * bytes as they arrive and finds where the record ends, checking every
 * length and element count against the bytes that can still follow (a
 * record is at most max_record bytes).  Only a complete record is handed to
 * msgpack_unpack_next(), whose str/bin objects then point into our buffer;
 * so an input that claims a 4 GiB string or a billion-element array costs
 * nothing until those bytes really arrive. */
#include "rec.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kinds.h"
#include "util.h"

static const struct {
	const char *name;
	size_t size;
} dtypes[IFG_NDTYPE] = {
	[IFG_U8] = { "u8", 1 },	  [IFG_U16] = { "u16", 2 }, [IFG_U32] = { "u32", 4 },
	[IFG_I32] = { "i32", 4 }, [IFG_F32] = { "f32", 4 }, [IFG_F64] = { "f64", 8 },
	[IFG_BF16] = { "bf16", 2 },
};

const char *ifg_dtype_name(enum ifg_dtype t) { return t < IFG_NDTYPE ? dtypes[t].name : "?"; }
size_t ifg_dtype_size(enum ifg_dtype t) { return t < IFG_NDTYPE ? dtypes[t].size : 0; }

int ifg_dtype_parse(const char *name, size_t len)
{
	for (int i = 0; i < IFG_NDTYPE; i++)
		if (strlen(dtypes[i].name) == len && !memcmp(dtypes[i].name, name, len))
			return i;
	return -1;
}

/* ---- scanning ---- */

#define SCAN_DEPTH 32	/* as msgpack-c's own unpacker limit */

struct scan {
	uint64_t pos;			/* bytes of the record scanned so far */
	uint64_t objects;		/* msgpack objects in them (each one a msgpack_object) */
	int depth;
	uint64_t left[SCAN_DEPTH + 1];	/* elements still to come per level */
};

static void scan_reset(struct scan *s)
{
	s->pos = 0;
	s->objects = 0;
	s->depth = 0;
	s->left[0] = 1;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

enum { SCAN_MORE = 0, SCAN_DONE = 1, SCAN_BAD = -1 };

/* Advances over p[s->pos .. len).  SCAN_DONE when one whole object ends at
 * s->pos; SCAN_MORE when more bytes are needed; SCAN_BAD with *why set. */
static int scan_step(struct scan *s, const uint8_t *p, uint64_t len, uint64_t max,
		     const char **why)
{
	while (s->depth >= 0) {
		if (s->pos >= len)
			return SCAN_MORE;
		uint8_t b = p[s->pos];
		uint64_t hdr = 1, payload = 0, children = 0;
		int lenbytes = 0;
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		} else if (b <= 0x8f) {
			children = 2 * (uint64_t)(b & 0x0f);
		} else if (b <= 0x9f) {
			children = b & 0x0f;
		} else if (b <= 0xbf) {
			payload = b & 0x1f;
		} else {
			switch (b) {
			case 0xc4: case 0xd9: lenbytes = 1; break;
			case 0xc5: case 0xda: lenbytes = 2; break;
			case 0xc6: case 0xdb: lenbytes = 4; break;
			case 0xc7: lenbytes = 1, hdr = 1; payload = 1; break;
			case 0xc8: lenbytes = 2, payload = 1; break;
			case 0xc9: lenbytes = 4, payload = 1; break;
			case 0xca: payload = 4; break;
			case 0xcb: payload = 8; break;
			case 0xcc: case 0xd0: payload = 1; break;
			case 0xcd: case 0xd1: payload = 2; break;
			case 0xce: case 0xd2: payload = 4; break;
			case 0xcf: case 0xd3: payload = 8; break;
			case 0xd4: payload = 2; break;
			case 0xd5: payload = 3; break;
			case 0xd6: payload = 5; break;
			case 0xd7: payload = 9; break;
			case 0xd8: payload = 17; break;
			case 0xdc: case 0xde: lenbytes = 2; break;
			case 0xdd: case 0xdf: lenbytes = 4; break;
			default: *why = "invalid msgpack type byte 0xc1"; return SCAN_BAD;
			}
			if (s->pos + 1 + lenbytes > len)
				return SCAN_MORE;
			uint64_t n = be(p + s->pos + 1, lenbytes);
			hdr = 1 + (uint64_t)lenbytes;
			if (b == 0xdc || b == 0xdd)
				children = n;
			else if (b == 0xde || b == 0xdf)
				children = 2 * n;
			else
				payload += n;
		}
		/* Every element takes at least one byte: a count or length
		 * beyond what the record may still hold is a lie. */
		if (payload > max || children > max || s->pos + hdr + payload + children > max) {
			static char msg[160];
			snprintf(msg, sizeof msg, "a length or element count of %llu exceeds the "
				 "record size limit (%llu bytes; IFG_MAX_RECORD)",
				 (unsigned long long)(payload > children ? payload : children),
				 (unsigned long long)max);
			*why = msg;
			return SCAN_BAD;
		}
		if (s->pos + hdr + payload > len)
			return SCAN_MORE;
		if (s->depth == 0 && s->pos == 0 && !ifg_msgpack_is_map(b)) {
			*why = "record is not a msgpack map";
			return SCAN_BAD;
		}
		s->pos += hdr + payload;
		s->objects++;
		s->left[s->depth]--;
		if (children) {
			if (s->depth == SCAN_DEPTH) {
				*why = "nesting too deep";
				return SCAN_BAD;
			}
			s->left[++s->depth] = children;
		}
		while (s->depth >= 0 && s->left[s->depth] == 0)
			s->depth--;
	}
	return SCAN_DONE;
}

/* ---- reader ---- */

#define READ_CHUNK (1 << 16)

struct ifg_reader {
	struct ifg_in *in;
	uint8_t *buf;
	size_t cap, beg, end;	/* unconsumed bytes are buf[beg, end) */
	uint64_t buf_off;	/* stream offset of buf[0] */
	size_t last_len;	/* bytes of the record last returned (consumed at next call) */
	uint64_t max_record;
	size_t read_size;	/* bytes asked of the input per read */
	struct scan scan;
	msgpack_unpacked unp;
	uint64_t nread;		/* records returned so far */
	uint64_t rec_off;
	int eof;
	/* the header, kept in its own bytes */
	uint8_t *hdr_bytes;
	msgpack_unpacked hdr_unp;
	int have_hdr;
	char *kind;
};

int ifg_in_is_records(const char *path)
{
	bool std = !path || !strcmp(path, "-");
	/* rereadable from offset 0: kept, or copied (and rewound) */
	if (std && ifg_in_stdin_rereadable() < 0)
		return -1;
	if (std && lseek(0, 0, SEEK_SET) < 0)
		return ifg_seterr("cannot read <stdin> again: %s", strerror(errno));
	struct ifg_in *in = ifg_in_open(path);
	if (!in)
		return -1;
	unsigned char b = 0;
	ssize_t k = ifg_in_read(in, &b, 1);
	ifg_in_close(in);
	if (std && lseek(0, 0, SEEK_SET) < 0)
		return ifg_seterr("cannot read <stdin> again: %s", strerror(errno));
	return k == 1 && ifg_msgpack_is_map(b);
}

struct ifg_reader *ifg_reader_open(const char *path)
{
	struct ifg_in *in = ifg_in_open(path);
	if (!in)
		return NULL;
	struct ifg_reader *r = ifg_xcalloc(1, sizeof *r);
	r->in = in;
	r->cap = READ_CHUNK * 2;
	r->buf = ifg_xmalloc(r->cap, 1);
	r->max_record = IFG_MAX_RECORD_DEFAULT;
	r->read_size = READ_CHUNK;
	msgpack_unpacked_init(&r->unp);
	msgpack_unpacked_init(&r->hdr_unp);
	const char *env = getenv("IFG_MAX_RECORD");
	if (env && *env && ifg_parse_u64(env, 16, (uint64_t)1 << 40, &r->max_record) < 0) {
		ifg_prefixerr("IFG_MAX_RECORD (the record size limit in bytes)");
		ifg_reader_close(r);
		return NULL;
	}
	return r;
}

const char *ifg_reader_name(const struct ifg_reader *r) { return ifg_in_name(r->in); }
uint64_t ifg_reader_recno(const struct ifg_reader *r) { return r->nread ? r->nread - 1 : 0; }
uint64_t ifg_reader_offset(const struct ifg_reader *r) { return r->rec_off; }
const msgpack_object *ifg_reader_hdr(const struct ifg_reader *r)
{
	return r->have_hdr ? &r->hdr_unp.data : NULL;
}
const char *ifg_reader_kind(const struct ifg_reader *r) { return r->kind; }

void ifg_reader_set_read_size(struct ifg_reader *r, size_t n)
{
	r->read_size = n < 1 ? 1 : n > READ_CHUNK ? READ_CHUNK : n;
}

void ifg_reader_set_max_record(struct ifg_reader *r, uint64_t n) { r->max_record = n; }

int ifg_reader_err(const struct ifg_reader *r, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!r)
		return ifg_seterr("%s", msg);
	return ifg_seterr("'%s': record %llu at byte %llu: %s", ifg_in_name(r->in),
			  (unsigned long long)ifg_reader_recno(r),
			  (unsigned long long)r->rec_off, msg);
}

/* Makes room for READ_CHUNK more bytes and reads them; 0 at end of input. */
static ssize_t fill(struct ifg_reader *r)
{
	if (r->beg > 0 && (r->beg >= r->cap / 2 || r->cap - r->end < READ_CHUNK)) {
		memmove(r->buf, r->buf + r->beg, r->end - r->beg);
		r->buf_off += r->beg;
		r->end -= r->beg;
		r->beg = 0;
	}
	if (r->cap - r->end < READ_CHUNK) {
		r->cap *= 2;
		r->buf = ifg_xrealloc(r->buf, r->cap, 1);
	}
	ssize_t n = ifg_in_read(r->in, r->buf + r->end, r->read_size);
	if (n > 0)
		r->end += (size_t)n;
	return n;
}

int ifg_reader_next(struct ifg_reader *r, const msgpack_object **rec)
{
	r->beg += r->last_len;
	r->last_len = 0;
	r->rec_off = r->buf_off + r->beg;
	scan_reset(&r->scan);
	const char *why = NULL;
	/* Messages below name the record about to be read. */
	r->nread++;
	for (;;) {
		int st = r->end > r->beg ? scan_step(&r->scan, r->buf + r->beg, r->end - r->beg,
						     r->max_record, &why)
					 : SCAN_MORE;
		if (st == SCAN_BAD) {
			uint64_t at = r->rec_off + r->scan.pos;
			return ifg_reader_err(r, "corrupt input at byte %llu: %s",
					      (unsigned long long)at, why);
		}
		if (st == SCAN_DONE)
			break;
		if (r->eof) {
			if (r->end == r->beg) {
				r->nread--;
				return 0;
			}
			return ifg_reader_err(r, "truncated: the stream ends %llu bytes into the record",
					      (unsigned long long)(r->end - r->beg));
		}
		ssize_t n = fill(r);
		if (n < 0) {
			char msg[600];
			snprintf(msg, sizeof msg, "%s", ifg_err());
			return ifg_reader_err(r, "%s", msg);
		}
		if (n == 0)
			r->eof = 1;
	}
	size_t len = (size_t)r->scan.pos, off = 0;
	/* Bound what unpacking costs: one msgpack_object (24 bytes) per
	 * object, whatever its encoding (a nil is one byte). */
	uint64_t decoded = r->scan.objects * (uint64_t)sizeof(msgpack_object);
	if (decoded > IFG_DECODE_FACTOR * (uint64_t)len + IFG_DECODE_SLACK)
		return ifg_reader_err(r, "a record of %llu bytes holds %llu msgpack objects, which "
				      "would take %llu bytes decoded (at most %d times the record's "
				      "size plus %llu MiB)", (unsigned long long)len,
				      (unsigned long long)r->scan.objects, (unsigned long long)decoded,
				      IFG_DECODE_FACTOR,
				      (unsigned long long)(IFG_DECODE_SLACK >> 20));
	msgpack_unpack_return ret =
		msgpack_unpack_next(&r->unp, (const char *)r->buf + r->beg, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		return ifg_reader_err(r, "corrupt msgpack record (%s)",
				      ret == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory"
								       : "unpack failed");
	r->last_len = len;
	*rec = &r->unp.data;
	/* A header after the header: two streams joined byte by byte. */
	const msgpack_object *k = ifg_get(*rec, IFG_K_KIND), *v = ifg_get(*rec, IFG_K_VERSION);
	if (r->have_hdr && k && k->type == MSGPACK_OBJECT_STR && v &&
	    v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return ifg_reader_err(r, "a second header (a '%.*s' stream begins here): streams "
				      "are joined with ifg-cat, not byte by byte",
				      (int)k->via.str.size, k->via.str.ptr);
	return 1;
}

int ifg_reader_header(struct ifg_reader *r, const char *kind)
{
	const msgpack_object *h;
	int rc = ifg_reader_next(r, &h);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return ifg_seterr("'%s': empty input: no header record%s%s%s", ifg_in_name(r->in),
				  kind ? " (expected a '" : "", kind ? kind : "", kind ? "' stream)" : "");
	const char *k;
	size_t klen;
	int64_t ver;
	if (!ifg_get(h, IFG_K_KIND) || ifg_get_str(r, h, IFG_K_KIND, &k, &klen) < 0)
		return ifg_reader_err(r, "not an ifg stream: the first record has no 'kind'");
	if (ifg_get_i64(r, h, IFG_K_VERSION, 1, INT32_MAX, &ver) < 0)
		return -1;
	if (kind && (strlen(kind) != klen || memcmp(kind, k, klen)))
		return ifg_reader_err(r, "expected a '%s' stream, got '%.*s'", kind, (int)klen, k);
	if (ver > IFG_FORMAT_VERSION)
		return ifg_reader_err(r, "'%.*s' stream version %lld is newer than this program "
				      "reads (%d)", (int)klen, k, (long long)ver, IFG_FORMAT_VERSION);
	/* Keep the header beyond the next record: unpack a private copy. */
	r->hdr_bytes = ifg_xmalloc(r->last_len, 1);
	memcpy(r->hdr_bytes, r->buf + r->beg, r->last_len);
	size_t off = 0;
	msgpack_unpack_next(&r->hdr_unp, (const char *)r->hdr_bytes, r->last_len, &off);
	r->kind = ifg_xmalloc(klen + 1, 1);
	memcpy(r->kind, k, klen);
	r->kind[klen] = 0;
	r->have_hdr = 1;
	return 0;
}

void ifg_reader_close(struct ifg_reader *r)
{
	if (!r)
		return;
	ifg_in_close(r->in);
	msgpack_unpacked_destroy(&r->unp);
	msgpack_unpacked_destroy(&r->hdr_unp);
	free(r->hdr_bytes);
	free(r->kind);
	free(r->buf);
	free(r);
}

/* ---- fields ---- */

bool ifg_obj_streq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);
	if (o->type == MSGPACK_OBJECT_STR)
		return o->via.str.size == n && !memcmp(o->via.str.ptr, s, n);
	if (o->type == MSGPACK_OBJECT_BIN)
		return o->via.bin.size == n && !memcmp(o->via.bin.ptr, s, n);
	return false;
}

const msgpack_object *ifg_get(const msgpack_object *map, const char *key)
{
	if (!map || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		if (ifg_obj_streq(&map->via.map.ptr[i].key, key))
			return &map->via.map.ptr[i].val;
	return NULL;
}

static const char *type_name(msgpack_object_type t)
{
	switch (t) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "boolean";
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "string";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_BIN: return "bin";
	default: return "ext";
	}
}

static const msgpack_object *need(const struct ifg_reader *r, const msgpack_object *map,
				  const char *key, msgpack_object_type t)
{
	const msgpack_object *v = ifg_get(map, key);
	if (!v) {
		ifg_reader_err(r, "missing field '%s'", key);
		return NULL;
	}
	if (v->type != t) {
		ifg_reader_err(r, "field '%s' is a %s, expected a %s", key, type_name(v->type),
			       type_name(t));
		return NULL;
	}
	return v;
}

int ifg_get_str(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		const char **s, size_t *len)
{
	const msgpack_object *v = need(r, map, key, MSGPACK_OBJECT_STR);
	if (!v)
		return -1;
	*s = v->via.str.ptr;
	*len = v->via.str.size;
	return 0;
}

int ifg_get_strdup(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		   char **s)
{
	const char *p;
	size_t n;
	if (ifg_get_str(r, map, key, &p, &n) < 0)
		return -1;
	if (memchr(p, 0, n))
		return ifg_reader_err(r, "field '%s' contains a NUL byte", key);
	*s = ifg_xmalloc(n + 1, 1);
	memcpy(*s, p, n);
	(*s)[n] = 0;
	return 0;
}

int ifg_get_i64(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		int64_t lo, int64_t hi, int64_t *out)
{
	const msgpack_object *v = ifg_get(map, key);
	if (!v)
		return ifg_reader_err(r, "missing field '%s'", key);
	int64_t x;
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
		if (v->via.u64 > (uint64_t)INT64_MAX)
			return ifg_reader_err(r, "field '%s' = %llu is out of range [%lld, %lld]", key,
					      (unsigned long long)v->via.u64, (long long)lo,
					      (long long)hi);
		x = (int64_t)v->via.u64;
	} else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		x = v->via.i64;
	} else {
		return ifg_reader_err(r, "field '%s' is a %s, expected an integer", key,
				      type_name(v->type));
	}
	if (x < lo || x > hi)
		return ifg_reader_err(r, "field '%s' = %lld is out of range [%lld, %lld]", key,
				      (long long)x, (long long)lo, (long long)hi);
	*out = x;
	return 0;
}

int ifg_get_f64(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		double lo, double hi, double *out)
{
	const msgpack_object *v = ifg_get(map, key);
	if (!v)
		return ifg_reader_err(r, "missing field '%s'", key);
	double x;
	switch (v->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER: x = (double)v->via.u64; break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: x = (double)v->via.i64; break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: x = v->via.f64; break;
	default:
		return ifg_reader_err(r, "field '%s' is a %s, expected a number", key,
				      type_name(v->type));
	}
	if (!isfinite(x))
		return ifg_reader_err(r, "field '%s' is not a finite number", key);
	if (x < lo || x > hi)
		return ifg_reader_err(r, "field '%s' = %g is out of range [%g, %g]", key, x, lo, hi);
	*out = x;
	return 0;
}

int ifg_get_bool(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		 bool *out)
{
	const msgpack_object *v = need(r, map, key, MSGPACK_OBJECT_BOOLEAN);
	if (!v)
		return -1;
	*out = v->via.boolean;
	return 0;
}

int ifg_get_map(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		const msgpack_object **m)
{
	return (*m = need(r, map, key, MSGPACK_OBJECT_MAP)) ? 0 : -1;
}

int ifg_get_array(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		  int ndim, struct ifg_array *a)
{
	const msgpack_object *v = need(r, map, key, MSGPACK_OBJECT_MAP);
	return v ? ifg_obj_to_array(r, v, key, ndim, a) : -1;
}

int ifg_obj_to_array(const struct ifg_reader *r, const msgpack_object *v, const char *key,
		     int ndim, struct ifg_array *a)
{
	if (v->type != MSGPACK_OBJECT_MAP)
		return ifg_reader_err(r, "field '%s' is not an array", key);
	const msgpack_object *dt = ifg_get(v, "dtype"), *sh = ifg_get(v, "shape"),
			     *data = ifg_get(v, "data");
	if (!dt || dt->type != MSGPACK_OBJECT_STR || !sh || sh->type != MSGPACK_OBJECT_ARRAY ||
	    !data || data->type != MSGPACK_OBJECT_BIN)
		return ifg_reader_err(r, "field '%s' is not an array (a map of dtype string, "
				      "shape array and data bin)", key);
	int t = ifg_dtype_parse(dt->via.str.ptr, dt->via.str.size);
	if (t < 0)
		return ifg_reader_err(r, "field '%s': unknown dtype '%.*s'", key,
				      (int)dt->via.str.size, dt->via.str.ptr);
	if (sh->via.array.size > IFG_MAX_NDIM)
		return ifg_reader_err(r, "field '%s': %u dimensions (at most %d)", key,
				      sh->via.array.size, IFG_MAX_NDIM);
	if (ndim && (int)sh->via.array.size != ndim)
		return ifg_reader_err(r, "field '%s' has %u dimensions, expected %d", key,
				      sh->via.array.size, ndim);
	a->dtype = (enum ifg_dtype)t;
	a->ndim = (int)sh->via.array.size;
	a->n = 1;
	for (int i = 0; i < a->ndim; i++) {
		const msgpack_object *d = &sh->via.array.ptr[i];
		if (d->type != MSGPACK_OBJECT_POSITIVE_INTEGER || d->via.u64 > UINT32_MAX ||
		    __builtin_mul_overflow(a->n, d->via.u64, &a->n))
			return ifg_reader_err(r, "field '%s': bad shape[%d]", key, i);
		a->shape[i] = d->via.u64;
	}
	for (int i = a->ndim; i < IFG_MAX_NDIM; i++)
		a->shape[i] = 1;
	if (a->n > data->via.bin.size || a->n * dtypes[t].size != data->via.bin.size)
		return ifg_reader_err(r, "field '%s': shape needs %llu bytes of %s, data has %u",
				      key, (unsigned long long)(a->n * dtypes[t].size),
				      dtypes[t].name, data->via.bin.size);
	a->data = data->via.bin.ptr;
	return 0;
}

/* ---- array conversion ---- */

double ifg_array_get(const struct ifg_array *a, uint64_t i)
{
	const uint8_t *p = (const uint8_t *)a->data + i * dtypes[a->dtype].size;
	switch (a->dtype) {
	case IFG_U8: return p[0];
	case IFG_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
	case IFG_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
	case IFG_I32: { int32_t v; memcpy(&v, p, 4); return v; }
	case IFG_F32: { float v; memcpy(&v, p, 4); return v; }
	case IFG_F64: { double v; memcpy(&v, p, 8); return v; }
	case IFG_BF16: { uint16_t v; memcpy(&v, p, 2); return ifg_bf16_to_f32(v); }
	default: return NAN;
	}
}

int ifg_array_to_f32(const struct ifg_array *a, float *dst, bool allow_nonfinite)
{
	if (a->n == 0)
		return 0; /* dst may be NULL */
	if (a->dtype == IFG_F32)
		memcpy(dst, a->data, a->n * 4);
	else
		for (uint64_t i = 0; i < a->n; i++)
			dst[i] = (float)ifg_array_get(a, i);
	if (!allow_nonfinite)
		for (uint64_t i = 0; i < a->n; i++)
			if (!isfinite(dst[i]))
				return ifg_seterr("array element %llu is %s", (unsigned long long)i,
						  isnan(dst[i]) ? "NaN" : "infinite");
	return 0;
}

int ifg_array_to_f64(const struct ifg_array *a, double *dst, bool allow_nonfinite)
{
	if (a->n == 0)
		return 0; /* dst may be NULL */
	if (a->dtype == IFG_F64) {
		memcpy(dst, a->data, a->n * 8);
	} else if (a->dtype == IFG_F32) {
		const uint8_t *p = a->data;
		for (uint64_t i = 0; i < a->n; i++) {
			float f;
			memcpy(&f, p + 4 * i, 4);
			dst[i] = f;
		}
	} else {
		for (uint64_t i = 0; i < a->n; i++)
			dst[i] = ifg_array_get(a, i);
	}
	for (uint64_t i = 0; i < a->n; i++) {
		if (!allow_nonfinite && !isfinite(dst[i]))
			return ifg_seterr("array element %llu is %s", (unsigned long long)i,
					  isnan(dst[i]) ? "NaN" : "infinite");
	}
	return 0;
}

int ifg_array_to_u32(const struct ifg_array *a, uint32_t *dst, uint32_t max)
{
	if (a->dtype != IFG_U8 && a->dtype != IFG_U16 && a->dtype != IFG_U32 && a->dtype != IFG_I32)
		return ifg_seterr("expected an integer array, got %s", dtypes[a->dtype].name);
	for (uint64_t i = 0; i < a->n; i++) {
		double v = ifg_array_get(a, i);
		if (v < 0 || v > max)
			return ifg_seterr("element %llu = %.0f is out of range [0, %u]",
					  (unsigned long long)i, v, max);
		dst[i] = (uint32_t)v;
	}
	return 0;
}

int ifg_array_to_u8(const struct ifg_array *a, uint8_t *dst)
{
	if (a->dtype != IFG_U8)
		return ifg_seterr("expected a u8 array, got %s", dtypes[a->dtype].name);
	if (a->n)
		memcpy(dst, a->data, a->n);
	return 0;
}

int ifg_array_to_mask(const struct ifg_array *a, uint8_t *dst)
{
	if (ifg_array_to_u8(a, dst) < 0)
		return -1;
	for (uint64_t i = 0; i < a->n; i++)
		if (dst[i] > 1)
			return ifg_seterr("element %llu = %u: a mask holds 0 or 1",
					  (unsigned long long)i, dst[i]);
	return 0;
}

/* ---- writer ---- */

struct ifg_writer {
	struct ifg_out *out;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t nrec;
};

struct ifg_writer *ifg_writer_open(const char *path, int compress)
{
	struct ifg_out *out = ifg_out_open(path, compress, 1);
	if (!out)
		return NULL;
	struct ifg_writer *w = ifg_xcalloc(1, sizeof *w);
	w->out = out;
	msgpack_sbuffer_init(&w->sb);
	msgpack_packer_init(&w->pk, &w->sb, msgpack_sbuffer_write);
	return w;
}

msgpack_packer *ifg_writer_pk(struct ifg_writer *w) { return &w->pk; }
uint64_t ifg_writer_records(const struct ifg_writer *w) { return w->nrec; }
const char *ifg_writer_name(const struct ifg_writer *w) { return ifg_out_name(w->out); }

int ifg_writer_end(struct ifg_writer *w)
{
	if (w->sb.size == 0)
		return ifg_seterr("internal error: empty record");
	uint8_t b = (uint8_t)w->sb.data[0];
	if (!ifg_msgpack_is_map(b))
		return ifg_seterr("internal error: record is not a map");
	int rc = ifg_out_write(w->out, w->sb.data, w->sb.size);
	msgpack_sbuffer_clear(&w->sb);
	/* Keep memory flat: give back a buffer grown by one huge record. */
	if (w->sb.alloc > (64u << 20)) {
		msgpack_sbuffer_destroy(&w->sb);
		msgpack_sbuffer_init(&w->sb);
	}
	w->nrec++;
	return rc;
}

void ifg_writer_begin_header(struct ifg_writer *w, const char *kind, uint32_t n_extra)
{
	msgpack_pack_map(&w->pk, 2 + n_extra);
	ifg_pack_kv_str(&w->pk, IFG_K_KIND, kind);
	ifg_pack_kv_i64(&w->pk, IFG_K_VERSION, IFG_FORMAT_VERSION);
}

int ifg_writer_close(struct ifg_writer *w)
{
	int rc = ifg_out_close(w->out);
	msgpack_sbuffer_destroy(&w->sb);
	free(w);
	return rc;
}

void ifg_writer_abort(struct ifg_writer *w)
{
	if (!w)
		return;
	ifg_out_abort(w->out);
	msgpack_sbuffer_destroy(&w->sb);
	free(w);
}

void ifg_pack_cstr(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void ifg_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	ifg_pack_cstr(pk, key);
	ifg_pack_cstr(pk, val);
}

void ifg_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val)
{
	ifg_pack_cstr(pk, key);
	msgpack_pack_int64(pk, val);
}

void ifg_pack_kv_f64(msgpack_packer *pk, const char *key, double val)
{
	ifg_pack_cstr(pk, key);
	msgpack_pack_double(pk, val);
}

void ifg_pack_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
	ifg_pack_cstr(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static void pack_array_head(msgpack_packer *pk, const char *key, enum ifg_dtype dtype, int ndim,
			    const uint64_t *shape, size_t nbytes)
{
	ifg_pack_cstr(pk, key);
	msgpack_pack_map(pk, 3);
	ifg_pack_kv_str(pk, "dtype", dtypes[dtype].name);
	ifg_pack_cstr(pk, "shape");
	msgpack_pack_array(pk, (size_t)ndim);
	for (int i = 0; i < ndim; i++)
		msgpack_pack_uint64(pk, shape[i]);
	ifg_pack_cstr(pk, "data");
	msgpack_pack_bin(pk, nbytes);
}

static uint64_t shape_n(int ndim, const uint64_t *shape)
{
	uint64_t n = 1;
	for (int i = 0; i < ndim; i++)
		n *= shape[i];
	return n;
}

void ifg_pack_kv_array(msgpack_packer *pk, const char *key, enum ifg_dtype dtype, int ndim,
		       const uint64_t *shape, const void *data)
{
	size_t nbytes = shape_n(ndim, shape) * dtypes[dtype].size;
	pack_array_head(pk, key, dtype, ndim, shape, nbytes);
	msgpack_pack_bin_body(pk, data, nbytes);
}

void ifg_pack_kv_f32_as(msgpack_packer *pk, const char *key, enum ifg_dtype dtype, int ndim,
			const uint64_t *shape, const float *data)
{
	if (dtype != IFG_BF16) {
		ifg_pack_kv_array(pk, key, IFG_F32, ndim, shape, data);
		return;
	}
	uint64_t n = shape_n(ndim, shape);
	pack_array_head(pk, key, IFG_BF16, ndim, shape, n * 2);
	uint16_t tmp[1024];
	for (uint64_t i = 0; i < n; i += 1024) {
		uint64_t k = n - i < 1024 ? n - i : 1024;
		for (uint64_t j = 0; j < k; j++)
			tmp[j] = ifg_f32_to_bf16(data[i + j]);
		msgpack_pack_bin_body(pk, tmp, k * 2);
	}
}

static bool dropped(const msgpack_object *key, const char *const *drop)
{
	for (; drop && *drop; drop++)
		if (ifg_obj_streq(key, *drop))
			return true;
	return false;
}

uint32_t ifg_map_count_except(const msgpack_object *map, const char *const *drop)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < map->via.map.size; i++)
		n += !dropped(&map->via.map.ptr[i].key, drop);
	return n;
}

void ifg_pack_pairs_except(msgpack_packer *pk, const msgpack_object *map, const char *const *drop)
{
	for (uint32_t i = 0; i < map->via.map.size; i++) {
		const msgpack_object_kv *kv = &map->via.map.ptr[i];
		if (dropped(&kv->key, drop))
			continue;
		msgpack_pack_object(pk, kv->key);
		msgpack_pack_object(pk, kv->val);
	}
}

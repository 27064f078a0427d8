/* rec.h: record streams: msgpack maps over ifg_in / ifg_out (stream.h).
 *
 * A stream is a sequence of msgpack maps.  The first is the header:
 *   { "kind": "<kind>", "version": <int>, ...metadata }
 * and every later map is a record of that kind.  Numeric arrays are maps
 *   { "dtype": "f32", "shape": [d0, d1, ...], "data": <bin, little-endian> }
 * with dtype one of u8 u16 u32 i32 f32 f64 bf16 (see man 5 ifg-records).
 *
 * Reading: the reader scans each record's bytes before msgpack-c builds
 * objects, so no length or count claimed by the input is trusted beyond the
 * bytes actually read, and memory stays at about one record.  A record's
 * objects (and the pointers returned by the getters) stay valid until the
 * next ifg_reader_next() call.
 *
 * Messages name the stream, record number (header = record 0) and the
 * byte offset of the record in the (decompressed) stream. */
#ifndef IFG_REC_H
#define IFG_REC_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

#define IFG_FORMAT_VERSION 1
/* Largest record a reader accepts (bytes); IFG_MAX_RECORD in the
 * environment overrides it. */
#define IFG_MAX_RECORD_DEFAULT ((uint64_t)1 << 31)
/* The objects msgpack-c builds for a record (one msgpack_object, 24 bytes,
 * per object; strings and bins point into the record's bytes) may take at
 * most IFG_DECODE_FACTOR times the record's size plus IFG_DECODE_SLACK: a
 * record of 60 MB of nils, 1.4 GB decoded, is refused before unpacking. */
#define IFG_DECODE_FACTOR 4
#define IFG_DECODE_SLACK ((uint64_t)16 << 20)

enum ifg_dtype { IFG_U8, IFG_U16, IFG_U32, IFG_I32, IFG_F32, IFG_F64, IFG_BF16, IFG_NDTYPE };

const char *ifg_dtype_name(enum ifg_dtype t);
size_t ifg_dtype_size(enum ifg_dtype t);
/* -1 if the name is not a dtype. */
int ifg_dtype_parse(const char *name, size_t len);

#define IFG_MAX_NDIM 4

/* A typed array inside a record.  data may be unaligned: read it through
 * ifg_array_get_f32 / ifg_array_to_* (which also convert between dtypes). */
struct ifg_array {
	enum ifg_dtype dtype;
	int ndim;
	uint64_t shape[IFG_MAX_NDIM];
	uint64_t n;		/* product of shape */
	const void *data;	/* n * ifg_dtype_size(dtype) bytes */
};

/* Converting copies: any numeric dtype to the destination type.
 * ifg_array_to_f32 fails on NaN or infinity unless allow_nonfinite. */
int ifg_array_to_f32(const struct ifg_array *a, float *dst, bool allow_nonfinite);
int ifg_array_to_f64(const struct ifg_array *a, double *dst, bool allow_nonfinite);
/* Integer dtypes only; fails on values > max. */
int ifg_array_to_u32(const struct ifg_array *a, uint32_t *dst, uint32_t max);
int ifg_array_to_u8(const struct ifg_array *a, uint8_t *dst);
/* A token mask: u8, every element 0 or 1. */
int ifg_array_to_mask(const struct ifg_array *a, uint8_t *dst);
double ifg_array_get(const struct ifg_array *a, uint64_t i);

/* ---- reading ---- */

struct ifg_reader;

/* Whether b begins a msgpack map (fixmap, map 16, map 32): a record's first
 * byte. */
static inline bool ifg_msgpack_is_map(uint8_t b)
{
	return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/* 1 when the input at path (NULL or "-": stdin) is a record stream, its
 * first byte after any zstd decompression a map's; 0 when it is something
 * else (a JSON line begins with '{') or empty; -1 with a message when it
 * cannot be read.  Standard input is first made rereadable
 * (ifg_in_stdin_rereadable) and is left rewound to its start. */
int ifg_in_is_records(const char *path);

/* path NULL or "-" is stdin.  NULL with a message when it cannot be opened
 * or IFG_MAX_RECORD is set, not empty, and not a number in [16, 2^40]. */
struct ifg_reader *ifg_reader_open(const char *path);
/* Reads the header; kind NULL accepts any kind.  Fails on a non-header
 * first record, another kind, or a newer format version. */
int ifg_reader_header(struct ifg_reader *r, const char *kind);
const msgpack_object *ifg_reader_hdr(const struct ifg_reader *r);
const char *ifg_reader_kind(const struct ifg_reader *r);
/* 1 with *rec set, 0 at a clean end of stream, -1 on error (message set:
 * truncated record, corrupt bytes, record not a map, oversized or too
 * costly to decode, a second header (a record with a string "kind" and an
 * integer "version"), I/O). */
int ifg_reader_next(struct ifg_reader *r, const msgpack_object **rec);
/* Number of the last record returned (header = 0) and its byte offset. */
uint64_t ifg_reader_recno(const struct ifg_reader *r);
uint64_t ifg_reader_offset(const struct ifg_reader *r);
const char *ifg_reader_name(const struct ifg_reader *r);
void ifg_reader_close(struct ifg_reader *r);
/* Bytes asked of the input per read (default 64 KiB; 1 feeds the parser one
 * byte at a time, as the tests do) and the record size limit. */
void ifg_reader_set_read_size(struct ifg_reader *r, size_t n);
void ifg_reader_set_max_record(struct ifg_reader *r, uint64_t n);

/* Sets an error message prefixed with "'name': record N at byte X: ". */
int ifg_reader_err(const struct ifg_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- fields ----
 * Getters take the reader only to name the place in messages (may be NULL).
 * ifg_get returns NULL when the key is absent (not an error). The others
 * return 0 on success and -1 with a message when the field is missing or of
 * the wrong type or range. */
const msgpack_object *ifg_get(const msgpack_object *map, const char *key);
int ifg_get_str(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		const char **s, size_t *len);
/* A NUL-terminated copy (caller frees). */
int ifg_get_strdup(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		   char **s);
int ifg_get_i64(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		int64_t lo, int64_t hi, int64_t *v);
/* Accepts integers and floats; rejects NaN/inf and values outside [lo, hi]. */
int ifg_get_f64(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		double lo, double hi, double *v);
int ifg_get_bool(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		 bool *v);
int ifg_get_map(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		const msgpack_object **m);
/* ndim 0 accepts any rank; otherwise the rank must equal ndim. */
int ifg_get_array(const struct ifg_reader *r, const msgpack_object *map, const char *key,
		  int ndim, struct ifg_array *a);
/* The same for an array object found by other means (key names it). */
int ifg_obj_to_array(const struct ifg_reader *r, const msgpack_object *v, const char *key,
		     int ndim, struct ifg_array *a);
/* str/bin equality helper. */
bool ifg_obj_streq(const msgpack_object *o, const char *s);

/* ---- writing ----
 * A record is packed into the writer's buffer with msgpack_pack_* calls on
 * ifg_writer_pk() (or the helpers below) and sent with ifg_writer_end(),
 * which checks it is exactly one map. */

struct ifg_writer;

struct ifg_writer *ifg_writer_open(const char *path, int compress);
msgpack_packer *ifg_writer_pk(struct ifg_writer *w);
int ifg_writer_end(struct ifg_writer *w);
/* Starts the header map: packs kind and version; the caller packs
 * n_extra more key/value pairs, then calls ifg_writer_end(). */
void ifg_writer_begin_header(struct ifg_writer *w, const char *kind, uint32_t n_extra);
uint64_t ifg_writer_records(const struct ifg_writer *w);
const char *ifg_writer_name(const struct ifg_writer *w);
int ifg_writer_close(struct ifg_writer *w);	/* -1 on error; frees */
void ifg_writer_abort(struct ifg_writer *w);	/* removes partial output; frees */

void ifg_pack_cstr(msgpack_packer *pk, const char *s);
void ifg_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);
void ifg_pack_kv_i64(msgpack_packer *pk, const char *key, int64_t val);
void ifg_pack_kv_f64(msgpack_packer *pk, const char *key, double val);
void ifg_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);
/* Packs key and the array map.  data holds n = prod(shape) values of dtype
 * in host order (x86-64 is little-endian, as the format requires). */
void ifg_pack_kv_array(msgpack_packer *pk, const char *key, enum ifg_dtype dtype, int ndim,
		       const uint64_t *shape, const void *data);
/* f32 data stored as bf16 (rounded) or f32, by dtype. */
void ifg_pack_kv_f32_as(msgpack_packer *pk, const char *key, enum ifg_dtype dtype, int ndim,
			const uint64_t *shape, const float *data);
/* Number of pairs of map whose key is not in drop (NULL-terminated list),
 * and packing those pairs: records keep the fields they do not consume. */
uint32_t ifg_map_count_except(const msgpack_object *map, const char *const *drop);
void ifg_pack_pairs_except(msgpack_packer *pk, const msgpack_object *map,
			   const char *const *drop);

#endif

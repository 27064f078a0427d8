/* safetensors.h: reading and writing safetensors files.
 *
 * Format (huggingface/safetensors): an 8-byte little-endian header length
 * n, n bytes of JSON { name: {dtype, shape, data_offsets: [begin, end]}, ...,
 * "__metadata__": {str: str} }, then the tensor bytes, offsets relative to
 * the end of the header, little-endian, row-major, contiguous and without
 * gaps.  Writers pad the header with spaces to a multiple of 8 bytes.
 *
 * Reading maps the file and checks every claim of the header against the
 * file's size before anything is used.  Writing is atomic (stream.h: a
 * temporary file renamed into place after fsync). */
#ifndef IFG_SAFETENSORS_H
#define IFG_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define IFG_ST_MAX_DIM 8

enum ifg_st_dtype { IFG_ST_F32, IFG_ST_F16, IFG_ST_BF16, IFG_ST_F64, IFG_ST_I64, IFG_ST_I32,
		    IFG_ST_U8, IFG_ST_BOOL, IFG_ST_OTHER };

struct ifg_st_tensor {
	char *name;
	enum ifg_st_dtype dtype;
	int ndim;
	int64_t shape[IFG_ST_MAX_DIM];
	uint64_t n;		/* elements */
	const void *data;	/* inside the mapping, possibly unaligned */
	size_t nbytes;
};

struct ifg_st;

/* NULL with a message on a missing, short or malformed file. */
struct ifg_st *ifg_st_open(const char *path);
void ifg_st_close(struct ifg_st *st);
size_t ifg_st_count(const struct ifg_st *st);
const struct ifg_st_tensor *ifg_st_at(const struct ifg_st *st, size_t i);
/* NULL (no message) if absent. */
const struct ifg_st_tensor *ifg_st_find(const struct ifg_st *st, const char *name);
/* A "__metadata__" value, or NULL. */
const char *ifg_st_meta(const struct ifg_st *st, const char *key);
/* SHA-256 of the whole file (64 hex digits). */
const char *ifg_st_sha256(const struct ifg_st *st);
const char *ifg_st_path(const struct ifg_st *st);
/* Converts a floating tensor (F32, F16, BF16, F64) into dst (t->n floats).
 * When shape is not NULL the tensor must have exactly that shape (ndim
 * entries).  -1 with a message naming the tensor otherwise. */
int ifg_st_read_f32(const struct ifg_st *st, const struct ifg_st_tensor *t, float *dst, int ndim,
		    const int64_t *shape);

/* ---- writing ---- */
struct ifg_st_writer;
struct ifg_out;

struct ifg_st_writer *ifg_st_writer_new(void);
/* The data is not copied: it must stay valid until ifg_st_writer_write. */
void ifg_st_add_f32(struct ifg_st_writer *w, const char *name, int ndim, const int64_t *shape,
		    const float *data);
void ifg_st_set_meta(struct ifg_st_writer *w, const char *key, const char *value);
/* Writes path atomically; -1 with a message on failure (nothing is left). */
int ifg_st_writer_write(struct ifg_st_writer *w, const char *path);
/* Writes the file's bytes to out, which the caller closes (with the other
 * files that land with it: ifg_out_close_all). */
int ifg_st_writer_put(struct ifg_st_writer *w, struct ifg_out *out);
/* SHA-256 of the bytes of the last successful write. */
const char *ifg_st_writer_sha256(const struct ifg_st_writer *w);
void ifg_st_writer_free(struct ifg_st_writer *w);

#endif

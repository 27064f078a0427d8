/* util.h: errors, checked number parsing, allocation.
 *
 * Library functions report failure by returning -1 (or NULL) after leaving a
 * message with ifg_seterr(); only programs in tools/ decide to exit. */
#ifndef IFG_UTIL_H
#define IFG_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define IFG_VERSION "0.1.0"

/* The largest vocabulary, for tokenizers and models alike: token tables
 * and embeddings are sized by the largest id, so a file's id of 2^31 would
 * ask for gigabytes; 2^24 is far past any real model's. */
#define IFG_MAX_VOCAB (1 << 24)

/* Sets the last error message (printf format). Returns -1 for convenience. */
int ifg_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefixes the last error message with more context: "ctx: old". Returns -1. */
int ifg_prefixerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last error message ("" if none). */
const char *ifg_err(void);

/* Whole-string numbers in [lo, hi]; 0 on success, -1 with a message otherwise.
 * ifg_parse_double rejects NaN and infinities. */
int ifg_parse_long(const char *s, long lo, long hi, long *out);
int ifg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int ifg_parse_double(const char *s, double lo, double hi, double *out);

/* Allocation that cannot fail: on exhaustion print "prog: out of memory" and
 * exit 1.  Sizes are overflow-checked (n * size). */
void *ifg_xmalloc(size_t n, size_t size);
void *ifg_xcalloc(size_t n, size_t size);
void *ifg_xrealloc(void *p, size_t n, size_t size);
char *ifg_xstrdup(const char *s);
/* What those do on exhaustion, for an allocation made elsewhere (jansson's). */
_Noreturn void ifg_oom(void);
/* 64-byte aligned allocation for tensors (free with free()). */
void *ifg_xaligned(size_t n, size_t size);

/* A growable byte buffer.  After any append p is allocated and p[n] == 0,
 * so text in it is also a C string. */
struct ifg_bytes {
	uint8_t *p;
	size_t n, cap;
};
void ifg_bytes_append(struct ifg_bytes *b, const void *p, size_t n);
static inline void ifg_bytes_putc(struct ifg_bytes *b, char c)
{
	if (b->n + 2 > b->cap)
		ifg_bytes_append(b, &c, 1);
	else
		b->p[b->n++] = (uint8_t)c, b->p[b->n] = 0;
}
void ifg_bytes_release(struct ifg_bytes *b);

/* bf16 <-> f32 (round to nearest even; NaN stays NaN). */
static inline float ifg_bf16_to_f32(uint16_t h)
{
	union { uint32_t u; float f; } v = { .u = (uint32_t)h << 16 };
	return v.f;
}
static inline uint16_t ifg_f32_to_bf16(float f)
{
	union { float f; uint32_t u; } v = { .f = f };
	if ((v.u & 0x7f800000u) == 0x7f800000u && (v.u & 0x007fffffu))
		return (uint16_t)((v.u >> 16) | 0x40); /* quiet NaN */
	return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}

/* Monotonic seconds (CLOCK_MONOTONIC): for timing, never for seeds. */
double ifg_now(void);

#endif

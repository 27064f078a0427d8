/* util.c: error messages, checked number parsing, allocation, the clock. */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char errbuf[1024];	/* per thread: workers report their own */

int ifg_seterr(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return -1;
}

int ifg_prefixerr(const char *fmt, ...)
{
	char old[sizeof errbuf], pre[512];
	va_list ap;
	memcpy(old, errbuf, sizeof old);
	va_start(ap, fmt);
	vsnprintf(pre, sizeof pre, fmt, ap);
	va_end(ap);
	snprintf(errbuf, sizeof errbuf, "%.500s: %.500s", pre, old);
	return -1;
}

const char *ifg_err(void) { return errbuf; }

int ifg_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	if (!s || !*s)
		return ifg_seterr("empty number");
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*end)
		return ifg_seterr("'%s' is not an integer", s);
	if (errno == ERANGE || v < lo || v > hi)
		return ifg_seterr("%s is out of range [%ld, %ld]", s, lo, hi);
	*out = v;
	return 0;
}

int ifg_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return ifg_seterr("'%s' is not a non-negative integer", s ? s : "");
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end)
		return ifg_seterr("'%s' is not an integer", s);
	if (errno == ERANGE || v < lo || v > hi)
		return ifg_seterr("%s is out of range [%llu, %llu]", s, (unsigned long long)lo,
				  (unsigned long long)hi);
	*out = v;
	return 0;
}

int ifg_parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!s || !*s)
		return ifg_seterr("empty number");
	errno = 0;
	double v = strtod(s, &end);
	if (*end)
		return ifg_seterr("'%s' is not a number", s);
	if (!isfinite(v))
		return ifg_seterr("'%s' is not a finite number", s);
	if (v < lo || v > hi)
		return ifg_seterr("%s is out of range [%g, %g]", s, lo, hi);
	*out = v;
	return 0;
}

_Noreturn void ifg_oom(void)
{
	extern const char *ifg_progname;
	fprintf(stderr, "%s: out of memory\n", ifg_progname ? ifg_progname : "ifg");
	exit(1);
}

static size_t mulsize(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		ifg_oom();
	return n * size;
}

void *ifg_xmalloc(size_t n, size_t size)
{
	void *p = malloc(mulsize(n, size) ? mulsize(n, size) : 1);
	if (!p)
		ifg_oom();
	return p;
}

/* A large calloc comes as fresh pages that the kernel maps, on a first
 * read, to its shared zero page; a later write then costs a copy-on-write
 * fault and a TLB shootdown to every core running this process (an IPI,
 * trapped in a VM).  Sums that BLAS reads before it writes (beta = 1) met
 * that once per 4 KiB: over a second of the covariance pass.  So a large
 * block is written here, one plain fault per page, before anyone reads it. */
void *ifg_xcalloc(size_t n, size_t size)
{
	enum { TOUCH = 64 << 10 };
	size_t b = mulsize(n ? n : 1, size ? size : 1);
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		ifg_oom();
	/* a zero written into each page (volatile: the compiler knows calloc's
	 * memory is zero and would drop a memset) */
	for (size_t i = 0; b >= TOUCH && i < b; i += 4096)
		((volatile char *)p)[i] = 0;
	return p;
}

void *ifg_xrealloc(void *p, size_t n, size_t size)
{
	size_t b = mulsize(n, size);
	p = realloc(p, b ? b : 1);
	if (!p)
		ifg_oom();
	return p;
}

char *ifg_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ifg_xmalloc(n, 1);
	memcpy(d, s, n);
	return d;
}

void *ifg_xaligned(size_t n, size_t size)
{
	size_t b = mulsize(n, size);
	b = (b + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, b ? b : 64);
	if (!p)
		ifg_oom();
	return p;
}

void ifg_bytes_append(struct ifg_bytes *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {	/* + 1: the terminating 0 */
		size_t c = b->cap ? b->cap : 256;
		while (c < b->n + n + 1)
			c *= 2;
		b->p = ifg_xrealloc(b->p, c, 1);
		b->cap = c;
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = 0;
}

void ifg_bytes_release(struct ifg_bytes *b)
{
	free(b->p);
	b->p = NULL;
	b->n = b->cap = 0;
}

double ifg_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

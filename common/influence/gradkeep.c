/* gradkeep.c: gradient blocks kept between two passes (gradkeep.h). */
#include "gradkeep.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "parallel.h"
#include "util.h"

void ifg_gradkeep_init(struct ifg_gradkeep *k, int n_lanes, int n_layers,
		       const struct ifg_layer_shape *layers, double budget)
{
	memset(k, 0, sizeof *k);
	k->n_lanes = n_lanes > 0 ? n_lanes : 1;
	k->n_layers = n_layers;
	k->layers = layers;
	k->budget = budget;
	k->lane = ifg_xcalloc(k->n_lanes, sizeof *k->lane);
}

static void lane_free(struct ifg_gradkeep_lane *ln)
{
	for (size_t i = 0; i < ln->n_chunks; i++)
		free(ln->chunk[i]);
	free(ln->chunk);
	ln->chunk = NULL;
	ln->n_chunks = ln->chunk_cap = ln->chunk_left = 0;
	ln->next = NULL;
	free(ln->blk);
	free(ln->T);
	ln->blk = NULL;
	ln->T = NULL;
	ln->n = ln->cap = 0;
	ln->bytes = 0;
}

/* floats of one token's blocks: Σ_layers na + o */
static size_t token_floats(const struct ifg_gradkeep *k)
{
	size_t w = 0;
	for (int l = 0; l < k->n_layers; l++)
		w += (size_t)k->layers[l].d_in + k->layers[l].bias + k->layers[l].d_out;
	return w;
}

/* n floats from the lane's current chunk, or a new one: 64 MiB (or n)
 * aligned to 2 MiB and offered to transparent huge pages, so that keeping a
 * GiB costs a few hundred page faults rather than a quarter million. */
static float *lane_room(struct ifg_gradkeep_lane *ln, size_t n)
{
	enum { CHUNK = 16 << 20, HUGE = 2 << 20 };	/* floats, bytes */
	if (n > ln->chunk_left) {
		size_t floats = n > CHUNK ? n : CHUNK;
		size_t bytes = (floats * sizeof(float) + HUGE - 1) / HUGE * HUGE;
		float *c = aligned_alloc(HUGE, bytes);
		if (!c)
			ifg_oom();
#ifdef MADV_HUGEPAGE
		madvise(c, bytes, MADV_HUGEPAGE);
#endif
		if (ln->n_chunks == ln->chunk_cap) {
			ln->chunk_cap = ln->chunk_cap ? 2 * ln->chunk_cap : 8;
			ln->chunk = ifg_xrealloc(ln->chunk, ln->chunk_cap, sizeof *ln->chunk);
		}
		ln->chunk[ln->n_chunks++] = c;
		ln->next = c;
		ln->chunk_left = bytes / sizeof(float);
	}
	float *p = ln->next;
	ln->next += n;
	ln->chunk_left -= n;
	return p;
}

void ifg_gradkeep_add(struct ifg_gradkeep *k, int lane, int T, const float *const *a,
		      const float *const *s)
{
	struct ifg_gradkeep_lane *ln = &k->lane[lane];
	if (ln->over)
		return;
	size_t n = (size_t)T * token_floats(k);
	double bytes = 4.0 * (double)n + sizeof(float *) + sizeof(int);
	if (ln->bytes + bytes > k->budget / k->n_lanes) {
		lane_free(ln);
		ln->over = true;
		return;
	}
	if (ln->n == ln->cap) {
		ln->cap = ln->cap ? 2 * ln->cap : 64;
		ln->blk = ifg_xrealloc(ln->blk, ln->cap, sizeof *ln->blk);
		ln->T = ifg_xrealloc(ln->T, ln->cap, sizeof *ln->T);
	}
	float *p = lane_room(ln, n);
	ln->blk[ln->n] = p;
	ln->T[ln->n++] = T;
	ln->bytes += bytes;
	for (int l = 0; l < k->n_layers; l++) {
		size_t na = (size_t)T * (k->layers[l].d_in + k->layers[l].bias);
		size_t no = (size_t)T * k->layers[l].d_out;
		memcpy(p, a[l], na * sizeof *p);
		memcpy(p + na, s[l], no * sizeof *p);
		p += na + no;
	}
}

bool ifg_gradkeep_complete(const struct ifg_gradkeep *k)
{
	for (int i = 0; i < k->n_lanes; i++)
		if (k->lane[i].over)
			return false;
	return true;
}

void ifg_gradkeep_count(const struct ifg_gradkeep *k, uint64_t *records, uint64_t *tokens,
			int64_t *tmax)
{
	*records = *tokens = 0;
	*tmax = 0;
	for (int i = 0; i < k->n_lanes; i++) {
		const struct ifg_gradkeep_lane *ln = &k->lane[i];
		*records += ln->n;
		for (size_t r = 0; r < ln->n; r++) {
			*tokens += (uint64_t)ln->T[r];
			*tmax = ln->T[r] > *tmax ? ln->T[r] : *tmax;
		}
	}
}

double ifg_gradkeep_bytes(const struct ifg_gradkeep *k)
{
	double b = 0;
	for (int i = 0; i < k->n_lanes; i++)
		b += k->lane[i].bytes;
	return b;
}

struct replay {
	struct ifg_gradkeep *k;
	int (*work)(void *arg, int lane, const struct ifg_gradext *g);
	void *arg;
	int *rc;
	char (*err)[1024];
};

static void replay_lane(void *arg, int i)
{
	struct replay *rp = arg;
	struct ifg_gradkeep *k = rp->k;
	struct ifg_gradkeep_lane *ln = &k->lane[i];
	int L = k->n_layers;
	float **a = ifg_xcalloc(L ? L : 1, sizeof *a), **s = ifg_xcalloc(L ? L : 1, sizeof *s);
	struct ifg_gradext g = { .n_layers = L, .layers = (struct ifg_layer_shape *)k->layers,
				 .a = a, .s = s };
	for (size_t r = 0; r < ln->n && !rp->rc[i]; r++) {
		g.T = ln->T[r];
		float *p = ln->blk[r];
		for (int l = 0; l < L; l++) {
			a[l] = p;
			p += (size_t)g.T * (k->layers[l].d_in + k->layers[l].bias);
			s[l] = p;
			p += (size_t)g.T * k->layers[l].d_out;
		}
		if (rp->work(rp->arg, i, &g)) {
			rp->rc[i] = -1;
			snprintf(rp->err[i], sizeof rp->err[i], "%s", ifg_err());
		}
	}
	free(a);
	free(s);
}

int ifg_gradkeep_replay(struct ifg_gradkeep *k,
			int (*work)(void *arg, int lane, const struct ifg_gradext *g), void *arg)
{
	struct replay rp = { k, work, arg, ifg_xcalloc(k->n_lanes, sizeof(int)),
			     ifg_xcalloc(k->n_lanes, sizeof *rp.err) };
	/* one BLAS thread a lane, as gradlanes.h runs them */
	int saved = openblas_get_num_threads();
	if (k->n_lanes > 1)
		openblas_set_num_threads(1);
	ifg_parallel(k->n_lanes, replay_lane, &rp);
	if (k->n_lanes > 1)
		openblas_set_num_threads(saved);
	int rc = 0;
	for (int i = 0; i < k->n_lanes && !rc; i++)
		if (rp.rc[i])
			rc = ifg_seterr("%s", rp.err[i]);
	free(rp.rc);
	free(rp.err);
	return rc;
}

void ifg_gradkeep_release(struct ifg_gradkeep *k)
{
	for (int i = 0; k->lane && i < k->n_lanes; i++)
		lane_free(&k->lane[i]);
	free(k->lane);
	memset(k, 0, sizeof *k);
}

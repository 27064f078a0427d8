/* gradkeep.h: per-token gradient blocks kept in memory from one pass over
 * some records to a second pass over the same records, so that the second
 * needs no forward and backward of its own (ifg-factor fit: the lambda pass
 * over the covariance pass's file, whose gradients are the same bytes, true
 * labels or sampled ones keyed by seed and record).  Within a byte budget:
 * once the blocks would pass it everything kept is freed and the second
 * pass computes them again, so the memory stays under the budget however
 * long the stream.
 *
 * Records are kept per lane (gradlanes.h) in the order the lane met them,
 * and replayed so, each lane on its own thread, so that work that sums per
 * lane gets the same bytes as from the model.  Lanes add from their own
 * threads; each holds a 1/n share of the budget. */
#ifndef IFG_GRADKEEP_H
#define IFG_GRADKEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gradext.h"

struct ifg_gradkeep_lane {
	float **blk;		/* per record: per layer a (T, na) then s (T, o) */
	int *T;
	size_t n, cap;
	float **chunk;		/* where the blocks lie: large chunks, on huge
				 * pages where the kernel gives them */
	size_t n_chunks, chunk_cap, chunk_left;	/* floats left after next */
	float *next;
	double bytes;
	bool over;		/* its share was passed: nothing kept */
};

struct ifg_gradkeep {
	int n_lanes, n_layers;
	const struct ifg_layer_shape *layers;	/* borrowed, as the records' */
	double budget;		/* bytes, all lanes */
	struct ifg_gradkeep_lane *lane;
};

/* Room for n_lanes lanes of records of these layers within budget bytes. */
void ifg_gradkeep_init(struct ifg_gradkeep *k, int n_lanes, int n_layers,
		       const struct ifg_layer_shape *layers, double budget);
/* Keeps one record's blocks (a[l] (T, na), s[l] (T, o) f32) as lane's next;
 * past its share of the budget the lane frees all it kept instead. */
void ifg_gradkeep_add(struct ifg_gradkeep *k, int lane, int T, const float *const *a,
		      const float *const *s);
/* Whether every record is kept (no lane passed its share). */
bool ifg_gradkeep_complete(const struct ifg_gradkeep *k);
/* Records and tokens kept, and the longest record. */
void ifg_gradkeep_count(const struct ifg_gradkeep *k, uint64_t *records, uint64_t *tokens,
			int64_t *tmax);
/* The bytes kept, all lanes. */
double ifg_gradkeep_bytes(const struct ifg_gradkeep *k);
/* Runs work(arg, i, g) on every record lane i kept, in order, lane i on
 * thread i; g holds the record's layers, T, a and s (no model).  -1 with
 * the first failing lane's message (ifg_seterr) when a work returns
 * nonzero: that lane stops. */
int ifg_gradkeep_replay(struct ifg_gradkeep *k,
			int (*work)(void *arg, int lane, const struct ifg_gradext *g), void *arg);
void ifg_gradkeep_release(struct ifg_gradkeep *k);

#endif

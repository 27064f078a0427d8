/* querysum.h: the summed gradient of a set of queries (doc/method.md §5),
 * per tracked layer G = Σ_records Σ_t s_t ā_tᵀ (d_out, na) in double with
 * the record count, either read from a gradsum stream (ifg-grad --sum) or
 * computed in-process from a tokens stream with the scoring model, so that
 * ifg-influence -m needs no ifg-grad run and no model load of its own for
 * its queries.  The in-process sum adds the records' products in input
 * order exactly as ifg-grad --sum does, one record at a time or N side by
 * side (gradlanes.h), so the sums are the same bytes either way. */
#ifndef IFG_QUERYSUM_H
#define IFG_QUERYSUM_H

#include <stdint.h>

#include "gradext.h"
#include "gradlanes.h"
#include "gradrec.h"
#include "gradsrc.h"
#include "rec.h"

struct ifg_querysum {
	struct ifg_reader *r;	/* a tokens stream until computed; NULL after */
	struct ifg_gradhdr h;	/* the gradsum's header, or the model's grads
				 * header once computed */
	double **G;		/* per layer (d_out, na) */
	int64_t count;		/* records summed */
	int64_t tmax;		/* computed: the longest record's tokens */
	int n_layers;
};

/* Opens path (NULL or "-": stdin) and reads its header: a gradsum stream is
 * read whole (q->G, q->count set, q->r NULL); a tokens stream is left open
 * for ifg_querysum_compute (q->r set, q->G NULL).  Another kind fails, as
 * does a tokens stream when !tokens_ok.  -1 with a message. */
int ifg_querysum_open(struct ifg_querysum *q, const char *path, bool tokens_ok);
/* The sums of q's tokens stream with gm (opened with the layers wanted),
 * gl its lanes (records side by side) or NULL (one at a time); a no-op for
 * a gradsum.  -1 with a message naming the stream and record. */
int ifg_querysum_compute(struct ifg_querysum *q, struct ifg_gradmodel *gm,
			 struct ifg_gradlanes *gl);
void ifg_querysum_release(struct ifg_querysum *q);

/* G[l] += Σ_t s_t ā_tᵀ over one record's f32 blocks g->a, g->s, in double
 * (ifg_weight_grad_f32; *buf its scratch). */
void ifg_gradsum_add(const struct ifg_gradext *g, double **G, double **buf, size_t *cap);

#endif

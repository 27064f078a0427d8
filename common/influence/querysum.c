/* querysum.c: summed query gradients, read or computed (querysum.h). */
#include "querysum.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ekfac.h"
#include "kinds.h"
#include "util.h"

void ifg_gradsum_add(const struct ifg_gradext *g, double **G, double **buf, size_t *cap)
{
	for (int l = 0; l < g->n_layers; l++)
		ifg_weight_grad_f32(g->layers[l].d_out, g->layers[l].d_in + g->layers[l].bias, g->T,
				    g->s[l], g->a[l], 1.0, G[l], buf, cap, NULL);
}

int ifg_querysum_open(struct ifg_querysum *q, const char *path, bool tokens_ok)
{
	memset(q, 0, sizeof *q);
	struct ifg_reader *r = ifg_reader_open(path && strcmp(path, "-") ? path : NULL);
	if (!r)
		return -1;
	if (ifg_reader_header(r, NULL) < 0) {
		ifg_reader_close(r);
		return -1;
	}
	const char *kind = ifg_reader_kind(r);
	if (!strcmp(kind, IFG_KIND_TOKENS)) {
		if (!tokens_ok) {
			ifg_reader_err(r, "a tokens stream: give -m CKPT to compute its gradients, "
					  "or the output of ifg-grad --sum");
			ifg_reader_close(r);
			return -1;
		}
		q->r = r;
		return 0;
	}
	if (strcmp(kind, IFG_KIND_GRADSUM)) {
		ifg_reader_err(r, "expected a '%s' stream%s, got '%s'", IFG_KIND_GRADSUM,
			       tokens_ok ? " or a 'tokens' one" : "", kind);
		ifg_reader_close(r);
		return -1;
	}
	int rc = ifg_gradsum_from(r, &q->h, &q->G, &q->count);
	ifg_reader_close(r);
	q->n_layers = rc < 0 ? 0 : q->h.n_layers;
	return rc;
}

/* One record's blocks into G, its length into q->tmax, and the progress. */
static void add_record(struct ifg_querysum *q, const struct ifg_gradsrc *src,
		       const struct ifg_gradext *g, double **G, double **buf, size_t *cap)
{
	ifg_gradsum_add(g, G, buf, cap);
	if (g->T > q->tmax)
		q->tmax = g->T;
	ifg_progress("queries '%s': %llu records", src->h.source,
		     (unsigned long long)src->records);
}

/* The lanes' records of one batch added in input order on this thread, as
 * the one-lane loop adds them. */
static int nothing(void *arg, int lane, const struct ifg_gradext *g)
{
	(void)arg, (void)lane, (void)g;
	return 0;
}

int ifg_querysum_compute(struct ifg_querysum *q, struct ifg_gradmodel *gm,
			 struct ifg_gradlanes *gl)
{
	if (!q->r)
		return 0;
	struct ifg_gradsrc src;
	int rc = ifg_gradsrc_attach(&src, q->r, gm);
	q->r = NULL;	/* src's now */
	if (rc < 0) {
		ifg_gradsrc_close(&src);
		return -1;
	}
	int n = src.n_layers;
	double **G = ifg_xcalloc(n ? n : 1, sizeof *G);
	for (int l = 0; l < n; l++)
		G[l] = ifg_xcalloc((size_t)src.h.layers[l].d_out *
					   (src.h.layers[l].d_in + src.h.layers[l].bias),
				   sizeof(double));
	double *buf = NULL;
	size_t cap = 0;
	if (gl) {
		int k;
		while ((rc = k = ifg_gradlanes_next(gl, &src, nothing, NULL)) > 0)
			for (int i = 0; i < k; i++)
				add_record(q, &src, &gl->lane[i].gm->g, G, &buf, &cap);
	} else {
		const msgpack_object *rec;
		while ((rc = ifg_gradsrc_next(&src, &rec)) > 0)
			add_record(q, &src, &gm->g, G, &buf, &cap);
	}
	free(buf);
	ifg_progress_done();
	if (rc == 0 && src.records == 0)
		rc = ifg_reader_err(src.r, "no records: a query set needs at least one");
	if (rc == 0)
		rc = ifg_gradhdr_from_map(src.r, IFG_KIND_GRADS, src.h.hdr, &q->h);
	if (rc < 0) {
		for (int l = 0; l < n; l++)
			free(G[l]);
		free(G);
	} else {
		q->G = G;
		q->count = (int64_t)src.records;
		q->n_layers = n;
	}
	ifg_gradsrc_close(&src);
	return rc < 0 ? -1 : 0;
}

void ifg_querysum_release(struct ifg_querysum *q)
{
	for (int l = 0; q->G && l < q->n_layers; l++)
		free(q->G[l]);
	free(q->G);
	if (q->r)
		ifg_reader_close(q->r);
	if (q->h.kind || q->h.source)
		ifg_gradhdr_release(&q->h);
	memset(q, 0, sizeof *q);
}

/* gradlanes.c: records side by side over twins of one model
 * (gradlanes.h). */
#include "gradlanes.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"
#include "rec.h"
#include "util.h"

int ifg_gradlanes_open(struct ifg_gradlanes *gl, struct ifg_gradmodel *gm, int n, bool keep)
{
	memset(gl, 0, sizeof *gl);
	gl->n = n > 0 ? n : 1;
	gl->keep = keep;
	gl->lane = ifg_xcalloc(gl->n, sizeof *gl->lane);
	for (int i = 0; i < gl->n; i++) {
		struct ifg_gradlane *ln = &gl->lane[i];
		ln->gm = i ? &ln->twin : gm;
		msgpack_sbuffer_init(&ln->rec_sb);
		msgpack_unpacked_init(&ln->rec_up);
		if (i && ifg_gradmodel_twin(&ln->twin, gm) < 0) {
			gl->n = i + 1;	/* lane i holds no twin: close frees the rest */
			ln->gm = NULL;
			ifg_gradlanes_close(gl);
			return -1;
		}
	}
	gl->blas_threads = openblas_get_num_threads();
	openblas_set_num_threads(1);
	return 0;
}

void ifg_gradlanes_close(struct ifg_gradlanes *gl)
{
	for (int i = 0; gl->lane && i < gl->n; i++) {
		struct ifg_gradlane *ln = &gl->lane[i];
		if (i && ln->gm)
			ifg_gradmodel_close(&ln->twin);
		ifg_gradjob_release(&ln->job);
		msgpack_sbuffer_destroy(&ln->rec_sb);
		msgpack_unpacked_destroy(&ln->rec_up);
	}
	if (gl->blas_threads > 0)
		openblas_set_num_threads(gl->blas_threads);
	free(gl->lane);
	memset(gl, 0, sizeof *gl);
}

/* A copy of rec in lane ln (the reader reuses its buffer). */
static int keep_record(struct ifg_gradlane *ln, const msgpack_object *rec)
{
	msgpack_sbuffer_clear(&ln->rec_sb);
	msgpack_packer pk;
	msgpack_packer_init(&pk, &ln->rec_sb, msgpack_sbuffer_write);
	msgpack_pack_object(&pk, *rec);
	size_t off = 0;
	if (msgpack_unpack_next(&ln->rec_up, ln->rec_sb.data, ln->rec_sb.size, &off) !=
	    MSGPACK_UNPACK_SUCCESS)
		return ifg_seterr("cannot copy a record");
	return 0;
}

struct batch {
	struct ifg_gradlanes *gl;
	int (*work)(void *, int, const struct ifg_gradext *);
	void *arg;
};

static void run_lane(void *p, int i)
{
	struct batch *b = p;
	struct ifg_gradlane *ln = &b->gl->lane[i];
	if ((ln->rc = ifg_gradjob_run(ln->gm, &ln->job)) == 0)
		ln->rc = b->work(b->arg, i, &ln->gm->g);
	if (ln->rc)
		snprintf(ln->err, sizeof ln->err, "%s", ifg_err());	/* this thread's */
}

int ifg_gradlanes_next(struct ifg_gradlanes *gl, struct ifg_gradsrc *src,
		       int (*work)(void *arg, int lane, const struct ifg_gradext *g), void *arg)
{
	int k = 0, rc = 0;
	const msgpack_object *rec;
	while (k < gl->n && (rc = ifg_reader_next(src->r, &rec)) > 0) {
		struct ifg_gradlane *ln = &gl->lane[k];
		if (ifg_gradjob_parse(src, rec, src->records, &ln->job) < 0 ||
		    (gl->keep && keep_record(ln, rec) < 0))
			return -1;
		src->records++;
		k++;
	}
	if (rc < 0)
		return -1;
	struct batch b = { gl, work, arg };
	ifg_parallel(k, run_lane, &b);
	for (int i = 0; i < k; i++)
		if (gl->lane[i].rc)
			return ifg_seterr("'%s': record %llu: %s", ifg_reader_name(src->r),
					  (unsigned long long)(src->records - k + i + 1),
					  gl->lane[i].err);
	return k;
}

const msgpack_object *ifg_gradlanes_record(const struct ifg_gradlanes *gl, int i)
{
	return &gl->lane[i].rec_up.data;
}

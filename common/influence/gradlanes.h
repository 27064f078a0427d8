/* gradlanes.h: the records of an in-process gradient source (gradsrc.h)
 * N at a time, side by side: record i of each batch goes to lane i, which
 * computes its gradients with its own twin of the model (the weights shared,
 * the activations its own; gpt.h ifg_gpt_twin) on its own thread with one
 * BLAS thread, then runs the caller's work on them there.  The records are
 * read and checked on the calling thread, so a bad record is reported as
 * the one-lane loop reports it; a lane can keep a copy of its record for
 * the caller to write after the batch, in input order. */
#ifndef IFG_GRADLANES_H
#define IFG_GRADLANES_H

#include <msgpack.h>
#include <stdbool.h>

#include "gradsrc.h"

struct ifg_gradlane {
	struct ifg_gradmodel *gm;	/* lane 0: the opened model, others twin */
	struct ifg_gradmodel twin;
	struct ifg_gradjob job;		/* its record's tokens; job.T its length */
	msgpack_sbuffer rec_sb;		/* with keep: the record, past the reader's next */
	msgpack_unpacked rec_up;
	int rc;
	char err[1024];
};

struct ifg_gradlanes {
	int n;
	bool keep;
	int blas_threads;		/* OpenBLAS's count before, restored by close */
	struct ifg_gradlane *lane;
};

/* n lanes over gm (the first is gm itself); keep: each lane keeps a copy of
 * its record (ifg_gradlanes_record).  Sets OpenBLAS to one thread until
 * close.  -1 with a message. */
int ifg_gradlanes_open(struct ifg_gradlanes *gl, struct ifg_gradmodel *gm, int n, bool keep);
void ifg_gradlanes_close(struct ifg_gradlanes *gl);

/* The next batch of src (opened with the lanes' model): up to n records
 * read, their gradients computed side by side and work(arg, i, &lane i's
 * gm->g) run on lane i's thread (a nonzero return, with ifg_seterr's
 * message, fails the record).  The count (fewer than n at the end, 0 when
 * none is left), or -1 with a message naming the stream and the record. */
int ifg_gradlanes_next(struct ifg_gradlanes *gl, struct ifg_gradsrc *src,
		       int (*work)(void *arg, int lane, const struct ifg_gradext *g), void *arg);
/* With keep: lane i's record of the last batch. */
const msgpack_object *ifg_gradlanes_record(const struct ifg_gradlanes *gl, int i);

#endif

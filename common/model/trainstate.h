/* trainstate.h: the train state from which a run resumes, and the
 * fingerprint of the settings it was made with.
 *
 * A train state is a safetensors file of three f32 tensors, each (P) for a
 * model of P parameters in the order of ifg_gpt_param_mem:
 *   params   the parameters after `step` optimizer steps
 *   adam_m   AdamW's first moments      adam_v   its second moments
 * and two metadata entries: "step" (decimal) and "settings", the
 * fingerprint: "key=value;..." of everything the steps depend on (the
 * model's shape and family, the identities of the initial model, the data and a DPO
 * reference, the seed, the batch, the schedule, the optimizer, the thread
 * count).  A run resumes from a state only when its fingerprint is the
 * same to the byte, so that the resumed run ends bit-identical to one never
 * interrupted. */
#ifndef IFG_TRAINSTATE_H
#define IFG_TRAINSTATE_H

#include <stdbool.h>

#include "gpt.h"
#include "trainstep.h"

/* What a run's steps depend on. */
struct ifg_train_fingerprint {
	const struct ifg_gpt_config *cfg;	/* the model's shape */
	const struct ifg_train_hp *hp;		/* with the schedule's warmup and total */
	const char *init;	/* the initial model's identity (sha256), or "scratch" */
	const char *data;	/* the data's (tokdata.h sha256) */
	unsigned long long seed;
	bool shuffle;
	long threads;
	bool dpo;
	double beta;		/* DPO only */
	const char *ref;	/* DPO only: the reference model's identity */
};

/* The fingerprint string (caller frees); NULL with a message when out of
 * memory. */
char *ifg_trainstate_settings(const struct ifg_train_fingerprint *f);

/* Writes the state of model m (its parameters) and moments mv (2 P: first
 * | second) after `step` steps to path, atomically.  -1 with a message. */
int ifg_trainstate_save(const char *path, struct ifg_gpt *m, const float *mv, long step,
			const char *settings);

/* Reads a state into m's parameters, mv and *step: 1 when loaded, 0 when
 * path does not exist; -1 with a message when it is not a train state, its
 * tensors do not fit m, or it was made with other settings (naming the
 * first "key=value" of its own that differs). */
int ifg_trainstate_load(const char *path, struct ifg_gpt *m, float *mv, long *step,
			const char *settings);

/* A resumed run's JSON-lines log continues after `step`: cuts off the lines
 * {"step":N,... with N > step (and everything after the first of them),
 * logged after the state was saved.  0 when done or when path does not
 * exist; -1 with a message. */
int ifg_trainlog_cut(const char *path, long step);

#endif

/* promptq.h: the order in which ifg-sample draws its samples.
 *
 * Prompts arrive one at a time and each needs k samples.  Samples are drawn
 * in batches of sequences taken in queue order: the oldest prompt's next
 * samples first, by sample number, then the next prompt's.  A prompt leaves
 * the queue when all k of its samples are written.  What a slot holds, the
 * prompt's index and the sample's number, fixes the sample's random stream
 * (ifg_promptq_key), so that samples do not depend on the batch size, on
 * how prompts share a batch, or on the input's length.
 *
 * Batches must be written in the order they were taken, before the next
 * push (which may move the queue). */
#ifndef IFG_PROMPTQ_H
#define IFG_PROMPTQ_H

#include <stddef.h>
#include <stdint.h>

struct ifg_promptq_item {
	void *data;		/* the caller's prompt */
	uint64_t index;		/* the caller's number of it (its input order) */
	int next, done;		/* samples taken, written */
};

struct ifg_promptq {
	int k;				/* samples per prompt, >= 1 */
	struct ifg_promptq_item *q;	/* [head, len): prompts with samples to write */
	size_t head, len, cap;
	long pending;			/* samples not yet taken */
};

/* One sequence of a batch. */
struct ifg_promptq_slot {
	void *data;
	uint64_t index;
	int sample;		/* 0 .. k-1 */
	size_t pos;		/* its prompt's place in the queue */
};

void ifg_promptq_init(struct ifg_promptq *q, int k);
/* Frees the queue; free_data (may be NULL) gets the prompts still in it. */
void ifg_promptq_release(struct ifg_promptq *q, void (*free_data)(void *));
/* Queues a prompt that needs k samples. */
void ifg_promptq_push(struct ifg_promptq *q, void *data, uint64_t index);
/* The next nb <= q->pending samples, in queue order, into out[0..nb). */
void ifg_promptq_take(struct ifg_promptq *q, long nb, struct ifg_promptq_slot *out);
/* The samples of s[0..nb) are written: each one's prompt counts it, and the
 * prompts at the head with all k written leave (free_data, may be NULL). */
void ifg_promptq_written(struct ifg_promptq *q, const struct ifg_promptq_slot *s, long nb,
			 void (*free_data)(void *));

/* The random stream of (prompt index, sample number): 2^20 samples a prompt. */
static inline uint64_t ifg_promptq_key(uint64_t index, int sample)
{
	return index << 20 | (uint64_t)sample;
}

#endif

/* promptq.c: the sampling queue of ifg-sample (promptq.h). */
#include "promptq.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void ifg_promptq_init(struct ifg_promptq *q, int k)
{
	memset(q, 0, sizeof *q);
	q->k = k;
}

void ifg_promptq_release(struct ifg_promptq *q, void (*free_data)(void *))
{
	for (size_t i = q->head; free_data && i < q->len; i++)
		free_data(q->q[i].data);
	free(q->q);
	memset(q, 0, sizeof *q);
}

void ifg_promptq_push(struct ifg_promptq *q, void *data, uint64_t index)
{
	if (q->len == q->cap && q->q) {	/* compact, or grow */
		memmove(q->q, q->q + q->head, (q->len - q->head) * sizeof *q->q);
		q->len -= q->head, q->head = 0;
	}
	if (q->len == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 64;
		q->q = ifg_xrealloc(q->q, q->cap, sizeof *q->q);
	}
	q->q[q->len++] = (struct ifg_promptq_item){ .data = data, .index = index };
	q->pending += q->k;
}

void ifg_promptq_take(struct ifg_promptq *q, long nb, struct ifg_promptq_slot *out)
{
	size_t pos = q->head;
	for (long i = 0; i < nb; i++) {
		while (q->q[pos].next == q->k)
			pos++;
		struct ifg_promptq_item *p = &q->q[pos];
		out[i] = (struct ifg_promptq_slot){ p->data, p->index, p->next++, pos };
	}
	q->pending -= nb;
}

void ifg_promptq_written(struct ifg_promptq *q, const struct ifg_promptq_slot *s, long nb,
			 void (*free_data)(void *))
{
	for (long i = 0; i < nb; i++)
		q->q[s[i].pos].done++;
	while (q->head < q->len && q->q[q->head].done == q->k) {
		if (free_data)
			free_data(q->q[q->head].data);
		q->head++;
	}
}

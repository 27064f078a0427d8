/* parallel.c: fork-join over a few threads (parallel.h). */
#include "parallel.h"

#include <pthread.h>
#include <stdlib.h>

#include "util.h"

struct call {
	void (*fn)(void *, int);
	void *arg;
	int i;
};

static void *start(void *p)
{
	struct call *c = p;
	c->fn(c->arg, c->i);
	return NULL;
}

void ifg_parallel(int n, void (*fn)(void *arg, int i), void *arg)
{
	if (n <= 1) {
		if (n == 1)
			fn(arg, 0);
		return;
	}
	struct call *c = ifg_xcalloc(n, sizeof *c);
	pthread_t *tid = ifg_xcalloc(n, sizeof *tid);
	char *started = ifg_xcalloc(n, 1);
	for (int i = 1; i < n; i++) {
		c[i] = (struct call){ fn, arg, i };
		started[i] = pthread_create(&tid[i], NULL, start, &c[i]) == 0;
	}
	fn(arg, 0);
	for (int i = 1; i < n; i++)
		if (!started[i])
			fn(arg, i);
	for (int i = 1; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	free(c);
	free(tid);
	free(started);
}

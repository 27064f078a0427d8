/* parallel.h: the same work on a few threads side by side. */
#ifndef IFG_PARALLEL_H
#define IFG_PARALLEL_H

/* Runs fn(arg, i) for every i in [0, n), each on its own thread, i = 0 on
 * the calling thread; returns when all have returned.  A thread that cannot
 * start has its call made on the calling thread after fn(arg, 0). */
void ifg_parallel(int n, void (*fn)(void *arg, int i), void *arg);

#endif

/* sgemm_peak.c: the machine's measured single-precision GEMM rate.
 * usage: sgemm_peak [threads] [n]; prints "sgemm_gflops X" (best of 5 runs of
 * an n x n x n cblas_sgemm, OpenBLAS with the given thread count). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 1;
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 2048;
	if (threads < 1 || n < 16 || n > 16384) {
		fprintf(stderr, "usage: sgemm_peak [threads] [n]\n");
		return 2;
	}
	openblas_set_num_threads(threads);
	size_t nn = (size_t)n * n;
	float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
	if (!a || !b || !c)
		return 1;
	for (size_t i = 0; i < nn; i++) {
		a[i] = (float)(i % 7) * 0.1f;
		b[i] = (float)(i % 5) * 0.1f;
	}
	double best = 1e30;
	for (int r = 0; r < 6; r++) {
		double t0 = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
			    c, n);
		double t = now() - t0;
		if (r > 0 && t < best) /* the first run warms up */
			best = t;
	}
	printf("sgemm_gflops %.1f\n", 2.0 * n * nn / best * 1e-9);
	free(a);
	free(b);
	free(c);
	return 0;
}

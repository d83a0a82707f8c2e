// Plain C sgemm timing against OpenBLAS: the reference `vaeguard info` is compared with.
// Build and run: scripts/bench-sgemm.sh (tries each OPENBLAS_CORETYPE the CPU can run).
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1024;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    openblas_set_num_threads(threads);
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (int i = 0; i < n * n; i++) { a[i] = (float)rand() / RAND_MAX; b[i] = (float)rand() / RAND_MAX; }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    long calls = 0;
    double t0 = now(), t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        calls++;
    } while ((t = now() - t0) < seconds);
    printf("kernel %-12s threads %d  sgemm %d^3: %.1f GFLOPS\n", openblas_get_corename(), threads, n,
           2.0 * n * n * (double)n * calls / t / 1e9);
    return 0;
}

/* One OpenMP runtime for everything: our loops, OpenBLAS (the OpenMP build, told here too) and
 * oneDNN (built on OpenMP in Debian). */
#include <omp.h>

#include "core_impl.h"

void openblas_set_num_threads(int n); /* from libopenblas; declared here to avoid cblas.h */

void fc_set_num_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int fc_num_threads(void) { return omp_get_max_threads(); }

// OpenBLAS through its CBLAS interface (Debian: libopenblas-dev).
// openblas_get_corename / openblas_set_num_threads / openblas_get_config are declared here too.
#include <cblas.h>

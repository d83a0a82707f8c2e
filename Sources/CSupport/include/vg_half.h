// Float16 (IEEE 754 binary16) weight copies for batch-1 dense layers (half.c).
//
// A batch-1 dense layer is a matrix-vector product bound by streaming its weights from memory
// (MNIST's 3136x1024 layer is 12.8 MB of float32 per request); a float16 copy halves that
// stream. The weights are packed once into panels of 16 output columns, each panel k x 16
// halves stored contiguously, so one pass over the panels reads the copy front to back and a
// split of the output columns into multiples of 16 is a split into whole panels. Products
// accumulate in float32. The kernel needs F16C, AVX2 and FMA (checked at run time with cpuid);
// callers use float32 sgemv where vg_half_kernel_available() is 0.
#ifndef VG_HALF_H
#define VG_HALF_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Output columns per packed panel.
#define VG_HALF_PANEL 16

/// 1 when this CPU and OS run the F16C/AVX2/FMA kernel (cpuid and xgetbv, read once).
int vg_half_kernel_available(void);

/// IEEE binary16 from a float, rounded to nearest, ties to even; overflow gives infinity,
/// NaN stays NaN (quiet), tiny values become subnormal or signed zero. Portable C.
uint16_t vg_float_to_half(float value);

/// The float a binary16 value denotes (exact: every half is a float). Portable C.
float vg_half_to_float(uint16_t value);

/// dst[i] = vg_half_to_float(src[i]), with F16C when available (the same results).
void vg_half_to_float_array(const uint16_t *src, float *dst, size_t count);

/// Halves needed for the packed panels of a k x n matrix: ceil(n / 16) * 16 * k.
size_t vg_half_panels_size(size_t k, size_t n);

/// Packs row-major w (k x n, row stride ldw >= n) into float16 panels (out holds
/// vg_half_panels_size(k, n) halves; columns past n are zero). Returns the number of weights
/// whose magnitude exceeds the float16 range (65504), which the caller should treat as
/// "do not use the copy"; 0 when all fit.
size_t vg_half_pack_panels(const float *w, size_t k, size_t n, size_t ldw, uint16_t *out);

/// y[r * ldy + j] = sum_p x[r * ldx + p] * W[p, j] for rows r < rows and the columns of
/// panels panel_begin ..< panel_end (j < n), W being the float16 panels of a k x n matrix.
/// Accumulates in float32. Uses the F16C/AVX2/FMA kernel where vg_half_kernel_available(),
/// else a slow portable loop (kept for correctness only: callers use sgemv there).
void vg_half_gemv_panels(const uint16_t *panels, size_t k, size_t n, size_t panel_begin, size_t panel_end,
                         const float *x, size_t ldx, size_t rows, float *y, size_t ldy);

#ifdef __cplusplus
}
#endif
#endif

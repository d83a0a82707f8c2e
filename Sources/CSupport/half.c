#include "vg_half.h"
#include "vg_cpu.h"
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VG_HALF_X86 1
#endif

int vg_half_kernel_available(void) {
    // -1: not checked yet. Racing first calls compute the same answer.
    static _Atomic int cached = -1;
    int known = atomic_load_explicit(&cached, memory_order_relaxed);
    if (known >= 0) return known;
    vg_cpu_info info;
    int ok = vg_cpu_detect(&info) == 0 && info.f16c && info.avx && info.avx2 && info.fma && info.os_avx;
    atomic_store_explicit(&cached, ok, memory_order_relaxed);
    return ok;
}

uint16_t vg_float_to_half(float value) {
    uint32_t f;
    memcpy(&f, &value, sizeof f);
    uint16_t sign = (uint16_t)((f >> 16) & 0x8000);
    uint32_t abs = f & 0x7fffffffu;
    if (abs >= 0x7f800000u) {                       // infinity or NaN (kept quiet, top payload bits kept)
        return abs == 0x7f800000u ? (uint16_t)(sign | 0x7c00) : (uint16_t)(sign | 0x7e00 | ((abs >> 13) & 0x3ff));
    }
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);   // >= 65520 rounds to infinity
    if (abs < 0x38800000u) {                        // below 2^-14: a subnormal half or zero
        uint32_t exponent = abs >> 23;
        uint32_t shift = 126 - exponent;            // float = m * 2^(e-150), half unit = 2^-24
        if (shift > 24) return sign;                // below 2^-25: rounds to zero
        uint32_t m = (abs & 0x7fffffu) | 0x800000u;
        if (exponent == 0) m = abs;                 // float subnormal (shift is > 24 anyway)
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (q & 1))) q++;
        return (uint16_t)(sign | q);                // q == 0x400 is the smallest normal, correctly encoded
    }
    uint32_t h = (abs >> 13) - (112u << 10);        // rebias 127 -> 15
    uint32_t rem = abs & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++;   // a carry into the exponent is right
    return (uint16_t)(sign | h);
}

float vg_half_to_float(uint16_t value) {
    uint32_t sign = (uint32_t)(value & 0x8000) << 16;
    uint32_t exponent = (value >> 10) & 0x1f, mantissa = value & 0x3ffu, f;
    if (exponent == 0x1f) {
        f = sign | 0x7f800000u | (mantissa << 13);
        if (mantissa) f |= 0x400000u;               // NaN comes back quiet, as F16C does
    } else if (exponent == 0) {
        if (mantissa == 0) {
            f = sign;
        } else {                                    // subnormal: normalise
            uint32_t e = 113;
            while (!(mantissa & 0x400u)) { mantissa <<= 1; e--; }
            f = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
        }
    } else {
        f = sign | ((exponent + 112) << 23) | (mantissa << 13);
    }
    float out;
    memcpy(&out, &f, sizeof out);
    return out;
}

#ifdef VG_HALF_X86
__attribute__((target("avx,f16c")))
static void half_to_float_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    }
    for (; i < count; i++) dst[i] = vg_half_to_float(src[i]);
}
#endif

void vg_half_to_float_array(const uint16_t *src, float *dst, size_t count) {
#ifdef VG_HALF_X86
    if (vg_half_kernel_available()) {
        half_to_float_f16c(src, dst, count);
        return;
    }
#endif
    for (size_t i = 0; i < count; i++) dst[i] = vg_half_to_float(src[i]);
}

size_t vg_half_panels_size(size_t k, size_t n) {
    return (n + VG_HALF_PANEL - 1) / VG_HALF_PANEL * VG_HALF_PANEL * k;
}

size_t vg_half_pack_panels(const float *w, size_t k, size_t n, size_t ldw, uint16_t *out) {
    size_t outOfRange = 0;
    size_t panels = (n + VG_HALF_PANEL - 1) / VG_HALF_PANEL;
    for (size_t p = 0; p < panels; p++) {
        uint16_t *panel = out + p * k * VG_HALF_PANEL;
        size_t j0 = p * VG_HALF_PANEL;
        for (size_t i = 0; i < k; i++) {
            const float *row = w + i * ldw;
            for (size_t c = 0; c < VG_HALF_PANEL; c++) {
                size_t j = j0 + c;
                float v = j < n ? row[j] : 0.0f;
                if (v > 65504.0f || v < -65504.0f) outOfRange++;
                panel[i * VG_HALF_PANEL + c] = vg_float_to_half(v);
            }
        }
    }
    return outOfRange;
}

#ifdef VG_HALF_X86
/// One panel, one row: 4 rows of the panel per step into 8 independent accumulators, so the
/// FMAs' latency hides behind the loads; the panel is read front to back.
__attribute__((target("avx,avx2,fma,f16c")))
static void panel_row(const uint16_t *panel, size_t k, const float *x, float out[VG_HALF_PANEL]) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    __m256 a4 = _mm256_setzero_ps(), a5 = _mm256_setzero_ps(), a6 = _mm256_setzero_ps(), a7 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        const uint16_t *w = panel + i * VG_HALF_PANEL;
        __m256 x0 = _mm256_broadcast_ss(x + i), x1 = _mm256_broadcast_ss(x + i + 1);
        __m256 x2 = _mm256_broadcast_ss(x + i + 2), x3 = _mm256_broadcast_ss(x + i + 3);
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 0))), x0, a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 8))), x0, a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 16))), x1, a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 24))), x1, a3);
        a4 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 32))), x2, a4);
        a5 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 40))), x2, a5);
        a6 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 48))), x3, a6);
        a7 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 56))), x3, a7);
    }
    for (; i < k; i++) {
        const uint16_t *w = panel + i * VG_HALF_PANEL;
        __m256 xi = _mm256_broadcast_ss(x + i);
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 0))), xi, a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + 8))), xi, a1);
    }
    __m256 lo = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a4, a6));
    __m256 hi = _mm256_add_ps(_mm256_add_ps(a1, a3), _mm256_add_ps(a5, a7));
    _mm256_storeu_ps(out, lo);
    _mm256_storeu_ps(out + 8, hi);
}
#endif

/// Portable form of panel_row, for CPUs without F16C (slow: callers use sgemv there).
static void panel_row_portable(const uint16_t *panel, size_t k, const float *x, float out[VG_HALF_PANEL]) {
    for (size_t c = 0; c < VG_HALF_PANEL; c++) out[c] = 0;
    for (size_t i = 0; i < k; i++) {
        for (size_t c = 0; c < VG_HALF_PANEL; c++) out[c] += x[i] * vg_half_to_float(panel[i * VG_HALF_PANEL + c]);
    }
}

void vg_half_gemv_panels(const uint16_t *panels, size_t k, size_t n, size_t panel_begin, size_t panel_end,
                         const float *x, size_t ldx, size_t rows, float *y, size_t ldy) {
#ifdef VG_HALF_X86
    int vector = vg_half_kernel_available();
#endif
    for (size_t p = panel_begin; p < panel_end; p++) {
        const uint16_t *panel = panels + p * k * VG_HALF_PANEL;
        size_t j0 = p * VG_HALF_PANEL;
        size_t cols = n - j0 < VG_HALF_PANEL ? n - j0 : VG_HALF_PANEL;
        for (size_t r = 0; r < rows; r++) {
            float out[VG_HALF_PANEL];
#ifdef VG_HALF_X86
            if (vector) panel_row(panel, k, x + r * ldx, out); else panel_row_portable(panel, k, x + r * ldx, out);
#else
            panel_row_portable(panel, k, x + r * ldx, out);
#endif
            memcpy(y + r * ldy + j0, out, cols * sizeof(float));
        }
    }
}

// CPU feature detection with cpuid/xgetbv, used to pick the OpenBLAS kernel before it loads.
#ifndef VG_CPU_H
#define VG_CPU_H
#include <stdint.h>

typedef struct {
    char vendor[13];
    char brand[49];
    int family;
    int model;
    int sse42, avx, avx2, fma, f16c;
    int avx512f, avx512dq, avx512bw, avx512vl, avx512cd, avx512_bf16, avx512_fp16, amx_tile;
    int os_avx;      // the OS saves YMM state (XCR0 bits 1-2)
    int os_avx512;   // the OS saves ZMM/opmask state (XCR0 bits 5-7)
} vg_cpu_info;

/// Fills `info`; returns 0 on x86-64, -1 on other architectures (all fields zero).
int vg_cpu_detect(vg_cpu_info *info);

#endif

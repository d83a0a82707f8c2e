#include "vg_cpu.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t vg_xgetbv(void) {
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

int vg_cpu_detect(vg_cpu_info *info) {
    memset(info, 0, sizeof(*info));
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return -1;
    unsigned maxLeaf = a;
    memcpy(info->vendor + 0, &b, 4);
    memcpy(info->vendor + 4, &d, 4);
    memcpy(info->vendor + 8, &c, 4);
    info->vendor[12] = 0;

    __get_cpuid(1, &a, &b, &c, &d);
    int baseFamily = (a >> 8) & 0xf, baseModel = (a >> 4) & 0xf;
    info->family = baseFamily == 0xf ? baseFamily + ((a >> 20) & 0xff) : baseFamily;
    info->model = (baseFamily == 0x6 || baseFamily == 0xf) ? (((a >> 16) & 0xf) << 4) | baseModel : baseModel;
    info->sse42 = (c >> 20) & 1;
    info->fma = (c >> 12) & 1;
    info->avx = (c >> 28) & 1;
    info->f16c = (c >> 29) & 1;
    int osxsave = (c >> 27) & 1;
    if (osxsave) {
        uint64_t xcr0 = vg_xgetbv();
        info->os_avx = (xcr0 & 0x6) == 0x6;
        info->os_avx512 = info->os_avx && (xcr0 & 0xe0) == 0xe0;
    }
    if (maxLeaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        info->avx2 = (b >> 5) & 1;
        info->avx512f = (b >> 16) & 1;
        info->avx512dq = (b >> 17) & 1;
        info->avx512cd = (b >> 28) & 1;
        info->avx512bw = (b >> 30) & 1;
        info->avx512vl = (b >> 31) & 1;
        info->avx512_fp16 = (d >> 23) & 1;
        info->amx_tile = (d >> 24) & 1;
        __cpuid_count(7, 1, a, b, c, d);
        info->avx512_bf16 = (a >> 5) & 1;
    }
    __get_cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000004) {
        unsigned *brand = (unsigned *)info->brand;
        for (unsigned leaf = 0; leaf < 3; leaf++) {
            __get_cpuid(0x80000002 + leaf, &brand[leaf * 4], &brand[leaf * 4 + 1], &brand[leaf * 4 + 2], &brand[leaf * 4 + 3]);
        }
        info->brand[48] = 0;
    }
    return 0;
}
#else
int vg_cpu_detect(vg_cpu_info *info) {
    memset(info, 0, sizeof(*info));
    return -1;
}
#endif

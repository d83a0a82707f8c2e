// JPEG decoding and encoding through libjpeg-turbo's TurboJPEG API (2.1).
//
// TurboJPEG keeps libjpeg's setjmp/longjmp inside the library and reports failures by return
// code, so unlike libpng nothing here needs a jump buffer. What this file adds:
//   - the header is read first (tjDecompressHeader3) and width*height is checked against the
//     caller's limit before any pixel buffer exists;
//   - warnings are errors: TJFLAG_STOPONWARNING makes libjpeg stop at the first warning
//     ("Premature end of JPEG file", "Corrupt JPEG data: ..."), and we return VG_CORRUPT
//     instead of the grey-filled remainder libjpeg would otherwise produce;
//   - progressive files are capped at 500 scans (TJFLAG_LIMITSCANS), which defeats the
//     "many tiny scans" CPU bomb;
//   - arithmetic-coded files (SOF9-SOF15) are refused (VG_UNSUPPORTED) from the header. Their
//     truncation cannot be detected: the arithmetic decoder treats a marker inside the scan as
//     legal end-of-data and supplies zero bits for the rest without a warning, because encoders
//     drop trailing zero bytes ("Pacman" termination, T.81 D.1.6). A 4096x4096 SOF9 file cut
//     short and ended with EOI therefore decoded as a whole grey image, and a valid all-black
//     4096x4096 SOF9 file is 128 bytes, so no byte count can tell the two apart (issue #16);
//   - a file whose frame header the marker walk cannot find is refused as corrupt, so the
//     coding-process check above cannot be skipped by a header libjpeg reads and we do not;
//   - CMYK/YCCK are decoded to CMYK by libjpeg and converted to RGB here, honouring Adobe's
//     inverted-CMYK convention.
#include "vg_codecs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

/// libjpeg's JPEG_MAX_DIMENSION.
#define VG_JPEG_MAX_DIMENSION 65500u

static void vg_jpeg_set_error(char *errbuf, size_t errlen, const char *fmt, ...) {
    if (errbuf == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static uint32_t vg_be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }

/// Walks the marker segments before the first SOS looking for an Adobe APP14 marker and the
/// frame header (SOFn): whether it is progressive, and its marker (0 when none was found).
/// TurboJPEG 2.1 exposes neither. Stops quietly at anything odd: libjpeg itself validates the
/// stream, and the caller refuses a file whose SOF this walk did not reach.
static void vg_jpeg_scan_markers(const uint8_t *data, size_t len, int *adobe, int *progressive,
                                 int *sof) {
    *adobe = 0;
    *progressive = 0;
    *sof = 0;
    size_t pos = 2;   // after SOI
    while (pos + 4 <= len) {
        if (data[pos] != 0xFF) return;
        uint8_t m = data[pos + 1];
        if (m == 0xFF) { pos++; continue; }                       // fill byte
        if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) { pos += 2; continue; }
        if (m == 0xDA || m == 0xD9) return;                       // SOS / EOI
        uint32_t seg = vg_be16(data + pos + 2);
        if (seg < 2 || seg > len - pos - 2) return;
        const uint8_t *payload = data + pos + 4;
        if (m == 0xEE && seg >= 2 + 12 && memcmp(payload, "Adobe", 5) == 0) *adobe = 1;
        if (m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE) *progressive = 1;
        // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC).
        if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && *sof == 0) *sof = m;
        pos += 2 + seg;
    }
}

/// Rounds x/255 exactly for x in [0, 255*255].
static inline uint8_t vg_div255(uint32_t x) {
    x += 128;
    return (uint8_t)((x + (x >> 8)) >> 8);
}

static vg_status vg_jpeg_header(tjhandle tj, const uint8_t *data, size_t len,
                                uint64_t max_pixels, vg_image_info *info, int *colorspace,
                                int *adobe, char *errbuf, size_t errlen) {
    int w = 0, h = 0, subsamp = 0, cs = 0;
    if (tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp, &cs) != 0) {
        vg_jpeg_set_error(errbuf, errlen, "%s", tjGetErrorStr2(tj));
        return VG_CORRUPT;
    }
    if (w <= 0 || h <= 0) {
        vg_jpeg_set_error(errbuf, errlen, "invalid image dimensions %dx%d", w, h);
        return VG_CORRUPT;
    }
    int progressive = 0, sof = 0;
    vg_jpeg_scan_markers(data, len, adobe, &progressive, &sof);
    if (sof == 0) {
        vg_jpeg_set_error(errbuf, errlen, "no frame header (SOF) found before the first scan");
        return VG_CORRUPT;
    }
    if (sof >= 0xC9) {
        vg_jpeg_set_error(errbuf, errlen,
                          "arithmetic-coded JPEG (SOF%d), whose truncation cannot be detected; "
                          "re-encode it with Huffman coding", sof - 0xC0);
        return VG_UNSUPPORTED;
    }
    info->width = (uint32_t)w;
    info->height = (uint32_t)h;
    info->channels = cs == TJCS_GRAY ? 1 : 3;
    info->source_bit_depth = 8;
    info->source_color = cs;
    info->interlaced = progressive;
    *colorspace = cs;
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        vg_jpeg_set_error(errbuf, errlen, "%dx%d pixels exceeds the limit of %llu", w, h,
                          (unsigned long long)max_pixels);
        return VG_TOO_LARGE;
    }
    return VG_OK;
}

vg_status vg_jpeg_probe(const uint8_t *data, size_t len, uint64_t max_pixels,
                        vg_image_info *info, char *errbuf, size_t errlen) {
    if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
    if (data == NULL || len == 0 || info == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "no data");
        return VG_INVALID_ARG;
    }
    tjhandle tj = tjInitDecompress();
    if (tj == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "%s", tjGetErrorStr2(NULL));
        return VG_NO_MEMORY;
    }
    int cs = 0, adobe = 0;
    vg_status st = vg_jpeg_header(tj, data, len, max_pixels, info, &cs, &adobe, errbuf, errlen);
    tjDestroy(tj);
    return st;
}

vg_status vg_jpeg_decode(const uint8_t *data, size_t len, uint64_t max_pixels, uint8_t *out,
                         size_t out_len, vg_image_info *info, char *errbuf, size_t errlen) {
    if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
    if (data == NULL || len == 0 || info == NULL || out == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "null argument");
        return VG_INVALID_ARG;
    }
    tjhandle tj = tjInitDecompress();
    if (tj == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "%s", tjGetErrorStr2(NULL));
        return VG_NO_MEMORY;
    }
    int cs = 0, adobe = 0;
    vg_status st = vg_jpeg_header(tj, data, len, max_pixels, info, &cs, &adobe, errbuf, errlen);
    if (st != VG_OK) {
        tjDestroy(tj);
        return st;
    }
    size_t npix = (size_t)info->width * (size_t)info->height;
    if (out_len != npix * (size_t)info->channels) {
        tjDestroy(tj);
        vg_jpeg_set_error(errbuf, errlen, "output buffer is %zu bytes, need %zu", out_len,
                          npix * (size_t)info->channels);
        return VG_INVALID_ARG;
    }

    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    int pf = cs == TJCS_GRAY ? TJPF_GRAY : (cmyk ? TJPF_CMYK : TJPF_RGB);
    uint8_t *dst = out;
    if (cmyk) {
        dst = (uint8_t *)malloc(npix * 4);
        if (dst == NULL) {
            tjDestroy(tj);
            vg_jpeg_set_error(errbuf, errlen, "out of memory for CMYK pixels");
            return VG_NO_MEMORY;
        }
    }
    int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
    if (tjDecompress2(tj, data, (unsigned long)len, dst, (int)info->width, 0,
                      (int)info->height, pf, flags) != 0) {
        int warning = tjGetErrorCode(tj) == TJERR_WARNING;
        vg_jpeg_set_error(errbuf, errlen, "%s%s",
                          warning ? "damaged or truncated JPEG data: " : "", tjGetErrorStr2(tj));
        if (cmyk) free(dst);
        tjDestroy(tj);
        return VG_CORRUPT;
    }
    tjDestroy(tj);

    if (cmyk) {
        // libjpeg returns the stored samples (YCCK already turned into CMYK). Adobe
        // applications store CMYK inverted (0 = full ink), so with an APP14 marker
        // R = C*K/255; without one the samples are ink amounts and R = (255-C)(255-K)/255.
        const uint8_t *s = dst;
        uint8_t *d = out;
        for (size_t i = 0; i < npix; i++, s += 4, d += 3) {
            uint32_t c = s[0], m = s[1], y = s[2], k = s[3];
            if (!adobe) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
            d[0] = vg_div255(c * k);
            d[1] = vg_div255(m * k);
            d[2] = vg_div255(y * k);
        }
        free(dst);
    }
    return VG_OK;
}

static int vg_tj_subsamp(int32_t channels, vg_jpeg_subsampling s) {
    if (channels == 1) return TJSAMP_GRAY;
    switch (s) {
    case VG_JPEG_SUBSAMP_444: return TJSAMP_444;
    case VG_JPEG_SUBSAMP_422: return TJSAMP_422;
    case VG_JPEG_SUBSAMP_420: return TJSAMP_420;
    }
    return -1;
}

size_t vg_jpeg_max_size(uint32_t width, uint32_t height, int32_t channels,
                        vg_jpeg_subsampling subsampling) {
    if (width == 0 || height == 0 || width > VG_JPEG_MAX_DIMENSION ||
        height > VG_JPEG_MAX_DIMENSION || (channels != 1 && channels != 3))
        return 0;
    int ss = vg_tj_subsamp(channels, subsampling);
    if (ss < 0) return 0;
    unsigned long n = tjBufSize((int)width, (int)height, ss);
    return n == (unsigned long)-1 ? 0 : (size_t)n;
}

vg_status vg_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                         int32_t channels, int32_t quality, vg_jpeg_subsampling subsampling,
                         uint8_t *out, size_t out_cap, size_t *out_len, char *errbuf,
                         size_t errlen) {
    if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
    if (pixels == NULL || out == NULL || out_len == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "null argument");
        return VG_INVALID_ARG;
    }
    *out_len = 0;
    if (channels != 1 && channels != 3) {
        vg_jpeg_set_error(errbuf, errlen, "JPEG encoding needs 1 or 3 channels, got %d", channels);
        return VG_INVALID_ARG;
    }
    if (quality < 1 || quality > 100) {
        vg_jpeg_set_error(errbuf, errlen, "JPEG quality %d is outside 1...100", quality);
        return VG_INVALID_ARG;
    }
    size_t need = vg_jpeg_max_size(width, height, channels, subsampling);
    if (need == 0) {
        vg_jpeg_set_error(errbuf, errlen, "invalid JPEG dimensions %ux%u (max %u)", width, height,
                          VG_JPEG_MAX_DIMENSION);
        return VG_INVALID_ARG;
    }
    if (out_cap < need) {
        vg_jpeg_set_error(errbuf, errlen, "output buffer is %zu bytes, need %zu", out_cap, need);
        return VG_INVALID_ARG;
    }
    tjhandle tj = tjInitCompress();
    if (tj == NULL) {
        vg_jpeg_set_error(errbuf, errlen, "%s", tjGetErrorStr2(NULL));
        return VG_NO_MEMORY;
    }
    unsigned char *buf = out;
    unsigned long size = (unsigned long)out_cap;
    int rc = tjCompress2(tj, pixels, (int)width, 0, (int)height,
                         channels == 1 ? TJPF_GRAY : TJPF_RGB, &buf, &size,
                         vg_tj_subsamp(channels, subsampling), quality, TJFLAG_NOREALLOC);
    if (rc != 0) {
        vg_jpeg_set_error(errbuf, errlen, "%s", tjGetErrorStr2(tj));
        tjDestroy(tj);
        return VG_INVALID_ARG;
    }
    tjDestroy(tj);
    *out_len = (size_t)size;
    return VG_OK;
}

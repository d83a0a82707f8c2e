// PNG and JPEG codecs behind status codes (see png_codec.c and jpeg_codec.c).
//
// libpng reports errors with longjmp and libjpeg would call exit() by default; neither may
// unwind through Swift frames. Every library call therefore stays in C behind setjmp (libpng)
// or TurboJPEG's return codes, and each function here returns a vg_status plus a message in a
// caller-owned buffer, so a corrupt upload becomes a Swift error instead of a crash.
//
// Decoding is two-phase so Swift owns the pixel memory and no buffer is sized from
// attacker-controlled data before the pixel limit has been checked:
//   1. vg_*_probe reads only the header, refuses width*height > max_pixels (VG_TOO_LARGE,
//      with the dimensions filled in) and reports the output channel count;
//   2. the caller allocates width*height*channels bytes and calls vg_*_decode, which checks
//      the header and the limit again, so it is safe to call on its own.
// All output is 8 bits per sample, row-major, channels interleaved (HWC), no row padding.
#ifndef VG_CODECS_H
#define VG_CODECS_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result of every codec call.
typedef enum {
    VG_OK = 0,
    VG_CORRUPT = 1,      ///< malformed, truncated or undecodable data (message in errbuf)
    VG_TOO_LARGE = 2,    ///< header dimensions exceed max_pixels (info holds them)
    VG_INVALID_ARG = 3,  ///< caller error: null pointer, wrong buffer size, bad parameter
    VG_NO_MEMORY = 4,    ///< an allocation failed
    VG_UNSUPPORTED = 5   ///< a valid file in a variant we refuse to decode (message says which)
} vg_status;

/// Recommended size of the errbuf passed to every function; messages are truncated to fit.
#define VG_ERRBUF_SIZE 256

/// What a decode will produce. channels is 1 (gray), 3 (RGB) or 4 (RGBA).
typedef struct {
    uint32_t width;
    uint32_t height;
    int32_t channels;
    int32_t source_bit_depth;   ///< PNG: IHDR bit depth; JPEG: 8
    int32_t source_color;       ///< PNG: IHDR colour type; JPEG: TJCS_* colour space
    int32_t interlaced;         ///< PNG: 1 for Adam7; JPEG: 1 for progressive
} vg_image_info;

// ---------------------------------------------------------------- PNG (png_codec.c)

/// Reads the IHDR (and the chunks before IDAT, to see tRNS) without decoding pixels.
/// Output channels: gray without transparency -> 1; RGB and palette without tRNS -> 3;
/// anything with alpha or tRNS (gray+alpha included) -> 4 (gray is expanded to RGBA).
vg_status vg_png_probe(const uint8_t *data, size_t len, uint64_t max_pixels,
                       vg_image_info *info, char *errbuf, size_t errlen);

/// Decodes into `out` (exactly width*height*channels bytes as reported by vg_png_probe).
/// Every colour type and bit depth is accepted: palettes and low bit depths are expanded,
/// 16-bit samples are scaled to 8 bits with rounding (png_set_scale_16), Adam7 is
/// de-interlaced. No gamma or colour-profile correction is applied; ancillary chunks other than
/// tRNS are skipped unread. Refused as VG_CORRUPT before libpng runs: any chunk longer than the
/// remaining data, and IDAT data that inflates beyond what the IHDR implies (zlib bomb).
vg_status vg_png_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
                        uint8_t *out, size_t out_len, vg_image_info *info,
                        char *errbuf, size_t errlen);

/// Encodes 8-bit gray (1), RGB (3) or RGBA (4) pixels, non-interlaced, zlib level 0-9.
/// On VG_OK *out is a malloc'd buffer of *out_len bytes the caller frees with vg_free.
vg_status vg_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                        int32_t channels, int32_t compression_level,
                        uint8_t **out, size_t *out_len, char *errbuf, size_t errlen);

/// Frees a buffer returned by vg_png_encode.
void vg_free(void *p);

// ---------------------------------------------------------------- JPEG (jpeg_codec.c)

/// Reads the JPEG header (tjDecompressHeader3). Output channels: grayscale -> 1,
/// YCbCr/RGB/CMYK/YCCK -> 3.
vg_status vg_jpeg_probe(const uint8_t *data, size_t len, uint64_t max_pixels,
                        vg_image_info *info, char *errbuf, size_t errlen);

/// Decodes into `out` (exactly width*height*channels bytes). Any libjpeg warning (for example
/// "Premature end of JPEG file" on a truncated upload, or corrupt entropy data) is an error:
/// the decoder stops and returns VG_CORRUPT rather than hand back partly grey pixels.
/// CMYK and YCCK are converted to RGB (R = (255-C)(255-K)/255, ...); when an Adobe APP14
/// marker is present the samples are taken as inverted, the Photoshop convention that libvips
/// also follows (Pillow assumes inverted for every CMYK JPEG; marker-less CMYK files are rare).
/// Progressive files are limited to 500 scans (TJFLAG_LIMITSCANS) against scan bombs.
vg_status vg_jpeg_decode(const uint8_t *data, size_t len, uint64_t max_pixels,
                         uint8_t *out, size_t out_len, vg_image_info *info,
                         char *errbuf, size_t errlen);

/// Chroma subsampling for vg_jpeg_encode (ignored for gray input).
typedef enum {
    VG_JPEG_SUBSAMP_444 = 0,
    VG_JPEG_SUBSAMP_422 = 1,
    VG_JPEG_SUBSAMP_420 = 2
} vg_jpeg_subsampling;

/// Worst-case compressed size for an image, for sizing the vg_jpeg_encode output buffer.
/// Returns 0 if the arguments are invalid.
size_t vg_jpeg_max_size(uint32_t width, uint32_t height, int32_t channels,
                        vg_jpeg_subsampling subsampling);

/// Encodes 8-bit gray (1) or RGB (3) at quality 1-100 into the caller's buffer of `out_cap`
/// bytes (at least vg_jpeg_max_size); *out_len receives the compressed length. Baseline,
/// standard Huffman tables, accurate integer DCT: the same settings as Pillow's default save.
vg_status vg_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                         int32_t channels, int32_t quality, vg_jpeg_subsampling subsampling,
                         uint8_t *out, size_t out_cap, size_t *out_len,
                         char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif

// PNG decoding and encoding through libpng 1.6, with every libpng call behind setjmp.
//
// libpng reports a fatal error by calling the error handler and then longjmp-ing to the
// png_jmpbuf. A longjmp across Swift frames is undefined behaviour, so no libpng function is
// ever called from Swift: the functions below set the jump target first, turn an error into
// a vg_status and copy libpng's message into the caller's buffer.
//
// Decompression bombs: the IHDR is parsed by hand (fixed offsets after the signature) and
// width*height is checked against the caller's limit before libpng is even created, so a
// 100000x100000 header in a 100-byte file costs nothing. libpng's own limits are capped too:
// user width/height limits, the number of ancillary chunks kept, and the largest chunk
// allocation (which bounds zTXt/iCCP decompression).
#include "vg_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/// Largest allocation libpng may make for one chunk (decompressed iCCP/zTXt/iTXt included).
#define VG_PNG_CHUNK_MALLOC_MAX (8u * 1024u * 1024u)
/// Largest number of ancillary chunks libpng keeps (sPLT, text, unknown).
#define VG_PNG_CHUNK_CACHE_MAX 128u

static void vg_set_error(char *errbuf, size_t errlen, const char *fmt, ...) {
    if (errbuf == NULL || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

void vg_free(void *p) { free(p); }

// ------------------------------------------------------------------ shared context

typedef struct {
    const uint8_t *data;   // input (read) or NULL (write)
    size_t len;
    size_t pos;
    uint8_t *buf;          // growable output (write)
    size_t buf_len;
    size_t buf_cap;
    vg_status status;      // status to return when libpng longjmps
    char *errbuf;
    size_t errlen;
} vg_png_ctx;

static void vg_png_error_fn(png_structp png, png_const_charp msg) {
    vg_png_ctx *ctx = (vg_png_ctx *)png_get_error_ptr(png);
    // A message set by our own I/O callbacks is more precise; keep it.
    if (ctx->errbuf != NULL && ctx->errlen > 0 && ctx->errbuf[0] == '\0')
        vg_set_error(ctx->errbuf, ctx->errlen, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

/// Warnings (unknown sRGB profile, extra IDAT data, bad CRC in an ancillary chunk, which libpng
/// then discards) do not affect the pixels we return, so they are ignored rather than printed
/// to stderr by libpng's default handler.
static void vg_png_warning_fn(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

static void vg_png_read_fn(png_structp png, png_bytep out, size_t n) {
    vg_png_ctx *ctx = (vg_png_ctx *)png_get_io_ptr(png);
    if (n > ctx->len - ctx->pos) {
        vg_set_error(ctx->errbuf, ctx->errlen, "unexpected end of data (truncated PNG)");
        png_error(png, "truncated");
    }
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

static void vg_png_write_fn(png_structp png, png_bytep data, size_t n) {
    vg_png_ctx *ctx = (vg_png_ctx *)png_get_io_ptr(png);
    if (n > ctx->buf_cap - ctx->buf_len) {
        size_t cap = ctx->buf_cap ? ctx->buf_cap : 4096;
        while (cap - ctx->buf_len < n) {
            if (cap > SIZE_MAX / 2) { cap = 0; break; }
            cap *= 2;
        }
        uint8_t *grown = cap ? (uint8_t *)realloc(ctx->buf, cap) : NULL;
        if (grown == NULL) {
            ctx->status = VG_NO_MEMORY;
            vg_set_error(ctx->errbuf, ctx->errlen, "out of memory growing the PNG buffer");
            png_error(png, "out of memory");
        }
        ctx->buf = grown;
        ctx->buf_cap = cap;
    }
    memcpy(ctx->buf + ctx->buf_len, data, n);
    ctx->buf_len += n;
}

static void vg_png_flush_fn(png_structp png) { (void)png; }

// ------------------------------------------------------------------ decoding

static uint32_t vg_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/// Parses the signature and IHDR by hand and applies the pixel limit before libpng runs.
static vg_status vg_png_check_header(const uint8_t *data, size_t len, uint64_t max_pixels,
                                     vg_image_info *info, char *errbuf, size_t errlen) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len < 8 || memcmp(data, sig, 8) != 0) {
        vg_set_error(errbuf, errlen, "missing PNG signature");
        return VG_CORRUPT;
    }
    if (len < 33) {
        vg_set_error(errbuf, errlen, "truncated before the end of the IHDR chunk");
        return VG_CORRUPT;
    }
    if (vg_be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0) {
        vg_set_error(errbuf, errlen, "first chunk is not a 13-byte IHDR");
        return VG_CORRUPT;
    }
    uint32_t w = vg_be32(data + 16), h = vg_be32(data + 20);
    if (w == 0 || h == 0 || w > PNG_UINT_31_MAX || h > PNG_UINT_31_MAX) {
        vg_set_error(errbuf, errlen, "invalid image dimensions %ux%u in IHDR", w, h);
        return VG_CORRUPT;
    }
    // Walk the chunk list: every chunk must fit in the data we have. libpng 1.6 allocates an
    // ancillary chunk's buffer from its declared length *before* reading it (and its
    // chunk_malloc_max only bounds IDAT and decompression), so a 250-byte file whose tEXt
    // claims 2 GB would otherwise cost 2 GB of zeroed memory. Found by fuzzing; regression
    // fixture corrupt_huge_chunk.png.
    for (size_t pos = 8; len - pos >= 8;) {
        uint32_t n = vg_be32(data + pos);
        const uint8_t *name = data + pos + 4;
        if (n > PNG_UINT_31_MAX || (size_t)n > len - pos - 8 || len - pos - 8 - n < 4) {
            char printable[5];
            for (int i = 0; i < 4; i++) printable[i] = (name[i] >= 32 && name[i] < 127) ? (char)name[i] : '?';
            printable[4] = '\0';
            vg_set_error(errbuf, errlen, "chunk '%s' declares %u bytes but only %zu remain (truncated)",
                         printable, n, len - pos - 8);
            return VG_CORRUPT;
        }
        if (memcmp(name, "IEND", 4) == 0) break;
        pos += 12 + (size_t)n;
    }
    info->width = w;
    info->height = h;
    info->channels = 0;
    info->source_bit_depth = data[24];
    info->source_color = data[25];
    info->interlaced = data[28] == PNG_INTERLACE_ADAM7;
    if ((uint64_t)w * (uint64_t)h > max_pixels) {
        vg_set_error(errbuf, errlen, "%ux%u pixels exceeds the limit of %llu", w, h,
                     (unsigned long long)max_pixels);
        return VG_TOO_LARGE;
    }
    return VG_OK;
}

/// Guards against zlib bombs hidden after the image data. Once the last row is decoded,
/// png_read_row keeps inflating the rest of the IDAT stream (to look for its end), so a 1x1
/// image followed by 200 KB of compressed zeros costs 200 MB of inflate, ~0.5 s of CPU per
/// 200 KB uploaded. Before decoding, this inflates the IDAT payloads into a 32 KB scratch
/// buffer and refuses the file once the output exceeds the size the IHDR implies (plus 64 KB
/// of slack for sloppy encoders). It stops quietly at any zlib error: libpng reports those.
/// Cost: one extra inflate of the image, bounded by the image size.
static vg_status vg_png_check_idat_size(const uint8_t *data, size_t len, const vg_image_info *info,
                                        char *errbuf, size_t errlen) {
    static const int samples_for_color[7] = {1, 0, 3, 1, 2, 0, 4};
    int color = info->source_color, depth = info->source_bit_depth;
    if (color < 0 || color > 6 || samples_for_color[color] == 0 || depth < 1 || depth > 16)
        return VG_OK;   // libpng rejects the IHDR itself
    uint64_t w = info->width, h = info->height;
    uint64_t rowbytes = (w * (uint64_t)samples_for_color[color] * (uint64_t)depth + 7) / 8;
    // Adam7 adds at most ~2 filter bytes and 1 rounding byte per sub-image row (< 15/8 h rows).
    uint64_t expected = h * (1 + rowbytes) + (info->interlaced ? 4 * h + 16 : 0);
    uint64_t limit = expected + 65536;

    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) return VG_OK;
    uint8_t scratch[32768];
    uint64_t produced = 0;
    int ended = 0, failed = 0;
    for (size_t pos = 8; !ended && !failed && len - pos >= 12;) {
        uint32_t n = vg_be32(data + pos);
        if (memcmp(data + pos + 4, "IEND", 4) == 0) break;
        if (memcmp(data + pos + 4, "IDAT", 4) == 0) {
            zs.next_in = (Bytef *)(uintptr_t)(data + pos + 8);
            zs.avail_in = n;
            while (zs.avail_in > 0) {
                zs.next_out = scratch;
                zs.avail_out = sizeof scratch;
                int ret = inflate(&zs, Z_NO_FLUSH);
                produced += sizeof scratch - zs.avail_out;
                if (produced > limit) {
                    inflateEnd(&zs);
                    vg_set_error(errbuf, errlen,
                                 "IDAT: compressed data expands beyond the %llu bytes the header "
                                 "implies (zlib bomb)", (unsigned long long)expected);
                    return VG_CORRUPT;
                }
                if (ret == Z_STREAM_END) { ended = 1; break; }
                if (ret != Z_OK) { failed = 1; break; }
            }
        }
        pos += 12 + (size_t)n;   // lengths were validated by vg_png_check_header
    }
    inflateEnd(&zs);
    return VG_OK;
}

/// Shared body of probe (out == NULL: stop after png_read_update_info) and decode.
static vg_status vg_png_read(const uint8_t *data, size_t len, uint64_t max_pixels,
                             uint8_t *out, size_t out_len, vg_image_info *info,
                             char *errbuf, size_t errlen) {
    if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
    if (data == NULL || info == NULL || len == 0) {
        vg_set_error(errbuf, errlen, "no data");
        return VG_INVALID_ARG;
    }
    vg_status st = vg_png_check_header(data, len, max_pixels, info, errbuf, errlen);
    if (st != VG_OK) return st;
    if (out != NULL && (st = vg_png_check_idat_size(data, len, info, errbuf, errlen)) != VG_OK)
        return st;

    vg_png_ctx ctx = {0};
    ctx.data = data;
    ctx.len = len;
    ctx.status = VG_CORRUPT;
    ctx.errbuf = errbuf;
    ctx.errlen = errlen;

    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, vg_png_error_fn,
                                             vg_png_warning_fn);
    if (png == NULL) {
        vg_set_error(errbuf, errlen, "out of memory creating the PNG reader");
        return VG_NO_MEMORY;
    }
    png_infop pinfo = png_create_info_struct(png);
    if (pinfo == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        vg_set_error(errbuf, errlen, "out of memory creating the PNG info");
        return VG_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &pinfo, NULL);
        if (errbuf != NULL && errlen > 0 && errbuf[0] == '\0')
            vg_set_error(errbuf, errlen, "libpng error");
        return ctx.status;
    }

    uint64_t lim = max_pixels < PNG_UINT_31_MAX ? max_pixels : PNG_UINT_31_MAX;
    png_set_user_limits(png, (png_uint_32)lim, (png_uint_32)lim);
    png_set_chunk_cache_max(png, VG_PNG_CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(png, VG_PNG_CHUNK_MALLOC_MAX);
    // We use nothing from the ancillary chunks except tRNS (no gamma or colour management),
    // so libpng skips them without allocating, decompressing (zTXt, iTXt, iCCP) or storing.
    static const png_byte ignored[] =
        "bKGD\0cHRM\0cICP\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0sBIT\0"
        "sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, ignored, (int)(sizeof ignored / 5));
    png_set_read_fn(png, &ctx, vg_png_read_fn);

    png_read_info(png, pinfo);
    png_uint_32 w = 0, h = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, pinfo, &w, &h, &depth, &color, &interlace, NULL, NULL);

    // Normalise to 8-bit gray, RGB or RGBA.
    int has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (has_trns) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if ((color & PNG_COLOR_MASK_COLOR) == 0 && ((color & PNG_COLOR_MASK_ALPHA) || has_trns))
        png_set_gray_to_rgb(png);   // gray+alpha -> RGBA: Image has no 2-channel layout
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);

    int channels = png_get_channels(png, pinfo);
    size_t rowbytes = png_get_rowbytes(png, pinfo);
    if ((channels != 1 && channels != 3 && channels != 4) || png_get_bit_depth(png, pinfo) != 8 ||
        rowbytes != (size_t)w * (size_t)channels) {
        vg_set_error(errbuf, errlen, "unexpected PNG layout after transforms (%d channels)",
                     channels);
        png_error(png, "layout");
    }
    info->channels = channels;

    if (out != NULL) {
        if (out_len != rowbytes * (size_t)h) {
            ctx.status = VG_INVALID_ARG;
            vg_set_error(errbuf, errlen, "output buffer is %zu bytes, need %zu", out_len,
                         rowbytes * (size_t)h);
            png_error(png, "buffer");
        }
        // Rows go straight into the caller's buffer; with Adam7, each pass fills in the
        // pixels it carries, so after the last pass every byte has been written.
        for (int pass = 0; pass < passes; pass++)
            for (png_uint_32 y = 0; y < h; y++) png_read_row(png, out + (size_t)y * rowbytes, NULL);
        // Reads up to IEND, so a file cut after its last IDAT (or with a bad CRC in a
        // critical chunk after it) is still reported as corrupt.
        png_read_end(png, NULL);
    }
    png_destroy_read_struct(&png, &pinfo, NULL);
    return VG_OK;
}

vg_status vg_png_probe(const uint8_t *data, size_t len, uint64_t max_pixels,
                       vg_image_info *info, char *errbuf, size_t errlen) {
    return vg_png_read(data, len, max_pixels, NULL, 0, info, errbuf, errlen);
}

vg_status vg_png_decode(const uint8_t *data, size_t len, uint64_t max_pixels, uint8_t *out,
                        size_t out_len, vg_image_info *info, char *errbuf, size_t errlen) {
    if (out == NULL) {
        vg_set_error(errbuf, errlen, "no output buffer");
        return VG_INVALID_ARG;
    }
    return vg_png_read(data, len, max_pixels, out, out_len, info, errbuf, errlen);
}

// ------------------------------------------------------------------ encoding

vg_status vg_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height,
                        int32_t channels, int32_t compression_level, uint8_t **out,
                        size_t *out_len, char *errbuf, size_t errlen) {
    if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
    if (out == NULL || out_len == NULL || pixels == NULL) {
        vg_set_error(errbuf, errlen, "null argument");
        return VG_INVALID_ARG;
    }
    *out = NULL;
    *out_len = 0;
    int color;
    switch (channels) {
    case 1: color = PNG_COLOR_TYPE_GRAY; break;
    case 3: color = PNG_COLOR_TYPE_RGB; break;
    case 4: color = PNG_COLOR_TYPE_RGB_ALPHA; break;
    default:
        vg_set_error(errbuf, errlen, "PNG encoding needs 1, 3 or 4 channels, got %d", channels);
        return VG_INVALID_ARG;
    }
    if (width == 0 || height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX) {
        vg_set_error(errbuf, errlen, "invalid image dimensions %ux%u", width, height);
        return VG_INVALID_ARG;
    }
    if (compression_level < 0 || compression_level > 9) {
        vg_set_error(errbuf, errlen, "compression level %d is outside 0...9", compression_level);
        return VG_INVALID_ARG;
    }

    vg_png_ctx ctx = {0};
    ctx.status = VG_CORRUPT;   // an encoder error means libpng rejected our input
    ctx.errbuf = errbuf;
    ctx.errlen = errlen;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, vg_png_error_fn,
                                              vg_png_warning_fn);
    if (png == NULL) {
        vg_set_error(errbuf, errlen, "out of memory creating the PNG writer");
        return VG_NO_MEMORY;
    }
    png_infop pinfo = png_create_info_struct(png);
    if (pinfo == NULL) {
        png_destroy_write_struct(&png, NULL);
        vg_set_error(errbuf, errlen, "out of memory creating the PNG info");
        return VG_NO_MEMORY;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &pinfo);
        free(ctx.buf);   // ctx lives in memory (its address escaped), so it is current here
        if (ctx.status == VG_CORRUPT) ctx.status = VG_INVALID_ARG;
        return ctx.status;
    }
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    png_set_write_fn(png, &ctx, vg_png_write_fn, vg_png_flush_fn);
    png_set_compression_level(png, compression_level);
    png_set_IHDR(png, pinfo, width, height, 8, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, pinfo);
    size_t stride = (size_t)width * (size_t)channels;
    for (uint32_t y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * stride);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &pinfo);

    *out = ctx.buf;
    *out_len = ctx.buf_len;
    return VG_OK;
}

// libFuzzer entry point for the PNG decoder (Sources/CSupport/png_codec.c).
// Build and run with scripts/fuzz-imaging.sh.
//
// Properties checked on every input, beyond "no crash, no sanitizer report":
//   - probe and decode agree on the shape, and the error message is NUL-terminated;
//   - a successful decode re-encodes to a PNG that decodes to the very same pixels.
#include "vg_codecs.h"

#include <stdlib.h>
#include <string.h>

/// 65536 pixels (256x256): the limit logic is the same at any value, and a small one keeps
/// executions fast.
#define FUZZ_MAX_PIXELS (1u << 16)

static void check_message(const char *err) {
    if (memchr(err, 0, VG_ERRBUF_SIZE) == NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[VG_ERRBUF_SIZE];
    vg_image_info info;
    memset(err, 'x', sizeof err);
    vg_status st = vg_png_probe(data, size, FUZZ_MAX_PIXELS, &info, err, sizeof err);
    if (st != VG_OK) {
        check_message(err);
        return 0;
    }
    if (info.channels != 1 && info.channels != 3 && info.channels != 4) abort();
    if ((uint64_t)info.width * info.height > FUZZ_MAX_PIXELS) abort();
    size_t n = (size_t)info.width * info.height * (size_t)info.channels;
    uint8_t *pixels = malloc(n);
    if (pixels == NULL) return 0;
    vg_image_info decoded;
    st = vg_png_decode(data, size, FUZZ_MAX_PIXELS, pixels, n, &decoded, err, sizeof err);
    if (st == VG_OK) {
        if (decoded.width != info.width || decoded.height != info.height ||
            decoded.channels != info.channels)
            abort();
        uint8_t *png = NULL;
        size_t len = 0;
        if (vg_png_encode(pixels, info.width, info.height, info.channels, 1, &png, &len, err,
                          sizeof err) != VG_OK)
            abort();
        uint8_t *again = malloc(n);
        if (again != NULL) {
            if (vg_png_decode(png, len, FUZZ_MAX_PIXELS, again, n, &decoded, err, sizeof err) != VG_OK ||
                memcmp(pixels, again, n) != 0)
                abort();
            free(again);
        }
        vg_free(png);
    } else {
        check_message(err);
    }
    free(pixels);
    return 0;
}

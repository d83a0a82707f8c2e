// libFuzzer entry point for the JPEG decoder (Sources/CSupport/jpeg_codec.c).
// Build and run with scripts/fuzz-imaging.sh.
//
// Properties checked on every input, beyond "no crash, no sanitizer report":
//   - probe and decode agree on the shape, and the error message is NUL-terminated;
//   - a successful decode re-encodes (quality 90, 4:2:0) to a JPEG that decodes to the same
//     shape.
#include "vg_codecs.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_PIXELS (1u << 16)

static void check_message(const char *err) {
    if (memchr(err, 0, VG_ERRBUF_SIZE) == NULL) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[VG_ERRBUF_SIZE];
    vg_image_info info;
    memset(err, 'x', sizeof err);
    vg_status st = vg_jpeg_probe(data, size, FUZZ_MAX_PIXELS, &info, err, sizeof err);
    if (st != VG_OK) {
        check_message(err);
        return 0;
    }
    if (info.channels != 1 && info.channels != 3) abort();
    if ((uint64_t)info.width * info.height > FUZZ_MAX_PIXELS) abort();
    size_t n = (size_t)info.width * info.height * (size_t)info.channels;
    uint8_t *pixels = malloc(n);
    if (pixels == NULL) return 0;
    vg_image_info decoded;
    st = vg_jpeg_decode(data, size, FUZZ_MAX_PIXELS, pixels, n, &decoded, err, sizeof err);
    if (st == VG_OK) {
        if (decoded.width != info.width || decoded.height != info.height ||
            decoded.channels != info.channels)
            abort();
        size_t cap = vg_jpeg_max_size(info.width, info.height, info.channels, VG_JPEG_SUBSAMP_420);
        uint8_t *jpeg = cap ? malloc(cap) : NULL;
        if (jpeg != NULL) {
            size_t len = 0;
            if (vg_jpeg_encode(pixels, info.width, info.height, info.channels, 90,
                               VG_JPEG_SUBSAMP_420, jpeg, cap, &len, err, sizeof err) != VG_OK)
                abort();
            uint8_t *again = malloc(n);
            if (again != NULL) {
                if (vg_jpeg_decode(jpeg, len, FUZZ_MAX_PIXELS, again, n, &decoded, err,
                                   sizeof err) != VG_OK ||
                    decoded.width != info.width || decoded.height != info.height)
                    abort();
                free(again);
            }
            free(jpeg);
        }
    } else {
        check_message(err);
    }
    free(pixels);
    return 0;
}

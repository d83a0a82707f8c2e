// Writes the arithmetic-coded JPEG fixtures (Pillow cannot write arithmetic coding); built and
// run by make_fixtures.sh against the system libjpeg (libjpeg62-turbo-dev):
//   arith_sof9.jpg           32x32 gray, sequential arithmetic (SOF9), complete
//   arith_sof10.jpg          32x32 RGB, progressive arithmetic (SOF10), complete
//   arith_declared_4096.jpg  arith_sof9.jpg with its SOF saying 4096x4096: the data ends after
//                            32x32 pixels, then EOI (issue #16: this decoded as a 200)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static size_t write_jpeg(const char *path, int components, int progressive, unsigned char **out) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned long size = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, out, &size);
    c.image_width = 32;
    c.image_height = 32;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    c.arith_code = TRUE;
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[32 * 3];
    while (c.next_scanline < c.image_height) {
        for (int i = 0; i < 32 * components; i++) row[i] = (unsigned char)((i * 19 + c.next_scanline * 37) & 255);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    FILE *f = fopen(path, "wb");
    fwrite(*out, 1, size, f);
    fclose(f);
    return size;
}

int main(void) {
    unsigned char *sof9 = NULL, *sof10 = NULL;
    size_t n = write_jpeg("arith_sof9.jpg", 1, 0, &sof9);
    write_jpeg("arith_sof10.jpg", 3, 1, &sof10);
    for (size_t i = 0; i + 8 < n; i++) {
        if (sof9[i] == 0xFF && sof9[i + 1] == 0xC9) {   // SOF9: FF C9 len(2) P(1) Y(2) X(2)
            sof9[i + 5] = 0x10; sof9[i + 6] = 0x00;     // height 4096
            sof9[i + 7] = 0x10; sof9[i + 8] = 0x00;     // width 4096
            break;
        }
    }
    FILE *f = fopen("arith_declared_4096.jpg", "wb");
    fwrite(sof9, 1, n, f);
    fclose(f);
    free(sof9);
    free(sof10);
    return 0;
}

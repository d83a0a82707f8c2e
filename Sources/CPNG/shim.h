// libpng 1.6 (Debian: libpng-dev). Swift never calls the longjmp-based API directly:
// see CSupport/png_codec.c, which wraps every call behind setjmp and returns status codes.
#include <png.h>

// libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev). It reports errors by return
// code (it keeps libjpeg's longjmp inside the library), so a corrupt file never unwinds Swift.
#include <turbojpeg.h>

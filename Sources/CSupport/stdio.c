#include "vg_stdio.h"
#include <stdio.h>

void vg_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

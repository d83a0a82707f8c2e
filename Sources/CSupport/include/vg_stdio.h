// stdio settings Swift 6 cannot reach (stdout is a C global the compiler treats as unsafe).
#ifndef VG_STDIO_H
#define VG_STDIO_H
/// Makes stdout line-buffered, so progress appears in log files as it happens.
void vg_stdout_line_buffered(void);
#endif

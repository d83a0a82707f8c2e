// stdio settings Swift 6 cannot reach (stdout is a C global the compiler treats as unsafe), and a
// write that reports failure instead of trapping (Foundation's FileHandle.write traps on EPIPE).
#ifndef VG_STDIO_H
#define VG_STDIO_H
#include <stddef.h>
/// Makes stdout line-buffered, so progress appears in log files as it happens.
void vg_stdout_line_buffered(void);
/// Writes all `count` bytes to `fd` with write(2), retrying partial writes and EINTR.
/// Returns 0, or the errno of the failure (EPIPE when the reader has gone; EIO for a
/// write that made no progress). Never raises or traps; SIGPIPE must be ignored for EPIPE
/// to be returned rather than delivered (see vg_ignore_sigpipe).
int vg_write_all(int fd, const void *bytes, size_t count);
/// Ignores SIGPIPE unless the process already handles it, so writes to a closed pipe or
/// socket fail with EPIPE instead of killing the process.
void vg_ignore_sigpipe(void);
#endif

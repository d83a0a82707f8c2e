#include "vg_stdio.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

void vg_stdout_line_buffered(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

int vg_write_all(int fd, const void *bytes, size_t count) {
    const char *p = (const char *)bytes;
    while (count > 0) {
        ssize_t n = write(fd, p, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) return EIO;
        p += n;
        count -= (size_t)n;
    }
    return 0;
}

void vg_ignore_sigpipe(void) {
    struct sigaction current;
    if (sigaction(SIGPIPE, NULL, &current) == 0 && current.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
}

// A child for the restart-latency benchmark: appends "start <ns>" when it begins and
// "end <ns>" just before it exits, on CLOCK_MONOTONIC, to the file named by $PROBE_LOG.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void stamp(int fd, const char *what) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[64];
    int n = snprintf(line, sizeof line, "%s %lld\n", what, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

int main(void) {
    const char *path = getenv("PROBE_LOG");
    if (!path) return 2;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return 2;
    stamp(fd, "start");
    stamp(fd, "end");
    _exit(0);
}

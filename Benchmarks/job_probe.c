// A job for the scheduling benchmark: appends "<label> <ns>\n" (CLOCK_REALTIME, the clock
// job times are given in) to the file named by $PROBE_LOG, then exits 0.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *path = getenv("PROBE_LOG");
    if (!path || argc < 2) return 2;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return 2;
    char line[128];
    int n = snprintf(line, sizeof line, "%s %lld\n", argv[1], (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (write(fd, line, (size_t)n) != n) return 2;
    return 0;
}

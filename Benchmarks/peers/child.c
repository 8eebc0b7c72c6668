// The one child every supervisor runs in `make bench-peers` (no interpreter start-up in any
// figure). It appends "S NAME NS" when it begins and "E NAME NS" just before it exits, on
// CLOCK_REALTIME, to the stamp file: one O_APPEND write of a short line, atomic on a local file.
//
// Arguments: STAMPS NAME MODE [PARAMS]. Run with fewer (runit, s6 and daemontools exec this as
// the service's `run` file), it reads them from the file `args` in its working directory, the
// service directory there. Modes:
//   sleep               stamp, then wait; on SIGTERM stamp "T" and exit 0 (a `sleep` service)
//   run MS CODE         stamp, run MS milliseconds, stamp, exit CODE (restart latency)
//   storm PERIOD_MS     stamp, wait for the next multiple of PERIOD_MS on the wall clock, stamp,
//                       exit 1: every child of a storm exits at the same instant
//   lines COUNT SIZE    stamp, write COUNT lines of SIZE bytes (newline included) to stdout,
//                       stamp, then wait for a signal (a log flood that is not restarted)
//   floor MS COUNT      the same-shape floor: fork+exec+waitpid this program in `run MS 1`
//                       mode COUNT times in a loop, as a supervisor with no overhead would
//   storm-floor COUNT PERIOD_MS SECONDS
//                       the storm's floor: COUNT children of this program in `storm PERIOD_MS`
//                       mode (named f0, f1, ...), each started again by fork+exec as soon as
//                       waitpid returns it, for SECONDS; then all are killed
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int stamps = -1;
static const char *name = "?";

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void stamp(char what) {
    char line[160];
    int n = snprintf(line, sizeof line, "%c %s %lld\n", what, name, now_ns());
    if (write(stamps, line, (size_t)n) != n) _exit(2);
}

static void on_term(int sig) {
    (void)sig;
    stamp('T');  // the main thread only waits in pause(): nothing else touches the buffers
    _exit(0);
}

static void sleep_ms(long long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

// One child of the storm's floor, named fK.
static pid_t spawn_storm(char *self, char *stamps_path, long k, char *period) {
    pid_t pid = fork();
    if (pid == 0) {
        char child_name[32];
        snprintf(child_name, sizeof child_name, "f%ld", k);
        char *child[] = {self, stamps_path, child_name, "storm", period, NULL};
        execv("/proc/self/exe", child);
        _exit(127);
    }
    return pid;
}

int main(int argc, char **argv) {
    char buffer[512];
    char *args[8] = {0};
    int n = argc - 1;
    // s6-supervise runs `./run NAME`: fewer than three arguments mean the `args` file.
    if (argc > 3) {
        for (int i = 1; i < argc && i <= 7; i++) args[i - 1] = argv[i];
    } else {
        int fd = open("args", O_RDONLY | O_CLOEXEC);
        ssize_t got = fd < 0 ? -1 : read(fd, buffer, sizeof buffer - 1);
        if (got <= 0) return 2;
        buffer[got] = 0;
        n = 0;
        for (char *word = strtok(buffer, " \n"); word && n < 7; word = strtok(NULL, " \n")) args[n++] = word;
    }
    if (n < 3) return 2;
    stamps = open(args[0], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (stamps < 0) return 2;
    name = args[1];
    const char *mode = args[2];

    if (!strcmp(mode, "sleep")) {
        // "T" when asked to stop: the harness counts these to time a stop of everything.
        signal(SIGTERM, on_term);
        stamp('S');
        for (;;) pause();
    }
    if (!strcmp(mode, "run") && n >= 5) {
        stamp('S');
        sleep_ms(atoll(args[3]));
        stamp('E');
        return atoi(args[4]);
    }
    if (!strcmp(mode, "storm") && n >= 4) {
        stamp('S');
        long long period = atoll(args[3]) * 1000000LL, t = now_ns();
        long long wait = period - t % period;
        struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
        while (nanosleep(&ts, &ts) != 0) {}
        stamp('E');
        return 1;
    }
    if (!strcmp(mode, "lines") && n >= 5) {
        long count = atol(args[3]), size = atol(args[4]);
        stamp('S');
        static char out[1 << 16];
        long per = (long)sizeof out / size;
        for (long i = 0; i < per; i++) {
            memset(out + i * size, 'x', (size_t)size - 1);
            out[i * size + size - 1] = '\n';
        }
        for (long done = 0; done < count;) {
            long batch = count - done < per ? count - done : per;
            // The line number at the start of each line, so that a reader can tell what was lost.
            for (long i = 0; i < batch; i++) {
                char number[24];
                int len = snprintf(number, sizeof number, "%010ld", done + i);
                memcpy(out + i * size, number, (size_t)len);
            }
            for (long off = 0, total = batch * size; off < total;) {
                ssize_t w = write(1, out + off, (size_t)(total - off));
                if (w <= 0) return 3;
                off += w;
            }
            done += batch;
        }
        stamp('E');
        for (;;) pause();
    }
    if (!strcmp(mode, "storm-floor") && n >= 6) {
        long count = atol(args[3]);
        long long until = now_ns() + atoll(args[5]) * 1000000000LL;
        pid_t *pids = calloc((size_t)count, sizeof *pids);
        if (!pids) return 2;
        for (long k = 0; k < count; k++) pids[k] = spawn_storm(argv[0], args[0], k, args[4]);
        while (now_ns() < until) {
            pid_t done = wait(NULL);
            if (done < 0) break;
            for (long k = 0; k < count; k++) {
                if (pids[k] == done) {
                    pids[k] = spawn_storm(argv[0], args[0], k, args[4]);
                    break;
                }
            }
        }
        for (long k = 0; k < count; k++) kill(pids[k], SIGKILL);
        while (wait(NULL) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "floor") && n >= 5) {
        long count = atol(args[4]);
        for (long i = 0; i < count; i++) {
            pid_t pid = fork();
            if (pid == 0) {
                char *child[] = {argv[0], (char *)args[0], (char *)name, "run", (char *)args[3], "1", NULL};
                execv("/proc/self/exe", child);
                _exit(127);
            }
            int status;
            while (waitpid(pid, &status, 0) < 0) {}
        }
        return 0;
    }
    return 2;
}

// The machine's floor for the bring-up benchmark: starts argv[1] children of `argv[2] argv[3]`
// (sleep 100000) the cheapest way there is, clone with CLONE_VM | CLONE_VFORK, setsid and
// exec in the child, and no fd kept in the parent. Prints the seconds for all of them and for
// the first 1,000, then kills and reaps them by pid.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char stack[64 * 1024] __attribute__((aligned(16)));
static char **child_argv;

static int child(void *unused) {
    (void)unused;
    setsid();
    execv(child_argv[0], child_argv);
    _exit(127);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int n = atoi(argv[1]);
    char *args[] = { argv[2], argv[3], NULL };
    child_argv = args;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) return 1;
    double start = now(), first = 0;
    int started = 0;
    for (; started < n; started++) {
        pids[started] = clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        if (pids[started] < 0) break;
        if (started == 999) first = now() - start;
    }
    double all = now() - start;
    for (int i = 0; i < started; i++) kill(pids[i], SIGKILL);
    for (int i = 0; i < started; i++) waitpid(pids[i], NULL, 0);
    printf("%.3f %.3f %d\n", all, first, started);
    return started == n ? 0 : 1;
}

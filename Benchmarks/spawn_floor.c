// The kernel's share of a run, for the jobs benchmark: spawns argv[2] (with argv[3] as its
// argument) argv[1] times the way tend does (clone with CLONE_VM | CLONE_VFORK, exec in the
// child, waitpid), and prints the microseconds of this process's own CPU per run (the
// children's CPU is theirs, as it is with tend).
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char stack[64 * 1024] __attribute__((aligned(16)));
static char **child_argv;

static int child(void *unused) {
    (void)unused;
    execv(child_argv[0], child_argv);
    _exit(127);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int runs = atoi(argv[1]);
    char *args[] = { argv[2], argv[3], NULL };
    child_argv = args;
    for (int i = 0; i < runs; i++) {
        pid_t pid = clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        if (pid < 0) return 1;
        int status;
        if (waitpid(pid, &status, 0) != pid) return 1;
    }
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double us = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    printf("%.1f\n", us / runs);
    return 0;
}

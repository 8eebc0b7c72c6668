// The machine's floor for the bring-up benchmark: starts argv[1] children of `argv[2] argv[3]`
// (sleep 100000) the cheapest way there is, clone with CLONE_VM | CLONE_VFORK, setsid and
// exec in the child, and no fd kept in the parent. With argv[4], a cgroup v2 directory, each
// child gets a cgroup of its own there as tend gives a service: mkdir DIR/sN, open it, clone3
// with CLONE_INTO_CGROUP (still CLONE_VM | CLONE_VFORK), close it. Prints the seconds for all
// of them and for the first 1,000, then stops them as a stop at once does (SIGTERM to each,
// reaped by pid, cgroups removed) and prints the seconds that took.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

// clone3 with CLONE_VM: the child runs on `stack` from the instruction after the system call
// (as Sources/CTend/spawn.c does it), calls child() and exits with its value.
static long clone3_into(int cgroup) {
    struct clone_args cl = {
        .flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
        .stack = (uint64_t)(uintptr_t)stack, .stack_size = sizeof stack, .cgroup = (uint64_t)cgroup,
    };
    register long rax __asm__("rax") = SYS_clone3;
    register struct clone_args *rdi __asm__("rdi") = &cl;
    register size_t rsi __asm__("rsi") = sizeof cl;
    register int (*r12)(void *) __asm__("r12") = child;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "xor %%edi, %%edi\n\t"
        "call *%%r12\n\t"
        "mov %%eax, %%edi\n\t"
        "mov $60, %%eax\n\t"
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "+r"(rax)
        : "r"(rdi), "r"(rsi), "r"(r12)
        : "rcx", "r11", "memory");
    return rax;
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
    const char *cgroups = argc > 4 ? argv[4] : NULL;
    child_argv = args;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) return 1;
    char path[4096];
    double start = now(), first = 0;
    int started = 0;
    for (; started < n; started++) {
        if (cgroups) {
            snprintf(path, sizeof path, "%s/s%d", cgroups, started);
            if (mkdir(path, 0755) != 0) break;
            int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dir < 0) break;
            long pid = clone3_into(dir);
            close(dir);
            pids[started] = pid < 0 ? -1 : (pid_t)pid;
        } else {
            pids[started] = clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        }
        if (pids[started] < 0) break;
        if (started == 999) first = now() - start;
    }
    double all = now() - start;
    double stop = now();
    for (int i = 0; i < started; i++) kill(pids[i], SIGTERM);
    for (int i = 0; i < started; i++) waitpid(pids[i], NULL, 0);
    for (int i = 0; cgroups && i <= started; i++) {
        snprintf(path, sizeof path, "%s/s%d", cgroups, i);
        rmdir(path);
    }
    printf("%.3f %.3f %d %.3f\n", all, first, started, now() - stop);
    return started == n ? 0 : 1;
}

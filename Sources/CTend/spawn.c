// clone/exec for tend. Between the clone and the exec the child makes only async-signal-safe
// system calls: no allocation, no locks, no Swift.
#define _GNU_SOURCE
#include "CTend.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid on a pidfd, Linux 5.4; glibc 2.36 has no name for it */
#endif

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

uint64_t tend_nondefault_signals(void) {
    uint64_t result = 0;
    for (int sig = 1; sig <= 64; sig++) {
        struct kernel_sigaction current;
        if (syscall(SYS_rt_sigaction, sig, NULL, &current, sizeof current.mask) == 0 && current.handler != SIG_DFL)
            result |= 1ULL << (sig - 1);
    }
    return result;
}

struct child_args {
    const struct tend_spawn_request *request;
    int error_pipe;
    /* Shares tend's fd table (CLONE_FILES): stdin, stdout and stderr are in the slots, and
       the child's first act is to take a private copy of fds 0..last_slot only. */
    int shared_files;
    /* The cgroup the child writes itself into (the kernel lacks CLONE_INTO_CGROUP), or -1. */
    int join_cgroup;
    /* The highest fd the child copies from a shared table: the last slot, or a passed fd above it. */
    int files_bound;
};

// Low fds reserved for a spawn: stdin, stdout, stderr, the error pipe and the cgroup's
// directory are dup'd there just before the clone. A child sharing tend's fd table then copies only the fds up to the last
// slot into a table of its own (close_range with CLOSE_RANGE_UNSHARE), instead of the kernel
// copying every fd tend holds (a pipe per service: 20,000 fds with 10,000 services) at clone.
enum { SLOT_COUNT = 5, CGROUP_SLOT = 4 };
static int slots[SLOT_COUNT] = { -1, -1, -1, -1, -1 };
static int dev_null = -1;

int tend_spawn_reserve_slots(void) {
    dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (dev_null < 0) return -1;
    for (int i = 0; i < SLOT_COUNT; i++) {
        slots[i] = fcntl(dev_null, F_DUPFD_CLOEXEC, 3);
        if (slots[i] < 0) return -1;
    }
    return 0;
}

static int last_slot(void) {
    int last = 0;
    for (int i = 0; i < SLOT_COUNT; i++) if (slots[i] > last) last = slots[i];
    return last;
}

static void report(int pipe_fd, int step) {
    int message[2] = { step, errno };
    ssize_t ignored = write(pipe_fd, message, sizeof message);
    (void)ignored;
    _exit(127);
}

static void close_from(unsigned int first, unsigned int keep) {
    // close_range(2) where the kernel has it (5.9+); every fd tend opens is CLOEXEC anyway.
    if (keep > first) syscall(SYS_close_range, first, keep - 1, 0);
    syscall(SYS_close_range, keep + 1, ~0U, 0);
}

// Decimal digits of n at out; returns the position after them. No libc: async-signal-safe.
static char *put_decimal(char *out, unsigned long long n) {
    char digits[20];
    int count = 0;
    do {
        digits[count++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (count > 0) *out++ = digits[--count];
    return out;
}

// What systemd's StandardOutput=journal does in the child: a stream socket to journald, the
// header, then it is stdout and stderr. Non-blocking while connecting (a journald whose
// backlog is full fails the start rather than freezing tend under vfork), blocking after.
static int connect_journal(const struct tend_spawn_request *r) {
    static const struct sockaddr_un address = { .sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/stdout" };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)&address, sizeof address) < 0) return -1;
    shutdown(fd, SHUT_RD);
    int size = 8 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (write(fd, r->journal_header, (size_t)r->journal_header_length) != r->journal_header_length) return -1;
    if (fcntl(fd, F_SETFL, 0) < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) return -1;
    char *end = put_decimal(r->journal_stream_value, (unsigned long long)st.st_dev);
    *end++ = ':';
    end = put_decimal(end, (unsigned long long)st.st_ino);
    *end = 0;
    if (dup2(fd, 1) < 0 || dup2(fd, 2) < 0) return -1;
    close(fd);
    return 0;
}

static int child_main(void *raw) {
    const struct child_args *args = raw;
    const struct tend_spawn_request *r = args->request;
    int pipe_fd = args->error_pipe;
    int in = r->stdin_fd, out = r->stdout_fd, err = r->stderr_fd;

    if (args->shared_files) {
        // Before any fd changes: from here on the table is the child's own. Kernels before
        // 5.9 lack CLOSE_RANGE_UNSHARE: unshare copies the whole table there.
        if (syscall(SYS_close_range, (unsigned int)args->files_bound + 1, ~0U, CLOSE_RANGE_UNSHARE) < 0
            && unshare(CLONE_FILES) < 0)
            report(pipe_fd, TEND_STEP_STDIO);
        in = slots[0];
        out = slots[1];
        err = slots[2];
    }

    // Ignored signals stay ignored across exec: reset tend's SIGPIPE and whatever tend
    // inherited. The raw system call, because glibc's sigaction refuses the real-time signals
    // it reserves. The blocked mask is cleared last, just before exec.
    struct kernel_sigaction dfl = { 0 };
    for (int sig = 1; sig <= 64; sig++) {
        if (r->reset_signals & (1ULL << (sig - 1))) syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
    if (setsid() < 0) report(pipe_fd, TEND_STEP_SETSID);
    if (args->join_cgroup >= 0) {
        // "0" is the writer itself. Before anything else of the service's runs in it.
        int procs = openat(args->shared_files ? slots[CGROUP_SLOT] : args->join_cgroup, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (procs < 0 || write(procs, "0", 1) != 1) report(pipe_fd, TEND_STEP_CGROUP);
        close(procs);
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        report(pipe_fd, TEND_STEP_STDIO);
    int first_free = 3;
    if (r->pass_count > 0) {
        // Each passed fd moves above 3..3+n-1 first (a lowest free fd there clobbers nothing),
        // then down to its place; the error pipe too if it sits in that range. dup2 clears CLOEXEC.
        int n = r->pass_count;
        first_free = 3 + n;
        if (pipe_fd < first_free) {
            int moved_pipe = fcntl(pipe_fd, F_DUPFD_CLOEXEC, first_free);
            if (moved_pipe < 0) report(pipe_fd, TEND_STEP_PASS_FDS);
            pipe_fd = moved_pipe;
        }
        int moved[TEND_MAX_PASSED_FDS];
        for (int i = 0; i < n; i++) {
            moved[i] = fcntl(r->pass_fds[i], F_DUPFD_CLOEXEC, first_free);
            if (moved[i] < 0) report(pipe_fd, TEND_STEP_PASS_FDS);
        }
        for (int i = 0; i < n; i++) {
            if (dup2(moved[i], 3 + i) < 0) report(pipe_fd, TEND_STEP_PASS_FDS);
        }
    }
    close_from((unsigned int)first_free, (unsigned int)pipe_fd);
    if (r->umask >= 0) umask((mode_t)r->umask);
    for (int i = 0; i < r->limit_count; i++) {
        if (setrlimit(r->limit_resources[i], &r->limit_values[i]) < 0) report(pipe_fd, TEND_STEP_RLIMIT);
    }
    if (r->change_ids) {
        // The raw system calls: glibc's wrappers would signal every thread of tend (whose
        // memory this child shares) to change their ids too. The kernel's change is this
        // child's alone; real, effective and saved ids all set, as root's setuid does.
        if (syscall(SYS_setgroups, (size_t)r->group_count, r->groups) < 0) report(pipe_fd, TEND_STEP_SETGROUPS);
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0) report(pipe_fd, TEND_STEP_SETGID);
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0) report(pipe_fd, TEND_STEP_SETUID);
    }
    // After the ids change, so that a directory only the service's user may enter works.
    if (r->working_directory && chdir(r->working_directory) < 0) report(pipe_fd, TEND_STEP_CHDIR);
    if (r->journal_header && connect_journal(r) < 0) report(pipe_fd, TEND_STEP_JOURNAL);
    if (r->watchdog_pid_value) *put_decimal(r->watchdog_pid_value, (unsigned long long)getpid()) = 0;
    if (r->listen_pid_value) *put_decimal(r->listen_pid_value, (unsigned long long)getpid()) = 0;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(r->path, r->argv, r->envp);
    report(pipe_fd, TEND_STEP_EXEC);
    return 127;
}

// The child's stack for clone(CLONE_VM | CLONE_VFORK): tend spawns from one thread, and the
// parent is suspended until the child has exec'd or exited, so one stack serves every spawn.
static char child_stack[64 * 1024] __attribute__((aligned(16)));

// With CLONE_VFORK the parent resumes only once the child has exec'd (the CLOEXEC write end
// closed) or has written its error and exited, so one pipe, made once, serves every spawn:
// after clone returns, an empty pipe means the exec succeeded, and the read never waits.
static int vfork_pipe[2] = { -1, -1 };

static int read_error(int fd, int *step, int *error) {
    int message[2];
    ssize_t n;
    do {
        n = read(fd, message, sizeof message);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof message) return 0;
    *step = message[0];
    *error = message[1];
    return -1;
}

// A child that failed before its exec has already exited (CLONE_VFORK resumed tend at its
// _exit): it is reaped here, by its pidfd, and no zombie or pidfd outlives the failed spawn.
static void reap_failed(int pidfd) {
    siginfo_t info;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0 && errno == EINTR) {}
    close(pidfd);
}

#if defined(__x86_64__)
// clone3 with CLONE_VM: the child starts on its own stack at the instruction after the system
// call, so it cannot return through a C function (glibc has no clone3 wrapper). Its side is
// written here: call fn(arg), then exit with its value. fn and arg sit in registers the system
// call keeps (r12, r13). Returns the child's pid, or -errno.
static long clone3_run(struct clone_args *cl, int (*fn)(void *), void *arg) {
    register long rax __asm__("rax") = SYS_clone3;
    register struct clone_args *rdi __asm__("rdi") = cl;
    register size_t rsi __asm__("rsi") = sizeof *cl;
    register int (*r12)(void *) __asm__("r12") = fn;
    register void *r13 __asm__("r13") = arg;
    __asm__ volatile(
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "xor %%ebp, %%ebp\n\t"
        "mov %%r13, %%rdi\n\t"
        "call *%%r12\n\t"
        "mov %%eax, %%edi\n\t"
        "mov $60, %%eax\n\t" /* exit */
        "syscall\n\t"
        "hlt\n"
        "1:"
        : "+r"(rax)
        : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13)
        : "rcx", "r11", "memory");
    return rax;
}
#endif

// The kernel has no clone3 or no CLONE_INTO_CGROUP (before 5.7): children join their cgroup
// themselves, before their exec.
static int into_cgroup_missing;

// clone(2) or, into a cgroup, clone3(2); the child's pid or -1 with errno.
static pid_t clone_child(struct child_args *args, int cgroup, int *pidfd) {
    int flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD | (args->shared_files ? CLONE_FILES : 0);
#if defined(__x86_64__)
    if (cgroup >= 0 && !into_cgroup_missing) {
        struct clone_args cl = {
            .flags = (uint64_t)flags | CLONE_INTO_CGROUP, .pidfd = (uint64_t)(uintptr_t)pidfd,
            .exit_signal = SIGCHLD, .stack = (uint64_t)(uintptr_t)child_stack, .stack_size = sizeof child_stack,
            .cgroup = (uint64_t)cgroup,
        };
        long r = clone3_run(&cl, child_main, args);
        if (r >= 0) return (pid_t)r;
        // ENOSYS, E2BIG: no clone3 or no CLONE_INTO_CGROUP; EPERM: a seccomp filter that refuses clone3.
        if (r != -ENOSYS && r != -E2BIG && r != -EPERM) {
            errno = (int)-r;
            return -1;
        }
        into_cgroup_missing = 1;
    }
#endif
    if (cgroup >= 0) {
        if (args->shared_files && dup3(cgroup, slots[CGROUP_SLOT], O_CLOEXEC) < 0) return -1;
        args->join_cgroup = cgroup;
    }
    pid_t child = clone(child_main, child_stack + sizeof child_stack, flags | SIGCHLD, args, pidfd);
    if (cgroup >= 0 && args->shared_files) {
        int saved = errno;
        dup3(dev_null, slots[CGROUP_SLOT], O_CLOEXEC);  // no reference to the cgroup kept
        errno = saved;
    }
    return child;
}

int tend_spawn(const struct tend_spawn_request *request, pid_t *pid, int *pidfd, int *step, int *error) {
    *step = TEND_STEP_NONE;
    *error = 0;
    *pidfd = -1;
    if (vfork_pipe[0] < 0 && pipe2(vfork_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        *step = TEND_STEP_PIPE;
        *error = errno;
        return -1;
    }
    // Like posix_spawn: no page tables copied, cheap at any RSS; and no fd table copied
    // either when the slots are there (see tend_spawn_reserve_slots).
    int shared = slots[SLOT_COUNT - 1] >= 0;  // reserved in order: the last one there, all are
    if (shared && (dup3(request->stdin_fd, slots[0], O_CLOEXEC) < 0 || dup3(request->stdout_fd, slots[1], O_CLOEXEC) < 0
                   || dup3(request->stderr_fd, slots[2], O_CLOEXEC) < 0 || dup3(vfork_pipe[1], slots[3], O_CLOEXEC) < 0)) {
        *step = TEND_STEP_STDIO;
        *error = errno;
        return -1;
    }
    if (request->pass_count < 0 || request->pass_count > TEND_MAX_PASSED_FDS) {
        *step = TEND_STEP_PASS_FDS;
        *error = EMFILE;
        return -1;
    }
    int bound = last_slot();
    for (int i = 0; i < request->pass_count; i++) if (request->pass_fds[i] > bound) bound = request->pass_fds[i];
    struct child_args args = { request, shared ? slots[3] : vfork_pipe[1], shared, -1, bound };
    // CLONE_PIDFD: the child's pidfd (CLOEXEC), made in the same call, so it names this child
    // and no other; its exit signal is SIGCHLD (an exec makes it that whatever clone says).
    int fd = -1;
    pid_t child = clone_child(&args, request->cgroup_fd, &fd);
    int clone_errno = errno;
    if (shared) {
        // The stdout and stderr slots must not keep a pipe open (its end of file would wait
        // for the next spawn); stdin and the error pipe are tend's own for good.
        dup3(dev_null, slots[1], O_CLOEXEC);
        dup3(dev_null, slots[2], O_CLOEXEC);
    }
    if (child < 0) {
        *step = TEND_STEP_FORK;
        *error = clone_errno;
        return -1;
    }
    if (read_error(vfork_pipe[0], step, error) < 0) {
        reap_failed(fd);
        return -1;
    }
    *pid = child;
    *pidfd = fd;
    return 0;
}

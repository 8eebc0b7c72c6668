// The Linux calls Swift's Glibc module does not export, each wrapped once.
#define _GNU_SOURCE
#include "CTend.h"
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <dirent.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* waitid on a pidfd, Linux 5.4; glibc 2.36 has no name for it */
#endif

const int TEND_EPOLL_CTL_ADD = EPOLL_CTL_ADD, TEND_EPOLL_CTL_MOD = EPOLL_CTL_MOD, TEND_EPOLL_CTL_DEL = EPOLL_CTL_DEL;
const uint32_t TEND_EPOLLIN = EPOLLIN, TEND_EPOLLOUT = EPOLLOUT, TEND_EPOLLERR = EPOLLERR,
               TEND_EPOLLHUP = EPOLLHUP, TEND_EPOLLRDHUP = EPOLLRDHUP,
               TEND_EPOLLONESHOT = EPOLLONESHOT, TEND_EPOLLPRI = EPOLLPRI;

int tend_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int tend_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev = { .events = events, .data.u64 = data };
    return epoll_ctl(epfd, op, fd, &ev);
}

int tend_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        data[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

static void handled_signals(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

int tend_block_signals(void) {
    sigset_t set;
    handled_signals(&set);
    signal(SIGPIPE, SIG_IGN);
    return sigprocmask(SIG_BLOCK, &set, NULL);
}

int tend_cloexec_inherited(int *inherited, int max) {
    // The fds open without CLOEXEC are recorded first: tend reexec keeps them open, so the
    // parent that gave them (a pipe it watches, a socket pair) sees no change across the exec.
    int count = 0;
    DIR *dir = opendir("/proc/self/fd");
    if (dir) {
        int own = dirfd(dir);
        struct dirent *entry;
        while ((entry = readdir(dir))) {
            int fd = atoi(entry->d_name);
            if (fd < 3 || fd == own) continue;
            int flags = fcntl(fd, F_GETFD);
            if (flags < 0 || (flags & FD_CLOEXEC)) continue;
            if (count < max) inherited[count++] = fd;
            fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
        }
        closedir(dir);
    }
    // Without /proc: every fd CLOEXEC all the same (Linux 5.11+).
    if (!dir) syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    return count;
}

void tend_cloexec_all(void) {
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    // Before Linux 5.11: one by one (an fd left inheritable would reach every child).
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return;
    int own = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        int fd = atoi(entry->d_name);
        if (fd < 3 || fd == own) continue;
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    closedir(dir);
}

int tend_memfd(const char *name) {
    return memfd_create(name, MFD_CLOEXEC);
}

int tend_set_cloexec(int fd, int on) {
    return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

int tend_signalfd(void) {
    sigset_t set;
    handled_signals(&set);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int tend_signalfd_read(int fd, int *signals, pid_t *pids, int capacity) {
    struct signalfd_siginfo infos[64];
    if (capacity > 64) capacity = 64;
    ssize_t n;
    do {
        n = read(fd, infos, sizeof infos[0] * (size_t)capacity);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    int count = (int)(n / (ssize_t)sizeof infos[0]);
    for (int i = 0; i < count; i++) {
        signals[i] = (int)infos[i].ssi_signo;
        pids[i] = (pid_t)infos[i].ssi_pid;
    }
    return count;
}

int tend_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC); }

int tend_timerfd_set(int fd, int64_t ns) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    if (ns > 0) {
        spec.it_value.tv_sec = ns / 1000000000;
        spec.it_value.tv_nsec = ns % 1000000000;
    }
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, NULL);
}

int tend_clock_set_watch(void) {
    int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return -1;
    if (tend_clock_set_rearm(fd) == 0) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int tend_clock_set_rearm(int fd) {
    // Never expires (year ~2262): only a setting of the clock (or a resume) ends it.
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = (time_t)INT64_MAX / 1000000000;
    return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL);
}

int tend_clock_was_set(int fd) {
    uint64_t expirations;
    if (read(fd, &expirations, sizeof expirations) >= 0 || errno != ECANCELED) return 0;
    return tend_clock_set_rearm(fd) == 0 ? 1 : -1;
}

void tend_timerfd_drain(int fd) {
    uint64_t expirations;
    ssize_t ignored = read(fd, &expirations, sizeof expirations);
    (void)ignored;
}

int64_t tend_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t tend_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int tend_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

static int decode_exit(const siginfo_t *info, int *kind, int *code) {
    *code = info->si_status;
    switch (info->si_code) {
    case CLD_KILLED: *kind = 1; break;
    case CLD_DUMPED: *kind = 2; break;
    default: *kind = 0;
    }
    return 1;
}

int tend_peek_pidfd(int pidfd, int *kind, int *code) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | WNOWAIT | __WALL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (info.si_pid == 0) return 0;
    return decode_exit(&info, kind, code);
}

void tend_reap_pidfd(int pidfd) {
    siginfo_t info;
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | __WALL) < 0 && errno == EINTR) {}
    close(pidfd);
}

int tend_signal_pidfd(int pidfd, int signal) { return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0); }

int tend_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int tend_peek_any_exited(pid_t *exited, int *kind, int *code) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r;
    do {
        r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    if (info.si_pid == 0) return 0;
    *exited = info.si_pid;
    return decode_exit(&info, kind, code);
}

void tend_reap_pid(pid_t pid) {
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | __WALL) < 0 && errno == EINTR) {}
}

int tend_notify_socket(char *name, size_t capacity) {
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    // Autobind: the kernel picks an unused abstract name, so no other process can hold it
    // first, and two tends in one network namespace (PID 1 of two containers) never collide.
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    socklen_t len = sizeof addr;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(sa_family_t)) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    size_t n = len - offsetof(struct sockaddr_un, sun_path) - 1;  // after the leading NUL
    if (n + 1 > capacity) n = capacity - 1;
    memcpy(name, addr.sun_path + 1, n);
    name[n] = 0;
    return fd;
}

size_t tend_notify_control(const void *control, size_t length, pid_t *sender, int *fds, size_t capacity) {
    struct msghdr msg = { .msg_control = (void *)control, .msg_controllen = length };
    size_t count = 0;
    *sender = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_len < CMSG_LEN(0)) continue;
        // Only what lies inside both this header's length and the buffer is read.
        size_t room = (size_t)((const char *)control + length - (const char *)CMSG_DATA(c));
        size_t data = c->cmsg_len - CMSG_LEN(0);
        if (data > room) data = room;
        if (c->cmsg_type == SCM_CREDENTIALS && data >= sizeof(struct ucred)) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            *sender = cred.pid;
        } else if (c->cmsg_type == SCM_RIGHTS) {
            for (size_t i = 0; i + 1 <= data / sizeof(int) && count < capacity; i++)
                memcpy(&fds[count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
    }
    return count;
}

ssize_t tend_notify_receive(int fd, char *buffer, size_t size, pid_t *sender, int *fds, int *fd_count) {
    struct iovec iov = { .iov_base = buffer, .iov_len = size };
    union {
        struct cmsghdr align;
        char space[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * TEND_NOTIFY_MAX_FDS)];
    } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
    ssize_t n;
    do {
        n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return n;
    *fd_count = (int)tend_notify_control(msg.msg_control, msg.msg_controllen, sender, fds, TEND_NOTIFY_MAX_FDS);
    return n;
}

int tend_connect_datagram(const char *address) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    size_t n = strlen(address);
    if (n == 0 || n + 1 > sizeof addr.sun_path) {
        errno = EINVAL;
        return -1;
    }
    memcpy(addr.sun_path, address, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (address[0] == '@' ? 0 : 1));
    if (address[0] == '@') addr.sun_path[0] = 0;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int size = 8 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    if (connect(fd, (struct sockaddr *)&addr, len) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int tend_tcp_connect(const char *host, uint16_t port) {
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof storage);
    socklen_t len;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&storage, len) < 0 && errno != EINPROGRESS) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int tend_socket_error(int fd) {
    int error = 0;
    socklen_t len = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0) return errno;
    return error;
}

int tend_output_pipe(int fds[2]) {
    if (pipe2(fds, O_CLOEXEC) < 0) return -1;
    if (fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0) return 0;
    int saved = errno;
    close(fds[0]);
    close(fds[1]);
    errno = saved;
    return -1;
}

static int unix_address(const char *path, struct sockaddr_un *addr, socklen_t *len) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n + 1 > sizeof addr->sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr->sun_path, path, n);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int tend_listen_unix(const char *path, const char *staging, unsigned int mode, long gid) {
    struct sockaddr_un addr;
    socklen_t len;
    if (unix_address(staging, &addr, &len) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    unlink(staging);
    mode_t old = umask(~mode & 0777);
    int bound = bind(fd, (struct sockaddr *)&addr, len);
    umask(old);
    // Listening before the socket appears at its path: a client never meets a socket that
    // refuses connections.
    if (bound < 0 || listen(fd, 128) < 0 || (gid >= 0 && chown(staging, (uid_t)-1, (gid_t)gid) < 0) ||
        rename(staging, path) < 0) {
        int saved = errno;
        close(fd);
        unlink(staging);
        errno = saved;
        return -1;
    }
    return fd;
}

int tend_connect_unix(const char *path) {
    struct sockaddr_un addr;
    socklen_t len;
    if (unix_address(path, &addr, &len) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int r;
    do {
        r = connect(fd, (struct sockaddr *)&addr, len);
    } while (r < 0 && errno == EINTR);
    if (r < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int tend_accept(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int tend_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

int tend_peer_in_group(int fd, gid_t gid) {
    gid_t local[256];
    gid_t *groups = local;
    socklen_t len = sizeof local;
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    // More groups than fit: the kernel said how many bytes they take (at most NGROUPS_MAX).
    if (rc < 0 && errno == ERANGE && len > sizeof local) {
        groups = malloc(len);
        if (groups == NULL) return 0;
        rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    }
    int found = 0;
    for (size_t i = 0; rc == 0 && i < len / sizeof(gid_t); i++) {
        if (groups[i] == gid) found = 1;
    }
    if (groups != local) free(groups);
    return found;
}

int tend_readable_now(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN) ? 1 : 0;
}

int tend_listen_socket(int datagram, const char *host, int port, int owner_set, uid_t uid, gid_t gid, int *step) {
    int type = (datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC;
    union { struct sockaddr sa; struct sockaddr_in in4; struct sockaddr_in6 in6; struct sockaddr_un un; } address;
    memset(&address, 0, sizeof address);
    socklen_t length;
    int family;
    *step = TEND_LISTEN_ADDRESS;
    if (port < 0) {
        family = AF_UNIX;
        size_t n = strlen(host);
        if (n == 0 || n >= sizeof address.un.sun_path) { errno = ENAMETOOLONG; return -1; }
        address.un.sun_family = AF_UNIX;
        memcpy(address.un.sun_path, host, n);
        if (host[0] == '@') address.un.sun_path[0] = 0;  // abstract: no file, no mode
        length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (host[0] == '@' ? 0 : 1));
    } else if (inet_pton(AF_INET, host, &address.in4.sin_addr) == 1) {
        family = AF_INET;
        address.in4.sin_family = AF_INET;
        address.in4.sin_port = htons((uint16_t)port);
        length = sizeof address.in4;
    } else if (inet_pton(AF_INET6, host, &address.in6.sin6_addr) == 1) {
        family = AF_INET6;
        address.in6.sin6_family = AF_INET6;
        address.in6.sin6_port = htons((uint16_t)port);
        length = sizeof address.in6;
    } else {
        errno = EINVAL;
        return -1;
    }
    *step = TEND_LISTEN_SOCKET;
    int fd = socket(family, type, 0);
    if (fd < 0) return -1;
    int one = 1;
    if (family != AF_UNIX && !datagram) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_UNIX && host[0] == '/') {
        // A socket file left by an earlier run is replaced; one a live process listens on,
        // or anything else at the path, is not.
        struct stat st;
        if (lstat(host, &st) == 0) {
            *step = TEND_LISTEN_PATH;
            if (!S_ISSOCK(st.st_mode)) { close(fd); errno = EEXIST; return -1; }
            // Stale only when nothing listens (ECONNREFUSED): a datagram socket (/dev/log)
            // answers a stream connect with EPROTOTYPE, and is live.
            int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            int live = probe < 0 || connect(probe, &address.sa, length) == 0 || errno != ECONNREFUSED;
            if (probe >= 0) close(probe);
            if (live) { close(fd); errno = EADDRINUSE; return -1; }
            unlink(host);
        }
    }
    *step = TEND_LISTEN_BIND;
    // The file is made 0666 (systemd's SocketMode default) by bind itself: no chmod by path
    // after it, which a symlink put in its place would redirect.
    mode_t saved_umask = umask(0111);
    int bound = bind(fd, &address.sa, length);
    umask(saved_umask);
    if (bound < 0) goto fail;
    if (family == AF_UNIX && host[0] == '/' && owner_set) {
        // Owned by the service's user and group; the link itself, never what it points to.
        *step = TEND_LISTEN_PATH;
        if (fchownat(AT_FDCWD, host, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) goto fail;
    }
    *step = TEND_LISTEN_LISTEN;
    if (!datagram && listen(fd, SOMAXCONN) < 0) goto fail;
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

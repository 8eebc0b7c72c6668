#ifndef CTEND_H
#define CTEND_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/resource.h>

/// What a child gets. Everything is resolved by the caller: the child only makes system calls.
struct tend_spawn_request {
    const char *path;            /* executable, already looked up in PATH */
    char *const *argv;
    char *const *envp;
    const char *working_directory;   /* NULL: tend's */
    int stdin_fd;                /* dup2'd onto 0, 1 and 2 */
    int stdout_fd;
    int stderr_fd;
    int umask;                   /* -1: tend's */
    int change_ids;              /* set groups, gid, uid */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    const int *limit_resources;  /* RLIMIT_* */
    const struct rlimit *limit_values;
    int limit_count;
    uint64_t reset_signals;      /* bit n-1: signal n is not SIG_DFL in tend and must be reset */
    /* A journal stream instead of stdout_fd/stderr_fd (NULL: none). The child connects to
       journald itself, after its ids change, so that journald sees the service's own pid and
       uid; it writes this header and fills journal_stream_value ("dev:ino", 48 bytes) for
       JOURNAL_STREAM in envp. */
    const char *journal_header;
    int journal_header_length;
    char *journal_stream_value;
    /* Room in envp for WATCHDOG_PID's value (NULL: none): the child writes its own pid. */
    char *watchdog_pid_value;
    /* The cgroup v2 directory the child starts in (-1: tend's): clone3's CLONE_INTO_CGROUP,
       or, where the kernel lacks it, the child writes itself into its cgroup.procs first. */
    int cgroup_fd;
    /* fds the child gets as 3, 4, ... (sd_listen_fds' protocol), at most TEND_MAX_PASSED_FDS,
       and room in envp for LISTEN_PID's value (NULL: none): the child writes its own pid. */
    const int *pass_fds;
    int pass_count;
    char *listen_pid_value;
};

enum { TEND_MAX_PASSED_FDS = 2048 };

/// Which step failed in the child, reported with errno through a CLOEXEC pipe.
enum tend_spawn_step {
    TEND_STEP_NONE = 0, TEND_STEP_PIPE, TEND_STEP_FORK, TEND_STEP_STDIO, TEND_STEP_SETSID,
    TEND_STEP_CHDIR, TEND_STEP_RLIMIT, TEND_STEP_SETGROUPS, TEND_STEP_SETGID, TEND_STEP_SETUID,
    TEND_STEP_EXEC, TEND_STEP_JOURNAL, TEND_STEP_CGROUP, TEND_STEP_PASS_FDS,
};

/// Spawns a child in its own session. Returns 0 and sets *pid and *pidfd (CLOEXEC, the
/// child's for good) once the child has exec'd, or -1 with *step and *error saying what
/// failed (a child that failed before its exec is reaped before this returns).
int tend_spawn(const struct tend_spawn_request *request, pid_t *pid, int *pidfd, int *step, int *error);

/// Reserves four low fds for spawning without copying tend's fd table (call once, early, while
/// few fds are open). Without it, spawns still work, at the cost of that copy.
int tend_spawn_reserve_slots(void);

/// The signals whose disposition is not SIG_DFL (bit n-1 for signal n), real-time ones included.
uint64_t tend_nondefault_signals(void);

/* epoll, unpacked: epoll_event is a packed struct on x86_64, which Swift cannot read safely. */
int tend_epoll_create(void);
int tend_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
int tend_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int max, int timeout_ms);
extern const int TEND_EPOLL_CTL_ADD, TEND_EPOLL_CTL_MOD, TEND_EPOLL_CTL_DEL;
extern const uint32_t TEND_EPOLLIN, TEND_EPOLLOUT, TEND_EPOLLERR, TEND_EPOLLHUP, TEND_EPOLLRDHUP, TEND_EPOLLONESHOT, TEND_EPOLLPRI;

/// Blocks SIGCHLD, SIGTERM, SIGINT, SIGHUP (and ignores SIGPIPE): call
/// before any thread exists.
int tend_block_signals(void);
/// Marks every fd from 3 up CLOEXEC: what tend inherited must not reach its children, even
/// where a child's close_range is missing (kernels before 5.9). Returns how many were open
/// without it, their numbers in `inherited` (at most `max`): tend reexec keeps them open.
int tend_cloexec_inherited(int *inherited, int max);
// Every fd from 3 close-on-exec, with no scan.
void tend_cloexec_all(void);
/// `tend reexec`: a memfd for the state handed to the next tend (close-on-exec until chosen to
/// survive), and an fd's close-on-exec flag set or cleared. -1 and errno on failure.
int tend_memfd(const char *name);
int tend_set_cloexec(int fd, int on);
/// A non-blocking CLOEXEC signalfd for the blocked signals.
int tend_signalfd(void);
/// Up to `capacity` (at most 64) pending signals from the signalfd, each with its sender's pid
/// (for a child's exit: the child's); returns how many, 0 when none is pending, -1 on error.
int tend_signalfd_read(int fd, int *signals, pid_t *pids, int capacity);

int tend_timerfd(void);
/// Arms the timer for an absolute CLOCK_MONOTONIC time; 0 or less disarms it.
int tend_timerfd_set(int fd, int64_t monotonic_ns);
/// A CLOCK_REALTIME timerfd that becomes readable when the system clock is set or the
/// machine resumes from suspend (TFD_TIMER_CANCEL_ON_SET), or -1.
int tend_clock_set_watch(void);
int tend_clock_set_rearm(int fd);
/// After the watch fd became readable: 1 when the clock was set (the watch is armed again),
/// -1 when it could not be armed again (it would stay readable: stop watching it).
int tend_clock_was_set(int fd);
void tend_timerfd_drain(int fd);
int64_t tend_monotonic_ns(void);
int64_t tend_realtime_ns(void);

int tend_set_child_subreaper(void);

/// A CLOEXEC pipe whose read end (fds[0]) is non-blocking and write end blocking.
int tend_output_pipe(int fds[2]);

/// waitid(P_PIDFD, WEXITED | WNOHANG | WNOWAIT): 1 with the decoded status (kind 0 exited
/// with code, 1 killed, 2 dumped by signal code), 0 when the child has not ended, -1 with
/// errno. The child stays a zombie, so its pid and process group cannot be reused until
/// tend_reap_pidfd: signals sent meanwhile reach no stranger.
int tend_peek_pidfd(int pidfd, int *kind, int *code);
/// Reaps the child that tend_peek_pidfd reported, and closes its pidfd.
void tend_reap_pidfd(int pidfd);
/// pidfd_send_signal: reaches the process the pidfd names or fails (ESRCH once it is reaped).
int tend_signal_pidfd(int pidfd, int signal);
/// pidfd_open(2), for a child made without tend_spawn (CLOEXEC); -1 with errno.
int tend_pidfd_open(pid_t pid);
/// As tend_peek_pidfd for any child (the orphans tend adopts as subreaper), with its pid.
int tend_peek_any_exited(pid_t *exited, int *kind, int *code);
/// Reaps a child that tend_peek_any_exited reported.
void tend_reap_pid(pid_t pid);

/// Which step of opening a `listen` socket failed.
enum tend_listen_step { TEND_LISTEN_ADDRESS = 1, TEND_LISTEN_SOCKET, TEND_LISTEN_PATH, TEND_LISTEN_BIND, TEND_LISTEN_LISTEN };
/// A `listen` socket, CLOEXEC and blocking (as sd_listen_fds passes them): stream or datagram
/// on a numeric IPv4 or IPv6 host and `port`, or, with `port` -1, unix on the path `host`
/// (`@NAME`: abstract), mode 0666 and, with `owner_set`, owned by uid:gid; -1 with errno and
/// *step on failure.
int tend_listen_socket(int datagram, const char *host, int port, int owner_set, uid_t uid, gid_t gid, int *step);

/// A datagram socket bound to an abstract address the kernel picks (its name, without the
/// leading NUL, written to `name`), passing credentials; non-blocking, CLOEXEC.
int tend_notify_socket(char *name, size_t capacity);
/// One datagram and its sender's pid; -1 with errno EAGAIN when none.
/// The fds that came with it (FDSTORE=1) are the caller's, up to TEND_NOTIFY_MAX_FDS (the
/// kernel's SCM_MAX_FD: more are not sent), CLOEXEC.
enum { TEND_NOTIFY_MAX_FDS = 253 };
ssize_t tend_notify_receive(int fd, char *buffer, size_t size, pid_t *sender, int *fds, int *fd_count);
/// The ancillary data of a notify datagram: the sender's pid (0 without SCM_CREDENTIALS) and
/// the fds it passed, up to `capacity`, for the caller to close. Reads nothing outside the
/// `length` bytes at `control`, whatever the headers in them say.
size_t tend_notify_control(const void *control, size_t length, pid_t *sender, int *fds, size_t capacity);

/// A non-blocking, CLOEXEC datagram socket connected to a Unix socket: a path, or an abstract
/// name written with a leading '@' (as NOTIFY_SOCKET has it). -1 with errno.
int tend_connect_datagram(const char *address);

/// A non-blocking connect to an IPv4 or IPv6 literal. Returns the fd (connect in progress or
/// done) or -1.
int tend_tcp_connect(const char *host, uint16_t port);
/// 0 once a connect has succeeded, or the errno it failed with.
int tend_socket_error(int fd);

/// A listening Unix stream socket at `path` with permissions `mode` (set through umask before
/// bind, so it is never more open), owned by group `gid` unless it is -1, non-blocking and
/// CLOEXEC. It is bound at `staging` and renamed to `path` once it listens.
int tend_listen_unix(const char *path, const char *staging, unsigned int mode, long gid);
/// A blocking connection to the Unix socket at `path`, or -1.
int tend_connect_unix(const char *path);
/// accept4, non-blocking and CLOEXEC.
int tend_accept(int fd);
/// The peer of a Unix socket: pid, uid, gid (SO_PEERCRED).
int tend_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/// 1 when `gid` is among the peer's supplementary groups (SO_PEERGROUPS), else 0.
int tend_peer_in_group(int fd, gid_t gid);
/// 1 when `fd` has something to read right now (poll with no wait), else 0.
int tend_readable_now(int fd);



#endif

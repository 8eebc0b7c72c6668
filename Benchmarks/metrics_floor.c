// The floor of a scrape (bench.py's `metrics`): what a minimal C server does for the same page.
// Holds every SERVICES_DIR/*/cpu.stat open (as tend does), and for each connection on
// 127.0.0.1:PORT reads the request's head, preads each cpu.stat once, writes the same families
// tend writes for a running service (up, the 8 states, restarts, start time, CPU: 12 samples a
// service, with their HELP and TYPE lines) into one buffer, sends it and closes.
// Usage: metrics_floor PORT SERVICES_DIR
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *states[] = {"stopped", "starting", "running", "stopping", "backoff", "exited", "failed", "waiting"};

struct service { char name[256]; int fd; };

static char *put(char *p, const char *s) { size_t n = strlen(s); memcpy(p, s, n); return p + n; }

static char *number(char *p, unsigned long long v) {
    char d[24]; int n = 0;
    do { d[n++] = '0' + v % 10; v /= 10; } while (v);
    while (n) *p++ = d[--n];
    return p;
}

static char *seconds(char *p, unsigned long long micros) {
    p = number(p, micros / 1000000);
    unsigned ms = micros / 1000 % 1000;
    *p++ = '.'; *p++ = '0' + ms / 100; *p++ = '0' + ms / 10 % 10; *p++ = '0' + ms % 10;
    return p;
}

static unsigned long long usage(int fd) {
    char buf[4096];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *at = strstr(buf, "usage_usec ");
    return at ? strtoull(at + 11, NULL, 10) : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: metrics_floor PORT SERVICES_DIR\n"); return 2; }
    int count = 0, cap = 1024;
    struct service *services = malloc(cap * sizeof *services);
    DIR *dir = opendir(argv[2]);
    if (!dir) { perror(argv[2]); return 1; }
    for (struct dirent *e; (e = readdir(dir));) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s/cpu.stat", argv[2], e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (count == cap) services = realloc(services, (cap *= 2) * sizeof *services);
        snprintf(services[count].name, sizeof services[count].name, "%s", e->d_name);
        services[count++].fd = fd;
    }
    closedir(dir);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) || listen(listener, 64)) { perror("listen"); return 1; }
    printf("%d\n", count);
    fflush(stdout);

    size_t size = (size_t)count * 1024 + 4096;
    char *page = malloc(size), *head = malloc(8192);
    for (;;) {
        int c = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        size_t used = 0;
        while (used < 8191) {
            ssize_t n = read(c, head + used, 8191 - used);
            if (n <= 0) break;
            used += n;
            head[used] = 0;
            if (strstr(head, "\r\n\r\n")) break;
        }
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        char *p = page;
        p = put(p, "# HELP tend_service_up Whether the service's process runs (1) or not (0).\n# TYPE tend_service_up gauge\n");
        for (int i = 0; i < count; i++) { p = put(p, "tend_service_up{service=\""); p = put(p, services[i].name); p = put(p, "\"} 1\n"); }
        p = put(p, "# HELP tend_service_state The state the service is in (1) and those it is not in (0).\n# TYPE tend_service_state gauge\n");
        for (int i = 0; i < count; i++)
            for (int s = 0; s < 8; s++) {
                p = put(p, "tend_service_state{service=\""); p = put(p, services[i].name); p = put(p, "\",state=\"");
                p = put(p, states[s]); p = put(p, s == 2 ? "\"} 1\n" : "\"} 0\n");
            }
        p = put(p, "# HELP tend_service_restarts_total Restarts of the service since tend started its tree.\n# TYPE tend_service_restarts_total counter\n");
        for (int i = 0; i < count; i++) { p = put(p, "tend_service_restarts_total{service=\""); p = put(p, services[i].name); p = put(p, "\"} 0\n"); }
        p = put(p, "# HELP tend_service_start_time_seconds When the service's current run started, in seconds since the epoch.\n# TYPE tend_service_start_time_seconds gauge\n");
        for (int i = 0; i < count; i++) {
            p = put(p, "tend_service_start_time_seconds{service=\""); p = put(p, services[i].name); p = put(p, "\"} ");
            p = seconds(p, (unsigned long long)now.tv_sec * 1000000 + now.tv_nsec / 1000); *p++ = '\n';
        }
        p = put(p, "# HELP tend_service_cpu_seconds_total CPU time of the service's processes.\n# TYPE tend_service_cpu_seconds_total counter\n");
        for (int i = 0; i < count; i++) {
            p = put(p, "tend_service_cpu_seconds_total{service=\""); p = put(p, services[i].name); p = put(p, "\"} ");
            p = seconds(p, usage(services[i].fd)); *p++ = '\n';
        }
        p = put(p, "# HELP tend_build_info tend's version.\n# TYPE tend_build_info gauge\ntend_build_info{version=\"0\"} 1\n");
        p = put(p, "# HELP tend_reloads_total Reloads.\n# TYPE tend_reloads_total counter\ntend_reloads_total 0\n");
        p = put(p, "# HELP tend_logs_dropped_total Drops.\n# TYPE tend_logs_dropped_total counter\ntend_logs_dropped_total 0\n");
        char header[256];
        int h = snprintf(header, sizeof header, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n", (size_t)(p - page));
        if (write(c, header, h) == h)
            for (char *w = page; w < p;) {
                ssize_t n = write(c, w, p - w);
                if (n <= 0) break;
                w += n;
            }
        close(c);
    }
}

import CTend
import Glibc
import TendCore

/// A non-blocking connect watched by the loop, for readiness probes and health checks. `done`
/// gets 0 or the errno, once; on success the socket is closed first. Returns the socket while
/// the connect is under way (unregister and close it to cancel), nil when it failed at once.
func startTCPConnect(to endpoint: Endpoint, loop: EventLoop, done: @escaping (_ error: Int32) -> Void) -> Int32? {
    let fd = tend_tcp_connect(endpoint.host, endpoint.port)
    guard fd >= 0 else {
        done(errno)
        return nil
    }
    do {
        try loop.register(fd, events: TEND_EPOLLOUT) { [unowned loop] _ in
            let error = tend_socket_error(fd)
            loop.unregister(fd)
            close(fd)
            done(error)
        }
        return fd
    } catch {
        close(fd)
        done((error as? SystemError)?.errno ?? EIO)
        return nil
    }
}

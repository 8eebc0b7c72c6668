import CTend
import Glibc
import TendCore

/// The `listen` sockets tend holds (SPEC section 9): each opened before the first start of a
/// service that lists it, one per address (a service's copies share it), kept open across the
/// service's restarts, so that a client connecting meanwhile waits in the backlog; closed (a
/// unix socket's file removed) when no service of the tree lists it any more.
final class ListenSockets {
    private let loop: EventLoop
    /// By `ListenAddress.address`.
    private var open: [String: (fd: Int32, address: ListenAddress)] = [:]
    /// Unix sockets on a path made before their service's user was looked up (an
    /// on-connection service's, watched at once): given it at the next spawn.
    private var unowned: Set<String> = []
    /// `start = "on-connection"` services watched for a connection, and the fds watched.
    private var watched: [ServiceID: [Int32]] = [:]

    init(loop: EventLoop) { self.loop = loop }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The service's sockets in its order, opened where they are not yet (unix sockets given
    /// `owner`, the service's user and group, when known).
    func fds(for spec: ServiceSpec, owner: (uid: uid_t, gid: gid_t)?) throws(Failure) -> [(fd: Int32, name: String)] {
        let ownerPending = owner == nil && (spec.user != nil || spec.group != nil)
        return try spec.listen.map { a throws(Failure) in
            let fd = try socket(a, owner: owner, ownerPending: ownerPending)
            return (fd, a.name ?? spec.baseName)
        }
    }

    private func socket(_ a: ListenAddress, owner: (uid: uid_t, gid: gid_t)?, ownerPending: Bool) throws(Failure) -> Int32 {
        if let fd = open[a.address]?.fd {
            if let owner, unowned.contains(a.address) {
                guard fchownat(AT_FDCWD, a.host, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) == 0 else { throw Failure(description: "listen \(a.address): chown: \(String(cString: strerror(errno)))") }
                unowned.remove(a.address)
            }
            return fd
        }
        var step: Int32 = 0
        let fd = tend_listen_socket(a.kind == .udp ? 1 : 0, a.host, a.kind == .unix ? -1 : Int32(a.port),
                                    owner == nil ? 0 : 1, owner?.uid ?? 0, owner?.gid ?? 0, &step)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            let what = switch tend_listen_step(UInt32(step)) {
            case TEND_LISTEN_ADDRESS: "the address"
            case TEND_LISTEN_SOCKET: "socket"
            case TEND_LISTEN_PATH: a.host
            case TEND_LISTEN_BIND: "bind"
            default: "listen"
            }
            throw Failure(description: "listen \(a.address): \(what): \(reason)")
        }
        open[a.address] = (fd, a)
        if ownerPending, a.kind == .unix, a.host.hasPrefix("/") { unowned.insert(a.address) }
        return fd
    }

    /// Watches the sockets of `spec` (service `id`) for a first connection (a readable
    /// listener; for udp, a datagram): `connected` is called once, and watching stops. Again
    /// for a watched service watches its sockets as they are now.
    func watch(_ id: ServiceID, _ spec: ServiceSpec, owner: (uid: uid_t, gid: gid_t)?,
               connected: @escaping () -> Void) throws(Failure) {
        unwatch(id)
        let fds = try fds(for: spec, owner: owner).map(\.fd)
        for fd in fds {
            do {
                try loop.register(fd) { [unowned self] _ in
                    self.unwatch(id)
                    connected()
                }
            } catch {
                unwatch(id)
                throw Failure(description: "listen: \(error)")
            }
            watched[id, default: []].append(fd)
        }
    }

    func unwatch(_ id: ServiceID) {
        for fd in watched.removeValue(forKey: id) ?? [] { loop.unregister(fd) }
    }

    var watchedServices: [ServiceID] { Array(watched.keys) }

    /// Whether `identity` is one of the sockets tend holds.
    func holds(_ identity: FDStore.Identity) -> Bool {
        open.values.contains { FDStore.identity($0.fd) == identity }
    }

    /// Closes the sockets no address of `addresses` names (a reload took their services).
    func retain(_ addresses: Set<String>) {
        for (key, socket) in open where !addresses.contains(key) { close(socket.fd, socket.address) }
    }

    /// What `tend reexec` hands over: every socket, open across the exec, so that no client is
    /// refused meanwhile. Which services are watched follows from the core's state.
    struct Handed: Codable {
        struct Socket: Codable {
            let fd: Int32
            let address: ListenAddress
        }
        var sockets: [Socket] = []
        var unowned: [String] = []
        var fds: [Int32] { sockets.map(\.fd) }
    }

    var handed: Handed {
        Handed(sockets: open.values.map { Handed.Socket(fd: $0.fd, address: $0.address) }, unowned: Array(unowned))
    }

    func adopt(_ handed: Handed) {
        for socket in handed.sockets { open[socket.address.address] = (socket.fd, socket.address) }
        unowned = Set(handed.unowned)
    }

    /// At tend's exit.
    func closeAll() {
        for socket in open.values { close(socket.fd, socket.address) }
    }

    private func close(_ fd: Int32, _ a: ListenAddress) {
        for (id, fds) in watched where fds.contains(fd) { unwatch(id) }
        Glibc.close(fd)
        open[a.address] = nil
        unowned.remove(a.address)
        if a.kind == .unix, a.host.hasPrefix("/") { unlink(a.host) }
    }
}

import Glibc
import TendCore

/// The fd store (SPEC section 9, systemd's FDSTORE=1): fds a service's processes hand tend over
/// the notify socket, kept up to its `fdstore_max` and passed back at its next start after its
/// `listen` sockets, each with its FDNAME; `FDSTOREREMOVE=1` drops those of a name. Kept across
/// the service's restarts, dropped when it goes down for good (a stop, an end, a removal).
final class FDStore {
    private var stored: [ServiceID: [(fd: Int32, name: String, identity: Identity)]] = [:]
    /// Services whose refused fds were told in their current run: a child that keeps sending
    /// fds it may not store makes one event per run, not one per datagram.
    private var told: Set<ServiceID> = []

    /// The file behind an fd (device and inode: dups and passed copies share them).
    struct Identity: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// Tells tend's own listen sockets, which are never stored.
    var isListenSocket: (Identity) -> Bool = { _ in false }

    static func identity(_ fd: Int32) -> Identity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// systemd's name for an fd stored without FDNAME.
    static let defaultName = "stored"

    /// Takes `fds` (which came with `message`) for service `id`: kept if the message stores
    /// them and they fit, else closed. Returns what to tell the operator, once per run.
    func receive(_ id: ServiceID, max: Int, message: String, fds: [Int32]) -> String? {
        let refusal = take(id, max: max, message: message, fds: fds)
        guard let refusal, told.insert(id).inserted else { return nil }
        return refusal
    }

    /// A run of `id` starts: its refusals are told again.
    func runStarted(_ id: ServiceID) { told.remove(id) }

    private func take(_ id: ServiceID, max: Int, message: String, fds: [Int32]) -> String? {
        var store = false, remove = false
        var name: String?
        for line in message.split(separator: "\n") {
            if line == "FDSTORE=1" { store = true }
            if line == "FDSTOREREMOVE=1" { remove = true }
            if line.hasPrefix("FDNAME=") { name = String(line.dropFirst("FDNAME=".count)) }
        }
        if remove {
            guard let name else {
                for fd in fds { FDStore.close(fd) }
                return "FDSTOREREMOVE=1 without FDNAME=: nothing removed"
            }
            stored[id]?.removeAll { entry in
                guard entry.name == name else { return false }
                FDStore.close(entry.fd)
                return true
            }
        }
        guard !fds.isEmpty else { return nil }
        guard store else {
            for fd in fds { FDStore.close(fd) }
            return nil
        }
        let fdName = name ?? FDStore.defaultName
        guard ListenAddress.isValidName(fdName) else {
            for fd in fds { FDStore.close(fd) }
            return "\(fds.count) fd(s) refused: FDNAME \"\(fdName)\" is not 1 to 255 printable characters without :"
        }
        // As systemd: a file stored already (what the run was given back and stores again) is
        // not stored twice, nor one of tend's listen sockets (passed to every run anyway).
        var held = Set((stored[id] ?? []).map(\.identity))
        let fresh = fds.compactMap { fd -> (fd: Int32, identity: Identity)? in
            guard let key = FDStore.identity(fd), !isListenSocket(key), held.insert(key).inserted else {
                FDStore.close(fd)
                return nil
            }
            return (fd, key)
        }
        let room = Swift.max(0, max - (stored[id]?.count ?? 0))
        for new in fresh.prefix(room) { stored[id, default: []].append((new.fd, fdName, new.identity)) }
        for new in fresh.dropFirst(room) { FDStore.close(new.fd) }
        guard fresh.count > room else { return nil }
        return max == 0 ? "\(fresh.count) fd(s) refused: fdstore_max is 0 (no fd store)"
            : "\(fresh.count - room) fd(s) refused: fdstore_max \(max) reached"
    }

    func fds(of id: ServiceID) -> [(fd: Int32, name: String)] { (stored[id] ?? []).map { ($0.fd, $0.name) } }

    func release(_ id: ServiceID) {
        for entry in stored.removeValue(forKey: id) ?? [] { FDStore.close(entry.fd) }
    }

    /// Drops the stores of services not in `ids` (a reload removed them).
    func retain(_ ids: Set<ServiceID>) {
        for id in stored.keys where !ids.contains(id) { release(id) }
    }

    var count: Int { stored.values.reduce(0) { $0 + $1.count } }

    /// What `tend reexec` hands over: every stored fd (open across the exec), with its name.
    struct Handed: Codable {
        struct Entry: Codable {
            let service: ServiceID
            let fd: Int32
            let name: String
            let device: UInt64
            let inode: UInt64
        }
        var entries: [Entry] = []
        var told: [ServiceID] = []
        var fds: [Int32] { entries.map(\.fd) }
    }

    var handed: Handed {
        Handed(entries: stored.flatMap { id, entries in
            entries.map { Handed.Entry(service: id, fd: $0.fd, name: $0.name, device: $0.identity.device, inode: $0.identity.inode) }
        }, told: Array(told))
    }

    /// In the new process, in the order each service stored them (its next run gets them so).
    func adopt(_ handed: Handed) {
        for e in handed.entries {
            stored[e.service, default: []].append((e.fd, e.name, Identity(device: e.device, inode: e.inode)))
        }
        told = Set(handed.told)
    }

    /// Closes an fd a child handed over: a socket it set to linger (SO_LINGER with unsent
    /// data) would block the close, and the loop with it; the linger is turned off first.
    static func close(_ fd: Int32) {
        var off = linger(l_onoff: 0, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, socklen_t(MemoryLayout<linger>.size))
        _ = Glibc.close(fd)
    }
}

/// Bytes waiting for a non-blocking fd: appended at the back, written from the front. What was
/// written is let go only in large steps, so a reader that takes a little at a time costs
/// linear time, not a copy of the rest per write.
struct OutgoingBytes {
    private var bytes: [UInt8] = []
    private var offset = 0
    /// Up to this much is kept allocated once written, for the next lines.
    private static let keep = 256 * 1024

    var count: Int { bytes.count - offset }
    var isEmpty: Bool { offset == bytes.count }

    mutating func append(_ part: UnsafeRawBufferPointer) { bytes.append(contentsOf: part) }
    mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Hands the unwritten bytes to `write` and lets go of as many as it returns (its
    /// result, errno untouched when it is negative).
    mutating func write(_ write: (UnsafeRawBufferPointer) -> Int) -> Int {
        let n = bytes.withUnsafeBytes { write(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
        guard n > 0 else { return n }
        offset += n
        if offset == bytes.count {
            removeAll()
        } else if offset >= OutgoingBytes.keep, offset * 2 >= bytes.count {
            bytes.removeFirst(offset)
            offset = 0
        }
        return n
    }

    /// What is not written yet (for `tend reexec`: the next tend writes it).
    var unwritten: [UInt8] { Array(bytes[offset...]) }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: bytes.capacity <= OutgoingBytes.keep)
        offset = 0
    }
}

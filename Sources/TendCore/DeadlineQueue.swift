/// A min-heap of deadlines keyed by owner. Setting a new deadline for an owner makes its older
/// entry stale; stale entries are dropped when they reach the top, so updates cost O(log n).
/// Equal deadlines pop in the order they were set, whatever the heap's layout: a queue rebuilt
/// from its live entries (`Codable`, for a restore) pops exactly as the one it was saved from.
struct DeadlineQueue<Owner: Hashable & Codable>: Codable, Equatable {
    struct Entry: Codable, Equatable {
        var owner: Owner
        var at: Instant
        var generation: Int

        func precedes(_ other: Entry) -> Bool { (at, generation) < (other.at, other.generation) }
    }

    private var heap: [Entry] = []
    private var current: [Owner: Entry] = [:]
    private var nextGeneration = 0

    init() {}

    mutating func set(_ owner: Owner, at: Instant) {
        nextGeneration += 1
        let entry = Entry(owner: owner, at: at, generation: nextGeneration)
        current[owner] = entry
        heap.append(entry)
        siftUp(heap.count - 1)
    }

    mutating func clear(_ owner: Owner) { current[owner] = nil }

    func deadline(of owner: Owner) -> Instant? { current[owner]?.at }

    /// The earliest live deadline.
    mutating func earliest() -> Instant? {
        dropStale()
        return heap.first?.at
    }

    /// Removes and returns an owner whose deadline is at or before `now`.
    mutating func popDue(now: Instant) -> Owner? {
        dropStale()
        guard let top = heap.first, top.at <= now else { return nil }
        removeTop()
        current[top.owner] = nil
        return top.owner
    }

    private mutating func dropStale() {
        while let top = heap.first, current[top.owner]?.generation != top.generation { removeTop() }
    }

    private mutating func removeTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count, heap[l].precedes(heap[m]) { m = l }
            if r < heap.count, heap[r].precedes(heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0, heap[i].precedes(heap[(i - 1) / 2]) {
            heap.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }

    // MARK: - As a value: the live entries, in the order they were set.

    private var live: [Entry] { current.values.sorted { $0.generation < $1.generation } }

    var owners: [Owner] { live.map(\.owner) }

    private enum CodingKeys: String, CodingKey { case entries, nextGeneration }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        nextGeneration = try c.decode(Int.self, forKey: .nextGeneration)
        for entry in try c.decode([Entry].self, forKey: .entries) {
            guard entry.generation <= nextGeneration, current.updateValue(entry, forKey: entry.owner) == nil else {
                throw DecodingError.dataCorruptedError(forKey: .entries, in: c,
                                                       debugDescription: "an owner twice, or a generation not yet given")
            }
            heap.append(entry)
            siftUp(heap.count - 1)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(live, forKey: .entries)
        try c.encode(nextGeneration, forKey: .nextGeneration)
    }

    static func == (a: DeadlineQueue, b: DeadlineQueue) -> Bool { a.nextGeneration == b.nextGeneration && a.live == b.live }
}

/// A min-heap of deadlines keyed by owner. Setting a new deadline for an owner makes its older
/// entry stale; stale entries are dropped when they reach the top, so updates cost O(log n).
struct DeadlineQueue<Owner: Hashable> {
    private var heap: [(at: Instant, owner: Owner, generation: Int)] = []
    private var current: [Owner: (at: Instant, generation: Int)] = [:]
    private var nextGeneration = 0

    mutating func set(_ owner: Owner, at: Instant) {
        nextGeneration += 1
        current[owner] = (at, nextGeneration)
        heap.append((at, owner, nextGeneration))
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
            if l < heap.count, heap[l].at < heap[m].at { m = l }
            if r < heap.count, heap[r].at < heap[m].at { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }

    private mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0, heap[i].at < heap[(i - 1) / 2].at {
            heap.swapAt(i, (i - 1) / 2)
            i = (i - 1) / 2
        }
    }
}

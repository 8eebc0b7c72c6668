/// Spans as the file writes them: "100ms", "1.5s", "5m", "1h30m", "0s"; a bare number is seconds.
enum DurationText {
    static let units: [(suffix: String, nanoseconds: Double)] = [
        ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9), ("d", 86400e9),
    ]

    /// The span `text` writes, in seconds (not yet range-checked: `Bounds.span` does that), or
    /// nil when it is not a span. "inf" and "nan" are not spans.
    static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed) { return seconds.isFinite ? seconds : nil }
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let number = rest.prefix { ("0"..."9").contains($0) || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count).drop { $0 == " " }
            let unitText = rest.prefix { $0.isLetter || $0 == "µ" }
            guard let unit = units.first(where: { $0.suffix == unitText.lowercased() }) else { return nil }
            rest = rest.dropFirst(unitText.count).drop { $0 == " " }
            total += value * unit.nanoseconds / 1e9
        }
        return total.isFinite ? total : nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

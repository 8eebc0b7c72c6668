/// An `environment_file`'s text as systemd's EnvironmentFile= reads it: KEY=VALUE lines; blank
/// lines and lines starting with `#` or `;` skipped; an optional `export ` before the key;
/// whitespace around the key and the `=` ignored; a value in double quotes (with `\"`, `\\`,
/// `\n`, `\t` and `\$` escapes) or single quotes (as written), else the rest of the line with
/// trailing whitespace cut. Later lines win.
public enum EnvironmentFile {
    public struct LineError: Error, Equatable, CustomStringConvertible {
        public let line: Int
        public let message: String
        public var description: String { "line \(line): \(message)" }
    }

    public static func parse(_ text: String) throws(LineError) -> [String: String] {
        var result: [String: String] = [:]
        var number = 0
        // "\r\n" is one Character in Swift: both line ends split.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = raw
            line = line.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.first == "#" || line.first == ";" { continue }
            if line.hasPrefix("export "), line.contains("=") { line = line.dropFirst(7).drop { $0 == " " || $0 == "\t" } }
            guard let eq = line.firstIndex(of: "=") else {
                throw LineError(line: number, message: "expected KEY=VALUE, got \"\(line)\"")
            }
            let key = line[..<eq].trimmingTrailingBlanks()
            guard let first = key.first, first == "_" || first.isASCIILetter,
                  key.allSatisfy({ $0 == "_" || $0.isASCIILetter || ($0.isASCII && $0.isNumber) }) else {
                throw LineError(line: number, message: "\"\(key)\" is not a variable name (letters, digits and _, not starting with a digit)")
            }
            let rest = line[line.index(after: eq)...].drop { $0 == " " || $0 == "\t" }
            result[String(key)] = try value(rest, line: number)
        }
        return result
    }

    private static func value(_ text: Substring, line: Int) throws(LineError) -> String {
        guard let quote = text.first, quote == "\"" || quote == "'" else { return String(text.trimmingTrailingBlanks()) }
        var out = ""
        var escaped = false
        var index = text.index(after: text.startIndex)
        while index < text.endIndex {
            let c = text[index]
            index = text.index(after: index)
            if escaped {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"", "\\", "$": out.append(c)
                default: out.append("\\"); out.append(c)
                }
                escaped = false
            } else if c == "\\", quote == "\"" {
                escaped = true
            } else if c == quote {
                guard text[index...].allSatisfy({ $0 == " " || $0 == "\t" }) else {
                    throw LineError(line: line, message: "text after the closing \(quote)")
                }
                return out
            } else {
                out.append(c)
            }
        }
        throw LineError(line: line, message: "no closing \(quote)")
    }
}

extension Character {
    fileprivate var isASCIILetter: Bool { isASCII && isLetter }
}

extension Substring {
    fileprivate func trimmingTrailingBlanks() -> Substring {
        var s = self
        while let last = s.last, last == " " || last == "\t" { s = s.dropLast() }
        return s
    }
}

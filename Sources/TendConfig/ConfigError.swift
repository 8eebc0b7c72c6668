/// One problem in the file, naming where it is: `tend.toml:14:11: service "api": restart: ...`.
public struct ConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    /// `service "api"`, `group "backend"`, `[supervisor]`, `[defaults]`; nil for the file as a whole.
    public var subject: String?
    public var key: String?
    public var message: String

    public init(file: String, line: Int? = nil, column: Int? = nil, subject: String? = nil, key: String? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.subject = subject
        self.key = key
        self.message = message
    }

    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        text += ": "
        if let subject { text += "\(subject): " }
        if let key { text += "\(key): " }
        return text + message
    }
}

/// Every error of a file, reported all at once.
public struct ConfigErrors: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

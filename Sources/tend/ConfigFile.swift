import CTend
import Glibc
import TendConfig
import TendCore

/// The file read for `tend run`, `tend check` and every reload. The TOML parser underneath
/// (toml++, through TOMLKit) aborts the whole process on some malformed files instead of
/// failing: a reload with such a file would end the running tree. So the text is parsed first
/// in a forked child; only if that child got through is it parsed here (the same bytes, so the
/// same outcome).
enum ConfigFile {
    /// A child still parsing after this long is killed, and the file refused.
    static let trialSeconds: Int32 = 10

    static func load(path: String) throws(ConfigErrors) -> TreeSpec {
        let text: String
        do {
            text = try ConfigLoader.readFile(path)
        } catch {
            throw ConfigErrors(errors: [ConfigError(file: path, message: "\(error)")])
        }
        if let why = crashesTheParser(text) {
            var error = ConfigError(file: path, message: why)
            if let line = ConfigLoader.headerWithoutKey(in: text) {
                error.line = line
                error.message += ": a table header must begin with a key (letters, digits, _ or -, or a quoted key)"
            }
            throw ConfigErrors(errors: [error])
        }
        return try ConfigLoader.parse(text, file: path)
    }

    /// Parses `text` in a forked child: nil when it ended normally (valid or not), else why not.
    static func crashesTheParser(_ text: String) -> String? {
        let pid = fork()
        if pid == 0 {
            tend_trial_child_prepare()
            _ = try? ConfigLoader.parse(text, file: "")
            _exit(0)
        }
        // No child to try with (out of processes): parse here, as without the trial.
        guard pid > 0 else { return nil }
        var status: Int32 = 0
        switch tend_wait_exit(pid, trialSeconds * 1000, &status) {
        case 0:
            kill(pid, SIGKILL)
            _ = tend_wait_exit(pid, -1, &status)
            return "the TOML parser did not finish within \(trialSeconds)s"
        case 1 where status & 0x7F != 0:
            return "the TOML parser crashed on this file (signal \(status & 0x7F)): it is not valid TOML"
        default:
            return nil
        }
    }
}

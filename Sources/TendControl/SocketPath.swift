/// Where the control socket is (SPEC section 1): `--socket`, else `$TEND_SOCKET`, else the
/// file's `control_socket`, else `$RUNTIME_DIRECTORY/control.sock`, else
/// `/run/tend/control.sock` for root and `$XDG_RUNTIME_DIR/tend/control.sock` for others
/// (`/tmp/tend-UID/control.sock` when that is unset too).
public enum SocketPath {
    public static func resolve(option: String?, environment: (String) -> String?, configured: String?, uid: UInt32) -> String {
        if let option, !option.isEmpty { return option }
        if let env = environment("TEND_SOCKET"), !env.isEmpty { return env }
        if let configured { return configured }
        if let runtime = environment("RUNTIME_DIRECTORY")?.split(separator: ":").first, !runtime.isEmpty {
            return "\(runtime)/control.sock"
        }
        if uid == 0 { return "/run/tend/control.sock" }
        if let xdg = environment("XDG_RUNTIME_DIR"), !xdg.isEmpty { return "\(xdg)/tend/control.sock" }
        return "/tmp/tend-\(uid)/control.sock"
    }
}

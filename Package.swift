// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tend",
    products: [
        .executable(name: "tend", targets: ["tend"]),
        // What reads outside bytes, for the fuzzers of Fuzz/ (`make fuzz`).
        .library(name: "TendParsers", targets: ["TendCore", "TendConfig", "TendControl", "CTend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The only C: async-signal-safe spawn, and the Linux calls Glibc does not export.
        .target(name: "CTend"),
        // Pure policy and state machine of the tree: no syscalls, injected clock.
        .target(name: "TendCore"),
        // TOML (a parser of its own) -> validated specs, every error at once.
        .target(name: "TendConfig", dependencies: ["TendCore"]),
        // The control protocol, and the client side of the control socket.
        .target(name: "TendControl", dependencies: ["TendCore", "CTend"]),
        // The Linux edge: event loop, signals, timer, reaper, spawning, child output, control server.
        .target(name: "TendLinux", dependencies: ["TendCore", "TendControl", "CTend"]),
        .executableTarget(name: "tend", dependencies: [
            "TendCore", "TendConfig", "TendControl", "TendLinux", "CTend",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "TendCoreTests", dependencies: ["TendCore"]),
        .testTarget(name: "TendConfigTests", dependencies: ["TendConfig"]),
        .testTarget(name: "TendControlTests", dependencies: ["TendControl"]),
        .testTarget(name: "TendLinuxTests", dependencies: ["TendLinux", "TendCore"]),
        .testTarget(name: "TendIntegrationTests", dependencies: ["TendCore"]),
        // The command line's own code (the quick paths against the argument parser).
        .testTarget(name: "TendCommandTests", dependencies: ["tend"]),
        // tend installed with `make install` under a real systemd as PID 1, in a throw-away box.
        .testTarget(name: "TendEndToEndTests", dependencies: ["TendControl"], exclude: ["box.sh"]),
    ]
)

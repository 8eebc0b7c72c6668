// swift-tools-version:6.0
// libFuzzer harnesses for the three parsers that take outside bytes: the config file, a
// control request line, a notify datagram. Built apart from tend (`make fuzz`): each is
// compiled with -sanitize=fuzzer,address and gets its main from libFuzzer.
import PackageDescription

let package = Package(
    name: "tend-fuzz",
    dependencies: [.package(name: "tend", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(name: "FuzzConfig", dependencies: ["FuzzSupport", .product(name: "TendParsers", package: "tend")]),
        .executableTarget(name: "FuzzControl", dependencies: ["FuzzSupport", .product(name: "TendParsers", package: "tend")]),
        .executableTarget(name: "FuzzNotify", dependencies: ["FuzzSupport", .product(name: "TendParsers", package: "tend")]),
    ]
)

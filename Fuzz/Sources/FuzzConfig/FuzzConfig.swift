import FuzzSupport
import TendConfig

/// Any bytes as a tend.toml: parsed, validated, described as `tend check` does. An error is
/// fine; a crash, a hang or a leak is not.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let tree = try ConfigLoader.parse(text, file: "fuzz.toml")
        _ = TreeDescription.render(tree, file: "fuzz.toml")
    } catch {
        _ = error.description
    }
    return 0
}

@_cdecl("FuzzConfig_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, { fuzzConfig($0, $1) })
}

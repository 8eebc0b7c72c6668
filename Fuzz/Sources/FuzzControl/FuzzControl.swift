import FuzzSupport
import TendControl

/// Any bytes as one control request line, as the control server hands it over: decoded, and
/// an error worded for the client.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzControl(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data else { return 0 }
    let line = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        let request = try ControlRequest.decode(line)
        _ = request.encoded()
    } catch {
        _ = ControlResponse.error(error.description)
    }
    return 0
}

@_cdecl("FuzzControl_main")
func main(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
    runFuzzer(argc, argv, { fuzzControl($0, $1) })
}

/// One request as the access log records it.
public struct AccessRecord: Sendable {
    public let requestID: String
    public let method: String
    public let path: String
    public let status: Int
    /// Time in the handler, as `12.34`.
    public let milliseconds: String
    public let bytesIn: Int
    public let bytesOut: Int

    /// The fields as swift-log metadata would name them, sorted by name (the text and JSON lines list them so).
    public var fields: [(name: String, value: String)] {
        [("bytes.in", String(bytesIn)), ("bytes.out", String(bytesOut)), ("method", method), ("ms", milliseconds),
         ("path", path), ("request.id", requestID), ("status", String(status))]
    }
}

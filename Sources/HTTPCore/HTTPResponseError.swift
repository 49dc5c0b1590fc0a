/// An error that knows how a client should see it: the status to answer with, the detail to show, and any
/// headers (`Retry-After`). Each module's errors conform where they are declared, so the API renders any of
/// them without a switch over the modules below it.
public protocol HTTPResponseError: Error, CustomStringConvertible {
    var status: HTTPStatus { get }
    /// What the client is told: the description for client errors; nothing internal for server faults.
    var publicDetail: String { get }
    var responseHeaders: [(name: String, value: String)] { get }
}

extension HTTPResponseError {
    public var publicDetail: String { status.isServerError && status != .serviceUnavailable ? "internal error" : description }

    /// A 503 is worth retrying shortly; other statuses carry no extra headers.
    public var responseHeaders: [(name: String, value: String)] {
        status == .serviceUnavailable ? [(name: "Retry-After", value: "1")] : []
    }
}

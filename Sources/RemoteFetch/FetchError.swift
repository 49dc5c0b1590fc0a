/// Why a fetch failed, and whether trying again later can help.
public enum FetchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not an http or https URL, or not a URL at all.
    case unsupportedURL(String)
    /// The network policy refused the address a connection was about to be opened to.
    case addressRefused(String)
    /// The body is larger than the limit (known from Content-Length, or counted while it arrived).
    case tooLarge(limit: Int)
    /// More redirects than the limit.
    case tooManyRedirects(limit: Int)
    /// The server answered with this status (after redirects).
    case status(Int)
    /// The response's Content-Type is not one an image can have.
    case contentType(String)
    /// No answer within the time limit, or slower than the minimum rate.
    case timedOut(String)
    /// The name did not resolve, the connection failed or broke.
    case network(String)
    /// The TLS handshake failed: a certificate not trusted (see `imports.caFile`) or not for this host.
    case tls(String)
    /// A configuration entry is not a network.
    case invalidNetwork(String)
    /// Given up on request (the job was cancelled or the service is stopping).
    case abandoned

    /// Worth another attempt after a pause: server errors, throttling, time-outs and network failures.
    public var isTransient: Bool {
        switch self {
        case .status(let code): code >= 500 || code == 429 || code == 408
        case .timedOut, .network: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .unsupportedURL(let detail): "unsupported URL: \(detail)"
        case .addressRefused(let detail): "address refused: \(detail)"
        case .tooLarge(let limit): "the body is larger than \(limit) bytes"
        case .tooManyRedirects(let limit): "more than \(limit) redirects"
        case .status(let code): "the server answered HTTP \(code)"
        case .contentType(let type): "content type '\(type.prefix(100))' is not an image's"
        case .timedOut(let detail): "timed out: \(detail)"
        case .network(let detail): "network error: \(detail)"
        case .tls(let detail): "TLS: \(detail)"
        case .invalidNetwork(let detail): detail
        case .abandoned: "abandoned"
        }
    }
}

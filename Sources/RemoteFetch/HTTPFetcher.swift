import CCurl
import Foundation

/// Blocking HTTP(S) GETs of one resource each, within limits checked before the bytes are kept: only http and
/// https (also on redirects), a redirect count, a body size (from Content-Length, then counted), content types an
/// image can have, a connect and a total time limit, a minimum rate, and a ``NetworkPolicy`` applied to every
/// address a connection is opened to. Proxies from the environment are not used. Safe to call from many threads
/// (one curl handle per call).
public struct HTTPFetcher: Sendable {
    public struct Limits: Sendable, Equatable {
        public var maxBytes: Int
        public var maxRedirects: Int
        public var connectTimeoutSeconds: Double
        public var timeoutSeconds: Double
        /// A transfer slower than this many bytes per second for ``lowSpeedSeconds`` is abandoned.
        public var minBytesPerSecond: Int
        public var lowSpeedSeconds: Int

        public init(maxBytes: Int, maxRedirects: Int = 5, connectTimeoutSeconds: Double = 10, timeoutSeconds: Double = 60,
                    minBytesPerSecond: Int = 1024, lowSpeedSeconds: Int = 15) {
            self.maxBytes = maxBytes
            self.maxRedirects = maxRedirects
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.timeoutSeconds = timeoutSeconds
            self.minBytesPerSecond = minBytesPerSecond
            self.lowSpeedSeconds = lowSpeedSeconds
        }
    }

    public let limits: Limits
    public let policy: NetworkPolicy
    /// Certificates (PEM) trusted for https instead of the system's store; nil: the system's.
    public let caFile: String?

    public init(limits: Limits, policy: NetworkPolicy, caFile: String? = nil) {
        _ = Self.globalInitialisation
        self.limits = limits
        self.policy = policy
        self.caFile = caFile
    }

    /// curl's process-wide set-up, once, before any handle (Swift runs a static initialiser exactly once).
    private static let globalInitialisation: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// The body of `url`, or the reason it could not be had. `abandon` is asked about once a second (and as data
    /// arrives): true ends the transfer with ``FetchError/abandoned``.
    public func fetch(_ url: String, abandon: @escaping @Sendable () -> Bool = { false }) throws(FetchError) -> [UInt8] {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), ["http", "https"].contains(scheme),
              parsed.host?.isEmpty == false else {
            throw .unsupportedURL("only http:// and https:// URLs with a host are fetched: '\(url.prefix(200))'")
        }
        guard let handle = curl_easy_init() else { throw .network("curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let transfer = Transfer(policy: policy, maxBytes: limits.maxBytes, handle: handle, abandon: abandon)
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errors in
            _ = lookalike_curl_set_string(handle, CURLOPT_URL, url)
            _ = lookalike_curl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
            _ = lookalike_curl_set_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
            _ = lookalike_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 1)
            _ = lookalike_curl_set_long(handle, CURLOPT_MAXREDIRS, limits.maxRedirects)
            _ = lookalike_curl_set_long(handle, CURLOPT_FAILONERROR, 1)
            _ = lookalike_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
            _ = lookalike_curl_set_string(handle, CURLOPT_PROXY, "")
            _ = lookalike_curl_set_string(handle, CURLOPT_USERAGENT, "lookalike-import/1")
            if let caFile { _ = lookalike_curl_set_string(handle, CURLOPT_CAINFO, caFile) }
            _ = lookalike_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(limits.connectTimeoutSeconds * 1000))
            _ = lookalike_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(limits.timeoutSeconds * 1000))
            _ = lookalike_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, limits.minBytesPerSecond)
            _ = lookalike_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, limits.lowSpeedSeconds)
            _ = lookalike_curl_set_offset(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(limits.maxBytes))
            _ = lookalike_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errors.baseAddress)
            _ = lookalike_curl_set_write_function(handle, Transfer.receive)
            _ = lookalike_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
            _ = lookalike_curl_set_opensocket_function(handle, Transfer.openSocket)
            _ = lookalike_curl_set_pointer(handle, CURLOPT_OPENSOCKETDATA, context)
            _ = lookalike_curl_set_long(handle, CURLOPT_NOPROGRESS, 0)
            _ = lookalike_curl_set_progress_function(handle, Transfer.progress)
            _ = lookalike_curl_set_pointer(handle, CURLOPT_XFERINFODATA, context)
            return curl_easy_perform(handle)
        }
        if code == CURLE_OK { return transfer.body }
        let message = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        throw transfer.error(for: code, message: message, maxRedirects: limits.maxRedirects)
    }
}

/// One transfer's state, reached from curl's callbacks through their context pointer.
private final class Transfer {
    let policy: NetworkPolicy
    let maxBytes: Int
    let handle: UnsafeMutableRawPointer
    var body: [UInt8] = []
    var refusal: String?
    var badContentType: String?
    var overflowed = false
    var checkedHeaders = false
    let abandon: @Sendable () -> Bool
    var abandoned = false

    init(policy: NetworkPolicy, maxBytes: Int, handle: UnsafeMutableRawPointer, abandon: @escaping @Sendable () -> Bool) {
        self.policy = policy
        self.maxBytes = maxBytes
        self.handle = handle
        self.abandon = abandon
    }

    static let progress: curl_xferinfo_callback = { context, _, _, _, _ in
        guard let context else { return 1 }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        if transfer.abandon() {
            transfer.abandoned = true
            return 1
        }
        return 0
    }

    /// Types an image may be served as; a missing type is accepted too (the decoder has the last word).
    static func isAcceptable(contentType: String) -> Bool {
        let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type.isEmpty || type.hasPrefix("image/") || type == "application/octet-stream" || type == "binary/octet-stream"
    }

    static let receive: curl_write_callback = { data, size, count, context in
        guard let context, let data else { return 0 }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        let length = size * count
        if !transfer.checkedHeaders {
            transfer.checkedHeaders = true
            var type: UnsafeMutablePointer<CChar>?
            if lookalike_curl_get_string(transfer.handle, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK, let type {
                let text = String(cString: type)
                if !isAcceptable(contentType: text) {
                    transfer.badContentType = text
                    return 0
                }
            }
        }
        guard transfer.body.count + length <= transfer.maxBytes else {
            transfer.overflowed = true
            return 0
        }
        data.withMemoryRebound(to: UInt8.self, capacity: length) { transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length)) }
        return length
    }

    static let openSocket: curl_opensocket_callback = { context, _, address in
        guard let context, let address else { return CURL_SOCKET_BAD }
        let transfer = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
        let refusal: String? = withUnsafePointer(to: &address.pointee.addr) { socketAddress in
            guard let bytes = IPNetwork.bytes(of: socketAddress), let port = IPNetwork.port(of: socketAddress) else {
                return "an address of an unsupported family"
            }
            return transfer.policy.refusal(address: bytes, port: port)
        }
        if let refusal {
            transfer.refusal = refusal
            return CURL_SOCKET_BAD
        }
        return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
    }

    func error(for code: CURLcode, message: String, maxRedirects: Int) -> FetchError {
        if abandoned { return .abandoned }
        if let refusal { return .addressRefused(refusal) }
        if let badContentType { return .contentType(badContentType) }
        if overflowed || code == CURLE_FILESIZE_EXCEEDED { return .tooLarge(limit: maxBytes) }
        switch code {
        case CURLE_HTTP_RETURNED_ERROR:
            var status = 0
            _ = lookalike_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
            return .status(status)
        case CURLE_TOO_MANY_REDIRECTS: return .tooManyRedirects(limit: maxRedirects)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT: return .unsupportedURL(message)
        case CURLE_OPERATION_TIMEDOUT: return .timedOut(message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM:
            return .tls(message)
        default: return .network(message.isEmpty ? "curl error \(code.rawValue)" : message)
        }
    }
}

public import HTTPCore
/// An incremental HTTP/1.1 request parser: a byte-level state machine fed with whatever the socket delivered.
///
/// It handles request line, headers, `Content-Length`, chunked transfer coding with trailers,
/// `Expect: 100-continue` and pipelining (bytes after one request start the next). It rejects the shapes used
/// for request smuggling: both `Content-Length` and `Transfer-Encoding`, conflicting lengths, obsolete line
/// folding, malformed chunk sizes; and it enforces ``HTTPLimits`` as soon as a limit is crossed.
public struct HTTPRequestParser: Sendable {
    /// A request that cannot be served, with the status to answer before closing.
    public struct Failure: HTTPResponseError, Sendable, Equatable {
        public let status: HTTPStatus
        public let reason: String
        public var description: String { reason }
    }

    public enum Event: Sendable {
        /// A complete request.
        case request(HTTPRequest)
        /// The head of a request asking `Expect: 100-continue` is complete; send `100 Continue` to get the body.
        case expectContinue
        /// More bytes are needed.
        case needMoreData
    }

    private enum State {
        case requestLine
        case headers
        case body(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
    }

    public let limits: HTTPLimits
    private var buffer: [UInt8] = []
    private var position = 0
    private var state = State.requestLine
    private var request = HTTPRequest(method: HTTPMethod(""), target: "")
    private var headerBytes = 0
    private var continuePending = false

    public init(limits: HTTPLimits = HTTPLimits()) {
        self.limits = limits
    }

    /// Whether part of a request has been received (used to tell an idle connection from a slow one).
    public var isMidRequest: Bool {
        if case .requestLine = state { return position < buffer.count }
        return true
    }

    /// Whether the head is complete and the body is being received.
    public var isReadingBody: Bool {
        switch state {
        case .requestLine, .headers: return false
        default: return true
        }
    }

    /// Body bytes received so far for the current request.
    public var bodyBytesReceived: Int { request.body.count }

    public mutating func append(_ bytes: some Collection<UInt8>) {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        } else if position > 65_536 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Parses as far as the buffered bytes allow.
    public mutating func next() throws(Failure) -> Event {
        while true {
            switch state {
            case .requestLine:
                guard let line = try readLine(limit: limits.maxRequestLineBytes, status: .uriTooLong) else {
                    return .needMoreData
                }
                if line.isEmpty { continue }  // tolerate blank lines between pipelined requests (RFC 9112 §2.2)
                try parseRequestLine(line)
                state = .headers
            case .headers:
                guard let line = try readLine(limit: limits.maxHeaderBytes - headerBytes, status: .requestHeaderFieldsTooLarge) else {
                    return .needMoreData
                }
                headerBytes += line.count + 2
                if line.isEmpty {
                    if let event = try finishHead() { return event }
                    continue
                }
                try parseHeaderLine(line, into: &request.headers)
            case .body(let remaining):
                let available = min(remaining, buffer.count - position)
                request.body.append(contentsOf: buffer[position..<(position + available)])
                position += available
                if remaining - available > 0 {
                    state = .body(remaining: remaining - available)
                    return .needMoreData
                }
                return .request(complete())
            case .chunkSize:
                guard let line = try readLine(limit: 1024, status: .badRequest) else { return .needMoreData }
                let sizeText = line.prefix { $0 != UInt8(ascii: ";") }
                guard !sizeText.isEmpty, sizeText.count <= 15,
                      sizeText.allSatisfy({ Self.isHexDigit($0) }),
                      let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16) else {
                    throw Failure(status: .badRequest, reason: "malformed chunk size")
                }
                if size == 0 {
                    state = .trailers
                } else {
                    guard request.body.count + size <= limits.maxBodyBytes else {
                        throw Failure(status: .contentTooLarge, reason: "body larger than \(limits.maxBodyBytes) bytes")
                    }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let available = min(remaining, buffer.count - position)
                request.body.append(contentsOf: buffer[position..<(position + available)])
                position += available
                if remaining - available > 0 {
                    state = .chunkData(remaining: remaining - available)
                    return .needMoreData
                }
                state = .chunkDataEnd
            case .chunkDataEnd:
                guard buffer.count - position >= 2 else { return .needMoreData }
                guard buffer[position] == 13, buffer[position + 1] == 10 else {
                    throw Failure(status: .badRequest, reason: "chunk data not followed by CRLF")
                }
                position += 2
                state = .chunkSize
            case .trailers:
                guard let line = try readLine(limit: limits.maxHeaderBytes - headerBytes, status: .requestHeaderFieldsTooLarge) else {
                    return .needMoreData
                }
                headerBytes += line.count + 2
                if line.isEmpty { return .request(complete()) }
                var trailers: [(name: String, value: String)] = []
                try parseHeaderLine(line, into: &trailers)  // validated, then dropped: no trailer is meaningful to us
            }
        }
    }

    private mutating func complete() -> HTTPRequest {
        let finished = request
        request = HTTPRequest(method: HTTPMethod(""), target: "")
        headerBytes = 0
        state = .requestLine
        return finished
    }

    /// The next line without its terminator (CRLF, or a bare LF), or nil if incomplete.
    private mutating func readLine(limit: Int, status: HTTPStatus) throws(Failure) -> [UInt8]? {
        let end = min(buffer.count, position + max(limit, 0) + 2)
        var index = position
        while index < end {
            if buffer[index] == 10 {
                var line = Array(buffer[position..<index])
                if line.last == 13 { line.removeLast() }
                position = index + 1
                if line.contains(13) { throw Failure(status: .badRequest, reason: "bare CR in header section") }
                return line
            }
            index += 1
        }
        if buffer.count - position > limit {
            throw Failure(status: status, reason: status == .uriTooLong ? "request line too long" : "header section too large")
        }
        return nil
    }

    private mutating func parseRequestLine(_ line: [UInt8]) throws(Failure) {
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw Failure(status: .badRequest, reason: "malformed request line")
        }
        guard parts[0].allSatisfy(Self.isTokenCharacter) else { throw Failure(status: .badRequest, reason: "malformed method") }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/") || (target.count == 1 && target.first == UInt8(ascii: "*")),
              target.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw Failure(status: .badRequest, reason: "malformed request target")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        let parsedVersion: (Int, Int)
        switch version {
        case "HTTP/1.1": parsedVersion = (1, 1)
        case "HTTP/1.0": parsedVersion = (1, 0)
        default:
            if version.hasPrefix("HTTP/") { throw Failure(status: .httpVersionNotSupported, reason: "unsupported version \(version)") }
            throw Failure(status: .badRequest, reason: "malformed HTTP version")
        }
        request = HTTPRequest(method: HTTPMethod(String(decoding: parts[0], as: UTF8.self)),
                              target: String(decoding: target, as: UTF8.self), version: parsedVersion)
        headerBytes = line.count + 2
    }

    private func parseHeaderLine(_ line: [UInt8], into headers: inout [(name: String, value: String)]) throws(Failure) {
        if line.first == 32 || line.first == 9 { throw Failure(status: .badRequest, reason: "obsolete header line folding") }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else {
            throw Failure(status: .badRequest, reason: "malformed header field")
        }
        let name = line[..<colon]
        guard name.allSatisfy(Self.isTokenCharacter) else { throw Failure(status: .badRequest, reason: "malformed header name") }
        guard headers.count < limits.maxHeaderCount else {
            throw Failure(status: .requestHeaderFieldsTooLarge, reason: "more than \(limits.maxHeaderCount) header fields")
        }
        var value = line[(colon + 1)...]
        while let first = value.first, first == 32 || first == 9 { value = value.dropFirst() }
        while let last = value.last, last == 32 || last == 9 { value = value.dropLast() }
        guard !value.contains(0) else { throw Failure(status: .badRequest, reason: "NUL in header value") }
        headers.append((name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
    }

    /// Decides how the body is framed once the head is complete.
    private mutating func finishHead() throws(Failure) -> Event? {
        let lengths = request.headers.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        let encodings = request.headers.filter { $0.name.lowercased() == "transfer-encoding" }.map(\.value)
        if request.version.minor >= 1 && request.header("Host") == nil {
            throw Failure(status: .badRequest, reason: "missing Host header")
        }
        if !encodings.isEmpty && !lengths.isEmpty {
            throw Failure(status: .badRequest, reason: "both Content-Length and Transfer-Encoding")
        }
        var chunked = false
        var length = 0
        if !encodings.isEmpty {
            let codings = encodings.joined(separator: ",").split(separator: ",")
                .map { $0.trimmingCharacters(in: " \t").lowercased() }
            guard codings == ["chunked"] else {
                throw Failure(status: codings.last == "chunked" ? .notImplemented : .badRequest, reason: "unsupported transfer coding")
            }
            guard request.version.minor >= 1 else { throw Failure(status: .badRequest, reason: "chunked body in HTTP/1.0") }
            chunked = true
        } else if !lengths.isEmpty {
            let values = Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: " \t") } })
            guard values.count == 1, let text = values.first, !text.isEmpty, text.count <= 18,
                  text.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text) else {
                throw Failure(status: .badRequest, reason: "invalid or conflicting Content-Length")
            }
            guard value <= limits.maxBodyBytes else {
                throw Failure(status: .contentTooLarge, reason: "body of \(value) bytes is larger than \(limits.maxBodyBytes)")
            }
            length = value
        }
        if let expect = request.header("Expect") {
            guard expect.lowercased() == "100-continue" else { throw Failure(status: .expectationFailed, reason: "unsupported Expect") }
        }
        if chunked {
            state = .chunkSize
        } else if length > 0 {
            state = .body(remaining: length)
        } else {
            return .request(complete())
        }
        request.body.reserveCapacity(min(length, 1 << 20))
        if request.header("Expect") != nil && position == buffer.count {
            return .expectContinue
        }
        return nil
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String { self[...].trimmingCharacters(in: set) }
}

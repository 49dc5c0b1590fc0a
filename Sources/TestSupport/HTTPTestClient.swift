import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A blocking HTTP/1.1 client over a real TCP socket, for server tests: send raw bytes, read whole responses.
public final class HTTPTestClient {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]  // lower-cased names
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]) ?? [:] }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    /// Set for the response to a HEAD request, which has headers only.
    public var expectNoBody = false

    /// Connects to `127.0.0.1:port`; reads time out after `timeout` seconds.
    public init(port: Int, timeout: Double = 30) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw Failure(description: "connect failed: errno \(errno)")
        }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw Failure(description: "recv failed or timed out: errno \(errno)") }
        if count == 0 { return false }
        buffer += chunk[0..<count]
        return true
    }

    /// Reads one response (Content-Length framed, or until close).
    public func readResponse() throws -> Response {
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headerEnd == nil { guard try fill() else { throw Failure(description: "connection closed before a response") } }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(description: "bad status line: \(head)") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        buffer.removeFirst(headerEnd! + 4)
        if (100...199).contains(status) || status == 204 || status == 304 || expectNoBody {
            expectNoBody = false
            return Response(status: status, headers: headers, body: [])
        }
        if let length = headers["content-length"].flatMap(Int.init) {
            while buffer.count < length { guard try fill() else { throw Failure(description: "body cut short") } }
            let body = Array(buffer[0..<length])
            buffer.removeFirst(length)
            return Response(status: status, headers: headers, body: body)
        }
        while try fill() {}
        defer { buffer = [] }
        return Response(status: status, headers: headers, body: buffer)
    }

    /// Whether the server closed the connection (reads EOF within the receive timeout).
    /// Whether the server closed the connection: an orderly end of stream, or a reset (a server closing with
    /// request bytes still unread resets the connection).
    public func isClosedByPeer() -> Bool {
        do {
            return try fill() == false
        } catch {
            return errno == ECONNRESET
        }
    }

    /// Sends a request and reads its response.
    public func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> Response {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || ["POST", "PUT"].contains(method) { head += "Content-Length: \(body.count)\r\n" }
        try send(Array((head + "\r\n").utf8) + body)
        return try readResponse()
    }

    /// A multipart/form-data body and its Content-Type.
    public static func multipart(_ parts: [(name: String, filename: String?, body: [UInt8])]) -> (contentType: String, body: [UInt8]) {
        let boundary = "lookalike-test-\(UInt32.random(in: 0...UInt32.max))"
        var body: [UInt8] = []
        for part in parts {
            var header = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
            if let filename = part.filename { header += "; filename=\"\(filename)\"" }
            header += "\r\n\r\n"
            body += Array(header.utf8) + part.body + Array("\r\n".utf8)
        }
        body += Array("--\(boundary)--\r\n".utf8)
        return ("multipart/form-data; boundary=\(boundary)", body)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in 0...(haystack.count - needle.count) where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index
        }
        return nil
    }
}

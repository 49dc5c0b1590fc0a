public import HTTPCore
import Dispatch
import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// One client connection, served on its own thread until it closes.
/// `@unchecked Sendable` is safe because a connection is only ever used by the one thread that serves it.
final class Connection: @unchecked Sendable {
    private let descriptor: Int32
    private let remoteAddress: String
    private let limits: HTTPLimits
    private let handler: HTTPServer.Handler
    private let state: ServerState
    private var parser: HTTPRequestParser

    init(descriptor: Int32, remoteAddress: String, limits: HTTPLimits, handler: @escaping HTTPServer.Handler, state: ServerState) {
        self.descriptor = descriptor
        self.remoteAddress = remoteAddress
        self.limits = limits
        self.handler = handler
        self.state = state
        self.parser = HTTPRequestParser(limits: limits)
    }

    func run() {
        defer {
            close(descriptor)
            state.closeConnection()
        }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var requestStart: Double? = nil  // when the first byte of the current request arrived
        var bodyStart: Double? = nil
        var idleSince = Self.now()
        while true {
            // Serve every complete request already buffered (pipelining), in order.
            while true {
                let event: HTTPRequestParser.Event
                do {
                    event = try parser.next()
                } catch {
                    _ = Self.sendAll(descriptor, HTTPResponse.problem(status: error.status, detail: error.reason)
                        .serialized(keepAlive: false))
                    return
                }
                switch event {
                case .needMoreData:
                    break
                case .expectContinue:
                    guard Self.sendAll(descriptor, Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { return }
                    continue
                case .request(let request):
                    requestStart = nil
                    bodyStart = nil
                    let response = respond(to: request)
                    let keepAlive = request.keepAlive && !state.isDraining
                    let bytes = response.serialized(keepAlive: keepAlive, includeBody: request.method != .head)
                    guard Self.sendAll(descriptor, bytes), keepAlive else { return }
                    idleSince = Self.now()
                    continue
                }
                break
            }
            if state.isDraining && !parser.isMidRequest { return }

            // Wait for bytes, with the deadline that applies to where we are in the request.
            let now = Self.now()
            let deadline: Double
            if !parser.isMidRequest {
                deadline = idleSince + limits.idleTimeout
            } else if !parser.isReadingBody {
                deadline = (requestStart ?? now) + limits.headerTimeout
            } else {
                let started = bodyStart ?? now
                bodyStart = started
                deadline = started + limits.headerTimeout
                    + Double(max(parser.bodyBytesReceived, 1)) / limits.minBodyBytesPerSecond
            }
            if now >= deadline {
                if parser.isMidRequest {
                    _ = Self.sendAll(descriptor, HTTPResponse.problem(status: .requestTimeout, detail: "request not received in time")
                        .serialized(keepAlive: false))
                }
                return
            }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let wait = Int32(min((deadline - now) * 1000, 250).rounded(.up))  // wake up to notice shutdown
            let ready = poll(&poller, 1, max(wait, 1))
            if ready < 0 && errno != EINTR { return }
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if count <= 0 { return }
            if !parser.isMidRequest { requestStart = Self.now() }
            parser.append(buffer[0..<count])
        }
    }

    private func respond(to request: HTTPRequest) -> HTTPResponse {
        var request = request
        request.remoteAddress = remoteAddress
        return handler(request)
    }

    /// Writes all of `bytes`; false if the peer is gone or the send timed out.
    static func sendAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += sent
        }
        return true
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

extension HTTPResponse {
    /// An `application/problem+json` (RFC 9457) error response.
    public static func problem(status: HTTPStatus, detail: String, type: String = "about:blank") -> HTTPResponse {
        let body = "{\"type\":\(JSONText.quote(type)),\"title\":\(JSONText.quote(status.reasonPhrase)),\"status\":\(status.code),\"detail\":\(JSONText.quote(detail))}"
        return HTTPResponse(status: status, contentType: "application/problem+json", body: body)
    }
}

/// Minimal JSON string quoting for the server's own error bodies.
public enum JSONText {
    public static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

import NIOConcurrencyHelpers
import Dispatch
import Foundation
import Synchronization
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An HTTP/1.1 server on POSIX sockets.
///
/// Concurrency model: one accept loop per listening socket, each on its own Dispatch queue; every accepted
/// connection gets its own thread, which reads with `poll` timeouts, parses with ``HTTPRequestParser`` and calls
/// the handler on that thread, one request at a time per connection, in order (so pipelined requests are
/// answered in order). Open connections are capped by ``HTTPLimits/maxConnections``: beyond it a
/// connection gets `503` and is closed at once. Blocking socket work never runs on Swift's cooperative pool.
public final class HTTPServer: Sendable {
    /// Called on the connection's own thread; it may block (for inference) without touching Swift's
    /// cooperative pool, so a slow request never starves other connections or async code.
    public typealias Handler = @Sendable (HTTPRequest) -> HTTPResponse

    public struct Configuration: Sendable {
        /// Addresses to listen on (default `0.0.0.0` and `::`).
        public var hosts: [String]
        /// TCP port (0: any free port, see ``HTTPServer/port``).
        public var port: Int
        public var limits: HTTPLimits

        public init(hosts: [String] = ["0.0.0.0", "::"], port: Int = 8080, limits: HTTPLimits = HTTPLimits()) {
            self.hosts = hosts
            self.port = port
            self.limits = limits
        }
    }

    public let configuration: Configuration
    private let handler: Handler
    private let state: ServerState

    /// The bound port (useful with port 0).
    public var port: Int { state.port }

    public init(configuration: Configuration, handler: @escaping Handler) {
        self.configuration = configuration
        self.handler = handler
        self.state = ServerState()
    }

    /// Binds every configured address and starts accepting. Returns once listening.
    public func start() throws {
        var sockets: [ListeningSocket] = []
        var port = configuration.port
        do {
            for host in configuration.hosts {
                let socket = try ListeningSocket(host: host, port: port)
                port = socket.port  // later addresses share the first one's port
                sockets.append(socket)
            }
        } catch {
            for socket in sockets { close(socket.descriptor) }
            throw error
        }
        state.setListening(sockets.map(\.descriptor), port: port)
        for socket in sockets {
            let descriptor = socket.descriptor
            DispatchQueue(label: "lookalike.http.accept.\(descriptor)").async { [self] in acceptLoop(descriptor) }
        }
    }

    /// Stops accepting, lets in-flight requests finish for up to `deadline` seconds, then returns.
    public func shutdown(deadline: Double = 10) {
        state.beginDraining()
        let end = Date().addingTimeInterval(deadline)
        while state.openConnections > 0 && Date() < end { usleep(20_000) }
    }

    public var openConnections: Int { state.openConnections }

    /// The numeric IP address of an IPv4 or IPv6 peer (an IPv4-mapped IPv6 address as IPv4).
    static func address(of peer: sockaddr_storage) -> String {
        var peer = peer
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(peer.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var ip = address.pointee.sin_addr
                    return inet_ntop(AF_INET, &ip, &text, socklen_t(text.count)) != nil ? String(cString: text) : ""
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var ip = address.pointee.sin6_addr
                    guard inet_ntop(AF_INET6, &ip, &text, socklen_t(text.count)) != nil else { return "" }
                    let name = String(cString: text)
                    return name.hasPrefix("::ffff:") && name.contains(".") ? String(name.dropFirst(7)) : name
                }
            }
        default:
            return ""
        }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let client = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &peerLength) }
            }
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if errno == EMFILE || errno == ENFILE { usleep(10_000); continue }
                return  // the listener was closed
            }
            if state.isDraining { close(client); continue }
            var on: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            var sendTimeout = timeval(tv_sec: 30, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
            guard state.tryOpenConnection(limit: configuration.limits.maxConnections) else {
                let response = HTTPResponse.problem(status: .serviceUnavailable, detail: "too many open connections")
                _ = Connection.sendAll(client, response.serialized(keepAlive: false))
                close(client)
                continue
            }
            let connection = Connection(descriptor: client, remoteAddress: Self.address(of: peer), limits: configuration.limits,
                                        handler: handler, state: state)
            let thread = Thread { connection.run() }
            thread.stackSize = 512 * 1024
            thread.start()
        }
    }
}

/// Shared server state: listening sockets, the connection count, and the draining flag.
///
final class ServerState: Sendable {
    private struct State {
        var listeners: [Int32] = []
        var port = 0
        var connections = 0
    }
    private let state = NIOLockedValueBox(State())
    /// Read by every request: an atomic, so requests never queue on a lock to learn that nothing changed.
    private let draining = Atomic(false)

    var port: Int { state.withLockedValue { $0.port } }
    var openConnections: Int { state.withLockedValue { $0.connections } }
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    func setListening(_ descriptors: [Int32], port: Int) {
        state.withLockedValue {
            $0.listeners = descriptors
            $0.port = port
        }
    }

    func tryOpenConnection(limit: Int) -> Bool {
        state.withLockedValue {
            guard $0.connections < limit else { return false }
            $0.connections += 1
            return true
        }
    }

    func closeConnection() {
        state.withLockedValue { $0.connections -= 1 }
    }

    func beginDraining() {
        draining.store(true, ordering: .releasing)
        let descriptors = state.withLockedValue { state -> [Int32] in
            defer { state.listeners = [] }
            return state.listeners
        }
        for descriptor in descriptors {
            shutdown(descriptor, Int32(SHUT_RDWR))
            close(descriptor)
        }
    }
}

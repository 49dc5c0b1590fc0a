#if PostgreSQL
import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// Connections to one PostgreSQL database for callers on threads of their own (the service's request and
/// worker threads): a caller checks a connection out, runs its statements, and blocks only itself while they
/// run on the pool's event loops.
///
/// A connection that fails is closed and replaced on the next checkout, so a restarted server is reconnected
/// to without anyone's help; while it is down, checkouts fail fast with ``PostgresStorageError/unavailable(_:)``
/// instead of queueing behind a timeout.
///
/// `@unchecked Sendable` is safe because `idle`, `open` and `nextID` change only under `condition`.
final class PostgresConnectionPool: @unchecked Sendable {
    let location: PostgresLocation
    private let maxConnections: Int
    private let group: MultiThreadedEventLoopGroup
    private let configuration: PostgresConnection.Configuration
    private let logger: Logger
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var nextID = 0
    private var closed = false

    /// How long a connection attempt may take.
    static let connectSeconds: Int64 = 5

    init(location: PostgresLocation, maxConnections: Int, logger: Logger) throws {
        self.location = location
        self.maxConnections = max(1, maxConnections)
        self.logger = logger
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable:
            tls = .disable
        case .prefer, .require:
            // libpq's prefer and require encrypt without checking the certificate; verify-full checks it.
            var settings = TLSConfiguration.makeClientConfiguration()
            settings.certificateVerification = .none
            let context: NIOSSLContext
            do { context = try NIOSSLContext(configuration: settings) } catch {
                throw PostgresStorageError.invalidURL("TLS: \(error)")
            }
            tls = location.tls == .prefer ? .prefer(context) : .require(context)
        case .verifyFull:
            do { tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration())) } catch {
                throw PostgresStorageError.invalidURL("TLS: \(error)")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    deinit {
        try? group.syncShutdownGracefully()
    }

    /// Opens a connection outside the pool (for `LISTEN`, which holds one for good).
    func connect() throws -> PostgresConnection {
        let id = condition.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger)
                .wait(seconds: Self.connectSeconds, doing: "connect")
        } catch {
            throw PostgresStorageError.unavailable("\(location): \(Self.describe(error))")
        }
    }

    /// Runs `body` with a connection of its own. A connection on which `body` hit a connection-level error is
    /// closed rather than returned.
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        condition.lock()
        while idle.isEmpty && open >= maxConnections && !closed { condition.wait() }
        if closed {
            condition.unlock()
            throw PostgresStorageError.unavailable("the store is closed")
        }
        var connection = idle.popLast()
        if connection == nil { open += 1 }
        condition.unlock()
        // One that closed while idle (the server restarted) is replaced.
        if let existing = connection, existing.isClosed {
            existing.closeInBackground()
            connection = nil
        }
        let active: PostgresConnection
        do {
            active = try connection ?? connect()
        } catch {
            release(nil)
            throw error
        }
        do {
            let result = try body(active)
            release(active)
            return result
        } catch {
            if Self.isConnectionLevel(error) || active.isClosed {
                active.closeInBackground()
                release(nil)
                // The server restarted or went away: the idle connections went with it.
                discardIdle()
            } else {
                release(active)
            }
            throw error
        }
    }

    private func release(_ connection: PostgresConnection?) {
        condition.withLock {
            if let connection, !closed { idle.append(connection) } else { open -= 1 }
            condition.signal()
        }
        if closed, let connection { connection.closeInBackground() }
    }

    /// Closes the idle connections; checkouts open new ones.
    private func discardIdle() {
        let connections = condition.withLock { () -> [PostgresConnection] in
            defer {
                open -= idle.count
                idle.removeAll()
                condition.broadcast()
            }
            return idle
        }
        for connection in connections { connection.closeInBackground() }
    }

    /// Closes every idle connection; later checkouts fail.
    func shutdown() {
        let connections = condition.withLock { () -> [PostgresConnection] in
            closed = true
            defer { idle.removeAll() }
            condition.broadcast()
            return idle
        }
        for connection in connections { connection.closeInBackground() }
    }

    /// Whether `error` says the connection itself is unusable (as opposed to one statement failing).
    static func isConnectionLevel(_ error: any Error) -> Bool {
        if let error = error as? PostgresStorageError, case .unavailable = error { return true }
        if error is ChannelError || error is IOError { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .server:
            // Class 08 (connection exception), 57P01…57P03 (the server shutting down or starting), and 25006
            // (a write on a read-only server: after a failover, a connection still attached to the old leader,
            // now a standby; a fresh connection reaches the new leader).
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state == "25006"
        case .sslUnsupported, .failedToAddSSLHandler, .receivedUnencryptedDataAfterSSLRequest, .messageDecodingFailure,
             .unexpectedBackendMessage, .clientClosedConnection, .serverClosedConnection, .connectionError,
             .uncleanShutdown:
            return true
        default:
            return false
        }
    }

    /// A readable account of a postgres-nio error (its `description` hides the server's message).
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo {
            return [info[.sqlState], info[.message], info[.detail]].compactMap { $0 }.joined(separator: ": ")
        }
        return "\(error.code)" + (error.underlying.map { " (\($0))" } ?? "")
    }
}
#endif

#if PostgreSQL
public import Foundation
import Logging
import NIOPosix
import PostgresNIO

/// The PostgreSQL server `scripts/test` starts (`LOOKALIKE_TEST_POSTGRES_URL`), and a fresh database on it per
/// test so that tests run side by side without seeing each other's rows.
public enum TestPostgres {
    /// The server's URL, or nil when none is configured (the PostgreSQL cases are then not run; `scripts/test`
    /// always starts one).
    public static var serverURL: String? {
        let url = ProcessInfo.processInfo.environment["LOOKALIKE_TEST_POSTGRES_URL"] ?? ""
        return url.isEmpty ? nil : url
    }

    public static var isAvailable: Bool { serverURL != nil }

    /// Creates an empty database and returns its URL (the server's URL with the database name replaced).
    public static func freshDatabase() throws -> String {
        guard let server = serverURL, var components = URLComponents(string: server) else {
            throw TestPostgresError(message: "LOOKALIKE_TEST_POSTGRES_URL is not set")
        }
        let name = "lookalike_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try execute("CREATE DATABASE \(name)", on: components)
        components.path = "/" + name
        return components.string ?? server
    }

    /// Runs one statement on the database `components` names, as the URL's user.
    public static func execute(_ sql: String, on components: URLComponents) throws {
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()).isEmpty ? nil : String(components.path.dropFirst()),
            tls: .disable)
        let logger = Logger(label: "lookalike.tests.postgres")
        let connection = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger).wait()
        defer { try? connection.close().wait() }
        _ = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
    }

    /// The first column of the first row of a query that returns an integer, on the database `url` names.
    public static func integer(_ sql: String, url: String) throws -> Int64? {
        guard let components = URLComponents(string: url) else { throw TestPostgresError(message: "not a URL: \(url)") }
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: String(components.path.dropFirst()), tls: .disable)
        let logger = Logger(label: "lookalike.tests.postgres")
        let connection = try PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger).wait()
        defer { try? connection.close().wait() }
        let rows = try connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).wait()
        return try rows.first?.makeRandomAccess()[0].decode(Int64?.self)
    }

    /// Runs one statement on the database `url` names.
    public static func execute(_ sql: String, url: String) throws {
        guard let components = URLComponents(string: url) else { throw TestPostgresError(message: "not a URL: \(url)") }
        try execute(sql, on: components)
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
#endif

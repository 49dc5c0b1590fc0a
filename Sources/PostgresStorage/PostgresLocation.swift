import Foundation

/// Where a PostgreSQL database is and how to log in, from a `postgresql://` URL completed by libpq's `PG*`
/// environment variables (a URL's parts win; what neither names takes libpq's default).
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Equatable {
        /// Plain TCP (`sslmode=disable`).
        case disable
        /// TLS when the server offers it (`sslmode=prefer`, libpq's default; `allow` is read as this).
        case prefer
        /// TLS or nothing (`require`, `verify-ca` and `verify-full`; the latter two verify the certificate).
        case require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int, user: String, password: String?, database: String, tls: TLSMode) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// The URL without its password, for logs and errors.
    public var description: String {
        "postgresql://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?sslmode=\(tls.rawValue)"
    }

    /// Whether `text` names a PostgreSQL database rather than a SQLite file.
    public static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// Parses `postgresql://[user[:password]@][host][:port][/database][?sslmode=…]`; absent parts come from
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, then libpq's defaults.
    /// `environment` defaults to the process's.
    public init(url text: String, environment: [String: String]? = nil) throws(PostgresStorageError) {
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard Self.isPostgresURL(text), text.utf8.count <= 4096 else {
            throw .invalidURL("expected postgresql://user:password@host:port/database")
        }
        guard let components = URLComponents(string: text) else { throw .invalidURL("not a URL") }
        func decoded(_ value: String?) -> String? {
            guard let value, !value.isEmpty else { return nil }
            return value.removingPercentEncoding ?? value
        }
        let user = decoded(components.percentEncodedUser) ?? environment["PGUSER"] ?? NSUserName()
        self.user = user
        password = decoded(components.percentEncodedPassword) ?? environment["PGPASSWORD"]
        host = decoded(components.percentEncodedHost).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]")) }
            ?? environment["PGHOST"] ?? "localhost"
        if let port = components.port {
            self.port = port
        } else if let text = environment["PGPORT"] {
            guard let port = Int(text) else { throw .invalidURL("PGPORT '\(text)' is not a port number") }
            self.port = port
        } else {
            port = 5432
        }
        guard (1...65_535).contains(port) else { throw .invalidURL("port \(port) is out of range") }
        let path = decoded(String(components.percentEncodedPath.drop { $0 == "/" }))
        database = path ?? environment["PGDATABASE"] ?? user
        var mode = environment["PGSSLMODE"] ?? "prefer"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode": mode = item.value ?? ""
            case "user": self.user = item.value ?? self.user
            case "password": password = item.value
            case "host": host = item.value ?? host
            case "application_name", "connect_timeout": break
            default: throw .invalidURL("unknown parameter '\(item.name.prefix(40))'")
            }
        }
        switch mode {
        case "disable": tls = .disable
        case "allow", "prefer": tls = .prefer
        case "require", "verify-ca": tls = .require
        case "verify-full": tls = .verifyFull
        default: throw .invalidURL("sslmode '\(mode.prefix(40))' is not one of disable, allow, prefer, require, verify-ca, verify-full")
        }
    }
}

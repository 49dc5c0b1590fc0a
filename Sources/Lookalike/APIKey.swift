import Storage

/// One entry of `server.apiKeys`: a bearer secret, the role it grants and, optionally, the only collections it
/// may touch.
///
/// Written `SECRET` (an admin key, as keys were before roles), `ROLE:SECRET`, or `ROLE:SECRET:NAME+NAME` with
/// `ROLE` one of `read`, `write`, `admin`: one string per key, so that the list also fits an environment variable.
public struct APIKey: Sendable, Equatable {
    /// What a key may do; each role includes the ones before it.
    public enum Role: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        /// Reads: listing, search, statistics.
        case read
        /// Reads, and uploading, changing and deleting images.
        case write
        /// Everything: also creating and deleting collections, and backups.
        case admin

        public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .read: "read"
            case .write: "write"
            case .admin: "admin"
            }
        }

        init?(name: Substring) {
            guard let role = Role.allCases.first(where: { $0.description == name }) else { return nil }
            self = role
        }
    }

    public let secret: [UInt8]
    public let role: Role
    /// nil: every collection.
    public let collections: Set<String>?

    /// Shortest secret accepted.
    public static let minimumSecretLength = 16

    public init(secret: String, role: Role, collections: Set<String>? = nil) {
        self.secret = Array(secret.utf8)
        self.role = role
        self.collections = collections
    }

    /// Parses one configuration entry; the message says what is wrong without repeating the secret.
    public init(parsing entry: String) throws(Configuration.Error) {
        let fields = entry.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 2, let role = Role(name: fields[0]) else {
            try Self.checkSecret(entry)
            self.init(secret: entry, role: .admin)
            return
        }
        guard fields.count <= 3 else {
            throw Configuration.Error(key: "server.apiKeys", message: "a '\(role):…' key has the form ROLE:SECRET or ROLE:SECRET:NAME+NAME")
        }
        try Self.checkSecret(fields[1])
        var collections: Set<String>? = nil
        if fields.count == 3 {
            let names = fields[2].split(separator: "+", omittingEmptySubsequences: false).map(String.init)
            guard !names.isEmpty, names.allSatisfy(StoredCollection.isValidName) else {
                throw Configuration.Error(key: "server.apiKeys", message: "a '\(role):…' key lists an invalid collection name")
            }
            collections = Set(names)
        }
        self.init(secret: String(fields[1]), role: role, collections: collections)
    }

    private static func checkSecret(_ secret: Substring) throws(Configuration.Error) {
        try checkSecret(String(secret))
    }

    private static func checkSecret(_ secret: String) throws(Configuration.Error) {
        guard secret.utf8.count >= minimumSecretLength else {
            throw Configuration.Error(key: "server.apiKeys", message: "each key must have at least \(minimumSecretLength) characters")
        }
        guard secret.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) else {
            throw Configuration.Error(key: "server.apiKeys", message: "a key must be printable ASCII without spaces")
        }
    }

    /// Whether this key may touch `collection` (nil: a route about no single collection).
    public func mayTouch(_ collection: String?) -> Bool {
        guard let collections else { return true }
        guard let collection else { return false }
        return collections.contains(collection)
    }
}

/// A named step of a store's schema: its statements move the schema from version `n` to `n + 1`, where `n` is
/// the step's place in the store's list. Each store keeps one ordered list in its own SQL dialect and one runner
/// that applies ``pending(_:from:)`` in a transaction per step (PostgreSQL: all of them in one), recording the
/// version reached.
public struct SchemaMigration: Sendable {
    public let name: String
    public let statements: [String]
    /// Runs with foreign-key enforcement off (it rebuilds a table that others reference; SQLite).
    public let rebuildsTables: Bool

    public init(name: String, statements: [String], rebuildsTables: Bool = false) {
        self.name = name
        self.statements = statements
        self.rebuildsTables = rebuildsTables
    }

    /// One script of statements.
    public init(name: String, sql: String, rebuildsTables: Bool = false) {
        self.init(name: name, statements: [sql], rebuildsTables: rebuildsTables)
    }

    /// The steps a database at schema `version` still needs, each with the version it reaches; refuses a
    /// database newer than `list` knows.
    public static func pending(_ list: [SchemaMigration], from version: Int) throws(StorageError) -> [(reaches: Int, migration: SchemaMigration)] {
        guard version <= list.count else { throw .unsupportedSchema(found: version, supported: list.count) }
        return (max(0, version)..<list.count).map { ($0 + 1, list[$0]) }
    }
}

/// The SQL types a store's dialect spells differently.
public enum SQLDialect: Sendable {
    case sqlite
    case postgresql

    var integer: String { self == .sqlite ? "INTEGER" : "BIGINT" }
    var blob: String { self == .sqlite ? "BLOB" : "BYTEA" }
    var real: String { self == .sqlite ? "REAL" : "DOUBLE PRECISION" }
    var serialKey: String { self == .sqlite ? "INTEGER PRIMARY KEY" : "BIGSERIAL PRIMARY KEY" }
}

/// The tables both stores define alike: code schemes, and the rows kept per image beside its record (vector,
/// code, thumbnail, original), which go with the image (`ON DELETE CASCADE`). One definition in either dialect.
public enum SharedTables {
    public static func hashSchemes(_ dialect: SQLDialect) -> String {
        """
        CREATE TABLE hash_schemes (
            id \(dialect.serialKey),
            kind TEXT NOT NULL,
            bits \(dialect.integer) NOT NULL,
            dimension \(dialect.integer) NOT NULL,
            parameters \(dialect.blob) NOT NULL,
            created_at \(dialect.real) NOT NULL
        )
        """
    }

    /// `vectors`, `codes`, `thumbnails` and `originals`, keyed by image id (`hash_schemes` must exist first).
    public static func perImage(_ dialect: SQLDialect) -> [String] {
        let tables: [(name: String, columns: [String])] = [
            ("vectors", ["model TEXT NOT NULL", "dimension \(dialect.integer) NOT NULL", "data \(dialect.blob) NOT NULL"]),
            ("codes", ["scheme_id \(dialect.integer) NOT NULL REFERENCES hash_schemes(id)", "bits \(dialect.integer) NOT NULL",
                       "words \(dialect.blob) NOT NULL"]),
            ("thumbnails", ["jpeg \(dialect.blob) NOT NULL"]),
            ("originals", ["bytes \(dialect.blob) NOT NULL"]),
        ]
        return tables.map { table in
            let columns = ["image_id \(dialect.integer) PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE"] + table.columns
            return "CREATE TABLE \(table.name) (\n    " + columns.joined(separator: ",\n    ") + "\n)"
        }
    }

    /// "Not duplicates" decisions: each a set of a collection's images that are never grouped or reported as
    /// duplicates of one another. They go with their collection, and a member with its image.
    public static func duplicateDecisions(_ dialect: SQLDialect) -> [String] {
        [
            """
            CREATE TABLE duplicate_decisions (
                id \(dialect.serialKey),
                collection_id \(dialect.integer) NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                created_at \(dialect.real) NOT NULL
            )
            """,
            "CREATE INDEX duplicate_decisions_collection ON duplicate_decisions (collection_id, id)",
            """
            CREATE TABLE duplicate_decision_members (
                decision_id \(dialect.integer) NOT NULL REFERENCES duplicate_decisions(id) ON DELETE CASCADE,
                image_id \(dialect.integer) NOT NULL REFERENCES images(id) ON DELETE CASCADE,
                PRIMARY KEY (decision_id, image_id)
            )
            """,
            "CREATE INDEX duplicate_decision_members_image ON duplicate_decision_members (image_id)",
        ]
    }
}

/// Why a store operation was refused before reaching SQLite.
public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Keys are 1–256 characters with no control characters.
    case invalidKey(String)
    /// Metadata must be a JSON object within the size limit.
    case invalidMetadata(String)
    /// A vector or code does not match what the store holds.
    case invalidVector(String)
    /// The file is damaged or is not a Lookalike database.
    case damaged(path: String, detail: String)
    /// The file's schema is newer than this program understands.
    case unsupportedSchema(found: Int, supported: Int)

    public var description: String {
        switch self {
        case .invalidKey(let reason): return "invalid image id: \(reason)"
        case .invalidMetadata(let reason): return "invalid metadata: \(reason)"
        case .invalidVector(let reason): return "invalid vector: \(reason)"
        case .damaged(let path, let detail): return "database \(path) is damaged or not a Lookalike database: \(detail)"
        case .unsupportedSchema(let found, let supported):
            return "database schema version \(found) is newer than this program's \(supported); upgrade Lookalike"
        }
    }
}

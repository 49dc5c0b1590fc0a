/// Defaults every store shares: one home for each, which the stores' options and the service's configuration
/// read.
public enum StoreDefaults {
    /// The collection every database has: the routes without a collection name use it, and a database written
    /// before collections existed holds its images in it.
    public static let defaultCollectionName = "default"
    /// Largest metadata JSON in bytes.
    public static let maxMetadataBytes = 16 * 1024
    /// Whether the original upload bytes are kept.
    public static let keepOriginals = false
    /// Connections a store opens at most (readers of a SQLite file; connections to a PostgreSQL server).
    public static let maxConnections = 16
}

/// A store that can copy itself consistently while it is in use, and check its own integrity: what
/// `lookalike backup` and `POST /v1/admin/backup` need. A store that does not adopt it (PostgreSQL, backed up with
/// its own tools) answers those requests with an error naming the operation.
public protocol BackupCapableStore: ImageRepository {
    /// A consistent copy at `path`, taken while reads and writes go on; its size in bytes.
    func backup(to path: String) throws -> Int
    /// The store's own integrity check: "ok", or what it found.
    func integrityCheck() throws -> String
}

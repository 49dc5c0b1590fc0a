import Foundation
public import Inference
import Storage

/// Statistics, waiting for background work, integrity checks and backups.
extension LookalikeService {
    /// The code scheme in force in a collection.
    public func codeScheme(collection: String = LookalikeService.defaultCollection) throws -> CodeScheme {
        try self.collection(collection).codeScheme
    }

    /// Waits for background code retraining in every collection.
    public func waitForRetraining() {
        for collection in registry.all { collection.waitForRetraining() }
    }

    /// Waits for background index rebuilds in every collection.
    public func waitForIndexBuilds() {
        for collection in registry.all { collection.index.waitForRebuild() }
    }

    /// Waits for a background rebuild of a collection's index, then builds its forest anew now (when it is
    /// large enough to have one), so that measurements see a forest over every image.
    public func rebuildIndex(collection name: String = LookalikeService.defaultCollection) throws {
        try collection(name).index.buildNow()
    }

    /// Whether `key` in `collection` holds exactly these bytes already.
    public func holds(key: String, bytes: [UInt8], collection name: String = LookalikeService.defaultCollection) throws -> Bool {
        try collection(name).record(key: key)?.sha256 == SHA256.hash(bytes)
    }

    /// Number of stored images whose vectors come from another model (not searchable until re-ingested).
    public func vectorsFromOtherModels() throws -> Int {
        try max(0, store.totalCount() - registry.all.reduce(0) { $0 + $1.index.count })
    }

    public func statistics(collection name: String = LookalikeService.defaultCollection) throws -> Statistics {
        let collection = try collection(name)
        let accounting = collection.index.accounting
        let scheme = collection.codeScheme  // one consistent read (it changes under the collection's lock)
        return Statistics(
            images: try store.count(collection: collection.id), indexed: accounting.count, tombstones: accounting.tombstones,
            trees: accounting.structures, indexBytes: accounting.memoryBytes, rebuilds: accounting.rebuilds,
            model: collection.modelName, codeBits: scheme.bits, codeScheme: scheme.kind, sequence: accounting.sequence,
            queue: embedder.pool.statistics)
    }

    /// Totals over every collection, for metrics: stored images (one count), and vectors and memory of the
    /// indexes (read from memory, no storage I/O).
    /// `images` is nil when the database cannot be read (a node cut off from a shared one still reports the rest).
    public func totals() -> (collections: Int, images: Int?, indexed: Int, indexBytes: Int) {
        let indexes = registry.all.map { $0.index.accounting }
        return (indexes.count, try? store.totalCount(), indexes.reduce(0) { $0 + $1.count },
                indexes.reduce(0) { $0 + $1.memoryBytes })
    }

    /// The inference queue's counters.
    public var inferenceStatistics: InferencePool.Statistics { embedder.pool.statistics }

    /// `PRAGMA integrity_check` of the database.
    public func integrityCheck() throws -> String { try backupCapableStore("integrity check").integrityCheck() }

    /// A consistent copy of the database at `path`, taken while uploads and searches go on; its size in bytes.
    /// A server started on the copy restores every image stored before the backup began (its forests are
    /// rebuilt from the vectors).
    @discardableResult
    public func backup(to path: String) throws -> Int { try backupCapableStore("backup").backup(to: path) }

    /// The store, for what only some stores do (integrity check, online backup).
    private func backupCapableStore(_ operation: String) throws -> any BackupCapableStore {
        guard let store = store as? any BackupCapableStore else { throw LookalikeError.unsupportedOnPostgres(operation) }
        return store
    }

    /// A backup into `storage.backupDirectory`, named by the time it was taken; its path and size.
    public func backupToDirectory() throws -> (path: String, bytes: Int) {
        let databaseFolder = URL(fileURLWithPath: configuration.storage.databasePath).deletingLastPathComponent()
        let directory = configuration.storage.backupDirectory.hasPrefix("/")
            ? URL(fileURLWithPath: configuration.storage.backupDirectory)
            : databaseFolder.appendingPathComponent(configuration.storage.backupDirectory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss.SSS'Z'"
        let path = directory.appendingPathComponent("lookalike-\(formatter.string(from: Date())).sqlite").path
        return (path, try backup(to: path))
    }

    /// A backup of the database `configuration` names, without loading a model or the indexes (for the CLI,
    /// next to a running server).
    @discardableResult
    public static func backup(configuration: Configuration, to path: String) throws -> Int {
        guard configuration.storage.postgresURL == nil else { throw LookalikeError.unsupportedOnPostgres("backup") }
        guard FileManager.default.fileExists(atPath: configuration.storage.databasePath) else {
            throw LookalikeError.invalidArgument("no database at \(configuration.storage.databasePath)")
        }
        let store = try ImageStore(path: configuration.storage.databasePath, options: .init(
            busyTimeoutMilliseconds: configuration.storage.busyTimeoutMilliseconds))
        return try store.backup(to: path)
    }

}

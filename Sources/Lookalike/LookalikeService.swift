import Dispatch
import Foundation
import PostgresStorage
public import MetadataFilter
public import Imaging
public import Inference
public import Storage
public import VectorIndex

/// The service's domain: collections of images, and in each one ingest (decode, embed, hash, store, index),
/// search, similar images, near-duplicate groups and deletion.
///
/// The service owns the store, the model's worker pool and one ``ImageCollection`` per collection (its own
/// index, code scheme, snapshot and write ordering); callers see operations only. Every image operation names
/// its collection (`default` when omitted: the routes and commands from before collections existed). On
/// startup ``loadIndex()`` streams each collection's stored vectors into its index; until then ``isReady`` is
/// false.
public final class LookalikeService: @unchecked Sendable {
    /// What an upload produced.
    public struct IngestResult: Sendable {
        public let record: StoredImage
        /// Whether the id existed before (its image was replaced).
        public let replaced: Bool
        /// Stored near-duplicates found before storing (exact byte duplicates score 1).
        public let duplicates: [Match]
    }

    public struct Statistics: Sendable {
        public let images: Int
        public let indexed: Int
        public let tombstones: Int
        public let trees: Int
        public let indexBytes: Int
        public let rebuilds: Int
        public let model: String
        public let codeBits: Int
        public let codeScheme: String
        /// The change sequence number the index reflects.
        public let sequence: Int64
        public let queue: InferencePool.Statistics
    }

    /// A collection as listed: its size, index state, code scheme and model.
    public struct CollectionSummary: Sendable, Equatable {
        public let name: String
        public let images: Int
        /// Stored bytes: vectors, codes, thumbnails and originals.
        public let bytes: Int
        /// Memory held by its index.
        public let indexBytes: Int
        /// `loading`, `exact` (small enough to scan), `forest` (a forest is built or restored).
        public let indexState: String
        public let codeScheme: String
        public let codeBits: Int
        public let model: String
        public let createdAt: Double
        public let sequence: Int64
        /// Declared metadata fields and their types.
        public let indexes: [String: String]
    }

    /// The name of the collection today's routes and commands use.
    public static let defaultCollection = ImageStore.defaultCollectionName

    public let configuration: Configuration
    let store: any ImageRepository
    let embedder: ImageEmbedder
    /// Guards `collections`, `localMembershipChanges` and `deleting`; held only to look up, add or remove an entry.
    private let registryLock = NSLock()
    private var collections: [String: ImageCollection] = [:]
    /// Counts this node's creations and deletions, so ``synchronize()`` can tell that a listing of the store it
    /// read may predate one of them (and must not undo it).
    private var localMembershipChanges = 0
    /// Collections this node is deleting: out of the registry, not yet out of the store.
    private var deleting: Set<Int64> = []
    private let readyLock = NSLock()
    /// Index searches and their record lookups, one per core at a time, in arrival order (see ``FIFOGate``).
    private let searchGate = FIFOGate(capacity: ProcessInfo.processInfo.activeProcessorCount)
    private var ready = false
    /// Follows other nodes' writes when the store is shared (``startFollowing()``); under `readyLock`.
    private var follower: ChangeFollower?

    public init(configuration: Configuration, model: ImageModel) throws {
        self.configuration = configuration
        store = try Self.openStore(configuration)
        let pool = try InferencePool(model: model, configuration: .init(
            workers: configuration.model.workers == 0 ? nil : configuration.model.workers,
            queueCapacity: configuration.model.queueCapacity, maxBatch: configuration.model.maxBatch,
            maxBatchWaitMilliseconds: configuration.model.maxBatchWaitMilliseconds))
        // Settings left to `auto` follow the stored vectors' recipe, so an existing database stays searchable
        // when a default changes; a new one gets today's defaults.
        let storedRecipe = try Self.storedRecipe(store)
        embedder = ImageEmbedder(
            model: model, pool: pool, limits: DecodingLimits(maxPixels: configuration.model.maxImagePixels),
            thumbnailer: Thumbnailer(maxSide: configuration.model.thumbnailSize),
            cropPolicy: configuration.model.explicitCropPolicy ?? storedRecipe.map(ImageEmbedder.cropPolicy(ofRecipe:))
                ?? Configuration.Model.newDatabaseCropPolicy,
            trimBorders: configuration.model.trimBorders, mirrorAverage: configuration.model.mirrorAverage,
            featurePower: configuration.model.explicitFeaturePower ?? storedRecipe.map(ImageEmbedder.featurePower(ofRecipe:))
                ?? Configuration.Model.newDatabaseFeaturePower)
        for stored in try store.collections() {
            collections[stored.name] = try openCollection(stored)
        }
    }

    /// The recipe the stored vectors were made with (that of one collection's first image); nil when nothing is
    /// stored.
    static func storedRecipe(_ store: any ImageRepository) throws -> String? {
        for collection in try store.collections() {
            guard let first = try store.list(collection: collection.id, limit: 1, after: nil).first,
                  let model = try store.vector(id: first.id)?.model else { continue }
            return model
        }
        return nil
    }

    /// The store `configuration` names: PostgreSQL for a `postgresql://` URL, else the SQLite file (its folder
    /// created when missing).
    static func openStore(_ configuration: Configuration) throws -> any ImageRepository {
        let storage = configuration.storage
        let localFolder = URL(fileURLWithPath: storage.databasePath).deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: localFolder, withIntermediateDirectories: true)
        if let url = storage.postgresURL {
            #if PostgreSQL
            return try PostgresStore(location: PostgresLocation(url: url), options: .init(
                maxMetadataBytes: storage.maxMetadataBytes, keepOriginals: storage.keepOriginals,
                maxConnections: storage.maxConnections))
            #else
            throw LookalikeError.invalidArgument("storage.url \(storage.displayLocation): this build has no PostgreSQL store (the PostgreSQL trait)")
            #endif
        }
        return try ImageStore(
            path: storage.databasePath,
            options: .init(maxMetadataBytes: storage.maxMetadataBytes, keepOriginals: storage.keepOriginals,
                           busyTimeoutMilliseconds: storage.busyTimeoutMilliseconds, maxDatabaseBytes: storage.maxDatabaseBytes))
    }

    /// The SQLite store, for what only a file has (integrity check, online backup).
    private func sqliteStore(_ operation: String) throws -> ImageStore {
        guard let store = store as? ImageStore else {
            throw LookalikeError.unsupportedOnPostgres(operation)
        }
        return store
    }

    private func openCollection(_ stored: StoredCollection) throws -> ImageCollection {
        try ImageCollection(stored: stored, store: store, configuration: configuration,
                            modelName: embedder.recipe.description, dimension: embedder.model.featureDimension)
    }

    public var model: ImageModel { embedder.model }

    /// Inference workers (callers that fan out uploads use one lane per worker).
    public var inferenceWorkers: Int { embedder.pool.configuration.workers }

    public var isReady: Bool { readyLock.withLock { ready } }

    /// The collection named `name`, or ``LookalikeError/collectionNotFound(_:)``.
    func collection(_ name: String) throws -> ImageCollection {
        guard let collection = registryLock.withLock({ collections[name] }) else { throw LookalikeError.collectionNotFound(name) }
        return collection
    }

    /// The live state of a collection, for tests that drive its phases directly.
    func collectionForTesting(_ name: String) -> ImageCollection? { registryLock.withLock { collections[name] } }

    private var allCollections: [ImageCollection] {
        registryLock.withLock { collections.values.sorted { $0.name < $1.name } }
    }

    /// How the last ``loadIndex()`` made a collection's index searchable (restored from its snapshot or
    /// rebuilt, and why).
    public func indexLoad(collection: String = LookalikeService.defaultCollection) -> SimilarityIndex.LoadOutcome? {
        registryLock.withLock { collections[collection] }?.indexLoad
    }

    /// Streams every collection's stored vectors of the current model into its index (recomputing codes made
    /// under another scheme), restores or builds each forest, and marks the service ready. Returns the number
    /// of vectors loaded.
    @discardableResult
    public func loadIndex() throws -> Int {
        var loaded = 0
        for collection in allCollections { loaded += try collection.load() }
        readyLock.withLock { ready = true }
        return loaded
    }

    /// Applies changes that another process (a second node, or the CLI on the same file) stored since each
    /// index was loaded. Returns the number of changes applied.
    @discardableResult
    public func catchUp() throws -> Int {
        var applied = 0
        for collection in allCollections { applied += try collection.catchUp() }
        return applied
    }

    /// Brings the set of collections in line with the store's (created or deleted by another node), then
    /// applies the changes of every collection that has some. Returns the number of changes applied.
    @discardableResult
    public func synchronize() throws -> Int {
        let changesBefore = registryLock.withLock { localMembershipChanges }
        let stored = try store.collections()
        let storedByName = Dictionary(stored.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        // Gone, or deleted and created anew under the same name (a new id) — unless this node created or deleted
        // a collection since the listing was read: then the listing may not show it yet, and the next pass decides.
        let removed = registryLock.withLock { () -> [ImageCollection]? in
            guard localMembershipChanges == changesBefore else { return nil }
            let stale = collections.values.filter { storedByName[$0.name]?.id != $0.id }
            for collection in stale { collections[collection.name] = nil }
            return stale
        }
        for collection in removed ?? [] { collection.close(removingSnapshot: true) }
        // A code scheme another node learned and stored.
        for entry in stored {
            guard let collection = registryLock.withLock({ collections[entry.name] }), collection.id == entry.id else { continue }
            try collection.adoptCodeScheme(entry.codeSchemeID)
        }
        let known = registryLock.withLock { Set(collections.keys) }
        for entry in stored where removed != nil && !known.contains(entry.name) {
            let collection = try openCollection(entry)
            if let path = collection.index.configuration.snapshotPath { try? FileManager.default.removeItem(atPath: path) }
            try collection.load()
            let added = registryLock.withLock { () -> Bool in
                // A local deletion meanwhile may be of this very collection; the next pass reads the store again.
                guard localMembershipChanges == changesBefore, !deleting.contains(entry.id), collections[entry.name] == nil else {
                    return false
                }
                collections[entry.name] = collection
                return true
            }
            if !added { collection.close(removingSnapshot: false) }
        }
        // The listing carries each collection's last sequence, so a doorbell rung by this node's own write costs
        // no further read.
        var applied = 0
        for entry in stored {
            guard let collection = registryLock.withLock({ collections[entry.name] }), collection.id == entry.id else { continue }
            if collection.index.sequence < entry.lastSequence { applied += try collection.catchUp() }
            try collection.compactTombstonesIfDue()
        }
        return applied
    }

    /// Starts following other nodes' writes, when the store is shared (PostgreSQL); a no-op otherwise.
    public func startFollowing() {
        guard store.isShared else { return }
        let follower = ChangeFollower(
            interval: Double(configuration.storage.followIntervalMilliseconds) / 1000,
            pass: { [unowned self] in try synchronize() },
            wait: { [store] timeout in store.waitForChanges(timeout: timeout) })
        let started = readyLock.withLock { () -> Bool in
            guard self.follower == nil else { return false }
            self.follower = follower
            return true
        }
        if started { follower.start() }
    }

    /// Whether this node has caught up with the shared database recently (always true for a store of its own):
    /// false while the database is unreachable, or before the first pass after start.
    public var followStatus: (caughtUp: Bool, detail: String?) {
        guard let follower = readyLock.withLock({ follower }) else { return (true, nil) }
        let status = follower.status
        let limit = max(2, 3 * Double(configuration.storage.followIntervalMilliseconds) / 1000)
        guard let at = status.caughtUpAt else { return (false, status.error ?? "catching up") }
        if let error = status.error { return (false, error) }
        return (Date().timeIntervalSince(at) <= limit, nil)
    }

    /// The code scheme in force in a collection.
    public func codeScheme(collection: String = LookalikeService.defaultCollection) throws -> CodeScheme {
        try self.collection(collection).codeScheme
    }

    /// Waits for background code retraining in every collection.
    public func waitForRetraining() {
        for collection in allCollections { collection.waitForRetraining() }
    }

    /// Waits for background index rebuilds in every collection.
    public func waitForIndexBuilds() {
        for collection in allCollections { collection.index.waitForRebuild() }
    }

    /// Waits for a background rebuild of a collection's index, then builds its forest anew now (when it is
    /// large enough to have one), so that measurements see a forest over every image.
    public func rebuildIndex(collection name: String = LookalikeService.defaultCollection) throws {
        let index = try collection(name).index
        index.waitForRebuild()
        if index.count > configuration.index.exactThreshold { index.rebuild() }
    }

    /// Whether `key` in `collection` holds exactly these bytes already.
    public func holds(key: String, bytes: [UInt8], collection name: String = LookalikeService.defaultCollection) throws -> Bool {
        try collection(name).record(key: key)?.sha256 == SHA256.hash(bytes)
    }

    /// Number of stored images whose vectors come from another model (not searchable until re-ingested).
    public func vectorsFromOtherModels() throws -> Int {
        try max(0, store.totalCount() - allCollections.reduce(0) { $0 + $1.index.count })
    }

    // MARK: - Collections

    /// Creates a collection. `settings` is a JSON object (see ``CollectionSettings``), nil for the defaults.
    public func createCollection(name: String, settings: [String: Any]? = nil) throws -> CollectionSummary {
        guard StoredCollection.isValidName(name) else { throw StorageError.invalidCollectionName(name) }
        let parsed = try CollectionSettings.parse(settings ?? [:], defaults: CollectionSettings(defaults: configuration))
        // Held across the insert so two creations cannot both pass the cap or the name check.
        return try registryLock.withLock {
            guard collections[name] == nil else { throw LookalikeError.collectionExists(name) }
            guard collections.count < configuration.storage.maxCollections else {
                throw LookalikeError.tooManyCollections(configuration.storage.maxCollections)
            }
            let stored: StoredCollection
            do {
                stored = try store.createCollection(name: name, settings: parsed.json)
            } catch StorageError.collectionExists {
                throw LookalikeError.collectionExists(name)
            }
            localMembershipChanges += 1
            let collection = try openCollection(stored)
            // A snapshot left by an earlier collection of this name describes other images.
            if let path = collection.index.configuration.snapshotPath { try? FileManager.default.removeItem(atPath: path) }
            try collection.load()
            collections[name] = collection
            return try summary(of: collection)
        }
    }

    /// Every collection, by name.
    public func listCollections() throws -> [CollectionSummary] {
        try allCollections.map(summary(of:))
    }

    /// Throws ``LookalikeError/collectionNotFound(_:)`` unless a collection named `name` exists.
    public func requireCollection(_ name: String) throws { _ = try collection(name) }

    public func describeCollection(_ name: String) throws -> CollectionSummary {
        try summary(of: collection(name))
    }

    private func summary(of collection: ImageCollection) throws -> CollectionSummary {
        let usage = try collection.usage()
        let stats = collection.index.statistics
        let scheme = collection.codeScheme
        let state = collection.indexLoad == nil ? "loading" : stats.trees > 0 ? "forest" : "exact"
        return CollectionSummary(
            name: collection.name, images: usage.images, bytes: usage.bytes, indexBytes: stats.vectorBytes + stats.forestBytes,
            indexState: state, codeScheme: scheme.kind, codeBits: scheme.bits, model: embedder.recipe.description,
            createdAt: collection.createdAt, sequence: stats.sequence,
            indexes: collection.settings.indexes.fields.mapValues(\.rawValue))
    }

    /// Deletes a collection: every row, code, thumbnail and its snapshot file. Other collections keep serving.
    /// The default collection is emptied and recreated, so the routes without a collection name keep working.
    public func deleteCollection(_ name: String) throws {
        let removed = try registryLock.withLock { () -> ImageCollection in
            guard let collection = collections.removeValue(forKey: name) else { throw LookalikeError.collectionNotFound(name) }
            localMembershipChanges += 1
            deleting.insert(collection.id)
            return collection
        }
        // Counted again once the store no longer holds it: a listing read in between still shows it.
        defer {
            registryLock.withLock {
                localMembershipChanges += 1
                deleting.remove(removed.id)
            }
        }
        removed.close(removingSnapshot: true)
        try store.deleteCollection(id: removed.id)
        if name == Self.defaultCollection {
            _ = try createCollection(name: name)
        }
    }

    // MARK: - Writes

    /// Decodes, embeds and stores one image under `key` in `collection` (a new key derived from the content
    /// when nil).
    ///
    /// - Parameters:
    ///   - rejectDuplicates: throw ``LookalikeError/duplicate(_:)`` instead of storing when near-duplicates exist.
    /// Blocks the calling thread while the image is embedded; call it from a thread you own.
    public func ingest(
        bytes: [UInt8], key: String?, metadata: String? = nil, rejectDuplicates: Bool = false,
        collection name: String = LookalikeService.defaultCollection
    ) throws -> IngestResult {
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        let digest = SHA256.hash(bytes)
        let key = key ?? String(SHA256.hex(digest).prefix(20))
        try RecordValidation.validateKey(key)
        let metadataText = try RecordValidation.validateMetadata(metadata ?? "{}", maxBytes: configuration.storage.maxMetadataBytes)
        try collection.validateMetadata(metadataText)
        let embedding = try embedder.embedBlocking(bytes)
        let scheme = collection.codeScheme
        let code = scheme.code(for: embedding.vector)
        let duplicates = try collection.nearDuplicates(
            of: embedding.vector, code: code, scheme: scheme, sha256: digest, excludingKey: key)
        if rejectDuplicates && !duplicates.isEmpty { throw LookalikeError.duplicate(duplicates) }
        let outcome = try collection.store(
            embedding, key: key, sha256: digest, byteSize: bytes.count, metadata: metadataText,
            original: configuration.storage.keepOriginals ? bytes : nil, lookup: (scheme, code))
        return IngestResult(record: outcome.record, replaced: outcome.replaced, duplicates: duplicates)
    }

    /// Applies a JSON merge patch (RFC 7396) to an image's metadata, without inference; returns the new record.
    public func patchMetadata(key: String, patch: String, collection name: String = LookalikeService.defaultCollection) throws -> StoredImage {
        guard isReady else { throw LookalikeError.notReady }
        guard patch.utf8.count <= configuration.storage.maxMetadataBytes else {
            throw LookalikeError.invalidArgument("metadata patch larger than \(configuration.storage.maxMetadataBytes) bytes")
        }
        let parsed: FilterValue
        do {
            parsed = try FilterValue.parse(patch)
        } catch {
            throw LookalikeError.invalidArgument("metadata patch: \(error.description)")
        }
        return try collection(name).patchMetadata(key: key, patch: parsed)
    }

    /// Deletes an image; false when there was none.
    @discardableResult
    public func delete(key: String, collection name: String = LookalikeService.defaultCollection) throws -> Bool {
        try collection(name).delete(key: key)
    }

    // MARK: - Reads

    /// Images similar to an uploaded one, or to `region` of it (blocks the calling thread while the image is
    /// embedded).
    public func search(bytes: [UInt8], region: ImageRegion? = nil, options: SearchOptions,
                       collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        let embedding = try embedder.embedBlocking(bytes, region: region)
        return try searchGate.withAdmission {
            try collection.search(vector: embedding.vector, code: nil, options: options, excluding: [])
        }
    }

    /// Images similar to a stored one, itself excluded.
    public func similar(key: String, options: SearchOptions, collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        return try searchGate.withAdmission {
            let entry = try collection.entry(key: key)
            return try collection.search(vector: entry.vector, code: entry.code, options: options, excluding: [entry.id])
        }
    }

    /// Images similar to a raw vector (any length-`featureDimension` vector; it is L2-normalised here).
    public func search(vector raw: [Float], options: SearchOptions, collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        guard raw.count == model.featureDimension else {
            throw LookalikeError.invalidArgument("vector must have \(model.featureDimension) values, got \(raw.count)")
        }
        // The bound keeps the squared norm within Float's range.
        guard raw.allSatisfy({ $0.isFinite && abs($0) <= 1e15 }) else {
            throw LookalikeError.invalidArgument("vector values must be numbers of magnitude at most 1e15")
        }
        // Cosine similarity is undefined for the zero vector: every score would be 0 and the ranking arbitrary.
        guard raw.contains(where: { $0 != 0 }) else { throw LookalikeError.invalidArgument("vector must not be all zeros") }
        let vector = FeatureVector.normalized(raw)
        return try searchGate.withAdmission { try collection.search(vector: vector, code: nil, options: options, excluding: []) }
    }

    /// Images like the positive examples and unlike the negative ones (see ``Recommendation``); stored images
    /// named as examples are not among the results.
    public func recommend(
        _ recommendation: Recommendation, options: SearchOptions, collection name: String = LookalikeService.defaultCollection
    ) throws -> [Match] {
        try options.validate()
        try recommendation.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        return try searchGate.withAdmission {
            var excluded: Set<Int64> = []
            let query = try recommendation.query(dimension: model.featureDimension) { key in
                let entry: (id: Int64, vector: [Float], code: BinaryCode?)
                do {
                    entry = try collection.entry(key: key)
                } catch LookalikeError.notFound(let missing) {
                    throw LookalikeError.exampleNotFound(missing)
                }
                excluded.insert(entry.id)
                return entry.vector
            }
            return try collection.search(vector: query, code: nil, options: options, excluding: excluded)
        }
    }

    /// The stored vector of an image (what `search(vector:)` accepts).
    public func vector(key: String, collection name: String = LookalikeService.defaultCollection) throws -> [Float] {
        try collection(name).entry(key: key).vector
    }

    /// One page of a collection's near-duplicate groups (see ``DuplicateGroups``).
    public func duplicates(
        threshold: Float, neighbours: Int = 10, limit: Int = 100, after: String? = nil, filter: Filter? = nil,
        collection name: String = LookalikeService.defaultCollection
    ) throws -> DuplicateGroups {
        guard threshold.isFinite, (-1...1).contains(threshold) else {
            throw LookalikeError.invalidArgument("threshold must be a number in -1...1")
        }
        guard (1...1000).contains(neighbours) else { throw LookalikeError.invalidArgument("neighbours must be 1...1000, got \(neighbours)") }
        guard (1...1000).contains(limit) else { throw LookalikeError.invalidArgument("limit must be 1...1000, got \(limit)") }
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        let groups = try collection.duplicateGroups(threshold: threshold, neighbours: neighbours, filter: filter)
        let remaining = after.map { cursor in groups.filter { $0[0] > cursor } } ?? groups
        let page = Array(remaining.prefix(limit))
        return DuplicateGroups(
            groups: page, totalGroups: groups.count, totalImages: groups.reduce(0) { $0 + $1.count },
            next: remaining.count > limit ? page.last?[0] : nil)
    }

    public func record(key: String, collection name: String = LookalikeService.defaultCollection) throws -> StoredImage? {
        try collection(name).record(key: key)
    }

    public func thumbnail(key: String, collection name: String = LookalikeService.defaultCollection) throws -> [UInt8]? {
        try collection(name).thumbnail(key: key)
    }

    public func list(limit: Int, after: String?, filter: Filter? = nil,
                     collection name: String = LookalikeService.defaultCollection) throws -> [StoredImage] {
        guard (1...1000).contains(limit) else { throw LookalikeError.invalidArgument("limit must be 1...1000, got \(limit)") }
        return try collection(name).list(limit: limit, after: after, filter: filter)
    }

    public func statistics(collection name: String = LookalikeService.defaultCollection) throws -> Statistics {
        let collection = try collection(name)
        let stats = collection.index.statistics
        let scheme = collection.codeScheme  // one consistent read (it changes under the collection's scheme lock)
        return Statistics(
            images: try store.count(collection: collection.id), indexed: stats.count, tombstones: stats.tombstones,
            trees: stats.trees, indexBytes: stats.vectorBytes + stats.forestBytes, rebuilds: stats.rebuilds,
            model: embedder.recipe.description, codeBits: scheme.bits, codeScheme: scheme.kind, sequence: stats.sequence,
            queue: embedder.pool.statistics)
    }

    /// Totals over every collection, for metrics: stored images (one count), and vectors and memory of the
    /// indexes (read from memory, no storage I/O).
    public func totals() throws -> (collections: Int, images: Int, indexed: Int, indexBytes: Int) {
        let indexes = allCollections.map { $0.index.statistics }
        return (indexes.count, try store.totalCount(), indexes.reduce(0) { $0 + $1.count },
                indexes.reduce(0) { $0 + $1.vectorBytes + $1.forestBytes })
    }

    /// The inference queue's counters.
    public var inferenceStatistics: InferencePool.Statistics { embedder.pool.statistics }

    /// `PRAGMA integrity_check` of the database.
    public func integrityCheck() throws -> String { try sqliteStore("integrity check").integrityCheck() }

    /// A consistent copy of the database at `path`, taken while uploads and searches go on; its size in bytes.
    /// A server started on the copy restores every image stored before the backup began (its forests are
    /// rebuilt from the vectors).
    @discardableResult
    public func backup(to path: String) throws -> Int { try sqliteStore("backup").backup(to: path) }

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

    /// Stops the inference workers (waiting requests fail), waits for index rebuilds and code retraining in
    /// progress, and saves each collection's forest snapshot (returning the first failure, if any: the data is
    /// safe either way).
    @discardableResult
    public func shutdown() -> (any Error)? {
        readyLock.withLock { follower }?.stop()
        embedder.pool.shutdown()
        var failure: (any Error)?
        for collection in allCollections {
            if let error = collection.shutdown(), failure == nil { failure = error }
        }
        return failure
    }
}

/// One page of near-duplicate groups.
public struct DuplicateGroups: Sendable, Equatable {
    /// Each group's keys, sorted; groups ordered by their first key.
    public let groups: [[String]]
    /// Groups and grouped images in the whole collection.
    public let totalGroups: Int
    public let totalImages: Int
    /// The cursor for the next page (the last group's first key), nil on the last page.
    public let next: String?
}

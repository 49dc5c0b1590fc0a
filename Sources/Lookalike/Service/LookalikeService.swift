import NIOConcurrencyHelpers
import Dispatch
import Foundation
import PostgresStorage
import Synchronization
public import MetadataFilter
public import Imaging
public import Inference
public import Storage
public import VectorIndex

/// The service's domain: collections of images, and in each one ingest (decode, embed, hash, store, index),
/// search, similar images, near-duplicate groups and deletion.
///
/// The service owns the store, the model's worker pool and a ``CollectionRegistry`` of ``ImageCollection``s (each
/// with its own index, code scheme, snapshot and write ordering); callers see operations only. Its operations are
/// grouped by path, one file each: collections (`+Collections`), writes (`+Writes`), reads (`+Reads`), following
/// a shared store (`+Following`), statistics and backups (`+Administration`), re-embedding (`+Reembed`). Every
/// image operation names its collection (`default` when omitted). On startup ``loadIndex()`` streams each
/// collection's stored vectors into its index; until then ``isReady`` is false.
public final class LookalikeService: Sendable {
    /// The name of the collection today's routes and commands use.
    public static let defaultCollection = StoreDefaults.defaultCollectionName

    public let configuration: Configuration
    let store: any ImageRepository
    let embedder: ImageEmbedder
    let registry: CollectionRegistry
    /// Index searches and their record lookups, one per core at a time, in arrival order (see ``FIFOGate``).
    let searchGate = FIFOGate(capacity: ProcessInfo.processInfo.activeProcessorCount)
    /// Whether the indexes are loaded: read by every request, so an atomic rather than a lock.
    let ready = Atomic(false)
    /// The follower of a shared store, once started.
    let lifecycle = NIOLockedValueBox<ChangeFollower?>(nil)
    /// This node's import jobs (run once ``startImports(ownPorts:)`` is called).
    let imports: ImportJobs
    /// Embedders of the recipes collections use besides the configured one, sharing its model and workers.
    let embedders = NIOLockedValueBox<[EmbeddingRecipe: ImageEmbedder]>([:])
    /// Re-embeddings by collection id: running, or the last one run since start (see `+RecipeChanges`).
    let recipeChanges = NIOLockedValueBox<[Int64: RecipeChange]>([:])
    /// Vectors computed by re-embeddings not yet switched to, opened at first use.
    let recipeStaging = NIOLockedValueBox<RecipeStaging?>(nil)

    public init(configuration: Configuration, model: ImageModel) throws {
        self.configuration = configuration
        imports = ImportJobs(journalPath: configuration.importJournalPath)
        store = try Self.openStore(configuration)
        registry = CollectionRegistry(capacity: configuration.storage.maxCollections)
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
            registry.insert(try openCollection(stored))
        }
    }

    /// The recipe the stored vectors of collections on the configured recipe were made with (that of one such
    /// collection's first image); nil when nothing is stored.
    static func storedRecipe(_ store: any ImageRepository) throws -> String? {
        for collection in try store.collections() where !CollectionSettings.hasOwnRecipe(collection.settings) {
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

    func openCollection(_ stored: StoredCollection) throws -> ImageCollection {
        let settings = CollectionSettings.stored(stored.settings, defaults: CollectionSettings(defaults: configuration))
        return try ImageCollection(stored: stored, settings: settings, store: store, configuration: configuration,
                                   embedder: embedder(for: settings.recipe))
    }

    /// The embedder of `recipe` (nil: the configured recipe's), one per recipe.
    func embedder(for recipe: EmbeddingRecipe?) -> ImageEmbedder {
        guard let recipe, recipe != embedder.embeddingRecipe else { return embedder }
        return embedders.withLockedValue { made in
            if let existing = made[recipe] { return existing }
            let new = embedder.withRecipe(recipe)
            made[recipe] = new
            return new
        }
    }

    public var model: ImageModel { embedder.model }

    /// Inference workers (callers that fan out uploads use one lane per worker).
    public var inferenceWorkers: Int { embedder.pool.configuration.workers }

    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// The collection named `name`, or ``LookalikeError/collectionNotFound(_:)``.
    func collection(_ name: String) throws -> ImageCollection {
        guard let collection = registry[name] else { throw LookalikeError.collectionNotFound(name) }
        return collection
    }

    /// Runs a write on the collection named `name`, again on its successor when a re-embedding replaced it
    /// meanwhile (the successor embeds with the new recipe).
    func withCollection<T>(_ name: String, _ body: (ImageCollection) throws -> T) throws -> T {
        for _ in 0..<3 {
            do {
                return try body(try collection(name))
            } catch is CollectionSuperseded {
                continue
            }
        }
        throw LookalikeError.unavailable("collection '\(name.prefix(80))' is switching to another recipe; retry")
    }

    /// The live state of a collection, for tests that drive its phases directly.
    func collectionForTesting(_ name: String) -> ImageCollection? { registry[name] }

    /// How the last ``loadIndex()`` made a collection's index searchable (restored from its snapshot or
    /// rebuilt, and why).
    public func indexLoad(collection: String = LookalikeService.defaultCollection) -> IndexLoadOutcome? {
        registry[collection]?.indexLoad
    }

    /// Streams every collection's stored vectors of the current model into its index (recomputing codes made
    /// under another scheme), restores or builds each forest, and marks the service ready. Returns the number
    /// of vectors loaded.
    @discardableResult
    public func loadIndex() throws -> Int {
        var loaded = 0
        for collection in registry.all { loaded += try collection.load() }
        ready.store(true, ordering: .releasing)
        return loaded
    }

    /// Stops the inference workers (waiting requests fail), waits for index rebuilds and code retraining in
    /// progress, and saves each collection's forest snapshot (returning the first failure, if any: the data is
    /// safe either way).
    @discardableResult
    public func shutdown() -> (any Error)? {
        // Import lanes first: they feed the inference workers and the store.
        imports.stop()
        stopRecipeChanges()
        lifecycle.withLockedValue { $0 }?.stop()
        embedder.pool.shutdown()
        var failure: (any Error)?
        for collection in registry.all {
            if let error = collection.shutdown(), failure == nil { failure = error }
        }
        return failure
    }
}


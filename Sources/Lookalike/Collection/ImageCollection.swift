import Dispatch
import Foundation
import MetadataFilter
import Storage
import NIOConcurrencyHelpers
import VectorIndex

/// One collection's live state: its index, the keys and metadata of what the index holds, its code scheme and the
/// ordering of its writes. Collections share nothing mutable, so a rebuild or a code retraining in one never
/// blocks writes or searches in another.
///
/// The work is split by path, one file each: writes (`+Writes`), searches (`+Search`), duplicate groups
/// (`+DuplicateGroups`), loading and following the store's change sequence (`+Following`) and code retraining
/// (`+Retraining`). Two locks, each holding the state it guards:
/// - `writes` is held across "store, then index": the index always reflects the store's latest write for each id
///   and applies changes in sequence order. Embedding (the slow part) happens before, in the service.
/// - `published` holds what searches read (the code scheme, how the index was loaded, the last grouping); it is
///   only held for a copy, so searches never wait for a write. The scheme changes only while `writes` is held.
final class ImageCollection: Sendable {
    let id: Int64
    let name: String
    let settings: CollectionSettings
    let createdAt: Double
    let index: any ImageIndex
    /// Keys and metadata of what the index holds: search answers never read the store.
    let records = RecordDirectory()
    let store: any ImageRepository
    let configuration: Configuration
    /// How this collection's images become vectors: fixed for this object's life. A re-embedding replaces the
    /// whole object (``switchRecipe(_:successor:)``), so a search reads one recipe's vectors with a query embedded
    /// by the same recipe.
    let embedder: ImageEmbedder
    /// The recipe's name, which the stored vectors this index loads carry.
    let modelName: String
    let dimension: Int
    let writes = NIOLockedValueBox(WriteState())
    /// Read by searches under contention: a pthread lock (see ``FIFOGate``).
    let published: NIOLockedValueBox<Published>
    let retrainQueue: DispatchQueue
    let retrainGroup = DispatchGroup()

    /// What the write path and background work own.
    struct WriteState {
        var closed = false
        /// Replaced by a collection of another recipe: writes go to the successor.
        var superseded = false
        var retraining = false
        var lastRetrainAttempt = Date.distantPast
        /// When this node had applied which sequence (oldest first, a few per retention period): tombstones at or
        /// below a sighting older than the retention period may be compacted.
        var sightings: [(time: Date, sequence: Int64)] = []
        var compactedThrough: Int64 = 0

        /// Throws unless writes may go on: ``CollectionSuperseded`` once a successor of another recipe took over
        /// (the caller retries there), ``LookalikeError/collectionNotFound(_:)`` once closed.
        func checkWritable(_ name: String) throws {
            if superseded { throw CollectionSuperseded() }
            if closed { throw LookalikeError.collectionNotFound(name) }
        }
    }

    /// What readers copy out.
    struct Published {
        var scheme: CodeScheme
        var loadOutcome: IndexLoadOutcome?
        /// The last grouping computed, with what it was computed for: the pages of one listing read it instead
        /// of grouping the whole collection again, until a write moves the change sequence.
        var lastGrouping: (key: GroupingKey, groups: [[String]])?
    }

    struct GroupingKey: Equatable {
        let threshold: Float
        let neighbours: Int
        let filter: Filter?
        let sequence: Int64
        /// The "not duplicates" decisions' state (``KeptApart/fingerprint``).
        let decisions: [Int64]
    }

    /// Opens a stored collection: restores its code scheme (or registers one) and creates its empty index.
    init(stored: StoredCollection, settings: CollectionSettings, store: any ImageRepository, configuration: Configuration,
         embedder: ImageEmbedder) throws {
        id = stored.id
        name = stored.name
        createdAt = stored.createdAt
        self.settings = settings
        self.store = store
        self.configuration = configuration
        self.embedder = embedder
        modelName = embedder.recipe.description
        dimension = embedder.model.featureDimension
        retrainQueue = DispatchQueue(label: "lookalike.codes.retrain.\(stored.name)", qos: .utility)

        // The scheme is stored with its parameters so codes can always be recomputed; an ITQ collection starts
        // with random hyperplanes and switches once it holds enough images (``retrainCodesIfDue()``).
        var scheme: CodeScheme? = nil
        if let active = stored.codeSchemeID, let saved = try store.hashScheme(id: active) {
            scheme = try CodeScheme(id: active, stored: saved, settings: settings, dimension: dimension)
        }
        if scheme == nil {
            let hasher = RandomHyperplaneHasher(bits: settings.codeBits, dimension: dimension,
                                                seed: UInt64(configuration.hashing.seed))
            let schemeID = try store.saveHashScheme(kind: CodeSchemeKind.simhash.rawValue, bits: settings.codeBits,
                                                    dimension: dimension, parameters: hasher.projection)
            try store.setCodeScheme(schemeID, collection: stored.id)
            scheme = CodeScheme(id: schemeID, encoder: .simhash(hasher))
        }
        published = NIOLockedValueBox(Published(scheme: scheme!))
        index = try settings.indexKind.makeIndex(
            configuration: configuration, settings: settings, dimension: dimension,
            basePath: Self.basePath(collection: stored.name, configuration: configuration), snapshot: configuration.index.snapshot)
    }

    /// Where a collection's index files go: beside the database, `DATABASE.forest` for the default collection
    /// (the name used before collections existed, so an upgraded database restores its forest) and
    /// `DATABASE.NAME.forest` for the others; the graph's snapshot and vectors likewise end in `.graph` and `.vectors`.
    static func basePath(collection: String, configuration: Configuration) -> String {
        let database = configuration.storage.databasePath
        return collection == StoreDefaults.defaultCollectionName ? database : database + ".\(collection)"
    }

    var codeScheme: CodeScheme { published.withLockedValue { $0.scheme } }

    var indexLoad: IndexLoadOutcome? { published.withLockedValue { $0.loadOutcome } }

    /// The metadata document filters read (nil for `{}`, and for text that is not a filterable document).
    static func document(_ text: String) -> FilterValue? {
        guard text != "{}" else { return nil }
        return try? FilterValue.parse(text)
    }

    func usage() throws -> StorageUsage { try store.usage(collection: id) }

    /// Stops writes, waits for background work, and removes the snapshot file (the rows are the store's to
    /// delete). Later writes fail with ``LookalikeError/collectionNotFound(_:)``.
    func close(removingSnapshot: Bool) {
        writes.withLockedValue { $0.closed = true }
        retrainGroup.wait()
        index.waitForRebuild()
        if removingSnapshot { index.removeSnapshot() }
    }

    /// Waits for background work and saves the index snapshot (returning why that failed, if it did).
    func shutdown() -> (any Error)? {
        retrainGroup.wait()
        index.waitForRebuild()
        do {
            try index.saveSnapshot()
            return nil
        } catch {
            return error
        }
    }
}

/// A write reached a collection object that a re-embedding has replaced: it is retried on the successor.
struct CollectionSuperseded: Error {}

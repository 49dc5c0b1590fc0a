/// What the domain needs from durable storage: collections, image records with their vectors, codes and
/// thumbnails, code schemes, and each collection's change sequence.
///
/// Every write in a collection (insert, replace, delete) takes the next number of that collection's change
/// sequence inside its own transaction, so the order of sequence numbers is the order of commits. A delete
/// leaves a tombstone (id, key, sequence) until ``compactTombstones(collection:through:)``. Together,
/// ``changes(collection:after:limit:)`` tells a reader holding state "as of sequence N" everything that changed
/// since, which is how an index snapshot taken at N is brought up to date.
///
/// ``ImageStore`` (SQLite) implements it; implementations share one behaviour, checked by the same tests.
public protocol ImageRepository: AnyObject, Sendable {
    // MARK: Collections

    /// Every collection, by name.
    func collections() throws -> [StoredCollection]
    func collection(named name: String) throws -> StoredCollection?
    /// Creates a collection; throws ``StorageError/collectionExists(_:)`` when the name is taken.
    func createCollection(name: String, settings: String) throws -> StoredCollection
    /// Deletes a collection and every row stored in it (records, vectors, codes, thumbnails, originals,
    /// tombstones, its unused code schemes). Returns false when it did not exist.
    @discardableResult
    func deleteCollection(id: Int64) throws -> Bool
    /// Records and stored bytes (vectors, codes, thumbnails, originals) of one collection.
    func usage(collection: Int64) throws -> StorageUsage

    // MARK: Writes

    /// Stores an image under its key in `collection`, replacing (atomically) whatever the key held there.
    @discardableResult
    func upsert(_ image: ImageWrite, collection: Int64) throws -> UpsertOutcome
    /// Deletes the image with `key` in `collection`; nil when there was none.
    @discardableResult
    func delete(key: String, collection: Int64) throws -> DeleteOutcome?
    /// Registers a code scheme's parameters; returns its id.
    func saveHashScheme(kind: String, bits: Int, dimension: Int, parameters: [Float]) throws -> Int64
    /// Makes `scheme` the collection's code scheme.
    func setCodeScheme(_ scheme: Int64, collection: Int64) throws
    /// Replaces the codes of these images (ids no longer stored are skipped), in one transaction.
    func updateCodes(_ codes: [(id: Int64, code: StoredCode)]) throws
    /// Replaces a collection's settings (a JSON object as text).
    func updateSettings(_ settings: String, collection: Int64) throws
    /// A re-embedding's switch, in one transaction: replaces the vectors and codes of these images (ids no longer
    /// stored are skipped) and the collection's settings and code scheme.
    func switchVectors(_ vectors: [VectorReplacement], settings: String, codeScheme: Int64, collection: Int64) throws
    /// Records that `images` (ids of the collection's images) are not duplicates of one another.
    func addDecision(images: [Int64], collection: Int64) throws -> StoredDecision
    /// Removes a decision (an undo); false when the collection has none with this id.
    @discardableResult
    func deleteDecision(id: Int64, collection: Int64) throws -> Bool
    /// The collection's decisions, oldest first.
    func decisions(collection: Int64) throws -> [StoredDecision]
    /// Drops tombstones at or below `sequence` (at most the collection's last sequence) and raises the
    /// collection's ``StoredCollection/compactedThrough`` to it.
    func compactTombstones(collection: Int64, through sequence: Int64) throws

    // MARK: Reads

    func image(key: String, collection: Int64) throws -> StoredImage?
    /// Records for many ids (unknown ids are skipped).
    func images(ids: [Int64]) throws -> [Int64: StoredImage]
    /// Images of `collection` whose upload had this SHA-256.
    func images(sha256: [UInt8], collection: Int64) throws -> [StoredImage]
    /// A page of a collection's records ordered by key, after `afterKey`.
    func list(collection: Int64, limit: Int, after afterKey: String?) throws -> [StoredImage]
    func count(collection: Int64) throws -> Int
    /// Records in every collection.
    func totalCount() throws -> Int
    func thumbnail(key: String, collection: Int64) throws -> [UInt8]?
    /// The uploaded bytes, when the store keeps originals.
    func original(key: String, collection: Int64) throws -> [UInt8]?
    func vector(id: Int64) throws -> (model: String, values: [Float])?
    func code(id: Int64) throws -> StoredCode?
    /// Vectors and codes of many images in one read (ids without a vector are skipped): what a follower needs
    /// to apply a batch of changes.
    func indexEntries(ids: [Int64]) throws -> [Int64: IndexEntry]
    /// Streams a collection's vectors of `model` in id order, with the sequence the stream is consistent with.
    ///
    /// - warning: `body` receives a buffer valid only during the call.
    @discardableResult
    func forEachVector(collection: Int64, model: String, _ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void) throws -> Int64
    /// Streams a collection's codes in id order.
    func forEachCode(collection: Int64, _ body: (Int64, StoredCode) throws -> Void) throws
    /// Streams the id, key and metadata of every image of a collection, in id order.
    func forEachKeyAndMetadata(collection: Int64, _ body: (Int64, String, String) throws -> Void) throws
    /// Replaces an image's metadata (validated like an upload's) as a new change; nil when there is no such image.
    func updateMetadata(key: String, collection: Int64, metadata: String) throws -> StoredImage?
    func hashScheme(id: Int64) throws -> StoredHashScheme?
    /// Changes after `sequence`, in sequence order, at most `limit`: each id's latest state (an upsert or a
    /// tombstone), preceded by a ``StoreChange/Kind/compacted`` marker when `sequence` is below the collection's
    /// compaction horizon.
    func changes(collection: Int64, after sequence: Int64, limit: Int) throws -> [StoreChange]

    // MARK: Other writers

    /// Whether other processes write to this store as a matter of course (nodes sharing one server), so that a
    /// service must follow its change sequence rather than only catch up at start.
    var isShared: Bool { get }
    /// Waits until another process may have stored a change, or `timeout` seconds pass; true when woken by
    /// a change. A doorbell only: the caller reads ``changes(collection:after:limit:)`` either way.
    func waitForChanges(timeout: Double) -> Bool
    /// Runs `body` unless another process holds the claim `name` (work that must happen once for all nodes,
    /// such as learning a collection's code scheme); nil when another holds it. The claim ends with `body`, or
    /// with the process.
    func whileHolding<T>(claim name: String, _ body: () throws -> T) throws -> T?
}

/// The outcome of ``ImageRepository/upsert(_:collection:)``.
public struct UpsertOutcome: Sendable {
    public let record: StoredImage
    /// Whether the key existed before.
    public let replaced: Bool
    public init(record: StoredImage, replaced: Bool) {
        self.record = record
        self.replaced = replaced
    }
}

/// The outcome of ``ImageRepository/delete(key:collection:)``.
public struct DeleteOutcome: Sendable, Equatable {
    public let id: Int64
    /// The tombstone's change sequence number.
    public let sequence: Int64
    public init(id: Int64, sequence: Int64) {
        self.id = id
        self.sequence = sequence
    }
}

/// Records and bytes one collection holds.
public struct StorageUsage: Sendable, Equatable {
    public let images: Int
    public let bytes: Int
    public init(images: Int, bytes: Int) {
        self.images = images
        self.bytes = bytes
    }
}

/// What the index holds for one image: its vector, the model that made it, and its code (nil when none is
/// stored).
public struct IndexEntry: Sendable, Equatable {
    public let model: String
    public let vector: [Float]
    public let code: StoredCode?
    public init(model: String, vector: [Float], code: StoredCode?) {
        self.model = model
        self.vector = vector
        self.code = code
    }
}

/// One entry of a collection's change sequence.
public struct StoreChange: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case upsert
        case delete
        /// First in a batch read from below the collection's compaction horizon (its `sequence`): deletions at or
        /// below it are no longer listed, so the reader must find them itself (ids it holds that are not stored).
        case compacted
    }
    public let kind: Kind
    public let id: Int64
    public let key: String
    public let sequence: Int64
    public init(kind: Kind, id: Int64, key: String, sequence: Int64) {
        self.kind = kind
        self.id = id
        self.key = key
        self.sequence = sequence
    }
}

extension StoreChange.Kind {
    /// The number a store's change query gives each kind (the compaction marker sorts first).
    public var code: Int64 {
        switch self {
        case .upsert: return 0
        case .delete: return 1
        case .compacted: return 2
        }
    }

    public init(code: Int64) {
        self = code == 2 ? .compacted : code == 1 ? .delete : .upsert
    }
}

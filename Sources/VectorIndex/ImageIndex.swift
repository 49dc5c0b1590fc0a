public import MetadataFilter

/// What a collection needs from its index, whatever kind it is: ids with unit vectors, binary codes and filterable
/// metadata in, ranked ids out, a snapshot to start from, and an account of the memory it holds.
///
/// ``SimilarityIndex`` (a random-projection forest over full vectors in memory) is one kind; another kind conforms
/// to this protocol and is chosen where a collection's index is made. Every method is safe to call from any
/// thread; writes are applied in the order the caller makes them, and `sequence` names the change of the store
/// that a write reflects, so the index knows how far it is current.
public protocol ImageIndex: AnyObject, Sendable {
    /// Live entries.
    var count: Int { get }
    /// The highest change sequence number applied.
    var sequence: Int64 { get }
    /// Entries, tombstones and the bytes held in memory.
    var accounting: IndexAccounting { get }

    // MARK: Writes

    /// Adds or replaces `id`. `vector` is unit length; `code` has the index's code length when it keeps codes.
    func add(id: Int64, vector: [Float], code: BinaryCode?, sequence: Int64?, metadata: FilterValue?)
    /// Removes `id`; false when it was not present.
    @discardableResult
    func remove(id: Int64, sequence: Int64?) -> Bool
    /// Replaces what filters see for `id`; false when it is not present.
    @discardableResult
    func updateMetadata(id: Int64, _ metadata: FilterValue?, sequence: Int64?) -> Bool
    /// Records that every change up to `sequence` is reflected.
    func advance(toSequence sequence: Int64)
    /// Replaces the codes of the ids given, all at once.
    func replaceCodes(_ codes: [Int64: BinaryCode])
    /// Recomputes every live entry's code from its vector, all at once.
    func recomputeCodes(_ encode: (UnsafeBufferPointer<Float>) -> BinaryCode)

    // MARK: Reads

    /// The vector and code of `id`.
    func entry(id: Int64) -> (vector: [Float], code: BinaryCode?)?
    /// The `k` entries most similar to `query` (unit length), best first. `filter` is the admitted set: only
    /// entries whose metadata it matches are candidates, inside the search. `strategy` names how hard to look;
    /// a kind that cannot run a strategy named explicitly throws rather than substituting another.
    func search(_ query: [Float], k: Int, strategy: SearchStrategy, minScore: Float?, excluding: Set<Int64>,
                code: BinaryCode?, filter: Filter?) throws(SearchError) -> [IndexMatch]
    /// Entries whose code is within `maxDistance` bits of `code` and whose cosine to `query` is at least
    /// `minScore`, best first, at most `k`; nil when the index keeps no codes of that length.
    func nearDuplicates(of query: [Float], code: BinaryCode, maxDistance: Int, minScore: Float, k: Int) -> [IndexMatch]?
    /// Live entries whose metadata matches `filter`.
    func count(matching filter: Filter) -> Int

    // MARK: Loading, snapshots, background work

    /// Starts a bulk load: until ``finishLoading()`` no background build starts.
    func beginLoading()
    /// Ends a bulk load, restoring the snapshot when it fits what was loaded or building anew.
    @discardableResult
    func finishLoading() -> IndexLoadOutcome
    /// Saves the snapshot (false when the index has none to save).
    @discardableResult
    func saveSnapshot() throws -> Bool
    /// Deletes the snapshot file (a collection deleted, or one of the same name created anew).
    func removeSnapshot()
    /// Waits for a build in progress, then builds the approximate structure anew over every live entry when the
    /// index is large enough to have one (so that measurements see it complete).
    func buildNow()
    /// Waits for background work in progress.
    func waitForRebuild()
}

/// How an index is asked to search.
public enum SearchStrategy: Sendable, Equatable {
    /// The index's own choice by size: exact for small sets, its approximate structure otherwise.
    case automatic
    /// The approximate structure with this candidate budget (nil: the default for `k`).
    case forest(searchK: Int?)
    /// Brute force over every vector.
    case exact
    /// Hamming scan of the binary codes keeping the best `candidates`, then exact re-ranking.
    case hamming(candidates: Int)
    /// A walk of a proximity graph keeping `beam` candidates (nil: the default), then exact re-ranking.
    case graph(beam: Int?)
}

/// One ranked entry.
public struct IndexMatch: Sendable, Equatable {
    public let id: Int64
    /// Cosine similarity (the vectors are unit length).
    public let score: Float

    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// How ``ImageIndex/finishLoading()`` made the index searchable.
public enum IndexLoadOutcome: Sendable, Equatable {
    /// Small enough to be searched exactly; no approximate structure.
    case exact
    /// The snapshot was reused: `kept` items as saved, `inserted` added since, `dropped` deleted or changed.
    case restored(kept: Int, inserted: Int, dropped: Int)
    /// The structure was built anew, for this reason (no snapshot, a mismatched one, or too many changes).
    case rebuilt(reason: String)
}

/// What an index holds, for statistics and metrics.
public struct IndexAccounting: Sendable, Equatable {
    /// Live entries.
    public let count: Int
    /// Removed entries whose space is not reclaimed yet.
    public let tombstones: Int
    /// Bytes held in memory: vectors or their compressed form, codes, navigation structure.
    public let memoryBytes: Int
    /// The approximate structure's parts (trees of a forest), 0 while the index is searched exactly.
    public let structures: Int
    /// Builds of the approximate structure since start.
    public let rebuilds: Int
    /// The highest change sequence number applied.
    public let sequence: Int64
    /// The first approximate structure is being built in the background; searches are exact until it is ready.
    public let building: Bool

    public init(count: Int, tombstones: Int, memoryBytes: Int, structures: Int, rebuilds: Int, sequence: Int64,
                building: Bool = false) {
        self.count = count
        self.tombstones = tombstones
        self.memoryBytes = memoryBytes
        self.structures = structures
        self.rebuilds = rebuilds
        self.sequence = sequence
        self.building = building
    }
}

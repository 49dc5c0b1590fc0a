import Dispatch
import Foundation
public import MetadataFilter

/// The live search index: vectors, optional binary codes, an Annoy-style forest, tombstones, and exact
/// re-ranking.
///
/// Concurrency: one read-write lock. Searches hold the read side and run concurrently; `add` and `remove` hold
/// the write side briefly (append a row, descend each tree). When inserts and deletions since the last build
/// pass ``Configuration/rebuildFraction`` of the collection, a new forest is built on a background queue from a
/// view of the rows taken at that moment, without holding the lock; it is swapped in under the write lock after
/// replaying the rows added meanwhile. Searches never wait for a rebuild.
///
/// `@unchecked Sendable` is safe because all mutable state is read under the read lock and written under the
/// write lock; the background build only reads rows through a ``RowSource`` (immutable rows).
public final class SimilarityIndex: ImageIndex, @unchecked Sendable {
    public struct Configuration: Sendable {
        public var dimension: Int
        /// Trees in the forest (default 10).
        public var trees: Int
        /// Most items in a leaf (default 256: with 1280-d vectors fewer, larger leaves beat deep trees).
        public var leafSize: Int
        /// Default `search_k` per requested result, per tree: `searchK = max(k, 10) × trees × this` (default 200).
        public var searchKFactor: Int
        /// Collections up to this size are searched exactly, without a forest (default 2,000).
        public var exactThreshold: Int
        /// Rebuild when (inserts + deletions since the build) exceed this fraction of the size (default 0.25).
        public var rebuildFraction: Double
        /// With a query code, forest candidates beyond this many are first narrowed by Hamming distance, and only
        /// the closest this many are re-ranked exactly (0: re-rank every candidate). Default 4,000.
        public var hammingRerankLimit: Int
        /// Forest and Hamming candidates are re-ranked first in the top principal subspace of this many
        /// dimensions, and only the best ``reducedRerankLimit`` exactly (0, or not below `dimension`: off).
        /// Default 128: 256 bytes per row (16-bit fixed point) instead of 5 KB for 1280-d vectors.
        public var reducedDimension: Int
        /// Candidates kept by the subspace re-ranking for exact scoring (default 128: against 256, more queries/s
        /// for a recall@10 within 0.003 at 10,000 and 100,000 vectors; see docs/benchmarks.md).
        public var reducedRerankLimit: Int
        /// ``Strategy/automatic`` with a query code scans the codes instead of walking the forest for collections
        /// above ``exactThreshold`` up to this size (default 300,000; 0: never). Reading every 32-byte code in
        /// order costs less than collecting the forest's tens of thousands of scattered candidates: on CNN-like
        /// vectors at recall@10 ≈ 0.95 the scan was 1.4× faster at 100,000 and 1.8× at 300,000, the largest
        /// size measured.
        public var hammingScanLimit: Int
        /// Default Hamming-scan candidates: `factor × √live × max(k, 10) / 10` (default 20: 2,000 at 10,000
        /// vectors, 6,325 at 100,000, both 0.95–0.98 recall@10 on CNN-like features).
        public var hammingCandidateFactor: Int
        /// Binary code length in bits, 0 when codes are not kept (default 256).
        public var codeBits: Int
        public var seed: UInt64
        /// Where the forest is saved after every build and by ``saveSnapshot()``, and restored from by
        /// ``finishLoading()`` (nil: never).
        public var snapshotPath: String?
        /// Metadata fields held in columns for filtering (others are filtered by reading each document).
        public var attributes: AttributeSchema
        /// A filtered search whose filter admits at most this many live vectors scores them all exactly
        /// (default 4,000); above it, the Hamming scan or the forest runs over the admitted rows only.
        public var filteredExactLimit: Int

        public init(
            dimension: Int, trees: Int = 10, leafSize: Int = 256, searchKFactor: Int = 200, exactThreshold: Int = 2_000,
            rebuildFraction: Double = 0.25, hammingRerankLimit: Int = 4_000, codeBits: Int = 256, seed: UInt64 = 42,
            snapshotPath: String? = nil, reducedDimension: Int = 128, reducedRerankLimit: Int = 128,
            hammingScanLimit: Int = 300_000, hammingCandidateFactor: Int = 20,
            attributes: AttributeSchema = AttributeSchema(), filteredExactLimit: Int = 4_000
        ) {
            self.attributes = attributes
            self.filteredExactLimit = filteredExactLimit
            self.hammingScanLimit = hammingScanLimit
            self.hammingCandidateFactor = hammingCandidateFactor
            self.reducedDimension = reducedDimension
            self.reducedRerankLimit = reducedRerankLimit
            self.snapshotPath = snapshotPath
            self.hammingRerankLimit = hammingRerankLimit
            self.dimension = dimension
            self.trees = trees
            self.leafSize = leafSize
            self.searchKFactor = searchKFactor
            self.exactThreshold = exactThreshold
            self.rebuildFraction = rebuildFraction
            self.codeBits = codeBits
            self.seed = seed
        }
    }

    public typealias Strategy = SearchStrategy
    public typealias Match = IndexMatch
    public typealias LoadOutcome = IndexLoadOutcome

    public struct Statistics: Sendable {
        public let count: Int
        public let tombstones: Int
        public let trees: Int
        public let forestCoverage: Int
        public let vectorBytes: Int
        public let forestBytes: Int
        public let rebuilds: Int
        /// Live vectors when the principal subspace in use was learned (0: none).
        public let subspaceLearnedAt: Int
        /// Why the last snapshot save failed, if it did.
        public let snapshotFailure: String?
        /// The highest change sequence number applied (see ``add(id:vector:code:sequence:)``).
        public let sequence: Int64
        /// The change sequence number of the snapshot last saved or restored (0: none, or a file from before
        /// snapshots carried one).
        public let snapshotSequence: Int64
    }

    public let configuration: Configuration
    /// See ``Configuration/hammingRerankLimit``; adjustable at run time (benchmarks sweep it).
    public var hammingRerankLimit: Int {
        get { lock.withReadLock { rerankLimit } }
        set { lock.withWriteLock { rerankLimit = max(0, newValue) } }
    }
    var rerankLimit: Int
    /// See ``Configuration/reducedRerankLimit``; adjustable at run time (benchmarks sweep it).
    public var subspaceRerankLimit: Int {
        get { lock.withReadLock { subspaceLimit } }
        set { lock.withWriteLock { subspaceLimit = max(1, newValue) } }
    }
    var subspaceLimit: Int
    let lock = ReadWriteLock()
    let storage: VectorStorage<Float>
    var codes: [UInt64] = []
    let codeWords: Int
    var slotTable = SlotTable()
    /// Each slot's metadata, for filters.
    let attributes: AttributeTable
    var forest: RandomProjectionForest?
    /// Learned with a forest build (when configured); `reducedRows` has one row per slot, like `storage`.
    var subspace: PrincipalSubspace?
    var reducedRows: VectorStorage<Int16>?
    /// Live vectors when `subspace` was learned. Later builds keep it until the collection has doubled:
    /// learning it (an eigen-decomposition and projecting every row) was about two thirds of a build's time
    /// at 5,000 vectors, and the leading directions of image features barely move as a collection grows.
    var subspaceLearnedAt = 0
    var changesSinceBuild = 0
    var rebuilding = false
    var loading = false
    /// Counts changes to what a snapshot holds (vectors, deletions, forest swaps); `savedMutations` is the count
    /// the snapshot file reflects, so an unchanged index is not written again (e.g. at shutdown after a save).
    var mutations = 0
    var savedMutations: Int?
    /// Serialises saves, so the file and `savedMutations` always move forward together.
    let saveLock = NSLock()
    var snapshotFailure: String?
    var rebuilds = 0
    /// The highest change sequence number applied; changes under the write lock, with the change itself.
    var appliedSequence: Int64 = 0
    var snapshotSequence: Int64 = 0
    let rebuildQueue = DispatchQueue(label: "lookalike.index.rebuild", qos: .utility)
    let rebuildGroup = DispatchGroup()

    public init(configuration: Configuration) {
        precondition(configuration.dimension > 0 && configuration.trees > 0 && configuration.leafSize >= 2,
                     "invalid index configuration")
        precondition(configuration.codeBits % 64 == 0, "code bits must be a multiple of 64")
        self.configuration = configuration
        rerankLimit = configuration.hammingRerankLimit
        subspaceLimit = max(1, configuration.reducedRerankLimit)
        storage = VectorStorage<Float>(dimension: configuration.dimension)
        codeWords = configuration.codeBits / 64
        attributes = AttributeTable(schema: configuration.attributes)
    }

    /// Number of live vectors.
    public var count: Int { lock.withReadLock { slotTable.liveCount } }

    public func contains(id: Int64) -> Bool { lock.withReadLock { slotTable.slot(of: id) != nil } }

    public var statistics: Statistics {
        lock.withReadLock {
            Statistics(count: slotTable.liveCount, tombstones: slotTable.tombstones, trees: forest?.treeCount ?? 0,
                       forestCoverage: forest?.indexedCount ?? 0, vectorBytes: storage.allocatedBytes,
                       forestBytes: (forest?.allocatedBytes ?? 0) + (reducedRows?.allocatedBytes ?? 0), rebuilds: rebuilds,
                       subspaceLearnedAt: subspace == nil ? 0 : subspaceLearnedAt, snapshotFailure: snapshotFailure,
                       sequence: appliedSequence, snapshotSequence: snapshotSequence)
        }
    }

    /// Adds or replaces the vector of `id`. `vector` must be unit length (or zero); `code` must have
    /// ``Configuration/codeBits`` bits when codes are kept. `sequence`, the change sequence number of the write
    /// this reflects, is recorded with it, so a snapshot names the sequence it covers. `metadata` is what
    /// filters read (nil: none).
    public func add(id: Int64, vector: [Float], code: BinaryCode? = nil, sequence: Int64? = nil, metadata: FilterValue? = nil) {
        precondition(vector.count == configuration.dimension, "vector dimension \(vector.count) ≠ \(configuration.dimension)")
        let codeWords = self.codeWords
        precondition(codeWords == 0 || code?.words.count == codeWords, "code length does not match the index")
        var startRebuild = false
        lock.withWriteLock {
            let slot = slotTable.append(id: id)
            let row = vector.withUnsafeBufferPointer { storage.append($0) }
            assert(row == slot, "the slot table and the vector rows move together")
            if let code, codeWords > 0 { codes += code.words }
            attributes.append(metadata)
            mutations += 1
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            if let subspace, let reducedRows {
                _ = subspace.fixedPointCoordinates(of: storage.row(slot)).withUnsafeBufferPointer { reducedRows.append($0) }
            }
            if forest != nil {
                forest!.insert(slot: slot, rows: RowSource(storage))
                changesSinceBuild += 1
            }
            startRebuild = needsRebuild()
        }
        if startRebuild { scheduleRebuild() }
    }

    /// Removes `id`; returns whether it was present. Its slot becomes a tombstone until the next rebuild.
    @discardableResult
    public func remove(id: Int64, sequence: Int64? = nil) -> Bool {
        var startRebuild = false
        let removed = lock.withWriteLock { () -> Bool in
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            guard slotTable.remove(id: id) else { return false }
            mutations += 1
            if forest != nil { changesSinceBuild += 1 }
            startRebuild = needsRebuild()
            return true
        }
        if startRebuild { scheduleRebuild() }
        return removed
    }

    /// Replaces the metadata filters see for `id`; false when `id` is not indexed.
    @discardableResult
    public func updateMetadata(id: Int64, _ metadata: FilterValue?, sequence: Int64? = nil) -> Bool {
        lock.withWriteLock {
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            guard let slot = slotTable.slot(of: id) else { return false }
            attributes.replace(row: Int(slot), with: metadata)
            return true
        }
    }

    /// The highest change sequence number applied.
    public var sequence: Int64 { lock.withReadLock { appliedSequence } }

    /// Records that every change up to `sequence` is reflected (after a bulk load read at that sequence).
    public func advance(toSequence sequence: Int64) {
        lock.withWriteLock { appliedSequence = max(appliedSequence, sequence) }
    }

    /// Replaces the binary code of every id in `codes` (all at once, under the write lock, so a search sees
    /// either all old codes or all new ones for these ids).
    public func replaceCodes(_ codes: [Int64: BinaryCode]) {
        guard codeWords > 0 else { return }
        lock.withWriteLock {
            for (id, code) in codes {
                guard let slot = slotTable.slot(of: id), code.words.count == codeWords else { continue }
                for word in 0..<codeWords { self.codes[Int(slot) * codeWords + word] = code.words[word] }
            }
        }
    }

    /// Recomputes every live entry's binary code from its stored vector with `encode` (a code scheme adopted
    /// from elsewhere), under the write lock, so a search sees all old codes or all new ones.
    public func recomputeCodes(_ encode: (UnsafeBufferPointer<Float>) -> BinaryCode) {
        guard codeWords > 0 else { return }
        lock.withWriteLock {
            for (position, id) in slotTable.ids.enumerated() where slotTable.slot(of: id) == Int32(position) {
                let code = encode(UnsafeBufferPointer(start: storage.row(Int32(position)), count: configuration.dimension))
                guard code.words.count == codeWords else { continue }
                for word in 0..<codeWords { codes[position * codeWords + word] = code.words[word] }
            }
        }
    }

    /// A copy of the stored vector of `id`.
    public func vector(id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let slot = slotTable.slot(of: id) else { return nil }
            return Array(UnsafeBufferPointer(start: storage.row(slot), count: configuration.dimension))
        }
    }

    /// The stored vector of `id` and its binary code (nil when the index keeps no codes), in one lookup.
    public func entry(id: Int64) -> (vector: [Float], code: BinaryCode?)? {
        lock.withReadLock {
            guard let slot = slotTable.slot(of: id) else { return nil }
            let vector = Array(UnsafeBufferPointer(start: storage.row(slot), count: configuration.dimension))
            guard codeWords > 0 else { return (vector, nil) }
            let start = Int(slot) * codeWords
            return (vector, BinaryCode(words: Array(codes[start..<start + codeWords])))
        }
    }
}

import Dispatch
import Foundation

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
public final class SimilarityIndex: @unchecked Sendable {
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
        /// Candidates kept by the subspace re-ranking for exact scoring (default 256).
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

        public init(
            dimension: Int, trees: Int = 10, leafSize: Int = 256, searchKFactor: Int = 200, exactThreshold: Int = 2_000,
            rebuildFraction: Double = 0.25, hammingRerankLimit: Int = 4_000, codeBits: Int = 256, seed: UInt64 = 42,
            snapshotPath: String? = nil, reducedDimension: Int = 128, reducedRerankLimit: Int = 256,
            hammingScanLimit: Int = 300_000, hammingCandidateFactor: Int = 20
        ) {
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

    /// How to search.
    public enum Strategy: Sendable, Equatable {
        /// Exact up to ``Configuration/exactThreshold``; above it, with a query code, a Hamming scan up to
        /// ``Configuration/hammingScanLimit``; otherwise the forest (exact before the first forest exists).
        case automatic
        /// The forest with this `search_k` (nil: the default for `k`).
        case forest(searchK: Int?)
        /// Brute force over every vector.
        case exact
        /// Hamming scan of the binary codes keeping the best `candidates`, then exact re-ranking.
        case hamming(candidates: Int)
    }

    public struct Match: Sendable, Equatable {
        public let id: Int64
        /// Cosine similarity (the vectors are unit length).
        public let score: Float
    }

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
    }

    /// How ``finishLoading()`` made the index searchable.
    public enum LoadOutcome: Sendable, Equatable {
        /// Small enough to be searched exactly; no forest.
        case exact
        /// The snapshot was reused: `kept` items as saved, `inserted` added since, `dropped` deleted or changed.
        case restored(kept: Int, inserted: Int, dropped: Int)
        /// A new forest was built, for this reason (no snapshot, a mismatched one, or too many changes).
        case rebuilt(reason: String)
    }

    public let configuration: Configuration
    /// See ``Configuration/hammingRerankLimit``; adjustable at run time (benchmarks sweep it).
    public var hammingRerankLimit: Int {
        get { lock.withReadLock { rerankLimit } }
        set { lock.withWriteLock { rerankLimit = max(0, newValue) } }
    }
    private var rerankLimit: Int
    /// See ``Configuration/reducedRerankLimit``; adjustable at run time (benchmarks sweep it).
    public var subspaceRerankLimit: Int {
        get { lock.withReadLock { subspaceLimit } }
        set { lock.withWriteLock { subspaceLimit = max(1, newValue) } }
    }
    private var subspaceLimit: Int
    private let lock = ReadWriteLock()
    private let storage: VectorStorage<Float>
    private var codes: [UInt64] = []
    private let codeWords: Int
    private var slotIDs: [Int64] = []
    private var slotOf: [Int64: Int32] = [:]
    private var deleted: [Bool] = []
    private var deletedCount = 0
    private var forest: RandomProjectionForest?
    /// Learned with a forest build (when configured); `reducedRows` has one row per slot, like `storage`.
    private var subspace: PrincipalSubspace?
    private var reducedRows: VectorStorage<Int16>?
    /// Live vectors when `subspace` was learned. Later builds keep it until the collection has doubled:
    /// learning it (an eigen-decomposition and projecting every row) was about two thirds of a build's time
    /// at 5,000 vectors, and the leading directions of image features barely move as a collection grows.
    private var subspaceLearnedAt = 0
    private var changesSinceBuild = 0
    private var rebuilding = false
    private var loading = false
    /// Counts changes to what a snapshot holds (vectors, deletions, forest swaps); `savedMutations` is the count
    /// the snapshot file reflects, so an unchanged index is not written again (e.g. at shutdown after a save).
    private var mutations = 0
    private var savedMutations: Int?
    /// Serialises saves, so the file and `savedMutations` always move forward together.
    private let saveLock = NSLock()
    private var snapshotFailure: String?
    private var rebuilds = 0
    private let rebuildQueue = DispatchQueue(label: "lookalike.index.rebuild", qos: .utility)
    private let rebuildGroup = DispatchGroup()

    public init(configuration: Configuration) {
        precondition(configuration.dimension > 0 && configuration.trees > 0 && configuration.leafSize >= 2,
                     "invalid index configuration")
        precondition(configuration.codeBits % 64 == 0, "code bits must be a multiple of 64")
        self.configuration = configuration
        rerankLimit = configuration.hammingRerankLimit
        subspaceLimit = max(1, configuration.reducedRerankLimit)
        storage = VectorStorage<Float>(dimension: configuration.dimension)
        codeWords = configuration.codeBits / 64
    }

    /// Number of live vectors.
    public var count: Int { lock.withReadLock { slotIDs.count - deletedCount } }

    public func contains(id: Int64) -> Bool { lock.withReadLock { slotOf[id] != nil } }

    public var statistics: Statistics {
        lock.withReadLock {
            Statistics(count: slotIDs.count - deletedCount, tombstones: deletedCount, trees: forest?.treeCount ?? 0,
                       forestCoverage: forest?.indexedCount ?? 0, vectorBytes: storage.allocatedBytes,
                       forestBytes: (forest?.allocatedBytes ?? 0) + (reducedRows?.allocatedBytes ?? 0), rebuilds: rebuilds,
                       subspaceLearnedAt: subspace == nil ? 0 : subspaceLearnedAt, snapshotFailure: snapshotFailure)
        }
    }

    /// Adds or replaces the vector of `id`. `vector` must be unit length (or zero); `code` must have
    /// ``Configuration/codeBits`` bits when codes are kept.
    public func add(id: Int64, vector: [Float], code: BinaryCode? = nil) {
        precondition(vector.count == configuration.dimension, "vector dimension \(vector.count) ≠ \(configuration.dimension)")
        let codeWords = self.codeWords
        precondition(codeWords == 0 || code?.words.count == codeWords, "code length does not match the index")
        var startRebuild = false
        lock.withWriteLock {
            if let old = slotOf[id] { markDeleted(old) }
            let slot = vector.withUnsafeBufferPointer { storage.append($0) }
            if let code, codeWords > 0 { codes += code.words }
            slotIDs.append(id)
            deleted.append(false)
            slotOf[id] = slot
            mutations += 1
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
    public func remove(id: Int64) -> Bool {
        var startRebuild = false
        let removed = lock.withWriteLock { () -> Bool in
            guard let slot = slotOf[id] else { return false }
            markDeleted(slot)
            slotOf[id] = nil
            mutations += 1
            if forest != nil { changesSinceBuild += 1 }
            startRebuild = needsRebuild()
            return true
        }
        if startRebuild { scheduleRebuild() }
        return removed
    }

    private func markDeleted(_ slot: Int32) {
        if !deleted[Int(slot)] {
            deleted[Int(slot)] = true
            deletedCount += 1
        }
    }

    /// Replaces the binary code of every id in `codes` (all at once, under the write lock, so a search sees
    /// either all old codes or all new ones for these ids).
    public func replaceCodes(_ codes: [Int64: BinaryCode]) {
        guard codeWords > 0 else { return }
        lock.withWriteLock {
            for (id, code) in codes {
                guard let slot = slotOf[id], code.words.count == codeWords else { continue }
                for word in 0..<codeWords { self.codes[Int(slot) * codeWords + word] = code.words[word] }
            }
        }
    }

    /// A copy of the stored vector of `id`.
    public func vector(id: Int64) -> [Float]? {
        lock.withReadLock {
            guard let slot = slotOf[id] else { return nil }
            return Array(UnsafeBufferPointer(start: storage.row(slot), count: configuration.dimension))
        }
    }

    /// The stored vector of `id` and its binary code (nil when the index keeps no codes), in one lookup.
    public func entry(id: Int64) -> (vector: [Float], code: BinaryCode?)? {
        lock.withReadLock {
            guard let slot = slotOf[id] else { return nil }
            let vector = Array(UnsafeBufferPointer(start: storage.row(slot), count: configuration.dimension))
            guard codeWords > 0 else { return (vector, nil) }
            let start = Int(slot) * codeWords
            return (vector, BinaryCode(words: Array(codes[start..<start + codeWords])))
        }
    }

    // MARK: Search

    /// Near-duplicate lookup: the live vectors whose code is within `maxDistance` bits of `code` and whose
    /// cosine similarity to `query` is at least `minScore`, best first, at most `k`.
    ///
    /// One pass over the packed codes finds every vector inside the Hamming radius (an exact criterion, not the
    /// approximate search), and only those are scored exactly; if more than `candidateLimit` are inside it, the
    /// closest `candidateLimit` by Hamming distance are. `nil` when the index keeps no codes of `code`'s length.
    public func nearDuplicates(
        of query: [Float], code: BinaryCode, maxDistance: Int, minScore: Float, k: Int, candidateLimit: Int = 256
    ) -> [Match]? {
        precondition(query.count == configuration.dimension, "query dimension \(query.count) ≠ \(configuration.dimension)")
        guard codeWords > 0, code.words.count == codeWords else { return nil }
        guard k > 0, maxDistance >= 0 else { return [] }
        return lock.withReadLock {
            let words = codeWords
            var slots: [Int32] = [], distances: [UInt16] = []
            code.words.withUnsafeBufferPointer { queryCode in
                codes.withUnsafeBufferPointer { codes in
                    for slot in 0..<slotIDs.count where !deleted[slot] {
                        let distance = BinaryCode.distance(queryCode.baseAddress!, codes.baseAddress! + slot * words, wordCount: words)
                        if distance <= maxDistance {
                            slots.append(Int32(slot))
                            distances.append(UInt16(distance))
                        }
                    }
                }
            }
            if slots.count > candidateLimit {
                slots = Self.smallest(candidateLimit, of: slots, distances: distances, maxDistance: maxDistance)
            }
            var matches: [Match] = query.withUnsafeBufferPointer { query in
                slots.compactMap { slot in
                    let score = BLASKernels.dot(query.baseAddress!, storage.row(slot), count: configuration.dimension)
                    return score >= minScore ? Match(id: slotIDs[Int(slot)], score: score) : nil
                }
            }
            matches.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            return Array(matches.prefix(k))
        }
    }

    /// The `k` most similar live vectors to `query` (unit length), best first.
    ///
    /// - Parameters:
    ///   - minScore: drop matches with a lower cosine similarity.
    ///   - excluding: ids never returned (for example the query image itself).
    ///   - code: the query's binary code, required for ``Strategy/hamming(candidates:)``.
    public func search(
        _ query: [Float], k: Int, strategy: Strategy = .automatic, minScore: Float? = nil,
        excluding: Set<Int64> = [], code: BinaryCode? = nil
    ) -> [Match] {
        precondition(query.count == configuration.dimension, "query dimension \(query.count) ≠ \(configuration.dimension)")
        guard k > 0 else { return [] }
        return lock.withReadLock {
            let live = slotIDs.count - deletedCount
            var effective = strategy
            if case .automatic = strategy {
                if live <= configuration.exactThreshold {
                    effective = .exact
                } else if code != nil, codeWords > 0, live <= configuration.hammingScanLimit {
                    effective = .hamming(candidates: defaultHammingCandidates(k: k, live: live))
                } else {
                    effective = forest == nil ? .exact : .forest(searchK: nil)
                }
            }
            if case .forest = effective, forest == nil { effective = .exact }
            if case .hamming = effective, code == nil || codeWords == 0 { effective = .exact }
            let wanted = k + excluding.count
            var top = TopK(k: wanted)
            query.withUnsafeBufferPointer { query in
                let q = query.baseAddress!
                let candidates: [Int32]
                switch effective {
                case .exact, .automatic:
                    scanAll(q, into: &top)
                    return
                case .forest(let searchK):
                    let budget = searchK ?? defaultSearchK(k: k, live: live)
                    var unique = uniqueLiveSlots(forest!.candidates(for: q, searchK: max(budget, wanted)))
                    let limit = max(Int(Double(rerankLimit) * collectionScale(live: live)), wanted)
                    if let code, codeWords > 0, rerankLimit > 0, unique.count > limit {
                        // Exact re-ranking reads 4·dimension bytes per candidate; the codes are 32 bytes. Keep
                        // the candidates closest in Hamming distance, then re-rank only those.
                        unique = closestByHamming(unique, to: code, count: limit)
                    }
                    candidates = unique
                case .hamming(let candidateCount):
                    candidates = hammingCandidates(code!, count: max(candidateCount, wanted))
                }
                // Both candidate sources end the same way: the subspace stage, then exact cosine.
                for slot in closestInSubspace(candidates, to: q, count: wanted) {
                    top.insert(score: BLASKernels.dot(q, storage.row(slot), count: configuration.dimension), slot: slot)
                }
            }
            var matches: [Match] = []
            for (score, slot) in top.sorted() {
                let id = slotIDs[Int(slot)]
                if excluding.contains(id) { continue }
                if let minScore, score < minScore { break }
                matches.append(Match(id: id, score: score))
                if matches.count == k { break }
            }
            return matches
        }
    }

    /// The default `search_k`: `max(k, 10) × trees × searchKFactor` at 100,000 vectors, scaled by the square
    /// root of the collection's share of that (smaller collections need fewer candidates for the same recall:
    /// measured 0.95 recall@10 at 4,000 candidates for 10,000 vectors and 40,000 for 100,000).
    func defaultSearchK(k: Int, live: Int) -> Int {
        let full = Double(max(k, 10) * configuration.trees * configuration.searchKFactor)
        return max(Int(full * collectionScale(live: live)), max(k, 10) * configuration.trees)
    }

    /// See ``Configuration/hammingCandidateFactor``.
    func defaultHammingCandidates(k: Int, live: Int) -> Int {
        Int(Double(configuration.hammingCandidateFactor) * Double(live).squareRoot() * Double(max(k, 10)) / 10)
    }

    /// `√(live / 100,000)`, at most 1: the default search effort relative to a 100,000-vector collection. The
    /// Hamming re-rank limit shrinks by the same factor (measured at 10,000 vectors: 1,000 re-ranked rows lose
    /// 0.005 recall@10 against re-ranking all 4,000 candidates).
    func collectionScale(live: Int) -> Double {
        min(1, (Double(live) / 100_000).squareRoot())
    }

    /// Brute force: one `sgemv` per storage chunk, then top-k over live rows.
    private func scanAll(_ query: UnsafePointer<Float>, into top: inout TopK) {
        let total = slotIDs.count
        var scores = [Float](repeating: 0, count: storage.rowsPerChunk)
        var base = 0
        for chunk in storage.chunks {
            let rows = min(storage.rowsPerChunk, total - base)
            if rows <= 0 { break }
            scores.withUnsafeMutableBufferPointer {
                BLASKernels.matrixVector(chunk, rows: rows, columns: configuration.dimension, query, into: $0.baseAddress!)
            }
            for row in 0..<rows where !deleted[base + row] {
                if scores[row] > top.threshold { top.insert(score: scores[row], slot: Int32(base + row)) }
            }
            base += rows
        }
    }

    /// The best `max(reducedRerankLimit, wanted)` of `slots` by their inner product with `query` in the principal
    /// subspace; all of `slots` when there is no subspace or they are already that few.
    private func closestInSubspace(_ slots: [Int32], to query: UnsafePointer<Float>, count wanted: Int) -> [Int32] {
        let limit = max(subspaceLimit, wanted)
        guard let subspace, let reducedRows, slots.count > limit else { return slots }
        let reducedQuery = subspace.fixedPointCoordinates(of: query)
        var scores = [Int32](repeating: 0, count: slots.count)
        // The rows are read at random, so this stage waits on memory. Scoring a block of rows in two passes,
        // first the leading 16 bytes of every 64-byte line of every row (a few instructions per line, so the
        // whole block's loads fit in the processor's reorder window), then the rest, puts the block's cache
        // misses in flight together instead of one row's after another's.
        let vectorsPerRow = subspace.paddedLength / 8, vectorsPerLine = 4, blockSize = 16
        let rows = UnsafeMutablePointer<UnsafePointer<Int16>>.allocate(capacity: blockSize)
        let sums = UnsafeMutablePointer<SIMD4<Int32>>.allocate(capacity: blockSize)
        defer { rows.deallocate(); sums.deallocate() }
        reducedQuery.withUnsafeBufferPointer { reducedQuery in
            let query = reducedQuery.baseAddress!
            var start = 0
            while start < slots.count {
                let count = min(blockSize, slots.count - start)
                for index in 0..<count {
                    let row = UnsafePointer(reducedRows.row(slots[start + index]))
                    rows[index] = row
                    var sum = SIMD4<Int32>()
                    for vector in stride(from: 0, to: vectorsPerRow, by: vectorsPerLine) {
                        sum &+= PrincipalSubspace.partialDot(query + 8 * vector, row + 8 * vector, vectors: 1)
                    }
                    sums[index] = sum
                }
                for index in 0..<count {
                    let row = rows[index]
                    var sum = sums[index]
                    for vector in stride(from: 0, to: vectorsPerRow, by: vectorsPerLine) {
                        let rest = min(vectorsPerLine, vectorsPerRow - vector) - 1
                        sum &+= PrincipalSubspace.partialDot(query + 8 * (vector + 1), row + 8 * (vector + 1), vectors: rest)
                    }
                    scores[start + index] = sum.wrappedSum()
                }
                start += count
            }
        }
        return Self.largest(limit, of: slots, scores: scores)
    }

    /// The `count` slots with the largest `scores` (ties at the cut-off: earlier slots first), in slot-list
    /// order: a selection finds the cut-off score in linear time, where keeping a heap of the best would cost
    /// a logarithmic update for most candidates.
    static func largest(_ count: Int, of slots: [Int32], scores: [Int32]) -> [Int32] {
        guard count < slots.count else { return slots }
        guard count > 0 else { return [] }
        var work = scores
        let cutoff = work.withUnsafeMutableBufferPointer { nthLargest(count, in: $0) }
        let above = scores.reduce(0) { $0 + ($1 > cutoff ? 1 : 0) }
        var atCutoff = count - above
        var result: [Int32] = []
        result.reserveCapacity(count)
        for (position, score) in scores.enumerated() {
            if score > cutoff {
                result.append(slots[position])
            } else if score == cutoff && atCutoff > 0 {
                result.append(slots[position])
                atCutoff -= 1
            }
        }
        return result
    }

    /// The `n`-th largest value (1-based) of `values`, which it reorders: quickselect with a median-of-three
    /// pivot and a three-way partition, so equal values cannot make it quadratic.
    private static func nthLargest(_ n: Int, in values: UnsafeMutableBufferPointer<Int32>) -> Int32 {
        var low = 0, high = values.count - 1
        let target = n - 1  // index in descending order
        while low < high {
            let middle = low + (high - low) / 2
            let a = values[low], b = values[middle], c = values[high]
            let pivot = max(min(a, b), min(max(a, b), c))
            // Partition descending: [low, greater) > pivot, [greater, smaller] == pivot, (smaller, high] < pivot.
            var greater = low, index = low, smaller = high
            while index <= smaller {
                if values[index] > pivot {
                    values.swapAt(index, greater)
                    greater += 1
                    index += 1
                } else if values[index] < pivot {
                    values.swapAt(index, smaller)
                    smaller -= 1
                } else {
                    index += 1
                }
            }
            if target < greater {
                high = greater - 1
            } else if target > smaller {
                low = smaller + 1
            } else {
                return pivot
            }
        }
        return values[low]
    }

    /// `candidates` without repeats (the trees overlap) and without tombstones, in first-seen order; a bitmap
    /// over slots makes this linear.
    private func uniqueLiveSlots(_ candidates: [Int32]) -> [Int32] {
        var seen = [UInt64](repeating: 0, count: (slotIDs.count + 63) / 64)
        var unique: [Int32] = []
        unique.reserveCapacity(candidates.count)
        seen.withUnsafeMutableBufferPointer { seen in
            deleted.withUnsafeBufferPointer { deleted in
                for slot in candidates {
                    let word = Int(slot) >> 6, bit = UInt64(1) << UInt64(slot & 63)
                    guard seen[word] & bit == 0 else { continue }
                    seen[word] |= bit
                    if !deleted[Int(slot)] { unique.append(slot) }
                }
            }
        }
        return unique
    }

    /// The `count` slots of `slots` with the smallest Hamming distance to `code`.
    private func closestByHamming(_ slots: [Int32], to code: BinaryCode, count: Int) -> [Int32] {
        let words = codeWords
        let distances = code.words.withUnsafeBufferPointer { query in
            codes.withUnsafeBufferPointer { codes in
                slots.map { slot in
                    UInt16(BinaryCode.distance(query.baseAddress!, codes.baseAddress! + Int(slot) * words, wordCount: words))
                }
            }
        }
        return Self.smallest(count, of: slots, distances: distances, maxDistance: words * 64)
    }

    /// The `count` live slots with the smallest Hamming distance to `code`: one pass over the packed codes writes
    /// each slot's distance and counts it in a histogram (tombstones get a distance no code can have), then the
    /// counting selection picks the slots.
    private func hammingCandidates(_ code: BinaryCode, count: Int) -> [Int32] {
        let words = codeWords, total = slotIDs.count, tombstone = words * 64 + 1, buckets = tombstone + 1
        // Four interleaved histograms (by slot mod 4): neighbouring codes often share a distance, and one
        // histogram would chain each increment on the previous one's store.
        var histograms = [Int](repeating: 0, count: 4 * buckets)
        let distances = [UInt16](unsafeUninitializedCapacity: total) { distances, initialized in
            code.words.withUnsafeBufferPointer { query in
                codes.withUnsafeBufferPointer { codes in
                    deleted.withUnsafeBufferPointer { deleted in
                        histograms.withUnsafeMutableBufferPointer { histograms in
                            @inline(__always) func scan(wordCount: Int) {
                                for slot in 0..<total {
                                    let distance = deleted[slot] ? tombstone : BinaryCode.distance(
                                        query.baseAddress!, codes.baseAddress! + slot * wordCount, wordCount: wordCount)
                                    distances[slot] = UInt16(distance)
                                    histograms[(slot & 3) * buckets + distance] &+= 1
                                }
                            }
                            // The common 256-bit code gets a loop the compiler unrolls and vectorises.
                            if words == 4 { scan(wordCount: 4) } else { scan(wordCount: words) }
                        }
                    }
                }
            }
            initialized = total
        }
        let histogram = (0..<buckets).map {
            histograms[$0] &+ histograms[buckets + $0] &+ histograms[2 * buckets + $0] &+ histograms[3 * buckets + $0]
        }
        let live = total - histogram[tombstone]
        return Self.select(min(count, live), distances: distances, histogram: histogram) { Int32($0) }
    }

    /// Counting selection: distances are small integers, so a histogram finds the cut-off in one pass and a
    /// second pass collects everything below it plus enough at it (earlier slots first), in linear time.
    static func smallest(_ count: Int, of slots: [Int32], distances: [UInt16], maxDistance: Int) -> [Int32] {
        guard count < slots.count else { return slots }
        var histogram = [Int](repeating: 0, count: maxDistance + 1)
        for distance in distances { histogram[Int(distance)] += 1 }
        return select(count, distances: distances, histogram: histogram) { slots[$0] }
    }

    /// The positions of the `count` smallest `distances` (given their histogram), mapped through `slot`.
    private static func select(
        _ count: Int, distances: [UInt16], histogram: [Int], slot: (Int) -> Int32
    ) -> [Int32] {
        var threshold = 0, below = 0
        while below + histogram[threshold] < count {
            below += histogram[threshold]
            threshold += 1
        }
        var atThreshold = count - below
        var result: [Int32] = []
        result.reserveCapacity(count)
        distances.withUnsafeBufferPointer { distances in
            for position in 0..<distances.count {
                let distance = Int(distances[position])
                if distance < threshold {
                    result.append(slot(position))
                } else if distance == threshold && atThreshold > 0 {
                    result.append(slot(position))
                    atThreshold -= 1
                }
            }
        }
        return result
    }

    // MARK: Rebuild

    /// The subspace rank in force: 0 when off or when it would not be smaller than the vectors.
    private var reducedRank: Int {
        configuration.reducedDimension > 0 && configuration.reducedDimension < configuration.dimension
            ? configuration.reducedDimension : 0
    }

    private func needsRebuild() -> Bool {
        guard !rebuilding, !loading else { return false }
        let live = slotIDs.count - deletedCount
        if forest == nil { return live > configuration.exactThreshold }
        return Double(changesSinceBuild) > configuration.rebuildFraction * Double(max(live, 1))
    }

    private func scheduleRebuild() {
        let start = lock.withWriteLock { () -> Bool in
            guard !rebuilding else { return false }
            rebuilding = true
            return true
        }
        guard start else { return }
        rebuildGroup.enter()
        rebuildQueue.async { [self] in
            defer { rebuildGroup.leave() }
            rebuild()
        }
    }

    /// Builds a new forest now, on the calling thread, and swaps it in (also what the background rebuild runs).
    public func rebuild() {
        let (rows, live, deletedAtSnapshot, keepSubspace) = lock.withReadLock { () -> (RowSource, [Int32], Int, Bool) in
            let rows = RowSource(storage)
            let live = (0..<rows.count).compactMap { deleted[$0] ? nil : Int32($0) }
            return (rows, live, deletedCount, subspace != nil && live.count < 2 * subspaceLearnedAt)
        }
        var newForest = RandomProjectionForest(
            rows: rows, slots: live, treeCount: configuration.trees, leafSize: configuration.leafSize,
            seed: configuration.seed)
        // A failed eigen-decomposition only costs the subspace stage; search stays exact on the candidates.
        let newSubspace = reducedRank > 0 && !live.isEmpty && !keepSubspace
            ? try? PrincipalSubspace(training: rows, slots: live, rank: reducedRank) : nil
        let newReducedRows = newSubspace?.projectAll(rows)
        let again = lock.withWriteLock { () -> Bool in
            let current = RowSource(storage)
            // Replay rows added while building; deletions since then stay tombstones. Both count as changes
            // against the new forest.
            for slot in rows.count..<current.count {
                if let newSubspace, let newReducedRows {
                    _ = newSubspace.fixedPointCoordinates(of: current.row(Int32(slot))).withUnsafeBufferPointer {
                        newReducedRows.append($0)
                    }
                }
                if !deleted[slot] { newForest.insert(slot: Int32(slot), rows: current) }
            }
            forest = newForest
            mutations += 1
            if !keepSubspace {  // a kept subspace's rows were extended by every add meanwhile
                subspace = newSubspace
                reducedRows = newReducedRows
                subspaceLearnedAt = live.count
            }
            changesSinceBuild = (current.count - rows.count) + (deletedCount - deletedAtSnapshot)
            rebuilding = false
            rebuilds += 1
            return needsRebuild()
        }
        if configuration.snapshotPath != nil { recordSnapshotSave() }
        if again { scheduleRebuild() }
    }

    // MARK: Loading and snapshots

    /// Starts a bulk load (a collection read at startup): until ``finishLoading()``, adds never start a build.
    public func beginLoading() {
        lock.withWriteLock { loading = true }
    }

    /// Ends a bulk load: below the exact threshold nothing more is needed; otherwise the forest is restored from
    /// the snapshot when it matches the loaded vectors closely enough (items deleted or changed since are
    /// dropped, new ones inserted, as long as those changes stay within ``Configuration/rebuildFraction``), and
    /// built anew otherwise.
    @discardableResult
    public func finishLoading() -> LoadOutcome {
        waitForRebuild()
        let live = lock.withWriteLock { () -> Int in
            loading = false
            return slotIDs.count - deletedCount
        }
        guard live > configuration.exactThreshold else { return .exact }
        var reason = "no snapshot configured"
        if let path = configuration.snapshotPath {
            do {
                if let outcome = try restore(from: path) { return outcome }
                reason = "no snapshot at \(path)"
            } catch let error as ForestSnapshotError {
                reason = error.description
            } catch {
                reason = "forest snapshot \(path): \(error)"
            }
        }
        rebuild()
        return .rebuilt(reason: reason)
    }

    /// Restores the forest from `path`; nil when there is no file. Throws when the file cannot be used.
    private func restore(from path: String) throws -> LoadOutcome? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw ForestSnapshotError(kind: .io, path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        let snapshot = try ForestSnapshot(decoding: bytes, path: path)
        let expected = ForestSnapshot.Parameters(
            dimension: configuration.dimension, trees: configuration.trees, leafSize: configuration.leafSize,
            seed: configuration.seed, reducedRank: reducedRank)
        guard snapshot.parameters == expected else {
            throw ForestSnapshotError(kind: .mismatched, path: path, reason: "built with \(snapshot.parameters), configured \(expected)")
        }
        return try lock.withWriteLock { () -> LoadOutcome in
            let rows = RowSource(storage)
            var kept: [Int64: Int32] = [:]
            for item in snapshot.items {
                guard let slot = slotOf[item.id],
                      ForestSnapshot.fingerprint(id: item.id, row: rows.row(slot), dimension: rows.dimension) == item.fingerprint
                else { continue }
                kept[item.id] = slot
            }
            let live = slotIDs.count - deletedCount
            let dropped = snapshot.items.count - kept.count
            let inserted = live - kept.count
            guard Double(dropped + inserted) <= configuration.rebuildFraction * Double(live) else {
                throw ForestSnapshotError(
                    kind: .mismatched, path: path,
                    reason: "\(dropped) items deleted or changed and \(inserted) added since it was saved")
            }
            var restored = RandomProjectionForest(snapshot: snapshot, slotOf: { kept[$0] }, indexedCount: rows.count)
            let keptSlots = Set(kept.values)
            for slot in 0..<rows.count where !deleted[slot] && !keptSlots.contains(Int32(slot)) {
                restored.insert(slot: Int32(slot), rows: rows)
            }
            forest = restored
            if reducedRank > 0 {
                let restoredSubspace = PrincipalSubspace(dimension: rows.dimension, rank: reducedRank, basis: snapshot.subspaceBasis)
                subspace = restoredSubspace
                reducedRows = restoredSubspace.projectAll(rows)
                subspaceLearnedAt = live
            }
            changesSinceBuild = dropped + inserted
            mutations += 1
            if dropped + inserted == 0 { savedMutations = mutations }  // the file already holds exactly this
            return .restored(kept: kept.count, inserted: inserted, dropped: dropped)
        }
    }

    /// Writes the current forest to ``Configuration/snapshotPath`` (atomically: a new file renamed over the
    /// old), unless the file already reflects the index. Returns false when there is no forest or no path. The
    /// index lock is held only to take copies.
    @discardableResult
    public func saveSnapshot() throws -> Bool {
        guard let path = configuration.snapshotPath else { return false }
        saveLock.lock()
        defer { saveLock.unlock() }
        let taken = lock.withReadLock { () -> (RandomProjectionForest, PrincipalSubspace?, [Int64], [Bool], RowSource, Int)?? in
            guard let forest else { return nil }
            if savedMutations == mutations { return .some(nil) }
            return (forest, subspace, slotIDs, deleted, RowSource(storage), mutations)
        }
        guard let taken else { return false }
        guard let (forest, subspace, ids, deleted, rows, generation) = taken else { return true }
        var items: [ForestSnapshot.Item] = []
        items.reserveCapacity(ids.count)
        for slot in 0..<min(ids.count, rows.count) where !deleted[slot] {
            items.append(.init(id: ids[slot], fingerprint: ForestSnapshot.fingerprint(
                id: ids[slot], row: rows.row(Int32(slot)), dimension: rows.dimension)))
        }
        items.sort { $0.id < $1.id }
        let snapshot = forest.snapshot(items: items, subspace: subspace) { slot in
            Int(slot) < ids.count && !deleted[Int(slot)] ? ids[Int(slot)] : nil
        }
        do {
            try Data(snapshot.encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ForestSnapshotError(kind: .io, path: path, reason: "cannot write: \(error.localizedDescription)")
        }
        lock.withWriteLock { savedMutations = generation }
        return true
    }

    /// Saves the snapshot after a build; a failure is kept for ``statistics`` rather than thrown (the index
    /// works without a snapshot).
    private func recordSnapshotSave() {
        var failure: String?
        do { try saveSnapshot() } catch { failure = "\(error)" }
        lock.withWriteLock { snapshotFailure = failure }
    }

    /// Waits for a background rebuild in progress, if any (tests and orderly shutdown).
    public func waitForRebuild() {
        rebuildGroup.wait()
    }
}

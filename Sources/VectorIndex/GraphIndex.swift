public import MetadataFilter
import Dispatch
import Foundation

/// An index for collections of millions of images: in memory only 8-bit codes of each vector's principal
/// subspace (``SubspaceCodec``) and a proximity graph over them; full vectors live in a ``VectorFile`` and are
/// read only to re-rank a short list.
///
/// The graph is a single-layer Vamana graph (DiskANN): each node keeps at most `degree` out-edges chosen by the
/// robust prune rule, so that besides near neighbours it keeps a few long edges toward other regions. Edges are
/// chosen on exact similarities to the node (pairwise comparisons between candidates use the codes); a search
/// walks it best-first on code scores from one entry point near the centre of the data. Deleted entries stay in
/// the graph as waypoints (never answers) until the graph is rebuilt.
///
/// Below `exactThreshold` live entries there is no graph and searches are exact over the full vectors.
/// `@unchecked Sendable` is safe because every mutable member is read under `lock`'s read side and written
/// under its write side, and the vector file's rows, once written, never change.
public final class GraphIndex: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var dimension: Int
        /// Out-edges per node (4 bytes each in memory).
        public var degree: Int
        /// Candidates kept while finding a new node's neighbours.
        public var buildBeam: Int
        /// The robust prune's α: > 1 keeps longer edges.
        public var alpha: Float
        /// Principal directions kept in a code (one byte each).
        public var codeRank: Int
        /// Candidates kept by a search (raised to the number asked for).
        public var searchBeam: Int
        /// Best code-scored candidates whose full vectors are read and scored exactly.
        public var rerank: Int
        /// Up to this many live entries, searches are exact and no graph is built.
        public var exactThreshold: Int
        /// Bits of the binary codes kept beside the vectors (0: none).
        public var codeBits: Int
        /// The file of full vectors (nil: anonymous memory).
        public var vectorPath: String?
        /// Where the graph is saved and restored from at start-up (nil: built at every start).
        public var snapshotPath: String?
        /// Metadata fields held in columns for filtering.
        public var attributes: AttributeSchema
        /// A filtered search whose filter admits at most this many live entries scores them all exactly.
        public var filteredExactLimit: Int

        public init(dimension: Int, degree: Int = 32, buildBeam: Int = 64, alpha: Float = 1.2, codeRank: Int = 256,
                    searchBeam: Int = 64, rerank: Int = 40, exactThreshold: Int = 2_000, codeBits: Int = 0,
                    vectorPath: String? = nil, snapshotPath: String? = nil, attributes: AttributeSchema = AttributeSchema(),
                    filteredExactLimit: Int = 4_000) {
            self.dimension = dimension
            self.degree = degree
            self.buildBeam = buildBeam
            self.alpha = alpha
            self.codeRank = codeRank
            self.searchBeam = searchBeam
            self.rerank = rerank
            self.exactThreshold = exactThreshold
            self.codeBits = codeBits
            self.vectorPath = vectorPath
            self.snapshotPath = snapshotPath
            self.attributes = attributes
            self.filteredExactLimit = filteredExactLimit
        }
    }

    public let configuration: Configuration
    let kernels: DistanceKernels
    let lock = ReadWriteLock()
    let visitedPool = VisitedPool()
    let vectors: VectorFile
    var slotTable = SlotTable()
    let attributes: AttributeTable
    var binaryCodes: [UInt64] = []
    let codeWords: Int
    /// Nil until the first build completes; searches are exact meanwhile.
    var graph: ProximityGraph?
    /// Live entries when the graph was built: it is built anew (codec included) each time the collection
    /// doubles, so the codes follow the data.
    var builtAtCount = 0
    /// Tombstones when the graph was built: deleted nodes stay as waypoints, and once they grow by a fifth of
    /// the graph it is built anew without them (the consolidation FreshDiskANN does, in its simplest form).
    var tombstonesAtBuild = 0
    var appliedSequence: Int64 = 0
    var builds = 0
    var loading = false
    /// A build runs in the background while the current graph (or exact search) keeps serving.
    var building = false
    var buildFailure: String?
    /// Changes to the graph (adds, removes, builds, restores) and how many of them the snapshot file reflects.
    var changes = 0
    var savedChanges = -1
    var snapshotFailure: String?
    /// One save at a time: a build's save and the one at shutdown may meet.
    let saveLock = NSLock()
    let buildQueue = DispatchQueue(label: "lookalike.graph.build", qos: .utility)
    let buildGroup = DispatchGroup()

    /// `portableKernels` runs the portable C inner products even where AVX2 is available (the tests run both).
    public init(configuration: Configuration, portableKernels: Bool = false) throws(VectorFileError) {
        precondition(configuration.dimension > 0 && (2...255).contains(configuration.degree), "invalid graph configuration")
        precondition((1...min(512, configuration.dimension)).contains(configuration.codeRank), "code rank must be 1...512")
        precondition(configuration.codeBits % 64 == 0, "code bits must be a multiple of 64")
        self.configuration = configuration
        kernels = portableKernels ? DistanceKernels(vectorised: false) : DistanceKernels.best
        vectors = try VectorFile(path: configuration.vectorPath, dimension: configuration.dimension)
        attributes = AttributeTable(schema: configuration.attributes)
        codeWords = configuration.codeBits / 64
    }

    /// Live entries.
    public var count: Int { lock.withReadLock { slotTable.liveCount } }

    /// Whether the graph has been built (otherwise searches are exact).
    public var hasGraph: Bool { lock.withReadLock { graph != nil } }

    /// Bytes held in memory per part: compressed rows, graph, ids and slot map, binary codes, metadata columns
    /// not counted; the full vectors are reported apart (`vectorBytes`), since they live in a file when the
    /// index has one.
    public struct Memory: Sendable, Equatable {
        public let codeBytes: Int
        public let graphBytes: Int
        public let idBytes: Int
        public let binaryCodeBytes: Int
        public let codecBytes: Int
        /// Full vectors, in the file and in memory.
        public let vectorBytes: Int
        /// Full vectors in anonymous memory (no file, or one that could not grow).
        public let vectorMemoryBytes: Int

        /// What stays in memory whatever the page cache does.
        public var residentBytes: Int {
            codeBytes + graphBytes + idBytes + binaryCodeBytes + codecBytes + vectorMemoryBytes
        }
    }

    public var memory: Memory {
        lock.withReadLock {
            // Ids, tombstone flags and the live bitmap by slot, and the id → slot dictionary (16-byte entries at
            // the standard library's 3/4 maximum load).
            let slots = slotTable.count
            let idBytes = slots * (8 + 1) + slots / 8 + slotTable.liveCount * 16 * 4 / 3
            return Memory(
                codeBytes: graph?.codes.allocatedBytes ?? 0,
                graphBytes: (graph?.allocatedBytes ?? 0) - (graph?.codes.allocatedBytes ?? 0),
                idBytes: idBytes, binaryCodeBytes: binaryCodes.capacity * 8,
                codecBytes: graph.map { ($0.codec.rank * $0.codec.dimension + $0.codec.rank) * 4 } ?? 0,
                vectorBytes: vectors.byteCount, vectorMemoryBytes: vectors.memoryBytes)
        }
    }

    /// Adds or replaces `id`. `vector` is unit length.
    public func add(id: Int64, vector: [Float], code: BinaryCode? = nil, sequence: Int64? = nil, metadata: FilterValue? = nil) {
        precondition(vector.count == configuration.dimension, "vector dimension \(vector.count) ≠ \(configuration.dimension)")
        precondition(codeWords == 0 || code?.words.count == codeWords, "code length does not match the index")
        lock.withWriteLock {
            let slot = slotTable.append(id: id)
            let row = vector.withUnsafeBufferPointer { vectors.append($0) }
            assert(row == slot, "the slot table and the vector rows move together")
            if let code, codeWords > 0 { binaryCodes += code.words }
            attributes.append(metadata)
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            changes += 1
            if loading { return }
            if graph != nil {
                graph!.appendCode(slot, rows: RowSource(vectors))
                graph!.insert(slot, rows: RowSource(vectors), visited: visitedPool)
            }
            if buildIsDue { scheduleBuild() }
        }
    }

    /// Removes `id`; false when it was not present. Its node stays in the graph as a waypoint.
    @discardableResult
    public func remove(id: Int64, sequence: Int64? = nil) -> Bool {
        lock.withWriteLock {
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            guard slotTable.remove(id: id) else { return false }
            changes += 1
            if !loading && buildIsDue { scheduleBuild() }
            return true
        }
    }

    /// Replaces what filters see for `id`; false when it is not present.
    @discardableResult
    public func updateMetadata(id: Int64, _ metadata: FilterValue?, sequence: Int64? = nil) -> Bool {
        lock.withWriteLock {
            if let sequence { appliedSequence = max(appliedSequence, sequence) }
            guard let slot = slotTable.slot(of: id) else { return false }
            attributes.replace(row: Int(slot), with: metadata)
            return true
        }
    }

    /// A first graph past the exact threshold, a new one once the collection has doubled or deletions reach a
    /// fifth of the graph. Under the lock.
    var buildIsDue: Bool {
        guard graph != nil else { return slotTable.liveCount > configuration.exactThreshold }
        return slotTable.liveCount >= 2 * builtAtCount || (slotTable.tombstones - tombstonesAtBuild) * 5 > builtAtCount
    }

    /// Builds a graph in the background from the rows written so far, then, under the write lock, codes and
    /// inserts the rows written meanwhile and swaps it in. Under the write lock.
    func scheduleBuild() {
        guard !building else { return }
        building = true
        let rows = RowSource(vectors)
        let live = (0..<Int32(slotTable.count)).filter { slotTable.live.contains(Int($0)) }
        let tombstones = slotTable.tombstones
        buildQueue.async(group: buildGroup) { [self] in
            do {
                guard !live.isEmpty else { throw GraphBuildError.empty }
                var built = try ProximityGraph(rows: rows, live: live, configuration: configuration, kernels: kernels,
                                               visited: visitedPool)
                lock.withWriteLock {
                    let current = RowSource(vectors)
                    for slot in Int32(rows.count)..<Int32(current.count) {
                        built.appendCode(slot, rows: current)
                        if slotTable.live.contains(Int(slot)) { built.insert(slot, rows: current, visited: visitedPool) }
                    }
                    graph = built
                    builtAtCount = live.count
                    tombstonesAtBuild = tombstones
                    builds += 1
                    changes += 1
                    building = false
                    buildFailure = nil
                    // Writes while it was built may already call for the next one.
                    if buildIsDue { scheduleBuild() }
                }
                recordSnapshotSave()
            } catch {
                lock.withWriteLock {
                    building = false
                    buildFailure = "\(error)"
                }
            }
        }
    }

    /// Builds the graph now over every entry (when past the exact threshold, or `force`) and waits for it.
    public func buildNow(force: Bool = false) {
        buildGroup.wait()
        lock.withWriteLock {
            if force || slotTable.liveCount > configuration.exactThreshold { scheduleBuild() }
        }
        buildGroup.wait()
    }
}

/// Why a background build made no graph.
enum GraphBuildError: Error {
    case empty
}

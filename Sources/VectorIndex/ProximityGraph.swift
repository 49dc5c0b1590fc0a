import Foundation

/// A graph index's approximate part: each slot's code and, for live slots, up to `degree` out-edges, plus the
/// entry point walks start from.
///
/// The graph is a single-layer Vamana graph (DiskANN): a node's edges are chosen by the robust prune rule, so
/// that besides near neighbours it keeps a few long edges toward other regions. A new node's edges are chosen on
/// exact similarities to it (its full vector against the candidates'); comparisons between candidates, and a
/// neighbour's edges when a back edge overflows them, use the codes. Walks are best-first on code scores.
///
/// A value with one owner at a time: the index mutates its graph under its write lock; a background build makes
/// a new one from rows that no longer change and hands it over. `codes` is a reference to append-only storage
/// owned by this graph alone.
struct ProximityGraph {
    let codec: SubspaceCodec
    /// The codec's weights for comparing two codes.
    let pairWeights: (weights: [Int16], factor: Float)
    let codes: VectorStorage<Int8>
    /// `degree` entries per slot; `degrees[slot]` of them are edges.
    private(set) var neighbours: [Int32] = []
    private(set) var degrees: [UInt8] = []
    private(set) var entryPoint: Int32 = -1
    let degree: Int
    let buildBeam: Int
    let alpha: Float
    let kernels: DistanceKernels

    /// Slots with a code (every slot below this has one, live or not).
    var count: Int { degrees.count }

    /// Bytes held: codes, edges and degrees.
    var allocatedBytes: Int { codes.allocatedBytes + neighbours.capacity * 4 + degrees.capacity }

    /// An empty graph with this codec.
    private init(codec: SubspaceCodec, configuration: GraphIndex.Configuration, kernels: DistanceKernels) {
        self.codec = codec
        pairWeights = codec.pairWeights
        codes = VectorStorage<Int8>(dimension: codec.codeLength, rowsPerChunk: max(64, (2 << 20) / codec.codeLength))
        degree = configuration.degree
        buildBeam = configuration.buildBeam
        alpha = configuration.alpha
        self.kernels = kernels
    }

    /// Learns the codec from the live slots among `rows`, codes every row and inserts the live ones. Needs no lock:
    /// `rows` are rows that no longer change.
    init(rows: RowSource, live: [Int32], configuration: GraphIndex.Configuration, kernels: DistanceKernels,
         visited: VisitedPool) throws {
        self.init(codec: try SubspaceCodec(training: rows, slots: live, rank: configuration.codeRank),
                  configuration: configuration, kernels: kernels)
        neighbours.reserveCapacity(rows.count * degree * 5 / 4)
        degrees.reserveCapacity(rows.count * 5 / 4)
        for slot in 0..<Int32(rows.count) { appendCode(slot, rows: rows) }
        entryPoint = Self.medoid(of: live, rows: rows, kernels: kernels)
        for slot in live where slot != entryPoint { insert(slot, rows: rows, visited: visited) }
    }

    /// Continues a saved graph over the rows loaded now. `slotOfNode[node]` is the slot holding, now, the entry
    /// the saved node stood for (-1: deleted or changed since, or a waypoint then). Such nodes are dropped: each
    /// edge to one is replaced by that node's own edges, pruned on codes when they overflow (FreshDiskANN's
    /// delete consolidation). Rows no saved node stands for are coded here and get no edges: the caller inserts
    /// the live ones. The snapshot's parameters are the configuration's (the caller checked).
    init(restoring snapshot: GraphSnapshot, slotOfNode: [Int32], rows: RowSource, live: [Int32],
         configuration: GraphIndex.Configuration, kernels: DistanceKernels) {
        self.init(codec: SubspaceCodec(subspace: PrincipalSubspace(dimension: snapshot.parameters.dimension,
                                                                   rank: snapshot.parameters.codeRank, basis: snapshot.basis),
                                       scale: snapshot.scale),
                  configuration: configuration, kernels: kernels)
        let slots = rows.count, codeLength = codec.codeLength, degree = degree
        var nodeOfSlot = [Int32](repeating: -1, count: slots)
        for (node, slot) in slotOfNode.enumerated() where slot >= 0 { nodeOfSlot[Int(slot)] = Int32(node) }
        snapshot.codes.withUnsafeBufferPointer { saved in
            for slot in 0..<slots {
                let node = Int(nodeOfSlot[slot])
                if node >= 0 {
                    _ = codes.append(UnsafeBufferPointer(rebasing: saved[(node * codeLength)..<((node + 1) * codeLength)]))
                } else {
                    _ = codec.encode(rows.row(Int32(slot))).withUnsafeBufferPointer { codes.append($0) }
                }
            }
        }
        neighbours.reserveCapacity(slots * degree * 5 / 4)
        neighbours += repeatElement(-1, count: slots * degree)
        degrees.reserveCapacity(slots * 5 / 4)
        degrees += repeatElement(0, count: slots)
        func savedEdges(_ node: Int) -> ArraySlice<Int32> {
            snapshot.neighbours[(node * degree)..<(node * degree + Int(snapshot.degrees[node]))]
        }
        for slot in 0..<Int32(slots) {
            let node = Int(nodeOfSlot[Int(slot)])
            guard node >= 0 else { continue }
            var edges: [Int32] = []
            func keep(_ target: Int32) {
                let mapped = slotOfNode[Int(target)]
                if mapped >= 0, mapped != slot, !edges.contains(mapped) { edges.append(mapped) }
            }
            for target in savedEdges(node) {
                if slotOfNode[Int(target)] >= 0 { keep(target) } else { savedEdges(Int(target)).forEach(keep) }
            }
            if edges.count > degree { edges = prune(edges.map { (slot: $0, similarity: codeSimilarity(slot, $0)) }) }
            setEdges(of: slot, edges)
        }
        let entry = snapshot.entryNode >= 0 ? slotOfNode[snapshot.entryNode] : -1
        entryPoint = entry >= 0 ? entry : live.isEmpty ? -1 : Self.medoid(of: live, rows: rows, kernels: kernels)
    }

    /// The saved form: `ids[slot]` and `fingerprints[slot]` name what each slot stands for (``GraphSnapshot/waypoint``
    /// for a deleted one); `codes` is ``codeBytes()`` taken under the same lock as the graph.
    func snapshot(ids: [Int64], fingerprints: [UInt64], codes: [Int8], sequence: Int64, builtAtCount: Int,
                  tombstonesAtBuild: Int) -> GraphSnapshot {
        GraphSnapshot(
            parameters: .init(dimension: codec.dimension, degree: degree, codeRank: codec.rank), entryNode: Int(entryPoint),
            sequence: sequence, builtAtCount: builtAtCount, tombstonesAtBuild: tombstonesAtBuild,
            basis: codec.subspace.basis, scale: codec.scale, ids: ids, fingerprints: fingerprints, codes: codes,
            degrees: degrees, neighbours: neighbours)
    }

    /// Every slot's code, one after another. Only under the index lock: the storage's chunk list grows with adds.
    func codeBytes() -> [Int8] {
        let length = codec.codeLength
        return [Int8](unsafeUninitializedCapacity: count * length) { buffer, initialized in
            for slot in 0..<count {
                (buffer.baseAddress! + slot * length).update(from: codes.row(Int32(slot)), count: length)
            }
            initialized = count * length
        }
    }

    /// Codes the next slot and makes room for its edges (it has none until ``insert(_:rows:visited:)``).
    mutating func appendCode(_ slot: Int32, rows: RowSource) {
        precondition(Int(slot) == count, "codes are appended in slot order")
        _ = codec.encode(rows.row(slot)).withUnsafeBufferPointer { codes.append($0) }
        neighbours += repeatElement(-1, count: degree)
        degrees.append(0)
    }

    /// The live slot most similar to the mean of `slots`: where walks start.
    private static func medoid(of slots: [Int32], rows: RowSource, kernels: DistanceKernels) -> Int32 {
        let dimension = rows.dimension
        var mean = [Float](repeating: 0, count: dimension)
        for slot in slots {
            let row = rows.row(slot)
            for i in 0..<dimension { mean[i] += row[i] }
        }
        var best = slots[0]
        var bestScore = -Float.infinity
        mean.withUnsafeBufferPointer { mean in
            for slot in slots {
                let score = kernels.floatDot(mean.baseAddress!, rows.row(slot), dimension)
                if score > bestScore { (best, bestScore) = (slot, score) }
            }
        }
        return best
    }

    /// Finds `slot`'s edges by a walk and the robust prune, and adds the back edges. `slot` has a code.
    mutating func insert(_ slot: Int32, rows: RowSource, visited: VisitedPool) {
        guard entryPoint >= 0, entryPoint != slot else {
            if entryPoint < 0 { entryPoint = slot }
            return
        }
        let row = rows.row(slot)
        let (weights, _) = codec.weights(for: row)
        let found = weights.withUnsafeBufferPointer { weights in
            visited.withTable(count: count) { walk(weights.baseAddress!, beam: buildBeam, visited: $0) }
        }
        let candidates = found.compactMap { entry in
            entry.slot == slot ? nil : (slot: entry.slot, similarity: kernels.floatDot(row, rows.row(entry.slot), rows.dimension))
        }
        let chosen = prune(candidates)
        setEdges(of: slot, chosen)
        for neighbour in chosen { addBackEdge(from: neighbour, to: slot) }
    }

    /// Adds `target` to `node`'s edges, pruning them when full.
    private mutating func addBackEdge(from node: Int32, to target: Int32) {
        let count = Int(degrees[Int(node)])
        let base = Int(node) * degree
        for index in 0..<count where neighbours[base + index] == target { return }
        if count < degree {
            neighbours[base + count] = target
            degrees[Int(node)] += 1
            return
        }
        // The node's similarity to its edges and to the newcomer from their codes: exact ones would read
        // `degree` + 1 full vectors from the file for every back edge.
        let candidates = (Array(neighbours[base..<base + count]) + [target]).map { (slot: $0, similarity: codeSimilarity(node, $0)) }
        setEdges(of: node, prune(candidates))
    }

    private mutating func setEdges(of node: Int32, _ edges: [Int32]) {
        let base = Int(node) * degree
        for (index, edge) in edges.enumerated() { neighbours[base + index] = edge }
        degrees[Int(node)] = UInt8(edges.count)
    }

    /// The robust prune (Vamana): candidates by similarity to the node, best first; each one kept removes the
    /// candidates that are closer to it than to the node by the factor α (in squared distance, 2 − 2·cosine).
    func prune(_ candidates: [(slot: Int32, similarity: Float)]) -> [Int32] {
        let scored = candidates.sorted { $0.similarity > $1.similarity }
        var removed = [Bool](repeating: false, count: scored.count)
        var chosen: [Int32] = []
        chosen.reserveCapacity(degree)
        for index in scored.indices where !removed[index] {
            let kept = scored[index]
            chosen.append(kept.slot)
            if chosen.count == degree { break }
            for other in (index + 1)..<scored.count where !removed[other] {
                let between = codeSimilarity(kept.slot, scored[other].slot)
                if alpha * (2 - 2 * between) <= 2 - 2 * scored[other].similarity { removed[other] = true }
            }
        }
        return chosen
    }

    /// The cosine of two stored vectors estimated from their codes.
    @inline(__always)
    func codeSimilarity(_ a: Int32, _ b: Int32) -> Float {
        pairWeights.weights.withUnsafeBufferPointer {
            Float(kernels.pairDot(codes.row(a), codes.row(b), $0.baseAddress!, codec.codeLength))
        } / pairWeights.factor
    }

    /// A best-first walk on code scores from the entry point, keeping the `beam` best nodes seen (live or not);
    /// returns them best first, scored in units of the query's weights.
    func walk(_ weights: UnsafePointer<Int16>, beam: Int, visited: VisitedTable) -> [(score: Int32, slot: Int32)] {
        guard entryPoint >= 0 else { return [] }
        let codeLength = codec.codeLength
        var candidates = ScoredSlotHeap(capacity: beam * 4)
        var best = ScoredSlotHeap(capacity: beam + 1)  // negated scores: a min-heap
        _ = visited.insert(entryPoint)
        let first = kernels.codeDot(codes.row(entryPoint), weights, codeLength)
        candidates.push(score: first, slot: entryPoint)
        best.push(score: -first, slot: entryPoint)
        neighbours.withUnsafeBufferPointer { neighbours in
            degrees.withUnsafeBufferPointer { degrees in
                while let top = candidates.top {
                    let score = ScoredSlotHeap.score(top)
                    if best.count >= beam && score < -ScoredSlotHeap.score(best.top!) { break }
                    candidates.pop()
                    let node = Int(ScoredSlotHeap.slot(top))
                    let edges = neighbours.baseAddress! + node * degree
                    let count = Int(degrees[node])
                    for index in 1..<max(1, count) {
                        DistanceKernels.prefetch(codes.row(edges[index]), bytes: codeLength)
                    }
                    for index in 0..<count {
                        let next = edges[index]
                        guard visited.insert(next) else { continue }
                        let nextScore = kernels.codeDot(codes.row(next), weights, codeLength)
                        if best.count < beam || nextScore > -ScoredSlotHeap.score(best.top!) {
                            candidates.push(score: nextScore, slot: next)
                            best.push(score: -nextScore, slot: next)
                            if best.count > beam { best.pop() }
                        }
                    }
                }
            }
        }
        return best.keys.map { (score: -ScoredSlotHeap.score($0), slot: ScoredSlotHeap.slot($0)) }
            .sorted { $0.score > $1.score }
    }
}

extension RowSource {
    /// The rows of a vector file written so far.
    init(_ file: VectorFile) {
        chunks = file.chunks
        rowsPerChunk = file.rowsPerChunk
        dimension = file.dimension
        count = file.count
    }
}

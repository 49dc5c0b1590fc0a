import Foundation

/// Building the graph: codes, node insertion (a walk, then the robust prune), back edges.
extension GraphIndex {
    /// Learns the codec, codes every slot and inserts every live slot, replacing any graph. Under the write lock.
    func buildGraph() {
        let live = (0..<Int32(slotTable.count)).filter { slotTable.live.contains(Int($0)) }
        guard !live.isEmpty else { return }
        let rows = RowSource(vectors)
        guard let codec = try? SubspaceCodec(training: rows, slots: live, rank: configuration.codeRank) else { return }
        self.codec = codec
        pairWeights = codec.pairWeights
        builtAtCount = live.count
        tombstonesAtBuild = slotTable.tombstones
        let storage = VectorStorage<Int8>(dimension: codec.codeLength, rowsPerChunk: max(64, (2 << 20) / codec.codeLength))
        codes = storage
        neighbours = [Int32](repeating: -1, count: slotTable.count * configuration.degree)
        degrees = [UInt8](repeating: 0, count: slotTable.count)
        neighbours.reserveCapacity(slotTable.count * configuration.degree * 5 / 4)
        degrees.reserveCapacity(slotTable.count * 5 / 4)
        for slot in 0..<Int32(slotTable.count) {
            _ = codec.encode(vectors.row(slot)).withUnsafeBufferPointer { storage.append($0) }
        }
        entryPoint = medoid(of: live)
        for slot in live where slot != entryPoint { insertNode(slot, appending: false) }
        builds += 1
    }

    /// Codes `slot` (the next one) and makes room for its edges. Under the write lock.
    func appendCode(_ codec: SubspaceCodec, slot: Int32) {
        guard let codes else { return }
        assert(codes.count == Int(slot), "codes are appended in slot order")
        _ = codec.encode(vectors.row(slot)).withUnsafeBufferPointer { codes.append($0) }
    }

    /// The live slot most similar to the mean of `slots`: where walks start.
    private func medoid(of slots: [Int32]) -> Int32 {
        let dimension = configuration.dimension
        var mean = [Float](repeating: 0, count: dimension)
        for slot in slots {
            let row = vectors.row(slot)
            for i in 0..<dimension { mean[i] += row[i] }
        }
        var best = slots[0]
        var bestScore = -Float.infinity
        mean.withUnsafeBufferPointer { mean in
            for slot in slots {
                let score = kernels.floatDot(mean.baseAddress!, vectors.row(slot), dimension)
                if score > bestScore { (best, bestScore) = (slot, score) }
            }
        }
        return best
    }

    /// Finds `slot`'s neighbours by a walk and the robust prune, and adds the back edges. Under the write lock;
    /// `appending` makes room for the node's edges first (a slot added after the build).
    func insertNode(_ slot: Int32, appending: Bool = true) {
        let degree = configuration.degree
        if appending {
            neighbours += repeatElement(-1, count: degree)
            degrees.append(0)
        }
        guard let codec, entryPoint >= 0, entryPoint != slot else {
            if entryPoint < 0 { entryPoint = slot }
            return
        }
        let query = codec.weights(for: vectors.row(slot))
        let found = query.weights.withUnsafeBufferPointer { weights in
            visitedPool.withTable(count: degrees.count) { visited in
                walk(weights.baseAddress!, beam: configuration.buildBeam, visited: visited)
            }
        }
        let row = vectors.row(slot)
        let dimension = configuration.dimension
        let candidates = found.compactMap { entry in
            entry.slot == slot ? nil : (slot: entry.slot, similarity: kernels.floatDot(row, vectors.row(entry.slot), dimension))
        }
        let chosen = prune(for: slot, candidates: candidates)
        setEdges(of: slot, chosen)
        for neighbour in chosen { addBackEdge(from: neighbour, to: slot) }
    }

    /// Adds `target` to `node`'s edges, pruning them when full.
    private func addBackEdge(from node: Int32, to target: Int32) {
        let degree = configuration.degree
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
        setEdges(of: node, prune(for: node, candidates: candidates))
    }

    private func setEdges(of node: Int32, _ edges: [Int32]) {
        let base = Int(node) * configuration.degree
        for (index, edge) in edges.enumerated() { neighbours[base + index] = edge }
        degrees[Int(node)] = UInt8(edges.count)
    }

    /// The robust prune (Vamana): candidates by similarity to `node`, best first; each one kept removes the
    /// candidates that are closer to it than to `node` by the factor α (in squared distance, 2 − 2·cosine).
    /// Similarities between candidates come from their codes.
    func prune(for node: Int32, candidates: [(slot: Int32, similarity: Float)]) -> [Int32] {
        let scored = candidates.sorted { $0.similarity > $1.similarity }
        var removed = [Bool](repeating: false, count: scored.count)
        var chosen: [Int32] = []
        chosen.reserveCapacity(configuration.degree)
        let alpha = configuration.alpha
        for index in scored.indices where !removed[index] {
            let kept = scored[index]
            chosen.append(kept.slot)
            if chosen.count == configuration.degree { break }
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
        guard let codes, let codec else { return 0 }
        return pairWeights.weights.withUnsafeBufferPointer {
            Float(kernels.pairDot(codes.row(a), codes.row(b), $0.baseAddress!, codec.codeLength))
        } / pairWeights.factor
    }

    /// A best-first walk on code scores from the entry point, keeping the `beam` best nodes seen (live or not);
    /// returns them best first. Under either side of the lock.
    func walk(_ weights: UnsafePointer<Int16>, beam: Int, visited: VisitedTable) -> [(score: Int32, slot: Int32)] {
        guard let codec, let codes, entryPoint >= 0 else { return [] }
        let degree = configuration.degree
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
                    for index in 0..<count where index + 1 < count {
                        DistanceKernels.prefetch(codes.row(edges[index + 1]), bytes: codeLength)
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
    /// The rows of a vector file (for training the codec).
    init(_ file: VectorFile) {
        chunks = file.chunks
        rowsPerChunk = file.rowsPerChunk
        dimension = file.dimension
        count = file.count
    }
}

public import MetadataFilter
import Foundation

/// The graph as one kind of ``ImageIndex``.
extension GraphIndex: ImageIndex {
    public var sequence: Int64 { lock.withReadLock { appliedSequence } }

    public var accounting: IndexAccounting {
        let memory = self.memory
        return lock.withReadLock {
            IndexAccounting(count: slotTable.liveCount, tombstones: slotTable.tombstones, memoryBytes: memory.residentBytes,
                            structures: graph == nil ? 0 : 1, rebuilds: builds, sequence: appliedSequence,
                            building: graph == nil && building)
        }
    }

    public func advance(toSequence sequence: Int64) {
        lock.withWriteLock { appliedSequence = max(appliedSequence, sequence) }
    }

    public func replaceCodes(_ codes: [Int64: BinaryCode]) {
        guard codeWords > 0 else { return }
        lock.withWriteLock {
            for (id, code) in codes {
                guard let slot = slotTable.slot(of: id), code.words.count == codeWords else { continue }
                for word in 0..<codeWords { binaryCodes[Int(slot) * codeWords + word] = code.words[word] }
            }
        }
    }

    public func recomputeCodes(_ encode: (UnsafeBufferPointer<Float>) -> BinaryCode) {
        guard codeWords > 0 else { return }
        lock.withWriteLock {
            for (position, id) in slotTable.ids.enumerated() where slotTable.slot(of: id) == Int32(position) {
                let code = encode(UnsafeBufferPointer(start: vectors.row(Int32(position)), count: configuration.dimension))
                guard code.words.count == codeWords else { continue }
                for word in 0..<codeWords { binaryCodes[position * codeWords + word] = code.words[word] }
            }
        }
    }

    public func entry(id: Int64) -> (vector: [Float], code: BinaryCode?)? {
        lock.withReadLock {
            guard let slot = slotTable.slot(of: id) else { return nil }
            let vector = Array(UnsafeBufferPointer(start: vectors.row(slot), count: configuration.dimension))
            guard codeWords > 0 else { return (vector, nil) }
            let start = Int(slot) * codeWords
            return (vector, BinaryCode(words: Array(binaryCodes[start..<start + codeWords])))
        }
    }

    public func search(_ query: [Float], k: Int, strategy: SearchStrategy, minScore: Float?, excluding: Set<Int64>,
                       code: BinaryCode?, filter: Filter?) throws(SearchError) -> [IndexMatch] {
        let effort: Effort
        switch strategy {
        case .automatic: effort = Effort()
        case .exact: effort = Effort(exact: true)
        case .graph(let beam): effort = Effort(beam: beam)
        case .forest: throw .strategyOfAnotherKind(strategy: "search_k", kind: "graph")
        case .hamming: throw .strategyOfAnotherKind(strategy: "a Hamming scan", kind: "graph")
        }
        return search(query, k: k, effort: effort, minScore: minScore, excluding: excluding, filter: filter)
    }

    /// The same definition as the forest's: every live entry within `maxDistance` bits, scored exactly.
    public func nearDuplicates(of query: [Float], code: BinaryCode, maxDistance: Int, minScore: Float, k: Int) -> [IndexMatch]? {
        guard codeWords > 0, code.words.count == codeWords else { return nil }
        guard k > 0, maxDistance >= 0 else { return [] }
        return lock.withReadLock {
            let words = codeWords
            var matches: [IndexMatch] = []
            code.words.withUnsafeBufferPointer { queryCode in
                binaryCodes.withUnsafeBufferPointer { codes in
                    query.withUnsafeBufferPointer { query in
                        slotTable.live.forEachRow { slot in
                            let distance = BinaryCode.distance(queryCode.baseAddress!, codes.baseAddress! + slot * words, wordCount: words)
                            guard distance <= maxDistance else { return }
                            let score = kernels.floatDot(query.baseAddress!, vectors.row(Int32(slot)), configuration.dimension)
                            if score >= minScore { matches.append(IndexMatch(id: slotTable.ids[slot], score: score)) }
                        }
                    }
                }
            }
            matches.sort { $0.score > $1.score || ($0.score == $1.score && $0.id < $1.id) }
            return Array(matches.prefix(k))
        }
    }

    public func count(matching filter: Filter) -> Int {
        lock.withReadLock {
            var rows = attributes.rows(matching: filter, count: slotTable.count)
            rows.formIntersection(slotTable.live)
            return rows.cardinality
        }
    }

    public func beginLoading() {
        lock.withWriteLock { loading = true }
    }

    /// Restores the graph from its snapshot when it fits what was loaded; otherwise starts building it in the
    /// background, and searches are exact until it is ready.
    @discardableResult
    public func finishLoading() -> IndexLoadOutcome {
        let live = lock.withWriteLock { () -> Int in
            loading = false
            return slotTable.liveCount
        }
        guard live > configuration.exactThreshold else { return .exact }
        var reason = "no snapshot configured"
        if let path = configuration.snapshotPath {
            do throws(IndexSnapshotError) {
                if let outcome = try restore(from: path) { return outcome }
                reason = "no snapshot at \(path)"
            } catch {
                reason = error.description
            }
        }
        lock.withWriteLock { scheduleBuild() }
        return .rebuilt(reason: reason + "; searches are exact until the graph is built")
    }

    public func buildNow() { buildNow(force: false) }

    public func waitForRebuild() { buildGroup.wait() }
}

import Foundation

/// The forest as one kind of ``ImageIndex``.
extension SimilarityIndex {
    public var accounting: IndexAccounting {
        let statistics = self.statistics
        return IndexAccounting(
            count: statistics.count, tombstones: statistics.tombstones,
            memoryBytes: statistics.vectorBytes + statistics.forestBytes + codeBytes, structures: statistics.trees,
            rebuilds: statistics.rebuilds, sequence: statistics.sequence)
    }

    /// Bytes of the packed binary codes.
    var codeBytes: Int { lock.withReadLock { codes.capacity * MemoryLayout<UInt64>.stride } }

    public func nearDuplicates(of query: [Float], code: BinaryCode, maxDistance: Int, minScore: Float, k: Int) -> [IndexMatch]? {
        nearDuplicates(of: query, code: code, maxDistance: maxDistance, minScore: minScore, k: k, candidateLimit: 256)
    }

    public func removeSnapshot() {
        guard let path = configuration.snapshotPath else { return }
        try? FileManager.default.removeItem(atPath: path)
    }

    public func buildNow() {
        waitForRebuild()
        if count > configuration.exactThreshold { rebuild() }
    }
}

import VectorIndex

/// The kinds of index a collection can have; where a collection's index is made.
enum IndexKind: String, Sendable, CaseIterable {
    /// Full vectors in memory, a random-projection forest over them, Hamming and subspace pre-ranking.
    case forest

    /// A new, empty index of this kind for a collection.
    func makeIndex(configuration: Configuration, settings: CollectionSettings, dimension: Int, snapshotPath: String?) -> any ImageIndex {
        switch self {
        case .forest:
            let index = configuration.index
            return SimilarityIndex(configuration: .init(
                dimension: dimension, trees: index.trees, leafSize: index.leafSize,
                searchKFactor: index.searchKFactor, exactThreshold: index.exactThreshold,
                rebuildFraction: index.rebuildFraction, hammingRerankLimit: index.hammingRerankLimit,
                codeBits: settings.codeBits, seed: UInt64(index.seed), snapshotPath: snapshotPath,
                reducedDimension: index.reducedDimension, reducedRerankLimit: index.reducedRerankLimit,
                hammingScanLimit: index.hammingScanLimit, hammingCandidateFactor: index.hammingCandidateFactor,
                attributes: settings.indexes))
        }
    }
}

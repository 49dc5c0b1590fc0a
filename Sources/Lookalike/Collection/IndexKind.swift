import VectorIndex

/// The kinds of index a collection can have (`index.kind` at creation); where a collection's index is made.
public enum IndexKind: String, Sendable, CaseIterable {
    /// Full vectors in memory, a random-projection forest over them, Hamming and subspace pre-ranking: the
    /// default, fastest to build and exact for small collections.
    case forest
    /// 8-bit principal-subspace codes and a proximity graph in memory, full vectors in a file beside the
    /// database read only to re-rank: about a tenth of the forest's memory, for collections of millions.
    case graph

    /// A new, empty index of this kind for a collection. `basePath` names the collection's files beside the
    /// database (the forest's or the graph's snapshot, the graph's vector file); nil keeps everything in memory.
    func makeIndex(configuration: Configuration, settings: CollectionSettings, dimension: Int, basePath: String?,
                   snapshot: Bool) throws -> any ImageIndex {
        let index = configuration.index
        switch self {
        case .forest:
            return SimilarityIndex(configuration: .init(
                dimension: dimension, trees: index.trees, leafSize: index.leafSize,
                searchKFactor: index.searchKFactor, exactThreshold: index.exactThreshold,
                rebuildFraction: index.rebuildFraction, hammingRerankLimit: index.hammingRerankLimit,
                codeBits: settings.codeBits, seed: UInt64(index.seed), snapshotPath: snapshot ? basePath.map { $0 + ".forest" } : nil,
                reducedDimension: index.reducedDimension, reducedRerankLimit: index.reducedRerankLimit,
                hammingScanLimit: index.hammingScanLimit, hammingCandidateFactor: index.hammingCandidateFactor,
                attributes: settings.indexes))
        case .graph:
            return try GraphIndex(configuration: .init(
                dimension: dimension, codeRank: min(256, dimension), exactThreshold: index.exactThreshold,
                codeBits: settings.codeBits, vectorPath: basePath.map { $0 + ".vectors" },
                snapshotPath: snapshot ? basePath.map { $0 + ".graph" } : nil, attributes: settings.indexes))
        }
    }
}

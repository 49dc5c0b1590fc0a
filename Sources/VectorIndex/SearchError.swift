/// Why a strategy asked for by name cannot run. The index never answers with another strategy instead.
public enum SearchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// ``Strategy/forest(searchK:)`` before a forest exists: the collection is small enough to be scanned
    /// (`live ≤ exactThreshold`) or its first forest is still being built.
    case forestUnavailable(live: Int, exactThreshold: Int)
    /// ``Strategy/hamming(candidates:)`` without a query code, or on an index that keeps no codes.
    case codesUnavailable
    /// A strategy of another kind of index (`search_k` on a graph, a beam on a forest).
    case strategyOfAnotherKind(strategy: String, kind: String)

    /// Whether waiting helps: the forest is being built for a collection past the exact threshold.
    public var isTransient: Bool {
        if case .forestUnavailable(let live, let threshold) = self { return live > threshold }
        return false
    }

    public var description: String {
        switch self {
        case .forestUnavailable(let live, let threshold) where live > threshold:
            "the forest is being built; search without search_k (or exactly) until it is ready"
        case .forestUnavailable(let live, let threshold):
            "search_k tunes the forest, which is built once a collection holds more than \(threshold) images "
                + "(this one holds \(live) and is searched exactly): omit search_k"
        case .codesUnavailable:
            "a Hamming scan needs the query's binary code and an index that keeps codes"
        case .strategyOfAnotherKind(let strategy, let kind):
            "\(strategy) tunes another kind of index; this collection's index is a \(kind): omit it"
        }
    }
}

extension SimilarityIndex {
    public typealias SearchError = VectorIndex.SearchError
}

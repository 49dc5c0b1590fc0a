public import MetadataFilter

/// How to search.
public struct SearchOptions: Sendable {
    /// Number of results, 1...1000.
    public var k = 10
    /// Drop results below this cosine similarity.
    public var minScore: Float? = nil
    /// Candidates the forest collects (nil: the configured default for `k`).
    public var searchK: Int? = nil
    /// Brute force over every vector.
    public var exact = false
    /// Only images whose metadata matches (applied inside the candidate scan).
    public var filter: Filter? = nil
    /// Results skipped before the `k` returned, for paging (0...1000); with `groupBy`, groups skipped.
    public var offset = 0
    /// Group results by this metadata key (dotted path): `k` groups of at most `groupSize` matches, each group's
    /// best first, groups ordered by their best match. Images without the key are left out.
    public var groupBy: String? = nil
    /// Matches per group, 1...100.
    public var groupSize = 1
    /// Query expansion: the query is added to its `expansion` nearest matches, each weighted by its cosine, and
    /// the sum (L2-normalised) is searched instead; scores are then cosines to that expanded query. 0 (off)...10.
    public var expansion = 0

    /// The most matches a query expansion adds.
    public static let maxExpansion = 10

    public init(k: Int = 10, minScore: Float? = nil, searchK: Int? = nil, exact: Bool = false, filter: Filter? = nil,
                offset: Int = 0, groupBy: String? = nil, groupSize: Int = 1, expansion: Int = 0) {
        self.expansion = expansion
        self.filter = filter
        self.offset = offset
        self.groupBy = groupBy
        self.groupSize = groupSize
        self.k = k
        self.minScore = minScore
        self.searchK = searchK
        self.exact = exact
    }

    func validate() throws {
        guard (1...1000).contains(k) else { throw LookalikeError.invalidArgument("k must be 1...1000, got \(k)") }
        // A grouped search reads at most ImageCollection.maxGroupFetch ranked matches, whatever the sizes.
        guard (1...100).contains(groupSize) else {
            throw LookalikeError.invalidArgument("group_size must be 1...100, got \(groupSize)")
        }
        if groupBy != nil {
            guard let groupBy, FieldPath.isValid(groupBy), groupBy.unicodeScalars.count <= 256 else {
                throw LookalikeError.invalidArgument("group_by must be a metadata key (dotted path)")
            }
        }
        guard (0...Self.maxExpansion).contains(expansion) else {
            throw LookalikeError.invalidArgument("expand must be 0...\(Self.maxExpansion), got \(expansion)")
        }
        guard (0...1000).contains(offset) else {
            throw LookalikeError.invalidArgument("offset must be 0...1000, got \(offset)")
        }
        if let minScore, !(minScore.isFinite && (-1...1).contains(minScore)) {
            throw LookalikeError.invalidArgument("min_score must be a number in -1...1")
        }
        if let searchK, !(1...10_000_000).contains(searchK) {
            throw LookalikeError.invalidArgument("search_k must be 1...10000000, got \(searchK)")
        }
    }
}

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
    /// The bounds of each option (what ``validate()`` checks; the API's declarations and document use them).
    public static let kRange = 1...1000
    public static let offsetRange = 0...1000
    public static let groupSizeRange = 1...100
    public static let expansionRange = 0...maxExpansion
    public static let searchKRange = 1...10_000_000
    public static let minScoreRange = -1.0...1.0

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
        guard Self.kRange.contains(k) else { throw LookalikeError.invalidArgument("k must be 1...1000, got \(k)") }
        // A grouped search reads at most ImageCollection.maxGroupFetch ranked matches, whatever the sizes.
        guard Self.groupSizeRange.contains(groupSize) else {
            throw LookalikeError.invalidArgument("group_size must be 1...100, got \(groupSize)")
        }
        if groupBy != nil {
            guard let groupBy, FieldPath.isValid(groupBy), groupBy.unicodeScalars.count <= 256 else {
                throw LookalikeError.invalidArgument("group_by must be a metadata key (dotted path)")
            }
        }
        guard Self.expansionRange.contains(expansion) else {
            throw LookalikeError.invalidArgument("expand must be 0...\(Self.maxExpansion), got \(expansion)")
        }
        guard Self.offsetRange.contains(offset) else {
            throw LookalikeError.invalidArgument("offset must be 0...1000, got \(offset)")
        }
        if let minScore, !(minScore.isFinite && Self.minScoreRange.contains(Double(minScore))) {
            throw LookalikeError.invalidArgument("min_score must be a number in -1...1")
        }
        if let searchK, !Self.searchKRange.contains(searchK) {
            throw LookalikeError.invalidArgument("search_k must be 1...10000000, got \(searchK)")
        }
    }
}

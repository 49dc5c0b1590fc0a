/// One result: a stored image and its similarity.
public struct Match: Sendable, Equatable {
    public let key: String
    /// Cosine similarity of the feature vectors, -1...1.
    public let score: Float
    /// The image's metadata (a JSON object as text).
    public let metadata: String
    /// With `group_by`: the group's value as JSON text (matches of one group are consecutive, best first).
    public var group: String?

    public init(key: String, score: Float, metadata: String, group: String? = nil) {
        self.key = key
        self.score = score
        self.metadata = metadata
        self.group = group
    }
}

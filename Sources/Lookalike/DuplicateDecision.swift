/// A "not duplicates" decision as callers see it: the images (by key) never grouped or reported as duplicates of
/// one another.
public struct DuplicateDecision: Sendable, Equatable {
    public let id: Int64
    public let createdAt: Double
    /// Its images still stored, sorted.
    public let keys: [String]
}

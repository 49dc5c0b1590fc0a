/// A "not duplicates" decision: images of one collection that are never grouped or reported as duplicates of one
/// another.
public struct StoredDecision: Sendable, Equatable {
    public let id: Int64
    public let createdAt: Double
    /// Its images still stored, by id (ascending).
    public let imageIDs: [Int64]

    public init(id: Int64, createdAt: Double, imageIDs: [Int64]) {
        self.id = id
        self.createdAt = createdAt
        self.imageIDs = imageIDs
    }

    /// Decisions from rows of (decision id, creation time, member image id or nil) ordered by decision, then image.
    public static func grouping(_ rows: [(id: Int64, createdAt: Double, image: Int64?)]) -> [StoredDecision] {
        var decisions: [StoredDecision] = []
        var images: [Int64] = []
        for (offset, row) in rows.enumerated() {
            if let image = row.image { images.append(image) }
            if offset == rows.count - 1 || rows[offset + 1].id != row.id {
                decisions.append(StoredDecision(id: row.id, createdAt: row.createdAt, imageIDs: images))
                images = []
            }
        }
        return decisions
    }
}

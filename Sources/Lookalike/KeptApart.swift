import Storage

/// The "not duplicates" decisions of a collection, as a lookup: whether two images were declared apart. Grouping
/// drops the neighbour links between such images, and upload verdicts leave them out.
struct KeptApart: Sendable, Equatable {
    /// Each image's decisions.
    private let decisionsOf: [Int64: Set<Int64>]
    /// Identifies the decisions' state: groups computed under another state are computed again.
    let fingerprint: [Int64]

    init(_ decisions: [StoredDecision]) {
        var decisionsOf: [Int64: Set<Int64>] = [:]
        var fingerprint: [Int64] = []
        for decision in decisions {
            fingerprint.append(decision.id)
            fingerprint.append(Int64(decision.imageIDs.count))
            for image in decision.imageIDs { decisionsOf[image, default: []].insert(decision.id) }
        }
        self.decisionsOf = decisionsOf
        self.fingerprint = fingerprint
    }

    /// Whether a decision holds both images.
    func separates(_ a: Int64, _ b: Int64) -> Bool {
        guard let first = decisionsOf[a], let second = decisionsOf[b] else { return false }
        return !first.isDisjoint(with: second)
    }

    var isEmpty: Bool { decisionsOf.isEmpty }
}

import Foundation
import Storage

/// "Not duplicates" decisions: a user looked at a group (or an upload's verdict) and said these images are
/// different pictures. They are stored with the collection (so every node and every restart sees them), and
/// grouping and upload verdicts leave such pairs out.
extension LookalikeService {
    /// How many images one decision names.
    public static let decisionSizes = 2...1_000

    /// Records that the images with `keys` are not duplicates of one another.
    public func recordNotDuplicates(keys: [String], collection name: String = LookalikeService.defaultCollection) throws -> DuplicateDecision {
        guard isReady else { throw LookalikeError.notReady }
        let unique = Array(Set(keys)).sorted()
        guard Self.decisionSizes.contains(unique.count) else {
            throw LookalikeError.invalidArgument(
                "a decision names \(Self.decisionSizes.lowerBound) to \(Self.decisionSizes.upperBound) different ids, got \(unique.count)")
        }
        let collection = try collection(name)
        var ids: [Int64] = []
        for key in unique {
            guard let id = collection.records.id(key: key) else { throw LookalikeError.decisionImageNotFound(key) }
            ids.append(id)
        }
        let stored = try store.addDecision(images: ids, collection: collection.id)
        return try decision(stored, in: collection)
    }

    /// The collection's decisions, oldest first.
    public func duplicateDecisions(collection name: String = LookalikeService.defaultCollection) throws -> [DuplicateDecision] {
        let collection = try collection(name)
        return try store.decisions(collection: collection.id).map { try decision($0, in: collection) }
    }

    /// Undoes a decision: its images may be grouped again.
    public func undoDecision(_ id: Int64, collection name: String = LookalikeService.defaultCollection) throws {
        let collection = try collection(name)
        guard try store.deleteDecision(id: id, collection: collection.id) else { throw LookalikeError.decisionNotFound(id) }
    }

    /// The decisions of `collection` as a lookup.
    func keptApart(_ collection: ImageCollection) throws -> KeptApart {
        KeptApart(try store.decisions(collection: collection.id))
    }

    /// An upload's near-duplicates without those a decision keeps apart from the image its key replaces.
    func withoutDecidedPairs(_ duplicates: [Match], key: String, in collection: ImageCollection) throws -> [Match] {
        guard !duplicates.isEmpty, let replaced = collection.records.id(key: key) else { return duplicates }
        let apart = try keptApart(collection)
        guard !apart.isEmpty else { return duplicates }
        return duplicates.filter { match in
            guard let other = collection.records.id(key: match.key) else { return true }
            return !apart.separates(replaced, other)
        }
    }

    private func decision(_ stored: StoredDecision, in collection: ImageCollection) throws -> DuplicateDecision {
        let records = try store.images(ids: stored.imageIDs)
        return DuplicateDecision(id: stored.id, createdAt: stored.createdAt,
                                 keys: stored.imageIDs.compactMap { records[$0]?.key }.sorted())
    }
}

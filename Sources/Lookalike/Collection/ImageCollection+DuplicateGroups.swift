import MetadataFilter
import VectorIndex

/// Near-duplicate groups over a whole collection, from the index's neighbour lists.
extension ImageCollection {
    /// Groups of near-duplicates: each image's `neighbours` nearest (from the index, no all-pairs matrix)
    /// at or above `threshold` are joined (union-find) into groups. Groups hold keys sorted, and are ordered
    /// by their first key; single images are not groups. With a filter, only the images it admits are grouped,
    /// and their neighbours are searched among those images (the filter inside the search, as everywhere). Images a
    /// "not duplicates" decision holds together are never linked.
    func duplicateGroups(threshold: Float, neighbours: Int, filter: Filter? = nil, apart: KeptApart) throws -> [[String]] {
        let key = GroupingKey(threshold: threshold, neighbours: neighbours, filter: filter, sequence: index.sequence,
                              decisions: apart.fingerprint)
        if let last = published.withLockedValue({ $0.lastGrouping }), last.key == key { return last.groups }
        let groups = try groupDuplicates(threshold: threshold, neighbours: neighbours, filter: filter, apart: apart)
        published.withLockedValue { $0.lastGrouping = (key, groups) }
        return groups
    }

    private func groupDuplicates(threshold: Float, neighbours: Int, filter: Filter?, apart: KeptApart) throws -> [[String]] {
        var keyOf: [Int64: String] = [:]
        for (imageID, entry) in records.all where filter?.matches(Self.document(entry.metadata) ?? .object([:])) ?? true {
            keyOf[imageID] = entry.key
        }
        var parent: [Int64: Int64] = [:]
        func root(_ id: Int64) -> Int64 {
            var id = id
            while let next = parent[id], next != id {
                parent[id] = parent[next] ?? next
                id = next
            }
            return id
        }
        for imageID in keyOf.keys.sorted() {
            guard let entry = index.entry(id: imageID) else { continue }
            // The automatic strategy always has one that can run.
            let hits = try index.search(entry.vector, k: neighbours, strategy: .automatic, minScore: threshold,
                                        excluding: [imageID], code: entry.code, filter: filter)
            for hit in hits where keyOf[hit.id] != nil && !apart.separates(imageID, hit.id) {
                let (a, b) = (root(imageID), root(hit.id))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var groups: [Int64: [String]] = [:]
        for (imageID, key) in keyOf { groups[root(imageID), default: []].append(key) }
        return groups.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

}

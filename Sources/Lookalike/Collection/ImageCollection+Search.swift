import Inference
import MetadataFilter
import Storage
import VectorIndex

/// The search path: ranked matches for a vector (with grouping by a metadata field and query expansion), the
/// upload's near-duplicate check, and reads of single records. Answers come from the index and the record
/// directory; only record, thumbnail and listing reads go to the store.
extension ImageCollection {
    /// Stored near-duplicates of an embedded upload (exact byte duplicates score 1), excluding `key` itself.
    func nearDuplicates(of vector: [Float], code: BinaryCode, scheme: CodeScheme, sha256: [UInt8], excludingKey: String) throws -> [Match] {
        var matches: [Match] = try store.images(sha256: sha256, collection: id).filter { $0.key != excludingKey }
            .map { Match(key: $0.key, score: 1, metadata: $0.metadata) }
        let maxDistance = Int(configuration.duplicates.maxHammingFraction * Double(scheme.bits))
        let minScore = Float(configuration.duplicates.minCosine)
        // The index is built with the scheme's code length and every add stores a code (`add` checks it), so
        // it can apply both thresholds itself.
        guard let near = index.nearDuplicates(of: vector, code: code, maxDistance: maxDistance, minScore: minScore, k: 10) else {
            preconditionFailure("the index keeps no codes of the scheme's length")
        }
        let known = records.entries(ids: near.map(\.id))
        for hit in near {
            guard let record = known[hit.id], record.key != excludingKey,
                  !matches.contains(where: { $0.key == record.key }) else { continue }
            matches.append(Match(key: record.key, score: hit.score, metadata: record.metadata))
        }
        return matches
    }

    /// The stored image `key`'s vector and code.
    func entry(key: String) throws -> (id: Int64, vector: [Float], code: BinaryCode?) {
        guard let imageID = records.id(key: key), let entry = index.entry(id: imageID) else {
            throw LookalikeError.notFound(key)
        }
        return (imageID, entry.vector, entry.code)
    }

    /// `code` is the query's binary code when already known (a stored image's); computed otherwise.
    func search(vector: [Float], code: BinaryCode?, options: SearchOptions, excluding: Set<Int64>) throws -> [Match] {
        guard options.expansion == 0 else {
            var expanded = options
            expanded.expansion = 0
            return try search(vector: try expandedQuery(vector, code: code, options: options, excluding: excluding),
                              code: nil, options: expanded, excluding: excluding)
        }
        guard let groupBy = options.groupBy else { return try ungroupedSearch(vector: vector, code: code, options: options, excluding: excluding) }
        // Groups: fetch ranked matches, widening the fetch until k + offset groups exist or the collection
        // (under the filter) is exhausted; each group keeps its best `groupSize`, in rank order.
        let path = FieldPath.components(groupBy)
        let wantedGroups = options.k + options.offset
        let live = index.count
        var fetch = min(max(4 * wantedGroups * options.groupSize, 64), max(live, 1))
        while true {
            var ranked = options
            ranked.k = fetch
            ranked.offset = 0
            ranked.groupBy = nil
            let matches = try ungroupedSearch(vector: vector, code: code, options: ranked, excluding: excluding)
            var order: [String] = [], members: [String: [Match]] = [:]
            for match in matches {
                guard let value = Self.document(match.metadata)?.value(at: path) else { continue }
                let group = value.json
                if members[group] == nil {
                    guard order.count < wantedGroups else { continue }
                    order.append(group)
                }
                if members[group, default: []].count < options.groupSize {
                    var member = match
                    member.group = group
                    members[group, default: []].append(member)
                }
            }
            let complete = order.count == wantedGroups && order.allSatisfy { members[$0]!.count == options.groupSize }
            if complete || matches.count < fetch || fetch >= live || fetch >= Self.maxGroupFetch {
                return order.dropFirst(options.offset).flatMap { members[$0]! }
            }
            fetch = min(fetch * 4, live, Self.maxGroupFetch)
        }
    }

    /// The index's matches for one page of `options` (ids and scores).
    private func rankedHits(vector: [Float], code: BinaryCode?, options: SearchOptions, excluding: Set<Int64>) throws -> [IndexMatch] {
        // search_k tunes the forest; a collection small enough to have none is scanned exactly, which no budget
        // could improve on, so the hint is moot rather than wrong.
        let hasNoForest = index.count <= configuration.index.exactThreshold
        let strategy: SearchStrategy = options.exact || (options.searchK != nil && hasNoForest) ? .exact
            : options.searchK.map { .forest(searchK: $0) } ?? .automatic
        // The query's code lets the index scan codes (mid-size collections) or narrow forest candidates.
        do {
            return Array(try index.search(
                vector, k: options.k + options.offset, strategy: strategy, minScore: options.minScore, excluding: excluding,
                code: code ?? codeScheme.code(for: vector), filter: options.filter).dropFirst(options.offset))
        } catch {
            throw error.isTransient ? LookalikeError.unavailable(error.description) : LookalikeError.invalidArgument(error.description)
        }
    }

    /// The most ranked matches one grouped search reads.
    static let maxGroupFetch = 20_000

    /// The query plus its `options.expansion` nearest matches (under the same filter and strategy), each weighted
    /// by its cosine to the query (negative ones not at all), L2-normalised: average query expansion, which pulls
    /// the query towards what it most surely matches.
    private func expandedQuery(_ vector: [Float], code: BinaryCode?, options: SearchOptions, excluding: Set<Int64>) throws -> [Float] {
        var nearest = options
        nearest.k = options.expansion
        nearest.offset = 0
        nearest.minScore = nil
        var sum = vector
        for hit in try rankedHits(vector: vector, code: code, options: nearest, excluding: excluding) where hit.score > 0 {
            guard let neighbour = index.entry(id: hit.id)?.vector else { continue }
            for i in sum.indices { sum[i] += hit.score * neighbour[i] }
        }
        return FeatureVector.normalized(sum)
    }

    private func ungroupedSearch(vector: [Float], code: BinaryCode?, options: SearchOptions, excluding: Set<Int64>) throws -> [Match] {
        let hits = try rankedHits(vector: vector, code: code, options: options, excluding: excluding)
        let known = records.entries(ids: hits.map(\.id))
        return hits.compactMap { hit in
            known[hit.id].map { Match(key: $0.key, score: hit.score, metadata: $0.metadata) }
        }
    }

    func record(key: String) throws -> StoredImage? { try store.image(key: key, collection: id) }

    func thumbnail(key: String) throws -> [UInt8]? { try store.thumbnail(key: key, collection: id) }

    /// A page of images by key after `after`; with a filter, only matching ones (reading pages until `limit`
    /// match or the collection ends).
    func list(limit: Int, after: String?, filter: Filter? = nil) throws -> [StoredImage] {
        guard let filter else { return try store.list(collection: id, limit: limit, after: after) }
        var page: [StoredImage] = [], cursor = after
        while page.count < limit {
            let batch = try store.list(collection: id, limit: 1_000, after: cursor)
            for record in batch where filter.matches(Self.document(record.metadata) ?? .object([:])) {
                page.append(record)
                if page.count == limit { break }
            }
            guard batch.count == 1_000, let last = batch.last?.key else { break }
            cursor = last
        }
        return page
    }

}

import Foundation
public import Imaging
import Inference
public import MetadataFilter
import VectorIndex

/// Searches, similar images, recommendations, near-duplicate groups and record reads. Searches pass the
/// ``FIFOGate`` so that at most one runs per core.
extension LookalikeService {
    /// Images similar to an uploaded one, or to `region` of it (blocks the calling thread while the image is
    /// embedded).
    public func search(bytes: [UInt8], region: ImageRegion? = nil, options: SearchOptions,
                       collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        // The query is embedded by the recipe of the index it searches (a re-embedding replaces both at once).
        let embedding = try collection.embedder.embedBlocking(bytes, region: region)
        return try searchGate.withAdmission {
            try collection.search(vector: embedding.vector, code: nil, options: options, excluding: [])
        }
    }

    /// Images similar to a stored one, itself excluded.
    public func similar(key: String, options: SearchOptions, collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        return try searchGate.withAdmission {
            let entry = try collection.entry(key: key)
            return try collection.search(vector: entry.vector, code: entry.code, options: options, excluding: [entry.id])
        }
    }

    /// Images similar to a raw vector (any length-`featureDimension` vector; it is L2-normalised here).
    public func search(vector raw: [Float], options: SearchOptions, collection name: String = LookalikeService.defaultCollection) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        guard raw.count == model.featureDimension else {
            throw LookalikeError.invalidArgument("vector must have \(model.featureDimension) values, got \(raw.count)")
        }
        // The bound keeps the squared norm within Float's range.
        guard raw.allSatisfy({ $0.isFinite && abs($0) <= 1e15 }) else {
            throw LookalikeError.invalidArgument("vector values must be numbers of magnitude at most 1e15")
        }
        // Cosine similarity is undefined for the zero vector: every score would be 0 and the ranking arbitrary.
        guard raw.contains(where: { $0 != 0 }) else { throw LookalikeError.invalidArgument("vector must not be all zeros") }
        let vector = FeatureVector.normalized(raw)
        return try searchGate.withAdmission { try collection.search(vector: vector, code: nil, options: options, excluding: []) }
    }

    /// Images like the positive examples and unlike the negative ones (see ``Recommendation``); stored images
    /// named as examples are not among the results.
    public func recommend(
        _ recommendation: Recommendation, options: SearchOptions, collection name: String = LookalikeService.defaultCollection
    ) throws -> [Match] {
        try options.validate()
        try recommendation.validate()
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        return try searchGate.withAdmission {
            var excluded: Set<Int64> = []
            let query = try recommendation.query(dimension: model.featureDimension) { key in
                let entry: (id: Int64, vector: [Float], code: BinaryCode?)
                do {
                    entry = try collection.entry(key: key)
                } catch LookalikeError.notFound(let missing) {
                    throw LookalikeError.exampleNotFound(missing)
                }
                excluded.insert(entry.id)
                return entry.vector
            }
            return try collection.search(vector: query, code: nil, options: options, excluding: excluded)
        }
    }

    /// The stored vector of an image (what `search(vector:)` accepts).
    public func vector(key: String, collection name: String = LookalikeService.defaultCollection) throws -> [Float] {
        try collection(name).entry(key: key).vector
    }

    /// One page of a collection's near-duplicate groups (see ``DuplicateGroups``).
    public func duplicates(
        threshold: Float = Float(Paging.defaultThreshold), neighbours: Int = Paging.defaultNeighbours, limit: Int = Paging.defaultLimit,
        after: String? = nil, filter: Filter? = nil,
        collection name: String = LookalikeService.defaultCollection
    ) throws -> DuplicateGroups {
        guard threshold.isFinite, (-1...1).contains(threshold) else {
            throw LookalikeError.invalidArgument("threshold must be a number in -1...1")
        }
        guard Paging.neighboursRange.contains(neighbours) else {
            throw LookalikeError.invalidArgument("neighbours must be 1...1000, got \(neighbours)")
        }
        guard Paging.limitRange.contains(limit) else { throw LookalikeError.invalidArgument("limit must be 1...1000, got \(limit)") }
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        let groups = try collection.duplicateGroups(threshold: threshold, neighbours: neighbours, filter: filter,
                                                    apart: try keptApart(collection))
        let remaining = after.map { cursor in groups.filter { $0[0] > cursor } } ?? groups
        let page = Array(remaining.prefix(limit))
        return DuplicateGroups(
            groups: page, totalGroups: groups.count, totalImages: groups.reduce(0) { $0 + $1.count },
            next: remaining.count > limit ? page.last?[0] : nil)
    }

    public func record(key: String, collection name: String = LookalikeService.defaultCollection) throws -> ImageRecord? {
        try collection(name).record(key: key).map(ImageRecord.init)
    }

    public func thumbnail(key: String, collection name: String = LookalikeService.defaultCollection) throws -> [UInt8]? {
        try collection(name).thumbnail(key: key)
    }

    public func list(limit: Int, after: String?, filter: Filter? = nil,
                     collection name: String = LookalikeService.defaultCollection) throws -> [ImageRecord] {
        guard Paging.limitRange.contains(limit) else { throw LookalikeError.invalidArgument("limit must be 1...1000, got \(limit)") }
        return try collection(name).list(limit: limit, after: after, filter: filter).map(ImageRecord.init)
    }

}

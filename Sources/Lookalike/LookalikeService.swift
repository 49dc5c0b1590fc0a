import Foundation
public import Imaging
public import Inference
public import Storage
public import VectorIndex

/// The service's domain: ingest an image (decode, embed, hash, store, index), search, and manage the collection.
///
/// Writes are ordered by one lock around "store, then index" so the index always reflects the store's latest
/// write for each id; embedding (the slow part) happens before the lock. On startup ``loadIndex()`` streams the
/// stored vectors of the current model into the index; until then ``isReady`` is false.
public final class LookalikeService: @unchecked Sendable {
    /// What an upload produced.
    public struct IngestResult: Sendable {
        public let record: StoredImage
        /// Whether the id existed before (its image was replaced).
        public let replaced: Bool
        /// Stored near-duplicates found before storing (exact byte duplicates score 1).
        public let duplicates: [Match]
    }

    public struct Statistics: Sendable {
        public let images: Int
        public let indexed: Int
        public let tombstones: Int
        public let trees: Int
        public let indexBytes: Int
        public let rebuilds: Int
        public let model: String
        public let codeBits: Int
        public let queue: InferencePool.Statistics
    }

    public let configuration: Configuration
    public let store: ImageStore
    public let embedder: ImageEmbedder
    public let index: SimilarityIndex
    public let hasher: RandomHyperplaneHasher
    private let schemeID: Int64
    private let writeLock = NSLock()
    private let readyLock = NSLock()
    private var ready = false

    public init(configuration: Configuration, model: EfficientNetLite) throws {
        self.configuration = configuration
        let databaseURL = URL(fileURLWithPath: configuration.storage.databasePath)
        try? FileManager.default.createDirectory(at: databaseURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        store = try ImageStore(
            path: configuration.storage.databasePath,
            options: .init(maxMetadataBytes: configuration.storage.maxMetadataBytes,
                           keepOriginals: configuration.storage.keepOriginals))
        let pool = try InferencePool(model: model, configuration: .init(
            workers: configuration.model.workers == 0 ? nil : configuration.model.workers,
            queueCapacity: configuration.model.queueCapacity, maxBatch: configuration.model.maxBatch,
            maxBatchWaitMilliseconds: configuration.model.maxBatchWaitMilliseconds))
        embedder = ImageEmbedder(
            model: model, pool: pool, limits: DecodingLimits(maxPixels: configuration.model.maxImagePixels),
            thumbnailer: Thumbnailer(maxSide: configuration.model.thumbnailSize),
            cropPolicy: ModelInputPreprocessor.CropPolicy(rawValue: configuration.model.cropPolicy) ?? .centerSquare)

        // The hash scheme is stored with its parameters so codes can always be recomputed; reuse it when it
        // matches the configuration, otherwise register a new one and recompute every stored code.
        let bits = configuration.hashing.bits
        let dimension = model.featureDimension
        if let active = try store.setting("active_hash_scheme").flatMap(Int64.init),
           let scheme = try store.hashScheme(id: active), scheme.kind == "simhash", scheme.bits == bits,
           scheme.dimension == dimension {
            hasher = RandomHyperplaneHasher(bits: bits, dimension: dimension, projection: scheme.parameters)
            schemeID = active
        } else {
            hasher = RandomHyperplaneHasher(bits: bits, dimension: dimension, seed: UInt64(configuration.hashing.seed))
            schemeID = try store.saveHashScheme(kind: "simhash", bits: bits, dimension: dimension, parameters: hasher.projection)
            try store.setSetting("active_hash_scheme", String(schemeID))
        }
        index = SimilarityIndex(configuration: .init(
            dimension: dimension, trees: configuration.index.trees, leafSize: configuration.index.leafSize,
            searchKFactor: configuration.index.searchKFactor, exactThreshold: configuration.index.exactThreshold,
            rebuildFraction: configuration.index.rebuildFraction,
            hammingRerankLimit: configuration.index.hammingRerankLimit, codeBits: bits,
            seed: UInt64(configuration.index.seed)))
    }

    public var model: EfficientNetLite { embedder.model }

    public var isReady: Bool { readyLock.withLock { ready } }

    /// Streams every stored vector of the current model into the index (recomputing codes made under another
    /// scheme), builds the forest, and marks the service ready. Returns the number of vectors loaded.
    @discardableResult
    public func loadIndex() throws -> Int {
        var loaded = 0
        var stale: [(id: Int64, code: StoredCode)] = []
        var codes: [Int64: StoredCode] = [:]
        try store.forEachCode { id, code in codes[id] = code }
        try store.forEachVector(model: model.identity.description) { id, vector in
            let values = Array(vector)
            var code = codes[id].map { BinaryCode(words: $0.words) }
            if codes[id]?.schemeID != schemeID {
                let fresh = hasher.code(for: values)
                stale.append((id, StoredCode(schemeID: schemeID, bits: hasher.bits, words: fresh.words)))
                code = fresh
            }
            index.add(id: id, vector: values, code: code)
            loaded += 1
        }
        if !stale.isEmpty { try store.updateCodes(stale) }
        index.waitForRebuild()
        if loaded > configuration.index.exactThreshold { index.rebuild() }
        readyLock.withLock { ready = true }
        return loaded
    }

    /// Number of stored images whose vectors come from another model (not searchable until re-ingested).
    public func vectorsFromOtherModels() throws -> Int {
        try max(0, store.count() - index.count)
    }

    // MARK: - Writes

    /// Decodes, embeds and stores one image under `key` (a new key derived from the content when nil).
    ///
    /// - Parameters:
    ///   - rejectDuplicates: throw ``LookalikeError/duplicate(_:)`` instead of storing when near-duplicates exist.
    /// Blocks the calling thread while the image is embedded; call it from a thread you own.
    public func ingest(
        bytes: [UInt8], key: String?, metadata: String? = nil, rejectDuplicates: Bool = false
    ) throws -> IngestResult {
        guard isReady else { throw LookalikeError.notReady }
        let digest = SHA256.hash(bytes)
        let key = key ?? String(SHA256.hex(digest).prefix(20))
        try RecordValidation.validateKey(key)
        let metadataText = try RecordValidation.validateMetadata(metadata ?? "{}", maxBytes: configuration.storage.maxMetadataBytes)
        let embedding = try embedder.embedBlocking(bytes)
        let code = hasher.code(for: embedding.vector)
        let duplicates = try findDuplicates(vector: embedding.vector, code: code, sha256: digest, excludingKey: key)
        if rejectDuplicates && !duplicates.isEmpty { throw LookalikeError.duplicate(duplicates) }
        let write = ImageWrite(
            key: key, sha256: digest, format: embedding.format.rawValue, width: embedding.width, height: embedding.height,
            byteSize: bytes.count, metadata: metadataText, model: embedding.model.description, vector: embedding.vector,
            code: StoredCode(schemeID: schemeID, bits: hasher.bits, words: code.words), thumbnail: embedding.thumbnail,
            original: configuration.storage.keepOriginals ? bytes : nil)
        let (record, replaced) = try writeLock.withLock {
            let result = try store.upsert(write)
            index.add(id: result.record.id, vector: embedding.vector, code: code)
            return result
        }
        return IngestResult(record: record, replaced: replaced, duplicates: duplicates)
    }

    private func findDuplicates(vector: [Float], code: BinaryCode, sha256: [UInt8], excludingKey: String) throws -> [Match] {
        var matches: [Match] = try store.images(sha256: sha256).filter { $0.key != excludingKey }
            .map { Match(key: $0.key, score: 1, metadata: $0.metadata) }
        let maxDistance = Int(configuration.duplicates.maxHammingFraction * Double(hasher.bits))
        let near = index.search(vector, k: 10, minScore: Float(configuration.duplicates.minCosine))
        let records = try store.images(ids: near.map(\.id))
        for hit in near {
            guard let record = records[hit.id], record.key != excludingKey, !matches.contains(where: { $0.key == record.key }),
                  let stored = index.vector(id: hit.id) else { continue }
            if hasher.code(for: stored).distance(to: code) <= maxDistance {
                matches.append(Match(key: record.key, score: hit.score, metadata: record.metadata))
            }
        }
        return matches
    }

    /// Deletes an image; false when there was none.
    @discardableResult
    public func delete(key: String) throws -> Bool {
        try writeLock.withLock {
            guard let id = try store.delete(key: key) else { return false }
            index.remove(id: id)
            return true
        }
    }

    // MARK: - Reads

    /// Images similar to an uploaded one (blocks the calling thread while the image is embedded).
    public func search(bytes: [UInt8], options: SearchOptions) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        let embedding = try embedder.embedBlocking(bytes)
        return try search(vector: embedding.vector, options: options, excluding: [])
    }

    /// Images similar to a stored one, itself excluded.
    public func similar(key: String, options: SearchOptions) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        guard let record = try store.image(key: key), let vector = index.vector(id: record.id) else {
            throw LookalikeError.notFound(key)
        }
        return try search(vector: vector, options: options, excluding: [record.id])
    }

    /// Images similar to a raw vector (any length-`featureDimension` vector; it is L2-normalised here).
    public func search(vector raw: [Float], options: SearchOptions) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        guard raw.count == model.featureDimension else {
            throw LookalikeError.invalidArgument("vector must have \(model.featureDimension) values, got \(raw.count)")
        }
        guard raw.allSatisfy({ $0.isFinite }) else { throw LookalikeError.invalidArgument("vector values must be finite numbers") }
        return try search(vector: FeatureVector.normalized(raw), options: options, excluding: [])
    }

    private func search(vector: [Float], options: SearchOptions, excluding: Set<Int64>) throws -> [Match] {
        let strategy: SimilarityIndex.Strategy = options.exact ? .exact
            : options.searchK.map { .forest(searchK: $0) } ?? .automatic
        let hits = index.search(vector, k: options.k, strategy: strategy, minScore: options.minScore, excluding: excluding)
        let records = try store.images(ids: hits.map(\.id))
        return hits.compactMap { hit in
            records[hit.id].map { Match(key: $0.key, score: hit.score, metadata: $0.metadata) }
        }
    }

    public func record(key: String) throws -> StoredImage? { try store.image(key: key) }

    public func thumbnail(key: String) throws -> [UInt8]? { try store.thumbnail(key: key) }

    public func list(limit: Int, after: String?) throws -> [StoredImage] {
        guard (1...1000).contains(limit) else { throw LookalikeError.invalidArgument("limit must be 1...1000, got \(limit)") }
        return try store.list(limit: limit, after: after)
    }

    public func statistics() throws -> Statistics {
        let stats = index.statistics
        return Statistics(
            images: try store.count(), indexed: stats.count, tombstones: stats.tombstones, trees: stats.trees,
            indexBytes: stats.vectorBytes + stats.forestBytes, rebuilds: stats.rebuilds,
            model: model.identity.description, codeBits: hasher.bits, queue: embedder.pool.statistics)
    }

    /// Stops the inference workers (waiting requests fail) and waits for an index rebuild in progress.
    public func shutdown() {
        embedder.pool.shutdown()
        index.waitForRebuild()
    }
}

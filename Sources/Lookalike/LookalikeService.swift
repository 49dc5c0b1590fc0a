import Dispatch
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
        public let codeScheme: String
        public let queue: InferencePool.Statistics
    }

    public let configuration: Configuration
    public let store: ImageStore
    public let embedder: ImageEmbedder
    public let index: SimilarityIndex
    /// Changed under both locks; searches read it under `schemeLock` alone, so they never wait for a write.
    private var scheme: CodeScheme
    private let schemeLock = NSLock()
    private let writeLock = NSLock()
    private var retraining = false
    private let retrainQueue = DispatchQueue(label: "lookalike.codes.retrain", qos: .utility)
    private let retrainGroup = DispatchGroup()
    private let readyLock = NSLock()
    /// Index searches and their record lookups, one per core at a time, in arrival order (see ``FIFOGate``).
    private let searchGate = FIFOGate(capacity: ProcessInfo.processInfo.activeProcessorCount)
    private var indexLoadOutcome: SimilarityIndex.LoadOutcome?
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

        // The code scheme is stored with its parameters so codes can always be recomputed; reuse the active one
        // when it matches the configuration. An ITQ configuration starts with random hyperplanes and switches
        // once enough images are stored (``retrainCodesIfDue()``).
        let bits = configuration.hashing.bits
        let dimension = model.featureDimension
        var restored: CodeScheme? = nil
        if let active = try store.setting("active_hash_scheme").flatMap(Int64.init),
           let stored = try store.hashScheme(id: active), stored.bits == bits, stored.dimension == dimension {
            if stored.kind == "simhash" {
                restored = CodeScheme(id: active, encoder: .simhash(RandomHyperplaneHasher(
                    bits: bits, dimension: dimension, projection: stored.parameters)))
            } else if stored.kind == "itq", configuration.hashing.scheme == "itq" {
                restored = CodeScheme(id: active, encoder: .itq(try IterativeQuantization(
                    bits: bits, dimension: dimension, parameters: stored.parameters)))
            }
        }
        if let restored {
            scheme = restored
        } else {
            let hasher = RandomHyperplaneHasher(bits: bits, dimension: dimension, seed: UInt64(configuration.hashing.seed))
            let id = try store.saveHashScheme(kind: "simhash", bits: bits, dimension: dimension, parameters: hasher.projection)
            try store.setSetting("active_hash_scheme", String(id))
            scheme = CodeScheme(id: id, encoder: .simhash(hasher))
        }
        index = SimilarityIndex(configuration: .init(
            dimension: dimension, trees: configuration.index.trees, leafSize: configuration.index.leafSize,
            searchKFactor: configuration.index.searchKFactor, exactThreshold: configuration.index.exactThreshold,
            rebuildFraction: configuration.index.rebuildFraction,
            hammingRerankLimit: configuration.index.hammingRerankLimit, codeBits: bits,
            seed: UInt64(configuration.index.seed),
            snapshotPath: configuration.index.snapshot ? configuration.storage.databasePath + ".forest" : nil,
            reducedDimension: configuration.index.reducedDimension, reducedRerankLimit: configuration.index.reducedRerankLimit,
            hammingScanLimit: configuration.index.hammingScanLimit,
            hammingCandidateFactor: configuration.index.hammingCandidateFactor))
    }

    public var model: EfficientNetLite { embedder.model }

    public var isReady: Bool { readyLock.withLock { ready } }

    /// How the last ``loadIndex()`` made the index searchable (restored from its snapshot or rebuilt, and why).
    public var indexLoad: SimilarityIndex.LoadOutcome? { readyLock.withLock { indexLoadOutcome } }

    /// Streams every stored vector of the current model into the index (recomputing codes made under another
    /// scheme), builds the forest, and marks the service ready. Returns the number of vectors loaded.
    @discardableResult
    public func loadIndex() throws -> Int {
        var loaded = 0
        var stale: [(id: Int64, code: StoredCode)] = []
        index.beginLoading()
        var codes: [Int64: StoredCode] = [:]
        try store.forEachCode { id, code in codes[id] = code }
        try store.forEachVector(model: model.identity.description) { id, vector in
            let values = Array(vector)
            var code = codes[id].map { BinaryCode(words: $0.words) }
            if codes[id]?.schemeID != scheme.id {
                let fresh = scheme.code(for: values)
                stale.append((id, StoredCode(schemeID: scheme.id, bits: scheme.bits, words: fresh.words)))
                code = fresh
            }
            index.add(id: id, vector: values, code: code)
            loaded += 1
        }
        if !stale.isEmpty { try store.updateCodes(stale) }
        let outcome = index.finishLoading()
        readyLock.withLock {
            indexLoadOutcome = outcome
            ready = true
        }
        retrainCodesIfDue()
        return loaded
    }

    /// The scheme in force.
    public var codeScheme: CodeScheme { schemeLock.withLock { scheme } }

    /// With `hashing.scheme = itq`: once `hashing.itqMinimumImages` are stored and codes are still random
    /// hyperplanes, learns ITQ in the background from a sample of stored vectors, recomputes every code, and
    /// switches store, index and new uploads to it in one step under the write lock.
    public func retrainCodesIfDue() {
        let due = writeLock.withLock { () -> Bool in
            guard configuration.hashing.scheme == "itq", scheme.kind != "itq", !retraining,
                  index.count >= configuration.hashing.itqMinimumImages else { return false }
            retraining = true
            return true
        }
        guard due else { return }
        retrainGroup.enter()
        retrainQueue.async { [self] in
            defer { retrainGroup.leave() }
            do { try retrainCodes() } catch { writeLock.withLock { retraining = false } }
        }
    }

    /// Waits for a background code retraining in progress, if any.
    public func waitForRetraining() { retrainGroup.wait() }

    private func retrainCodes() throws {
        let model = self.model.identity.description
        let dimension = self.model.featureDimension
        let bits = configuration.hashing.bits
        // A strided sample of at most itqTrainingSample stored vectors.
        let total = try store.count()
        let stride = max(1, total / max(1, configuration.hashing.itqTrainingSample))
        var sample: [Float] = []
        var sampled = 0
        var position = 0
        try store.forEachVector(model: model) { _, vector in
            if position % stride == 0 && sampled < configuration.hashing.itqTrainingSample {
                sample.append(contentsOf: vector)
                sampled += 1
            }
            position += 1
        }
        guard sampled >= bits else { writeLock.withLock { retraining = false }; return }
        let quantizer = try IterativeQuantization(training: sample, count: sampled, dimension: dimension, bits: bits)
        // New codes for everything stored now, computed without holding the lock.
        var fresh: [Int64: BinaryCode] = [:]
        try store.forEachVector(model: model) { id, vector in fresh[id] = quantizer.code(for: Array(vector)) }
        try writeLock.withLock {
            // Images stored meanwhile were coded with the old scheme: recompute them too, then switch at once.
            var ids: [Int64] = []
            try store.forEachCode { id, _ in ids.append(id) }
            for id in ids where fresh[id] == nil {
                if let vector = index.vector(id: id) { fresh[id] = quantizer.code(for: vector) }
            }
            let id = try store.saveHashScheme(kind: "itq", bits: bits, dimension: dimension, parameters: quantizer.parameters)
            try store.updateCodes(fresh.map { ($0.key, StoredCode(schemeID: id, bits: bits, words: $0.value.words)) })
            try store.setSetting("active_hash_scheme", String(id))
            index.replaceCodes(fresh)
            schemeLock.withLock { scheme = CodeScheme(id: id, encoder: .itq(quantizer)) }
            retraining = false
        }
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
        let lookupScheme = codeScheme
        let lookupCode = lookupScheme.code(for: embedding.vector)
        let duplicates = try findDuplicates(
            vector: embedding.vector, code: lookupCode, scheme: lookupScheme, sha256: digest, excludingKey: key)
        if rejectDuplicates && !duplicates.isEmpty { throw LookalikeError.duplicate(duplicates) }
        let (record, replaced) = try writeLock.withLock {
            // The stored code must come from the scheme in force under the lock, so a scheme switch since the
            // lookup never mixes codes.
            let code = scheme.id == lookupScheme.id ? lookupCode : scheme.code(for: embedding.vector)
            let write = ImageWrite(
                key: key, sha256: digest, format: embedding.format.rawValue, width: embedding.width,
                height: embedding.height, byteSize: bytes.count, metadata: metadataText, model: embedding.model.description,
                vector: embedding.vector, code: StoredCode(schemeID: scheme.id, bits: scheme.bits, words: code.words),
                thumbnail: embedding.thumbnail, original: configuration.storage.keepOriginals ? bytes : nil)
            let result = try store.upsert(write)
            index.add(id: result.record.id, vector: embedding.vector, code: code)
            return result
        }
        retrainCodesIfDue()
        return IngestResult(record: record, replaced: replaced, duplicates: duplicates)
    }

    private func findDuplicates(
        vector: [Float], code: BinaryCode, scheme: CodeScheme, sha256: [UInt8], excludingKey: String
    ) throws -> [Match] {
        var matches: [Match] = try store.images(sha256: sha256).filter { $0.key != excludingKey }
            .map { Match(key: $0.key, score: 1, metadata: $0.metadata) }
        let maxDistance = Int(configuration.duplicates.maxHammingFraction * Double(scheme.bits))
        let minScore = Float(configuration.duplicates.minCosine)
        // The index is built with the scheme's code length and every add stores a code (`add` checks it), so
        // it can apply both thresholds itself.
        guard let near = index.nearDuplicates(of: vector, code: code, maxDistance: maxDistance, minScore: minScore, k: 10) else {
            preconditionFailure("the index keeps no codes of the scheme's length")
        }
        let records = try store.images(ids: near.map(\.id))
        for hit in near {
            guard let record = records[hit.id], record.key != excludingKey,
                  !matches.contains(where: { $0.key == record.key }) else { continue }
            matches.append(Match(key: record.key, score: hit.score, metadata: record.metadata))
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
        return try searchGate.withAdmission { try search(vector: embedding.vector, options: options, excluding: []) }
    }

    /// Images similar to a stored one, itself excluded.
    public func similar(key: String, options: SearchOptions) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        return try searchGate.withAdmission {
            guard let record = try store.image(key: key), let entry = index.entry(id: record.id) else {
                throw LookalikeError.notFound(key)
            }
            return try search(vector: entry.vector, code: entry.code, options: options, excluding: [record.id])
        }
    }

    /// Images similar to a raw vector (any length-`featureDimension` vector; it is L2-normalised here).
    public func search(vector raw: [Float], options: SearchOptions) throws -> [Match] {
        try options.validate()
        guard isReady else { throw LookalikeError.notReady }
        guard raw.count == model.featureDimension else {
            throw LookalikeError.invalidArgument("vector must have \(model.featureDimension) values, got \(raw.count)")
        }
        guard raw.allSatisfy({ $0.isFinite }) else { throw LookalikeError.invalidArgument("vector values must be finite numbers") }
        // Cosine similarity is undefined for the zero vector: every score would be 0 and the ranking arbitrary.
        guard raw.contains(where: { $0 != 0 }) else { throw LookalikeError.invalidArgument("vector must not be all zeros") }
        let vector = FeatureVector.normalized(raw)
        return try searchGate.withAdmission { try search(vector: vector, options: options, excluding: []) }
    }

    /// `code` is the query's binary code when already known (a stored image's); computed otherwise.
    private func search(vector: [Float], code: BinaryCode? = nil, options: SearchOptions, excluding: Set<Int64>) throws -> [Match] {
        let strategy: SimilarityIndex.Strategy = options.exact ? .exact
            : options.searchK.map { .forest(searchK: $0) } ?? .automatic
        // The query's code lets the index scan codes (mid-size collections) or narrow forest candidates.
        let hits = index.search(vector, k: options.k, strategy: strategy, minScore: options.minScore, excluding: excluding,
                                code: code ?? codeScheme.code(for: vector))
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
        let scheme = codeScheme  // one consistent read (the property changes under `schemeLock`)
        return Statistics(
            images: try store.count(), indexed: stats.count, tombstones: stats.tombstones, trees: stats.trees,
            indexBytes: stats.vectorBytes + stats.forestBytes, rebuilds: stats.rebuilds,
            model: model.identity.description, codeBits: scheme.bits, codeScheme: scheme.kind,
            queue: embedder.pool.statistics)
    }

    /// Stops the inference workers (waiting requests fail), waits for an index rebuild in progress, and saves
    /// the forest snapshot (returning why that failed, if it did: the data is safe either way).
    @discardableResult
    public func shutdown() -> (any Error)? {
        embedder.pool.shutdown()
        index.waitForRebuild()
        retrainGroup.wait()
        do {
            try index.saveSnapshot()
            return nil
        } catch {
            return error
        }
    }
}

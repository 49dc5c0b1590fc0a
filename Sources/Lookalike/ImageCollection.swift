import Dispatch
import Foundation
import Inference
import MetadataFilter
import Storage
import Synchronization
import VectorIndex

/// One collection's live state: its index (forest, codes, subspace), its code scheme, its snapshot file and the
/// ordering of its writes. Collections share nothing mutable, so a rebuild or a code retraining in one never
/// blocks writes or searches in another.
///
/// Writes are ordered by `writeLock` around "store, then directory and index" so the index always reflects the store's latest
/// write for each id, and applies changes in sequence order; embedding (the slow part) happens before, in the
/// service.
///
/// `@unchecked Sendable` is safe because `scheme` changes only under both `writeLock` and `schemeLock` and is
/// read under either; `retraining`, `closed`, `sightings` and `compactedThrough` only under `writeLock`; `loadOutcome` only under `stateLock`;
/// the index and the store are thread-safe.
final class ImageCollection: @unchecked Sendable {
    let id: Int64
    let name: String
    let settings: CollectionSettings
    let createdAt: Double
    let index: SimilarityIndex
    /// Keys and metadata of what the index holds: search answers never read the store.
    private let records = RecordDirectory()
    private let store: any ImageRepository
    private let configuration: Configuration
    private let modelName: String
    private let dimension: Int
    private var scheme: CodeScheme
    private let schemeLock = NSLock()
    private let writeLock = NSLock()
    private var retraining = false
    private var lastRetrainAttempt = Date.distantPast
    /// When this node had applied which sequence (oldest first, a few per retention period): tombstones at or
    /// below a sighting older than the retention period may be compacted. Under `writeLock`.
    private var sightings: [(time: Date, sequence: Int64)] = []
    private var compactedThrough: Int64 = 0
    private var closed = false
    private let retrainQueue: DispatchQueue
    private let retrainGroup = DispatchGroup()
    private let stateLock = NSLock()
    private var loadOutcome: SimilarityIndex.LoadOutcome?
    /// The last grouping computed, with what it was computed for: the pages of one listing read it instead of
    /// grouping the whole collection again, until a write moves the change sequence.
    private let lastGrouping = Mutex<(key: GroupingKey, groups: [[String]])?>(nil)

    private struct GroupingKey: Equatable {
        let threshold: Float
        let neighbours: Int
        let filter: Filter?
        let sequence: Int64
    }

    /// Opens a stored collection: restores its code scheme (or registers one) and creates its empty index.
    init(stored: StoredCollection, store: any ImageRepository, configuration: Configuration, modelName: String,
         dimension: Int) throws {
        id = stored.id
        name = stored.name
        createdAt = stored.createdAt
        settings = CollectionSettings.stored(stored.settings, defaults: CollectionSettings(defaults: configuration))
        self.store = store
        self.configuration = configuration
        self.modelName = modelName
        self.dimension = dimension
        retrainQueue = DispatchQueue(label: "lookalike.codes.retrain.\(stored.name)", qos: .utility)

        // The scheme is stored with its parameters so codes can always be recomputed; an ITQ collection starts
        // with random hyperplanes and switches once it holds enough images (``retrainCodesIfDue()``).
        let bits = settings.codeBits
        var restored: CodeScheme? = nil
        if let active = stored.codeSchemeID, let saved = try store.hashScheme(id: active), saved.bits == bits,
           saved.dimension == dimension {
            if saved.kind == CodeSchemeKind.simhash.rawValue {
                restored = CodeScheme(id: active, encoder: .simhash(RandomHyperplaneHasher(
                    bits: bits, dimension: dimension, projection: saved.parameters)))
            } else if saved.kind == CodeSchemeKind.itq.rawValue, settings.codeScheme == .itq {
                restored = CodeScheme(id: active, encoder: .itq(try IterativeQuantization(
                    bits: bits, dimension: dimension, parameters: saved.parameters)))
            }
        }
        if let restored {
            scheme = restored
        } else {
            let hasher = RandomHyperplaneHasher(bits: bits, dimension: dimension, seed: UInt64(configuration.hashing.seed))
            let schemeID = try store.saveHashScheme(kind: CodeSchemeKind.simhash.rawValue, bits: bits, dimension: dimension,
                                                    parameters: hasher.projection)
            try store.setCodeScheme(schemeID, collection: stored.id)
            scheme = CodeScheme(id: schemeID, encoder: .simhash(hasher))
        }
        let indexSettings = configuration.index
        index = SimilarityIndex(configuration: .init(
            dimension: dimension, trees: indexSettings.trees, leafSize: indexSettings.leafSize,
            searchKFactor: indexSettings.searchKFactor, exactThreshold: indexSettings.exactThreshold,
            rebuildFraction: indexSettings.rebuildFraction, hammingRerankLimit: indexSettings.hammingRerankLimit,
            codeBits: bits, seed: UInt64(indexSettings.seed),
            snapshotPath: indexSettings.snapshot ? Self.snapshotPath(collection: stored.name, configuration: configuration) : nil,
            reducedDimension: indexSettings.reducedDimension, reducedRerankLimit: indexSettings.reducedRerankLimit,
            hammingScanLimit: indexSettings.hammingScanLimit, hammingCandidateFactor: indexSettings.hammingCandidateFactor,
            attributes: settings.indexes))
    }

    /// The default collection keeps the file name used before collections existed, so an upgraded database
    /// restores its forest.
    static func snapshotPath(collection: String, configuration: Configuration) -> String {
        let database = configuration.storage.databasePath
        return collection == ImageStore.defaultCollectionName ? database + ".forest" : database + ".\(collection).forest"
    }

    var codeScheme: CodeScheme { schemeLock.withLock { scheme } }

    var indexLoad: SimilarityIndex.LoadOutcome? { stateLock.withLock { loadOutcome } }

    // MARK: Loading and following the change sequence

    /// Streams the collection's stored vectors of the current model into the index (recomputing codes made
    /// under another scheme), then restores or builds the forest. Returns the number of vectors loaded.
    @discardableResult
    func load() throws -> Int {
        var loaded = 0
        var stale: [(id: Int64, code: StoredCode)] = []
        index.beginLoading()
        var codes: [Int64: StoredCode] = [:]
        try store.forEachCode(collection: id) { imageID, code in codes[imageID] = code }
        var listed: [Int64: RecordDirectory.Entry] = [:]
        try store.forEachKeyAndMetadata(collection: id) { imageID, key, metadata in
            listed[imageID] = RecordDirectory.Entry(key: key, metadata: metadata)
        }
        records.removeAll()
        // Images stored between the two streams have a vector but no listing yet; read after the stream.
        var unlisted: [Int64] = []
        let scheme = codeScheme
        let sequence = try store.forEachVector(collection: id, model: modelName) { imageID, vector in
            let values = Array(vector)
            var code = codes[imageID].map { BinaryCode(words: $0.words) }
            if codes[imageID]?.schemeID != scheme.id {
                let fresh = scheme.code(for: values)
                stale.append((imageID, StoredCode(schemeID: scheme.id, bits: scheme.bits, words: fresh.words)))
                code = fresh
            }
            let entry = listed.removeValue(forKey: imageID)
            if let entry {
                records.set(id: imageID, key: entry.key, metadata: entry.metadata)
            } else {
                unlisted.append(imageID)
            }
            index.add(id: imageID, vector: values, code: code, metadata: entry.flatMap { Self.document($0.metadata) })
            loaded += 1
        }
        let late = try store.images(ids: unlisted)
        for imageID in unlisted {
            guard let record = late[imageID] else {
                index.remove(id: imageID, sequence: sequence)
                continue
            }
            records.set(id: imageID, key: record.key, metadata: record.metadata)
            index.updateMetadata(id: imageID, Self.document(record.metadata), sequence: sequence)
        }
        index.advance(toSequence: sequence)
        if !stale.isEmpty { try store.updateCodes(stale) }
        let outcome = index.finishLoading()
        stateLock.withLock { loadOutcome = outcome }
        // Writes from another process (a second node, or the CLI on the same file) since the stream.
        try catchUp()
        retrainCodesIfDue()
        return loaded
    }

    /// Applies the changes stored after the sequence the index reflects (written by another process on the
    /// same database): upserts read their vector and code, tombstones remove. Idempotent; returns the number
    /// of changes applied.
    @discardableResult
    func catchUp() throws -> Int {
        try writeLock.withLock { try applyStoredChanges() }
    }

    /// ``catchUp()``'s work, with the write lock held by the caller.
    @discardableResult
    private func applyStoredChanges() throws -> Int {
        var applied = 0
        var horizon: Int64? = nil
        while true {
            var changes = try store.changes(collection: id, after: index.sequence, limit: 1_000)
            if let marker = changes.first, marker.kind == .compacted {
                horizon = max(horizon ?? 0, marker.sequence)
                changes.removeFirst()
            }
            guard !changes.isEmpty else {
                // Every upsert is applied; deletions below the horizon are found by listing what is stored.
                guard let through = horizon else { return applied }
                applied += try removeUnstored(through: through)
                horizon = nil
                continue
            }
            let scheme = codeScheme
            // The batch's records (for their metadata) in one read rather than one per change.
            let upserted = changes.filter { $0.kind == .upsert }.map(\.id)
            let stored = try store.images(ids: upserted)
            let entries = try store.indexEntries(ids: upserted)
            for change in changes {
                switch change.kind {
                case .delete:
                    index.remove(id: change.id, sequence: change.sequence)
                    records.remove(id: change.id)
                case .upsert:
                    guard let entry = entries[change.id], let record = stored[change.id], entry.model == modelName,
                          entry.vector.count == dimension else {
                        index.remove(id: change.id, sequence: change.sequence)
                        records.remove(id: change.id)
                        continue
                    }
                    let code = entry.code.flatMap { $0.schemeID == scheme.id ? BinaryCode(words: $0.words) : nil }
                        ?? scheme.code(for: entry.vector)
                    records.set(id: change.id, key: record.key, metadata: record.metadata)
                    index.add(id: change.id, vector: entry.vector, code: code, sequence: change.sequence,
                              metadata: Self.document(record.metadata))
                case .compacted:
                    continue
                }
                applied += 1
            }
        }
    }

    /// Removes what the index holds but the store no longer does (deletions whose tombstones were compacted
    /// before this node read them), then marks the index current through `horizon`. Returns the number removed.
    private func removeUnstored(through horizon: Int64) throws -> Int {
        var stored = Set<Int64>()
        try store.forEachKeyAndMetadata(collection: id) { imageID, _, _ in stored.insert(imageID) }
        var removed = 0
        for imageID in records.all.keys where !stored.contains(imageID) {
            index.remove(id: imageID)
            records.remove(id: imageID)
            removed += 1
        }
        index.advance(toSequence: horizon)
        return removed
    }

    // MARK: Compacting tombstones

    /// Compacts the tombstones older than `storage.tombstoneRetentionSeconds` (by this node's sightings of the
    /// change sequence), under the store's claim so one node does it. `now` is for tests.
    func compactTombstonesIfDue(now: Date = Date()) throws {
        let retention = Double(configuration.storage.tombstoneRetentionSeconds)
        let due = writeLock.withLock { () -> Int64? in
            guard !closed else { return nil }
            if sightings.last.map({ now.timeIntervalSince($0.time) >= retention / 8 }) ?? true {
                sightings.append((now, index.sequence))
            }
            guard let old = sightings.lastIndex(where: { now.timeIntervalSince($0.time) >= retention }) else { return nil }
            let through = sightings[old].sequence
            sightings.removeFirst(old)
            return through > compactedThrough ? through : nil
        }
        guard let due else { return }
        _ = try store.whileHolding(claim: "lookalike.compact.\(id)") {
            try store.compactTombstones(collection: id, through: due)
        }
        writeLock.withLock { compactedThrough = max(compactedThrough, due) }
    }

    /// Whether a write this node just stored at `sequence` follows directly on what the index holds; when
    /// not, another node wrote in between (a shared database) and the index catches up to include both.
    private func followsIndex(_ sequence: Int64) -> Bool { sequence == index.sequence + 1 }

    // MARK: Writes

    /// Stores an embedded image and adds it to the index, in that order, under the collection's write lock.
    func store(_ embedding: ImageEmbedder.Embedding, key: String, sha256: [UInt8], byteSize: Int, metadata: String,
               original: [UInt8]?, lookup: (scheme: CodeScheme, code: BinaryCode)) throws -> UpsertOutcome {
        let outcome = try writeLock.withLock { () -> UpsertOutcome in
            guard !closed else { throw LookalikeError.collectionNotFound(name) }
            // The stored code must come from the scheme in force under the lock, so a scheme switch since the
            // lookup never mixes codes.
            let scheme = self.scheme
            let code = scheme.id == lookup.scheme.id ? lookup.code : scheme.code(for: embedding.vector)
            let write = ImageWrite(
                key: key, sha256: sha256, format: embedding.format.rawValue, width: embedding.width,
                height: embedding.height, byteSize: byteSize, metadata: metadata, model: embedding.model.description,
                vector: embedding.vector, code: StoredCode(schemeID: scheme.id, bits: scheme.bits, words: code.words),
                thumbnail: embedding.thumbnail, original: original)
            let result = try store.upsert(write, collection: id)
            if followsIndex(result.record.sequence) {
                records.set(id: result.record.id, key: key, metadata: result.record.metadata)
                index.add(id: result.record.id, vector: embedding.vector, code: code, sequence: result.record.sequence,
                          metadata: Self.document(metadata))
            } else {
                try applyStoredChanges()
            }
            return result
        }
        retrainCodesIfDue()
        return outcome
    }

    /// The metadata document filters read (nil for `{}`, and for text that is not a filterable document).
    static func document(_ text: String) -> FilterValue? {
        guard text != "{}" else { return nil }
        return try? FilterValue.parse(text)
    }

    /// Checks metadata against the collection's declared fields before anything is stored or embedded.
    func validateMetadata(_ text: String) throws {
        guard !settings.indexes.fields.isEmpty else { return }
        do {
            guard let document = Self.document(text) else { return }
            try settings.indexes.validate(document)
        } catch {
            throw LookalikeError.invalidArgument("metadata: \(error.description)")
        }
    }

    /// Applies a JSON merge patch to an image's metadata (no inference): stored as a new change, then applied
    /// to the index. Read, merge and write happen under the write lock, so concurrent patches never lose one.
    func patchMetadata(key: String, patch: FilterValue) throws -> StoredImage {
        guard case .object = patch else { throw LookalikeError.invalidArgument("a metadata patch must be a JSON object") }
        return try writeLock.withLock {
            guard !closed else { throw LookalikeError.collectionNotFound(name) }
            guard let current = try store.image(key: key, collection: id) else { throw LookalikeError.notFound(key) }
            let metadata = (Self.document(current.metadata) ?? .object([:])).merging(patch: patch).json
            try validateMetadata(metadata)
            guard let record = try store.updateMetadata(key: key, collection: id, metadata: metadata) else {
                throw LookalikeError.notFound(key)
            }
            if followsIndex(record.sequence) {
                records.set(id: record.id, key: record.key, metadata: record.metadata)
                index.updateMetadata(id: record.id, Self.document(record.metadata), sequence: record.sequence)
            } else {
                try applyStoredChanges()
            }
            return record
        }
    }

    /// Deletes an image; false when there was none. Compacts old tombstones when due (a failure there is the
    /// next delete's or the follower's to retry, not this delete's).
    func delete(key: String) throws -> Bool {
        defer { try? compactTombstonesIfDue() }
        return try writeLock.withLock {
            guard !closed else { throw LookalikeError.collectionNotFound(name) }
            guard let deleted = try store.delete(key: key, collection: id) else { return false }
            if followsIndex(deleted.sequence) {
                index.remove(id: deleted.id, sequence: deleted.sequence)
                records.remove(id: deleted.id)
            } else {
                try applyStoredChanges()
            }
            return true
        }
    }

    /// Stops writes, waits for background work, and removes the snapshot file (the rows are the store's to
    /// delete). Later writes fail with ``LookalikeError/collectionNotFound(_:)``.
    func close(removingSnapshot: Bool) {
        writeLock.withLock { closed = true }
        retrainGroup.wait()
        index.waitForRebuild()
        if removingSnapshot, let path = index.configuration.snapshotPath {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Waits for background work and saves the forest snapshot (returning why that failed, if it did).
    func shutdown() -> (any Error)? {
        retrainGroup.wait()
        index.waitForRebuild()
        do {
            try index.saveSnapshot()
            return nil
        } catch {
            return error
        }
    }

    // MARK: Reads

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
    private func rankedHits(vector: [Float], code: BinaryCode?, options: SearchOptions, excluding: Set<Int64>) throws -> [SimilarityIndex.Match] {
        // search_k tunes the forest; a collection small enough to have none is scanned exactly, which no budget
        // could improve on, so the hint is moot rather than wrong.
        let hasNoForest = index.count <= configuration.index.exactThreshold
        let strategy: SimilarityIndex.Strategy = options.exact || (options.searchK != nil && hasNoForest) ? .exact
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

    /// Groups of near-duplicates: each image's `neighbours` nearest (from the index, no all-pairs matrix)
    /// at or above `threshold` are joined (union-find) into groups. Groups hold keys sorted, and are ordered
    /// by their first key; single images are not groups. With a filter, only the images it admits are grouped,
    /// and their neighbours are searched among those images (the filter inside the search, as everywhere).
    func duplicateGroups(threshold: Float, neighbours: Int, filter: Filter? = nil) throws -> [[String]] {
        let key = GroupingKey(threshold: threshold, neighbours: neighbours, filter: filter, sequence: index.sequence)
        if let last = lastGrouping.withLock({ $0 }), last.key == key { return last.groups }
        let groups = try groupDuplicates(threshold: threshold, neighbours: neighbours, filter: filter)
        lastGrouping.withLock { $0 = (key, groups) }
        return groups
    }

    private func groupDuplicates(threshold: Float, neighbours: Int, filter: Filter?) throws -> [[String]] {
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
            let hits = try index.search(entry.vector, k: neighbours, minScore: threshold, excluding: [imageID], code: entry.code,
                                        filter: filter)
            for hit in hits where keyOf[hit.id] != nil {
                let (a, b) = (root(imageID), root(hit.id))
                if a != b { parent[max(a, b)] = min(a, b) }
            }
        }
        var groups: [Int64: [String]] = [:]
        for (imageID, key) in keyOf { groups[root(imageID), default: []].append(key) }
        return groups.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
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

    func usage() throws -> StorageUsage { try store.usage(collection: id) }

    // MARK: Code retraining

    /// With the ITQ scheme: once `hashing.itqMinimumImages` are stored and codes are still random hyperplanes,
    /// learns ITQ in the background and switches the collection to it (``retrainCodes()``).
    func retrainCodesIfDue() {
        let due = writeLock.withLock { () -> Bool in
            guard settings.codeScheme == .itq, scheme.kind != CodeSchemeKind.itq.rawValue, !retraining, !closed,
                  index.count >= configuration.hashing.itqMinimumImages,
                  Date().timeIntervalSince(lastRetrainAttempt) >= Self.retrainRetrySeconds else { return false }
            retraining = true
            lastRetrainAttempt = Date()
            return true
        }
        guard due else { return }
        retrainGroup.enter()
        retrainQueue.async { [self] in
            defer { retrainGroup.leave() }
            do {
                // Nodes sharing a database learn a collection's scheme once: the node holding the claim does,
                // the others adopt its result when they follow the change (``adoptCodeScheme(_:)``).
                _ = try store.whileHolding(claim: "lookalike.itq.\(id)") {
                    // Another node may have finished just before: take its scheme rather than learn a second.
                    if let stored = try store.collection(named: name), stored.id == id, let current = stored.codeSchemeID,
                       current != codeScheme.id {
                        try adoptCodeScheme(current)
                        if codeScheme.kind == CodeSchemeKind.itq.rawValue { return }
                    }
                    if let plan = try prepareRetraining() { try commitRetraining(plan) }
                }
            } catch {}
            writeLock.withLock { retraining = false }
        }
    }

    /// How long after a retraining attempt (one another node held the claim for, or one that failed) the next
    /// may start.
    static let retrainRetrySeconds = 10.0

    /// Switches to the code scheme another node stored for this collection (after it learned ITQ): the codes
    /// of every indexed image are recomputed from their vectors here. Nothing happens when `schemeID` is the
    /// scheme in force, or names one this collection cannot use.
    func adoptCodeScheme(_ schemeID: Int64?) throws {
        guard let schemeID, schemeID != codeScheme.id, let saved = try store.hashScheme(id: schemeID),
              saved.bits == settings.codeBits, saved.dimension == dimension else { return }
        let adopted: CodeScheme
        if saved.kind == CodeSchemeKind.itq.rawValue, settings.codeScheme == .itq {
            adopted = CodeScheme(id: schemeID, encoder: .itq(try IterativeQuantization(
                bits: saved.bits, dimension: dimension, parameters: saved.parameters)))
        } else if saved.kind == CodeSchemeKind.simhash.rawValue {
            adopted = CodeScheme(id: schemeID, encoder: .simhash(RandomHyperplaneHasher(
                bits: saved.bits, dimension: dimension, projection: saved.parameters)))
        } else {
            return
        }
        writeLock.withLock {
            guard !closed, scheme.id != schemeID else { return }
            index.recomputeCodes { adopted.code(for: Array($0)) }
            schemeLock.withLock { scheme = adopted }
        }
    }

    /// Waits for a background code retraining in progress, if any.
    func waitForRetraining() { retrainGroup.wait() }

    /// A learned scheme and the codes of every image stored when it was learned.
    struct RetrainingPlan {
        let quantizer: IterativeQuantization
        let schemeID: Int64
        /// The change sequence the codes reflect: images written after it get codes of their own at commit.
        let sequence: Int64
        var codes: [Int64: BinaryCode]
    }

    /// Learns ITQ from a sample of stored vectors and computes new codes for every stored vector, without
    /// holding the write lock. Nil when too few images are stored.
    func prepareRetraining() throws -> RetrainingPlan? {
        let bits = settings.codeBits
        let total = try store.count(collection: id)
        let sampleLimit = max(1, configuration.hashing.itqTrainingSample)
        let stride = max(1, total / sampleLimit)
        var sample: [Float] = []
        var sampled = 0
        var position = 0
        try store.forEachVector(collection: id, model: modelName) { _, vector in
            if position % stride == 0 && sampled < sampleLimit {
                sample.append(contentsOf: vector)
                sampled += 1
            }
            position += 1
        }
        guard sampled >= bits else { return nil }
        let quantizer = try IterativeQuantization(training: sample, count: sampled, dimension: dimension, bits: bits)
        var codes: [Int64: BinaryCode] = [:]
        let sequence = try store.forEachVector(collection: id, model: modelName) { imageID, vector in
            codes[imageID] = quantizer.code(for: Array(vector))
        }
        let schemeID = try store.saveHashScheme(kind: CodeSchemeKind.itq.rawValue, bits: bits, dimension: dimension,
                                                parameters: quantizer.parameters)
        return RetrainingPlan(quantizer: quantizer, schemeID: schemeID, sequence: sequence, codes: codes)
    }

    /// Rows per transaction when new codes are written: uploads interleave between batches.
    static let codeBatchSize = 2_000

    /// Writes the plan's codes in batches (each its own transaction, the write lock not held), then, under
    /// the write lock, recomputes the codes of images written since the plan's sequence from their current
    /// vectors and switches store, index and new uploads to the new scheme at once.
    func commitRetraining(_ plan: RetrainingPlan) throws {
        let bits = settings.codeBits
        let entries = plan.codes.sorted { $0.key < $1.key }
        for start in Swift.stride(from: 0, to: entries.count, by: Self.codeBatchSize) {
            try store.updateCodes(entries[start..<min(start + Self.codeBatchSize, entries.count)].map {
                ($0.key, StoredCode(schemeID: plan.schemeID, bits: bits, words: $0.value.words))
            })
        }
        try writeLock.withLock {
            guard !closed else { return }
            var codes = plan.codes
            var changed: [(id: Int64, code: StoredCode)] = []
            var after = plan.sequence
            while true {
                let changes = try store.changes(collection: id, after: after, limit: 1_000)
                guard let last = changes.last else { break }
                for change in changes where change.kind == .upsert {
                    guard let vector = index.vector(id: change.id) else { continue }
                    let code = plan.quantizer.code(for: vector)
                    codes[change.id] = code
                    changed.append((change.id, StoredCode(schemeID: plan.schemeID, bits: bits, words: code.words)))
                }
                after = last.sequence
            }
            if !changed.isEmpty { try store.updateCodes(changed) }
            try store.setCodeScheme(plan.schemeID, collection: id)
            index.replaceCodes(codes)
            schemeLock.withLock { scheme = CodeScheme(id: plan.schemeID, encoder: .itq(plan.quantizer)) }
        }
    }
}

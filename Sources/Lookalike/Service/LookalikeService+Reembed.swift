import Storage

extension LookalikeService {
    /// Where ``reembed(collection:source:progress:)`` stands.
    public struct ReembedProgress: Sendable {
        /// Images in the collection.
        public var total = 0
        /// Vectors recomputed with the current recipe.
        public var recomputed = 0
        /// Images whose vectors were already the current recipe's (left alone: a second run resumes).
        public var current = 0
        /// Images with no stored original and no matching file.
        public var missing: [String] = []
        /// Images whose bytes could not be embedded, with the reason.
        public var failed: [(key: String, reason: String)] = []

        public var done: Int { recomputed + current + missing.count + failed.count }
    }

    /// Recomputes, with the current recipe, the vectors of `collection` that another recipe made (another model,
    /// weights, pooling or preprocessing), from the stored original (`storage.keepOriginals`) or else from
    /// `source`, which is given the image's key and SHA-256 and returns its bytes (for example a file with that
    /// SHA-256) or nil. Keys,
    /// metadata and originals stay as they are; bytes whose SHA-256 differs from the record's are refused.
    /// Images already on the current recipe are skipped, so an interrupted run resumes where it stopped.
    /// Blocks the calling thread while images are embedded.
    public func reembed(
        collection name: String = LookalikeService.defaultCollection, source: (_ key: String, _ sha256: [UInt8]) -> [UInt8]? = { _, _ in nil },
        progress: (ReembedProgress) -> Void = { _ in }
    ) throws -> ReembedProgress {
        let collection = try collection(name)
        let embedder = collection.embedder
        let recipe = embedder.recipe.description
        var state = ReembedProgress(total: try store.count(collection: collection.id))
        var after: String?
        while true {
            let page = try store.list(collection: collection.id, limit: 256, after: after)
            guard let last = page.last else { break }
            after = last.key
            for record in page {
                defer { progress(state) }
                if try store.vector(id: record.id)?.model == recipe {
                    state.current += 1
                    continue
                }
                let original = try store.original(key: record.key, collection: collection.id)
                guard let bytes = original ?? source(record.key, record.sha256) else {
                    state.missing.append(record.key)
                    continue
                }
                guard SHA256.hash(bytes) == record.sha256 else {
                    state.failed.append((record.key, "the bytes found differ from the stored image's (SHA-256)"))
                    continue
                }
                do {
                    let embedding = try embedder.embedBlocking(bytes)
                    let scheme = collection.codeScheme
                    _ = try collection.store(
                        embedding, key: record.key, sha256: record.sha256, byteSize: bytes.count, metadata: record.metadata,
                        original: original ?? (configuration.storage.keepOriginals ? bytes : nil),
                        lookup: (scheme, scheme.code(for: embedding.vector)))
                    state.recomputed += 1
                } catch {
                    state.failed.append((record.key, "\(error)"))
                }
            }
        }
        return state
    }
}

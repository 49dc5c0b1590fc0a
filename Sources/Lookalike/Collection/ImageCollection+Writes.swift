import NIOConcurrencyHelpers
import MetadataFilter
import Storage
import VectorIndex

/// The write path: an embedded upload, a metadata patch or a deletion is stored, then applied to the index and the
/// record directory, under the write lock so the index applies the store's changes in order.
extension ImageCollection {
    /// Stores an embedded image and adds it to the index, in that order. `lookup` is the scheme and code the
    /// upload's duplicate check used; the code is reused when that scheme is still in force.
    func store(_ embedding: ImageEmbedder.Embedding, key: String, sha256: [UInt8], byteSize: Int, metadata: String,
               original: [UInt8]?, lookup: (scheme: CodeScheme, code: BinaryCode)) throws -> UpsertOutcome {
        let outcome = try writes.withLockedValue { state -> UpsertOutcome in
            try state.checkWritable(name)
            // The stored code must come from the scheme in force under the lock, so a scheme switch since the
            // lookup never mixes codes.
            let scheme = codeScheme
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
                try applyStoredChanges(&state)
            }
            return result
        }
        retrainCodesIfDue()
        return outcome
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
        return try writes.withLockedValue { state in
            try state.checkWritable(name)
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
                try applyStoredChanges(&state)
            }
            return record
        }
    }

    /// Deletes an image; false when there was none. Compacts old tombstones when due (a failure there is the
    /// next delete's or the follower's to retry, not this delete's).
    func delete(key: String) throws -> Bool {
        defer { try? compactTombstonesIfDue() }
        return try writes.withLockedValue { state in
            try state.checkWritable(name)
            guard let deleted = try store.delete(key: key, collection: id) else { return false }
            if followsIndex(deleted.sequence) {
                index.remove(id: deleted.id, sequence: deleted.sequence)
                records.remove(id: deleted.id)
            } else {
                try applyStoredChanges(&state)
            }
            return true
        }
    }
}

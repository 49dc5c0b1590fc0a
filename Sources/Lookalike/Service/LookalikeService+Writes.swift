import Foundation
import MetadataFilter
import Storage

/// Uploads, metadata patches and deletions: checked, embedded (uploads), checked for near-duplicates, then handed
/// to the collection's write path.
extension LookalikeService {
    /// Decodes, embeds and stores one image under `key` in `collection` (a new key derived from the content
    /// when nil).
    ///
    /// - Parameters:
    ///   - rejectDuplicates: throw ``LookalikeError/duplicate(_:)`` instead of storing when near-duplicates exist.
    /// Blocks the calling thread while the image is embedded; call it from a thread you own.
    public func ingest(
        bytes: [UInt8], key: String?, metadata: String? = nil, rejectDuplicates: Bool = false,
        collection name: String = LookalikeService.defaultCollection
    ) throws -> IngestResult {
        guard isReady else { throw LookalikeError.notReady }
        let digest = SHA256.hash(bytes)
        let key = key ?? String(SHA256.hex(digest).prefix(20))
        try RecordValidation.validateKey(key)
        let metadataText = try RecordValidation.validateMetadata(metadata ?? "{}", maxBytes: configuration.storage.maxMetadataBytes)
        return try withCollection(name) { collection in
            try collection.validateMetadata(metadataText)
            let embedding = try collection.embedder.embedBlocking(bytes)
            let scheme = collection.codeScheme
            let code = scheme.code(for: embedding.vector)
            let duplicates = try withoutDecidedPairs(try collection.nearDuplicates(
                of: embedding.vector, code: code, scheme: scheme, sha256: digest, excludingKey: key), key: key, in: collection)
            if rejectDuplicates && !duplicates.isEmpty { throw LookalikeError.duplicate(duplicates) }
            let outcome = try collection.store(
                embedding, key: key, sha256: digest, byteSize: bytes.count, metadata: metadataText,
                original: configuration.storage.keepOriginals ? bytes : nil, lookup: (scheme, code))
            stageForRecipeChange(bytes, sha256: digest, image: outcome.record.id, collection: collection)
            return IngestResult(record: ImageRecord(outcome.record), replaced: outcome.replaced, duplicates: duplicates)
        }
    }

    /// Applies a JSON merge patch (RFC 7396) to an image's metadata, without inference; returns the new record.
    public func patchMetadata(key: String, patch: String, collection name: String = LookalikeService.defaultCollection) throws -> ImageRecord {
        guard isReady else { throw LookalikeError.notReady }
        guard patch.utf8.count <= configuration.storage.maxMetadataBytes else {
            throw LookalikeError.invalidArgument("metadata patch larger than \(configuration.storage.maxMetadataBytes) bytes")
        }
        let parsed: FilterValue
        do {
            parsed = try FilterValue.parse(patch)
        } catch {
            throw LookalikeError.invalidArgument("metadata patch: \(error.description)")
        }
        return ImageRecord(try withCollection(name) { try $0.patchMetadata(key: key, patch: parsed) })
    }

    /// Deletes an image; false when there was none.
    @discardableResult
    public func delete(key: String, collection name: String = LookalikeService.defaultCollection) throws -> Bool {
        try withCollection(name) { try $0.delete(key: key) }
    }

}

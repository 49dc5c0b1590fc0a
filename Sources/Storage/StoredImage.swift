/// An image's record as stored: everything except the large blobs.
public struct StoredImage: Sendable, Equatable {
    /// Internal integer id (stable across replacement of the same key).
    public let id: Int64
    /// The collection it belongs to.
    public let collectionID: Int64
    /// The user's key, unique within its collection.
    public let key: String
    /// SHA-256 of the uploaded bytes (exact-duplicate detection).
    public let sha256: [UInt8]
    public let format: String
    public let width: Int
    public let height: Int
    public let byteSize: Int
    /// A JSON object, as text.
    public let metadata: String
    /// Unix time in seconds.
    public let createdAt: Double
    public let updatedAt: Double
    /// The change sequence number of its last write, in its collection.
    public let sequence: Int64

    public init(id: Int64, collectionID: Int64, key: String, sha256: [UInt8], format: String, width: Int, height: Int,
                byteSize: Int, metadata: String, createdAt: Double, updatedAt: Double, sequence: Int64) {
        self.id = id
        self.collectionID = collectionID
        self.key = key
        self.sha256 = sha256
        self.format = format
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.metadata = metadata
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.sequence = sequence
    }
}

/// Everything stored for one image in one atomic write.
public struct ImageWrite: Sendable {
    public var key: String
    public var sha256: [UInt8]
    public var format: String
    public var width: Int
    public var height: Int
    public var byteSize: Int
    /// A JSON object, as text (validated by the store).
    public var metadata: String
    /// The model identity that produced ``vector``.
    public var model: String
    public var vector: [Float]
    /// The binary code under the active scheme.
    public var code: StoredCode
    public var thumbnail: [UInt8]
    /// The original upload, kept only when the store is configured to.
    public var original: [UInt8]?

    public init(
        key: String, sha256: [UInt8], format: String, width: Int, height: Int, byteSize: Int, metadata: String,
        model: String, vector: [Float], code: StoredCode, thumbnail: [UInt8], original: [UInt8]? = nil
    ) {
        self.key = key
        self.sha256 = sha256
        self.format = format
        self.width = width
        self.height = height
        self.byteSize = byteSize
        self.metadata = metadata
        self.model = model
        self.vector = vector
        self.code = code
        self.thumbnail = thumbnail
        self.original = original
    }
}

/// A packed binary code with the scheme that made it.
public struct StoredCode: Sendable, Equatable {
    public var schemeID: Int64
    public var bits: Int
    public var words: [UInt64]

    public init(schemeID: Int64, bits: Int, words: [UInt64]) {
        self.schemeID = schemeID
        self.bits = bits
        self.words = words
    }
}

/// An image's new vector and code (a re-embedding's switch).
public struct VectorReplacement: Sendable {
    public var id: Int64
    /// The recipe that made the vector.
    public var model: String
    public var vector: [Float]
    public var code: StoredCode

    public init(id: Int64, model: String, vector: [Float], code: StoredCode) {
        self.id = id
        self.model = model
        self.vector = vector
        self.code = code
    }
}

/// A hash scheme's parameters, stored so that codes can always be recomputed.
public struct StoredHashScheme: Sendable, Equatable {
    public let id: Int64
    /// `simhash` or `itq`.
    public let kind: String
    public let bits: Int
    public let dimension: Int
    /// Scheme-specific floats (projection matrix, mean, rotation), little-endian float32.
    public let parameters: [Float]
    public let createdAt: Double

    public init(id: Int64, kind: String, bits: Int, dimension: Int, parameters: [Float], createdAt: Double) {
        self.id = id
        self.kind = kind
        self.bits = bits
        self.dimension = dimension
        self.parameters = parameters
        self.createdAt = createdAt
    }
}

extension ImageWrite {
    /// Checks what every store checks before writing (key, metadata, a finite vector, a code long enough for
    /// its bits) and returns the metadata re-serialised compactly, as stored.
    public func validated(maxMetadataBytes: Int) throws(StorageError) -> String {
        try RecordValidation.validateKey(key)
        let metadata = try RecordValidation.validateMetadata(self.metadata, maxBytes: maxMetadataBytes)
        guard !vector.isEmpty, vector.allSatisfy({ $0.isFinite }) else { throw .invalidVector("empty or not finite") }
        guard code.words.count * 64 >= code.bits, code.bits > 0 else {
            throw .invalidVector("code has \(code.words.count) words for \(code.bits) bits")
        }
        return metadata
    }
}

import Storage

/// A stored image as the service reports it: its key, what was uploaded and its metadata (no vector, no blobs).
public struct ImageRecord: Sendable, Equatable {
    /// Internal integer id (stable across replacement of the same key).
    public let id: Int64
    /// The user's key, unique within its collection.
    public let key: String
    /// SHA-256 of the uploaded bytes.
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

    init(_ stored: StoredImage) {
        id = stored.id
        key = stored.key
        sha256 = stored.sha256
        format = stored.format
        width = stored.width
        height = stored.height
        byteSize = stored.byteSize
        metadata = stored.metadata
        createdAt = stored.createdAt
        updatedAt = stored.updatedAt
        sequence = stored.sequence
    }
}

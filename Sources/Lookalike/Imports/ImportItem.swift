/// One entry of an import job: where its image comes from, the id and metadata it is stored under, and what
/// became of it.
public struct ImportItem: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// An http or https URL (presigned S3 or GCS links are plain GETs).
        case url(String)
        /// A path relative to `imports.root`.
        case path(String)
    }

    public enum State: String, Sendable, CaseIterable, Codable {
        /// Not tried yet, or waiting for another try.
        case pending
        /// Fetched and handed to the store: after a crash, the image is looked up before it is stored again.
        case storing
        /// Stored (new, or replacing the id's earlier image).
        case stored
        /// Not stored: the same bytes are already stored under this id, or (with `on_duplicate=skip`) a
        /// near-duplicate of another stored image.
        case duplicate
        /// Not stored, for the reason given: a bad manifest line, a refused address, not an image, too large,
        /// retries exhausted.
        case refused

        /// Whether the item needs no more work.
        public var isFinal: Bool { self == .stored || self == .duplicate || self == .refused }
    }

    /// 1-based: the manifest line (after a CSV header, its data row) or the folder entry in path order.
    public let position: Int
    public let key: String?
    public let source: Source?
    /// A JSON object, checked when the job was created.
    public let metadata: String?
    public var state: State
    /// Why it was refused, or what it duplicates.
    public var reason: String?
    public var attempts: Int

    public init(position: Int, key: String?, source: Source?, metadata: String?, state: State = .pending,
                reason: String? = nil, attempts: Int = 0) {
        self.position = position
        self.key = key
        self.source = source
        self.metadata = metadata
        self.state = state
        self.reason = reason
        self.attempts = attempts
    }
}

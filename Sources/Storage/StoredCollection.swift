/// A collection as stored.
public struct StoredCollection: Sendable, Equatable {
    public let id: Int64
    /// `[a-z0-9][a-z0-9_-]{0,63}`.
    public let name: String
    /// The settings it was created with, a JSON object as text.
    public let settings: String
    /// Unix time in seconds.
    public let createdAt: Double
    /// The last change sequence number taken in it (0: none yet).
    public let lastSequence: Int64
    /// Its code scheme (nil until one is chosen).
    public let codeSchemeID: Int64?
    /// Tombstones at or below this sequence are gone (``ImageRepository/compactTombstones(collection:through:)``):
    /// a reader that applied less must look for the deletions it can no longer read as changes.
    public let compactedThrough: Int64

    public init(id: Int64, name: String, settings: String, createdAt: Double, lastSequence: Int64, codeSchemeID: Int64?,
                compactedThrough: Int64 = 0) {
        self.id = id
        self.name = name
        self.settings = settings
        self.createdAt = createdAt
        self.lastSequence = lastSequence
        self.codeSchemeID = codeSchemeID
        self.compactedThrough = compactedThrough
    }

    /// Whether `name` is a valid collection name: `[a-z0-9][a-z0-9_-]{0,63}`.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        return alphanumeric(bytes[0])
            && bytes.dropFirst().allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

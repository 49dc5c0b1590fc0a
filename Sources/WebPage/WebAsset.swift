/// One file of the page, compiled into the executable, with the validator it is served with.
public struct WebAsset: Sendable {
    public let name: String
    public let contentType: String
    public let body: [UInt8]
    /// A strong validator: a hash of the body, quoted.
    public let entityTag: String

    init(name: String, contentType: String, text: String) {
        self.name = name
        self.contentType = contentType
        self.body = Array(text.utf8)
        self.entityTag = "\"" + Self.fnv1a(body) + "\""
    }

    /// FNV-1a, 64 bits: enough to tell two versions of a file apart; not a security boundary.
    private static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

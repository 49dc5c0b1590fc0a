/// The name of a model and a hash of its exact weight file. Vectors from different identities never mix.
public struct ModelIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let weightsHash: UInt64

    public init(name: String, weightsHash: UInt64) {
        self.name = name
        self.weightsHash = weightsHash
    }

    /// `name@hash` with the hash as 16 hex digits, e.g. `efficientnet-lite0@3f2a…`.
    public var description: String {
        let hex = String(weightsHash, radix: 16)
        return "\(name)@\(String(repeating: "0", count: 16 - hex.count))\(hex)"
    }
}

/// A binary hash code packed into 64-bit words, bit `i` in word `i / 64` at position `i % 64`.
public struct BinaryCode: Sendable, Hashable {
    public var words: [UInt64]

    public init(words: [UInt64]) { self.words = words }

    /// Builds a code from the signs of `values`: bit `i` is set when `values[i] > 0`.
    public init(signsOf values: some Collection<Float>) {
        var words = [UInt64](repeating: 0, count: (values.count + 63) / 64)
        for (index, value) in values.enumerated() where value > 0 {
            words[index >> 6] |= 1 << UInt64(index & 63)
        }
        self.words = words
    }

    /// Number of differing bits. Codes must have the same length.
    @inlinable
    public func distance(to other: BinaryCode) -> Int {
        precondition(words.count == other.words.count, "codes differ in length")
        var total = 0
        for index in 0..<words.count { total &+= (words[index] ^ other.words[index]).nonzeroBitCount }
        return total
    }

    /// Hamming distance between two codes of `wordCount` words stored at `a` and `b`.
    @inlinable
    public static func distance(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, wordCount: Int) -> Int {
        var total = 0
        for index in 0..<wordCount { total &+= (a[index] ^ b[index]).nonzeroBitCount }
        return total
    }
}

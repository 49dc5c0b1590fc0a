/// One bit per row (an index slot): the rows a filter admits.
public struct SlotBitmap: Sendable, Equatable {
    public private(set) var words: [UInt64]
    public let count: Int

    public init(count: Int, filled: Bool = false) {
        self.count = count
        words = [UInt64](repeating: filled ? ~0 : 0, count: (count + 63) / 64)
        if filled { clearTail() }
    }

    @inlinable public func contains(_ row: Int) -> Bool { words[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    @inline(__always) public mutating func insert(_ row: Int) { words[row >> 6] |= 1 << UInt64(row & 63) }

    /// Rows set.
    public var cardinality: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    public mutating func formIntersection(_ other: SlotBitmap) {
        for index in words.indices { words[index] &= other.words[index] }
    }

    public mutating func formUnion(_ other: SlotBitmap) {
        for index in words.indices { words[index] |= other.words[index] }
    }

    public mutating func invert() {
        for index in words.indices { words[index] = ~words[index] }
        clearTail()
    }

    /// Sets each row for which `test` holds, word by word.
    /// Each bit is or-ed in rather than branched on: a filter admitting about half the rows at random would
    /// otherwise mispredict every other row.
    @inline(__always)
    public static func rows(count: Int, where test: (Int) -> Bool) -> SlotBitmap {
        var bitmap = SlotBitmap(count: count)
        bitmap.words.withUnsafeMutableBufferPointer { words in
            for index in 0..<words.count {
                let first = index << 6
                var word: UInt64 = 0
                for bit in 0..<min(64, count - first) {
                    word |= UInt64(test(first + bit) ? 1 : 0) << UInt64(bit)
                }
                words[index] = word
            }
        }
        return bitmap
    }

    private mutating func clearTail() {
        let used = count & 63
        if used != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(used)) - 1 }
    }
}

/// One bit per row (an index slot): the rows a filter admits.
public struct SlotBitmap: Sendable, Equatable {
    public private(set) var words: [UInt64]
    public private(set) var count: Int

    public init(count: Int, filled: Bool = false) {
        self.count = count
        words = [UInt64](repeating: filled ? ~0 : 0, count: (count + 63) / 64)
        if filled { clearTail() }
    }

    @inlinable public func contains(_ row: Int) -> Bool { words[row >> 6] & (1 << UInt64(row & 63)) != 0 }

    @inline(__always) public mutating func insert(_ row: Int) { words[row >> 6] |= 1 << UInt64(row & 63) }

    @inline(__always) public mutating func remove(_ row: Int) { words[row >> 6] &= ~(1 << UInt64(row & 63)) }

    /// Adds one row at the end, set or not.
    public mutating func append(_ isSet: Bool) {
        if count & 63 == 0 { words.append(0) }
        if isSet { insert(count) }
        count += 1
    }

    /// Calls `body` with each row set, in increasing order.
    @inlinable public func forEachRow(_ body: (Int) throws -> Void) rethrows {
        for (index, word) in words.enumerated() {
            var remaining = word
            while remaining != 0 {
                try body(index << 6 | remaining.trailingZeroBitCount)
                remaining &= remaining &- 1
            }
        }
    }

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

    /// The rows whose value lies in `low...high` (NaN in none), eight values to a vector compare: a scalar
    /// `&&` branches on its second comparison, which a range admitting half the rows at random mispredicts
    /// every other row.
    public static func rows(count: Int, of values: UnsafeBufferPointer<Double>, from low: Double, through high: Double) -> SlotBitmap {
        precondition(count <= values.count, "\(values.count) values for \(count) rows")
        var bitmap = SlotBitmap(count: count)
        let weights = SIMD8<Int64>(1, 2, 4, 8, 16, 32, 64, 128)
        let lows = SIMD8<Double>(repeating: low), highs = SIMD8<Double>(repeating: high)
        let base = values.baseAddress!
        bitmap.words.withUnsafeMutableBufferPointer { words in
            let fullWords = count / 64
            for index in 0..<fullWords {
                var word: UInt64 = 0
                for octet in 0..<8 {
                    let start = index * 64 + octet * 8
                    let chunk = UnsafeRawPointer(base + start).loadUnaligned(as: SIMD8<Double>.self)
                    let inside = (chunk .>= lows) .& (chunk .<= highs)
                    let bits = SIMD8<Int64>(repeating: 0).replacing(with: weights, where: inside).wrappedSum()
                    word |= UInt64(bits) << UInt64(octet * 8)
                }
                words[index] = word
            }
            for row in (fullWords * 64)..<count where values[row] >= low && values[row] <= high {
                words[row >> 6] |= 1 << UInt64(row & 63)
            }
        }
        return bitmap
    }

    private mutating func clearTail() {
        let used = count & 63
        if used != 0, !words.isEmpty { words[words.count - 1] &= (1 << UInt64(used)) - 1 }
    }
}

/// How vectors, code words and scheme parameters are laid out in a blob, in every store: little-endian, packed,
/// no header. One definition, so a row copied between stores (or read by a script) means the same.
public enum BlobEncoding {
    /// Code words as 8 little-endian bytes each.
    public static func bytes(of words: [UInt64]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: words.count * 8)
        for (index, word) in words.enumerated() {
            for byte in 0..<8 { bytes[index * 8 + byte] = UInt8(truncatingIfNeeded: word >> (8 * byte)) }
        }
        return bytes
    }

    /// Floats as their 4-byte little-endian bit patterns.
    public static func bytes(of floats: [Float]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: floats.count * 4)
        for (index, value) in floats.enumerated() {
            let bits = value.bitPattern
            for byte in 0..<4 { bytes[index * 4 + byte] = UInt8(truncatingIfNeeded: bits >> (8 * byte)) }
        }
        return bytes
    }

    /// Code words from a blob (a trailing partial word is ignored).
    public static func words(_ bytes: UnsafeRawBufferPointer) -> [UInt64] {
        (0..<bytes.count / 8).map { index in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[index * 8 + $1]) << (8 * UInt64($1)) }
        }
    }

    public static func words(_ bytes: [UInt8]) -> [UInt64] { bytes.withUnsafeBytes { words($0) } }

    /// Floats from a blob into `values` (replacing its contents, keeping its capacity; a trailing partial value
    /// is ignored).
    public static func floats(_ bytes: UnsafeRawBufferPointer, into values: inout [Float]) {
        let count = bytes.count / 4
        values.removeAll(keepingCapacity: true)
        #if _endian(little)
        // The layout is the host's: one copy (start-up streams every stored vector through here).
        values.append(contentsOf: repeatElement(0, count: count))
        values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<(count * 4)])) }
        #else
        values.reserveCapacity(count)
        for index in 0..<count {
            let bits = (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[index * 4 + $1]) << (8 * UInt32($1)) }
            values.append(Float(bitPattern: bits))
        }
        #endif
    }

    public static func floats(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        var values: [Float] = []
        floats(bytes, into: &values)
        return values
    }
}

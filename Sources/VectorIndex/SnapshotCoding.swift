/// Why an index snapshot could not be read or written. A snapshot is a cache: any of these means "rebuild".
public struct IndexSnapshotError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file could not be read or written.
        case io
        /// Not a snapshot, another format version, truncated, or failing its checksum.
        case malformed
        /// Built with other parameters, or the stored vectors changed too much since.
        case mismatched
    }

    public let kind: Kind
    public let path: String
    public let reason: String

    public var description: String { "snapshot \(path): \(reason)" }
}

/// The hash both snapshot formats use for their checksum and for the fingerprints of the vectors they index.
enum SnapshotHash {
    /// A 64-bit hash of `id` and the bytes of a vector (four independent multiply-xor lanes, so hashing 100,000
    /// 1280-d rows takes tens of milliseconds). Not cryptographic: it detects changed vectors, not forgeries.
    static func fingerprint(id: Int64, row: UnsafePointer<Float>, dimension: Int) -> UInt64 {
        hash(UnsafeRawBufferPointer(start: row, count: dimension * 4), seed: UInt64(bitPattern: id))
    }

    static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        let prime: UInt64 = 0x9E37_79B9_7F4A_7C15
        var lanes: (UInt64, UInt64, UInt64, UInt64) = (seed ^ 0x243F_6A88_85A3_08D3, seed &+ prime, ~seed, seed &* prime)
        let words = bytes.count / 8
        var index = 0
        while index + 4 <= words {
            lanes.0 = mix(lanes.0 ^ bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
            lanes.1 = mix(lanes.1 ^ bytes.loadUnaligned(fromByteOffset: index * 8 + 8, as: UInt64.self))
            lanes.2 = mix(lanes.2 ^ bytes.loadUnaligned(fromByteOffset: index * 8 + 16, as: UInt64.self))
            lanes.3 = mix(lanes.3 ^ bytes.loadUnaligned(fromByteOffset: index * 8 + 24, as: UInt64.self))
            index += 4
        }
        var result = mix(lanes.0 ^ (lanes.1 &* 3) ^ (lanes.2 &* 5) ^ (lanes.3 &* 7) ^ UInt64(bytes.count))
        for word in index..<words { result = mix(result ^ bytes.loadUnaligned(fromByteOffset: word * 8, as: UInt64.self)) }
        for byte in words * 8..<bytes.count { result = mix(result ^ UInt64(bytes[byte])) }
        return result
    }

    @inline(__always)
    private static func mix(_ value: UInt64) -> UInt64 {
        var x = value &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 31
        return x &* 0x94D0_49BB_1331_11EB
    }
}

/// Appends typed arrays to a snapshot's bytes and seals them with a checksum.
struct SnapshotWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func append<T>(_ values: [T]) { values.withUnsafeBytes { bytes.append(contentsOf: $0) } }

    /// The bytes with the checksum of everything before it appended.
    mutating func sealed(magic: UInt64) -> [UInt8] {
        let checksum = bytes.withUnsafeBytes { SnapshotHash.hash($0, seed: magic) }
        append([checksum])
        return bytes
    }
}

/// Sequential typed reads with bounds checks over a snapshot whose last 8 bytes are its checksum.
struct SnapshotReader {
    let bytes: [UInt8]
    let end: Int
    private(set) var offset = 0

    init(bytes: [UInt8], end: Int) {
        self.bytes = bytes
        self.end = end
    }

    /// Whether the checksum stored at the end matches the bytes before it (false when too short to hold one).
    static func checksumMatches(_ bytes: [UInt8], magic: UInt64) -> Bool {
        guard bytes.count >= 8 else { return false }
        let stored = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self) }
        let computed = bytes.withUnsafeBytes { SnapshotHash.hash(UnsafeRawBufferPointer(rebasing: $0[..<(bytes.count - 8)]), seed: magic) }
        return stored == computed
    }

    /// nil when fewer than `count` values remain.
    mutating func read<T>(_ type: T.Type, count: Int) -> [T]? {
        let (size, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard count >= 0, !overflow, size <= end - offset else { return nil }
        let start = offset
        offset += size
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { raw in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<start + size]))
            }
            initialized = count
        }
    }
}

extension Optional {
    func get(orThrow error: @autoclosure () -> some Error) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}

/// Deterministic records for the storage crash test: everything derives from the index.
public enum StressRecord {
    public static let dimension = 1280

    public static func vector(index: Int) -> [Float] {
        var state = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        return (0..<dimension).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 20_000 - 10_000) / 10_000
        }
    }

    public static func words(index: Int) -> [UInt64] {
        (0..<4).map { UInt64(index) &* 0x1000_0000_0100_0001 &+ UInt64($0) }
    }

    public static func write(index: Int, scheme: Int64) -> ImageWrite {
        ImageWrite(
            key: "k\(index)", sha256: [UInt8](repeating: UInt8(index % 256), count: 32), format: "jpeg", width: index,
            height: 1, byteSize: index, metadata: "{\"index\":\(index)}", model: "test", vector: vector(index: index),
            code: StoredCode(schemeID: scheme, bits: 256, words: words(index: index)),
            thumbnail: [UInt8](repeating: 0xAB, count: 2000 + index % 100))
    }
}

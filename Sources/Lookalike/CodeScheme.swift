public import VectorIndex

/// The binary-code scheme in force: random hyperplanes (from the first image) or ITQ (learned once the
/// collection is large enough). `id` is the stored scheme's row, so codes of different schemes are never compared.
public struct CodeScheme: Sendable {
    public enum Encoder: Sendable {
        case simhash(RandomHyperplaneHasher)
        case itq(IterativeQuantization)
    }

    public let id: Int64
    public let encoder: Encoder

    public var kind: String {
        switch encoder {
        case .simhash: return "simhash"
        case .itq: return "itq"
        }
    }

    public var bits: Int {
        switch encoder {
        case .simhash(let hasher): return hasher.bits
        case .itq(let quantizer): return quantizer.bits
        }
    }

    public func code(for vector: [Float]) -> BinaryCode {
        switch encoder {
        case .simhash(let hasher): return hasher.code(for: vector)
        case .itq(let quantizer): return quantizer.code(for: vector)
        }
    }
}

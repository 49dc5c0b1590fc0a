public import VectorIndex
import Storage

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

extension CodeScheme {
    /// The scheme a collection can use from stored parameters: nil when they are of another length or
    /// dimension, or ITQ for a collection that did not ask for it.
    init?(id: Int64, stored: StoredHashScheme, settings: CollectionSettings, dimension: Int) throws {
        guard stored.bits == settings.codeBits, stored.dimension == dimension else { return nil }
        switch CodeSchemeKind(rawValue: stored.kind) {
        case .simhash:
            self.init(id: id, encoder: .simhash(RandomHyperplaneHasher(
                bits: stored.bits, dimension: dimension, projection: stored.parameters)))
        case .itq where settings.codeScheme == .itq:
            self.init(id: id, encoder: .itq(try IterativeQuantization(
                bits: stored.bits, dimension: dimension, parameters: stored.parameters)))
        default:
            return nil
        }
    }
}

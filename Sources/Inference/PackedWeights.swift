internal import CKernels

/// The weights of a 1×1 or im2col convolution packed once into the layout OpenBLAS's kernel reads, so that a
/// forward pass packs only the activations (`packed_gemm.c`). OpenBLAS still does every multiply-add; without
/// its per-core exports, or if they disagree with `cblas_sgemm`, ``make(weights:inChannels:outChannels:)`` gives nil
/// and layers call `cblas_sgemm`, as the `portable` kernel variant always does.
/// `@unchecked Sendable` is safe because the packed buffer is written once, in the initialiser, and only read after.
final class PackedWeights: @unchecked Sendable {
    /// Whether the running OpenBLAS lets weights be packed, checked once per process against `cblas_sgemm` on
    /// shapes that cross every block boundary of the packed driver.
    static let isAvailable: Bool = lookalike_packed_gemm_resolve() == 1 && agreesWithBLAS()

    let inChannels: Int
    let outChannels: Int
    private let packed: UnsafeMutablePointer<Float>

    /// Packs `weights`, stored input-channel-major (`[inChannels][outChannels]`); nil when packing is unavailable.
    static func make(weights: [Float], inChannels: Int, outChannels: Int) -> PackedWeights? {
        guard isAvailable else { return nil }
        return PackedWeights(weights: weights, inChannels: inChannels, outChannels: outChannels)
    }

    private init(weights: [Float], inChannels: Int, outChannels: Int) {
        precondition(weights.count == inChannels * outChannels, "weights do not match the channels")
        self.inChannels = inChannels
        self.outChannels = outChannels
        let count = lookalike_packed_weights_count(outChannels, inChannels)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.size, alignment: 64)
        packed = raw.initializeMemory(as: Float.self, repeating: 0, count: count)
        // In OpenBLAS's column-major terms the weights are A (outChannels × inChannels, lda = outChannels).
        weights.withUnsafeBufferPointer {
            lookalike_pack_weights($0.baseAddress!, outChannels, outChannels, inChannels, packed)
        }
    }

    deinit { packed.deallocate() }

    /// `output[rows × outChannels] = bias (+ residual) + input[rows × inChannels] · weights`; false, with nothing
    /// done, when the thread's packing buffer could not be allocated.
    func multiply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>,
                  bias: UnsafePointer<Float>, residual: UnsafePointer<Float>? = nil) -> Bool {
        lookalike_packed_gemm(packed, outChannels, rows, inChannels, input, inChannels, output, outChannels,
                                     bias, residual) == 1
    }

    /// `output` (NHWC, outChannels) = bias + the k×k convolution of `input` whose im2col rows these weights
    /// multiply, the patches gathered straight into OpenBLAS's packed layout; false, with nothing done, when
    /// OpenBLAS packs another way or the packing buffer could not be allocated (callers then run im2col).
    func convolve(_ input: UnsafePointer<Float>, shape: inout lookalike_depthwise_shape, into output: UnsafeMutablePointer<Float>,
                  bias: UnsafePointer<Float>) -> Bool {
        lookalike_packed_convolution(packed, outChannels, input, &shape, output, bias) == 1
    }

    private static func agreesWithBLAS() -> Bool {
        // (rows, inChannels, outChannels): tails of every block and of the column runs, and a tiny product.
        for (rows, inChannels, outChannels) in [(2_100, 300, 600), (2_101, 300, 600), (7, 3, 5), (49, 1_152, 193), (1, 1_280, 1_000)] {
            // Values spread over [-0.5, 0.5) by a multiplicative hash of the index: distinct per position.
            func values(_ count: Int, _ salt: UInt32) -> [Float] {
                (0..<count).map { Float(((UInt32(truncatingIfNeeded: $0) &+ salt) &* 2_654_435_761) >> 8) / Float(1 << 24) - 0.5 }
            }
            let weights = values(inChannels * outChannels, 1), input = values(rows * inChannels, 2)
            let bias = values(outChannels, 3), residual = values(rows * outChannels, 4)
            let withResidual = rows % 2 == 0
            // The reference: C started at bias (+ residual), then cblas_sgemm with beta = 1.
            var expected = (0..<(rows * outChannels)).map { bias[$0 % outChannels] + (withResidual ? residual[$0] : 0) }
            var actual = [Float](repeating: .nan, count: rows * outChannels)
            let packed = PackedWeights(weights: weights, inChannels: inChannels, outChannels: outChannels)
            let done = input.withUnsafeBufferPointer { input in
                weights.withUnsafeBufferPointer { weights in
                    expected.withUnsafeMutableBufferPointer { expected in
                        BLAS.sgemm(m: rows, n: outChannels, k: inChannels, a: input.baseAddress!, lda: inChannels,
                                   b: weights.baseAddress!, ldb: outChannels, beta: 1, c: expected.baseAddress!, ldc: outChannels)
                    }
                }
                return bias.withUnsafeBufferPointer { bias in
                    residual.withUnsafeBufferPointer { residual in
                        actual.withUnsafeMutableBufferPointer {
                            packed.multiply(input.baseAddress!, rows: rows, into: $0.baseAddress!, bias: bias.baseAddress!,
                                            residual: withResidual ? residual.baseAddress! : nil)
                        }
                    }
                }
            }
            guard done else { return false }
            let scale = Float(inChannels).squareRoot()
            for (a, e) in zip(actual, expected) where !(abs(a - e) <= 1e-4 * scale) { return false }
        }
        return true
    }
}

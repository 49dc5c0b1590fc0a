import Foundation
import Testing
@testable import Inference
import TestSupport

/// Each layer against a naive reference written directly from the definition: NHWC, TensorFlow "SAME" padding
/// computed inline, Double accumulation. Tolerance: 1e-4 absolute (float32 sums of up to a few hundred terms).
struct LayerTests {
    static let tolerance: Float = 1e-4

    /// Dense convolution by definition. Weights `[ky][kx][cin][cout]`.
    static func naiveConvolution(
        _ input: [Float], batch: Int, height: Int, width: Int, inChannels: Int, outChannels: Int, kernel: Int,
        stride: Int, weights: [Float], bias: [Float], depthwise: Bool, relu6: Bool, symmetricPadding: Int? = nil, relu: Bool = false
    ) -> (values: [Float], height: Int, width: Int) {
        var outHeight = (height + stride - 1) / stride, outWidth = (width + stride - 1) / stride
        var padTop = max((outHeight - 1) * stride + kernel - height, 0) / 2
        var padLeft = max((outWidth - 1) * stride + kernel - width, 0) / 2
        if let padding = symmetricPadding {
            (padTop, padLeft) = (padding, padding)
            outHeight = (height + 2 * padding - kernel) / stride + 1
            outWidth = (width + 2 * padding - kernel) / stride + 1
        }
        var out = [Float](repeating: 0, count: batch * outHeight * outWidth * outChannels)
        for n in 0..<batch {
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    for o in 0..<outChannels {
                        var sum = Double(bias[o])
                        for ky in 0..<kernel {
                            for kx in 0..<kernel {
                                let y = oy * stride + ky - padTop, x = ox * stride + kx - padLeft
                                guard y >= 0, y < height, x >= 0, x < width else { continue }
                                if depthwise {
                                    sum += Double(weights[(ky * kernel + kx) * outChannels + o])
                                        * Double(input[((n * height + y) * width + x) * inChannels + o])
                                } else {
                                    for i in 0..<inChannels {
                                        sum += Double(weights[((ky * kernel + kx) * inChannels + i) * outChannels + o])
                                            * Double(input[((n * height + y) * width + x) * inChannels + i])
                                    }
                                }
                            }
                        }
                        let value = Float(sum)
                        out[((n * outHeight + oy) * outWidth + ox) * outChannels + o] =
                            relu6 ? min(max(value, 0), 6) : relu ? max(value, 0) : value
                    }
                }
            }
        }
        return (out, outHeight, outWidth)
    }

    /// Runs `layer` on `input` with a workspace of its own.
    static func apply(_ layer: Convolution, _ input: [Float], batch: Int, height: Int, width: Int,
                      variant: KernelVariant = .best) -> [Float] {
        let out = layer.outputSize(height: height, width: width)
        var got = [Float](repeating: .nan, count: batch * out.height * out.width * layer.outChannels)
        var workspace = [Float](repeating: 0, count: layer.workspaceCount(batch: batch, height: height, width: width))
        input.withUnsafeBufferPointer { input in
            workspace.withUnsafeMutableBufferPointer { workspace in
                got.withUnsafeMutableBufferPointer {
                    layer.apply(input.baseAddress!, batch: batch, height: height, width: width,
                                workspace: workspace.baseAddress!, into: $0.baseAddress!, variant: variant)
                }
            }
        }
        return got
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test func samePaddingMatchesTensorFlow() {
        // From the model notes: at 224, stride-2 3×3 pads (0, 1), stride-2 5×5 pads (1, 2), stride 1 pads k/2.
        #expect(SamePadding(inputSize: 224, kernel: 3, stride: 2) == SamePadding(inputSize: 224, kernel: 3, stride: 2))
        let p3 = SamePadding(inputSize: 224, kernel: 3, stride: 2)
        #expect((p3.before, p3.after, p3.outputSize) == (0, 1, 112))
        let p5 = SamePadding(inputSize: 56, kernel: 5, stride: 2)
        #expect((p5.before, p5.after, p5.outputSize) == (1, 2, 28))
        let p1 = SamePadding(inputSize: 7, kernel: 5, stride: 1)
        #expect((p1.before, p1.after, p1.outputSize) == (2, 2, 7))
        let odd = SamePadding(inputSize: 7, kernel: 3, stride: 2)
        #expect((odd.before, odd.after, odd.outputSize) == (1, 1, 4))
    }

    /// Every kernel build this CPU runs (the portable one always), with and without ReLU6 applied to the input
    /// as it is read; widths and channel counts reach the four- and eight-pixel paths (interior groups and groups
    /// at the borders) and the channel tails.
    @Test(arguments: [(3, 1), (3, 2), (5, 1), (5, 2)], [(2, 9, 7, 13), (1, 6, 11, 8), (1, 10, 23, 24), (1, 5, 28, 16)])
    func depthwiseMatchesNaive(kernelStride: (Int, Int), shape: (Int, Int, Int, Int)) {
        let (kernel, stride) = kernelStride
        let (batch, height, width, channels) = shape
        var random = SeededRandom(seed: UInt64(kernel * 100 + stride * 10 + channels))
        let input = random.floats(batch * height * width * channels, in: -3...9)
        let weights = random.floats(kernel * kernel * channels)
        let bias = random.floats(channels)
        let layer = DepthwiseConvolution(channels: channels, kernel: kernel, stride: stride, weights: weights,
                                         bias: bias, activation: .relu6)
        #expect(KernelVariant.supported.contains(.portable))
        for clampInput in [false, true] {
            let seen = clampInput ? input.map { min(max($0, 0), 6) } : input
            let want = Self.naiveConvolution(seen, batch: batch, height: height, width: width, inChannels: channels,
                                             outChannels: channels, kernel: kernel, stride: stride, weights: weights,
                                             bias: bias, depthwise: true, relu6: true)
            let size = layer.outputSize(height: height, width: width)
            #expect(size == (want.height, want.width))
            for variant in KernelVariant.supported {
                var got = [Float](repeating: .nan, count: want.values.count)
                input.withUnsafeBufferPointer { input in
                    got.withUnsafeMutableBufferPointer {
                        layer.apply(input.baseAddress!, batch: batch, height: height, width: width, into: $0.baseAddress!,
                                    clampInput: clampInput, variant: variant)
                    }
                }
                #expect(Self.maxDifference(got, want.values) < Self.tolerance, "\(variant), clampInput \(clampInput)")
            }
        }
    }

    /// Output rows computed a band at a time from a buffer holding only the input rows the band reads (as a network
    /// computing bands does) against the naive convolution of the whole image: every kernel build, bands of 1, 2
    /// and 3 output rows, with the input clamped on read.
    @Test(arguments: [(3, 1), (3, 2), (5, 1), (5, 2)], [1, 2, 3])
    func depthwiseRowBandsMatchNaive(kernelStride: (Int, Int), band: Int) {
        let (kernel, stride) = kernelStride
        let (height, width, channels) = (11, 13, 21)
        var random = SeededRandom(seed: UInt64(kernel * 10 + stride + band * 100))
        let input = random.floats(height * width * channels, in: -3...9)
        let weights = random.floats(kernel * kernel * channels)
        let bias = random.floats(channels)
        let layer = DepthwiseConvolution(channels: channels, kernel: kernel, stride: stride, weights: weights,
                                         bias: bias, activation: .relu6)
        let want = Self.naiveConvolution(input.map { min(max($0, 0), 6) }, batch: 1, height: height, width: width,
                                         inChannels: channels, outChannels: channels, kernel: kernel, stride: stride,
                                         weights: weights, bias: bias, depthwise: true, relu6: true)
        let rowFloats = width * channels, outputRowFloats = want.width * channels
        for variant in KernelVariant.supported {
            var got = [Float](repeating: .nan, count: want.values.count)
            for first in Swift.stride(from: 0, to: want.height, by: band) {
                let outputRows = first..<min(want.height, first + band)
                let rows = layer.inputRows(forOutputRows: outputRows, height: height)
                #expect(rows.count <= (band - 1) * stride + kernel)
                // Only the rows the band reads, in a buffer of their own.
                let held = Array(input[(rows.lowerBound * rowFloats)..<(rows.upperBound * rowFloats)])
                var out = [Float](repeating: .nan, count: outputRows.count * outputRowFloats)
                held.withUnsafeBufferPointer { held in
                    out.withUnsafeMutableBufferPointer {
                        layer.apply(rows: held.baseAddress!, firstInputRow: rows.lowerBound, height: height, width: width,
                                    outputRows: outputRows, into: $0.baseAddress!, clampInput: true, variant: variant)
                    }
                }
                got.replaceSubrange((first * outputRowFloats)..<(outputRows.upperBound * outputRowFloats), with: out)
            }
            #expect(Self.maxDifference(got, want.values) < Self.tolerance, "\(variant), bands of \(band)")
        }
    }

    @Test(arguments: [(3, 2, 3, 32), (3, 1, 5, 12), (5, 2, 4, 9)])
    func im2colConvolutionMatchesNaive(parameters: (Int, Int, Int, Int)) {
        let (kernel, stride, inChannels, outChannels) = parameters
        let (batch, height, width) = (2, 11, 9)
        var random = SeededRandom(seed: UInt64(kernel * stride * outChannels))
        let input = random.floats(batch * height * width * inChannels, in: -2...2)
        let weights = random.floats(kernel * kernel * inChannels * outChannels)
        let bias = random.floats(outChannels)
        let layer = Convolution(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                                weights: weights, bias: bias, activation: .relu6)
        let want = Self.naiveConvolution(input, batch: batch, height: height, width: width, inChannels: inChannels,
                                         outChannels: outChannels, kernel: kernel, stride: stride, weights: weights,
                                         bias: bias, depthwise: false, relu6: true)
        let got = Self.apply(layer, input, batch: batch, height: height, width: width)
        #expect(Self.maxDifference(got, want.values) < Self.tolerance)
    }

    /// Stem-like layers (short patch, output channels in whole vectors), which the AVX2 and AVX-512 builds compute
    /// directly: rows wide enough for groups of six (AVX2) and eight (AVX-512) interior pixels and the single pixels
    /// at the borders, 16, 32 and 48 output channels (one and two vectors at a time), with each activation; every
    /// kernel build.
    @Test(arguments: [(3, 2, 3, 32, Activation.relu6), (3, 1, 3, 48, .identity), (3, 2, 2, 16, .relu), (2, 1, 5, 32, .relu6)])
    func directConvolutionMatchesNaive(parameters: (Int, Int, Int, Int, Activation)) {
        let (kernel, stride, inChannels, outChannels, activation) = parameters
        let layer = Self.checkConvolutionAgainstNaive(
            kernel: kernel, stride: stride, padding: .same, inChannels: inChannels, outChannels: outChannels,
            activation: activation, size: (2, 9, 41), seed: UInt64(kernel * 1000 + stride * 100 + outChannels))
        #expect(layer.computesDirectly)
    }

    /// ResNet's convolutions: PyTorch's symmetric padding, ReLU; every kernel build.
    @Test(arguments: [(7, 2, 3, 3, 16), (3, 2, 1, 8, 12), (3, 1, 1, 5, 7), (1, 2, 0, 6, 10)])
    func symmetricPaddingConvolutionMatchesNaive(parameters: (Int, Int, Int, Int, Int)) {
        let (kernel, stride, padding, inChannels, outChannels) = parameters
        Self.checkConvolutionAgainstNaive(
            kernel: kernel, stride: stride, padding: .symmetric(padding), inChannels: inChannels, outChannels: outChannels,
            activation: .relu, size: (2, 13, 10), seed: UInt64(kernel * 100 + stride * 10 + padding))
    }

    /// A convolution of random weights over a random batch of `size` (batch, height, width), every kernel build
    /// against the naive sum; returns the layer.
    @discardableResult
    static func checkConvolutionAgainstNaive(
        kernel: Int, stride: Int, padding: ConvolutionPadding, inChannels: Int, outChannels: Int, activation: Activation,
        size: (batch: Int, height: Int, width: Int), seed: UInt64
    ) -> Convolution {
        let (batch, height, width) = size
        var random = SeededRandom(seed: seed)
        let input = random.floats(batch * height * width * inChannels, in: -2...2)
        let weights = random.floats(kernel * kernel * inChannels * outChannels)
        let bias = random.floats(outChannels)
        let layer = Convolution(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                                padding: padding, weights: weights, bias: bias, activation: activation)
        var symmetricPadding: Int?
        if case .symmetric(let amount) = padding { symmetricPadding = amount }
        let want = naiveConvolution(input, batch: batch, height: height, width: width, inChannels: inChannels,
                                    outChannels: outChannels, kernel: kernel, stride: stride, weights: weights, bias: bias,
                                    depthwise: false, relu6: activation == .relu6, symmetricPadding: symmetricPadding,
                                    relu: activation == .relu)
        #expect(layer.outputSize(height: height, width: width) == (want.height, want.width))
        for variant in KernelVariant.supported {
            let got = apply(layer, input, batch: batch, height: height, width: width, variant: variant)
            #expect(maxDifference(got, want.values) < tolerance, "\(variant), kernel \(kernel), stride \(stride)")
        }
        return layer
    }

    /// ResNet's 3×3 stride-2 max pooling with one pixel of padding that never wins, on odd and even sizes.
    @Test(arguments: [(112, 112), (7, 10), (2, 3)])
    func maxPoolingMatchesNaive(size: (Int, Int)) {
        let (height, width) = size
        let (batch, channels) = (2, 5)
        var random = SeededRandom(seed: UInt64(height * 1000 + width))
        let input = random.floats(batch * height * width * channels, in: -3...(-1))  // all negative: padding must not win
        let pooling = MaxPooling(kernel: 3, stride: 2, padding: 1)
        let (outHeight, outWidth) = pooling.outputSize(height: height, width: width)
        var want = [Float](repeating: 0, count: batch * outHeight * outWidth * channels)
        for n in 0..<batch { for oy in 0..<outHeight { for ox in 0..<outWidth { for c in 0..<channels {
            var best = -Float.infinity
            for y in (oy * 2 - 1)...(oy * 2 + 1) where (0..<height).contains(y) {
                for x in (ox * 2 - 1)...(ox * 2 + 1) where (0..<width).contains(x) {
                    best = max(best, input[((n * height + y) * width + x) * channels + c])
                }
            }
            want[((n * outHeight + oy) * outWidth + ox) * channels + c] = best
        } } } }
        var got = [Float](repeating: .nan, count: want.count)
        input.withUnsafeBufferPointer { input in
            got.withUnsafeMutableBufferPointer {
                pooling.apply(input.baseAddress!, batch: batch, height: height, width: width, channels: channels, into: $0.baseAddress!)
            }
        }
        #expect(got == want)
    }

    @Test(arguments: [(7, 5), (32, 16), (96, 24), (13, 1000)])
    func pointwiseMatchesNaive(channels: (Int, Int)) {
        let (inChannels, outChannels) = channels
        let rows = 3 * 5 * 7
        var random = SeededRandom(seed: UInt64(inChannels + outChannels))
        let input = random.floats(rows * inChannels)
        let weights = random.floats(inChannels * outChannels)
        let bias = random.floats(outChannels)
        for activation in [Activation.identity, .relu6] {
            let layer = PointwiseConvolution(inChannels: inChannels, outChannels: outChannels, weights: weights,
                                             bias: bias, activation: activation)
            let want = Self.naiveConvolution(input, batch: 1, height: rows, width: 1, inChannels: inChannels,
                                             outChannels: outChannels, kernel: 1, stride: 1, weights: weights,
                                             bias: bias, depthwise: false, relu6: activation == .relu6)
            for variant in KernelVariant.supported {
                var got = [Float](repeating: .nan, count: rows * outChannels)
                input.withUnsafeBufferPointer { input in
                    got.withUnsafeMutableBufferPointer { layer.apply(input.baseAddress!, rows: rows, into: $0.baseAddress!, variant: variant) }
                }
                #expect(Self.maxDifference(got, want.values) < Self.tolerance, "\(variant)")
            }
        }
        // A projection (no activation) with the block's input added through the product's starting point.
        let projection = PointwiseConvolution(inChannels: inChannels, outChannels: outChannels, weights: weights, bias: bias,
                                              activation: .identity)
        let residual = random.floats(rows * outChannels, in: -5...5)
        let plain = Self.naiveConvolution(input, batch: 1, height: rows, width: 1, inChannels: inChannels, outChannels: outChannels,
                                          kernel: 1, stride: 1, weights: weights, bias: bias, depthwise: false, relu6: false)
        var got = [Float](repeating: .nan, count: rows * outChannels)
        input.withUnsafeBufferPointer { input in
            residual.withUnsafeBufferPointer { residual in
                got.withUnsafeMutableBufferPointer {
                    projection.apply(input.baseAddress!, rows: rows, into: $0.baseAddress!, residual: residual.baseAddress!)
                }
            }
        }
        #expect(Self.maxDifference(got, zip(plain.values, residual).map { $0 + $1 }) < Self.tolerance)
    }

    /// The weights packed once (OpenBLAS's kernel without its per-call weight copy) against the definition, on
    /// shapes that cross each block boundary of the packed driver (512 output channels, 256 input channels, 2,048
    /// rows), on products of at most 256 columns (run in strips of weight rows, one ending in a part-panel) and on
    /// a one-row product; every 89th output is checked, which meets every row and column.
    @Test(arguments: [(2_060, 260, 530), (1, 1_280, 1_000), (49, 1_152, 192), (12_544, 16, 96), (196, 700, 1_000)])
    func packedWeightsMatchNaive(shape: (Int, Int, Int)) {
        let (rows, inChannels, outChannels) = shape
        var random = SeededRandom(seed: UInt64(rows + inChannels + outChannels))
        let input = random.floats(rows * inChannels)
        let weights = random.floats(inChannels * outChannels)
        let bias = random.floats(outChannels)
        let layer = PointwiseConvolution(inChannels: inChannels, outChannels: outChannels, weights: weights, bias: bias,
                                         activation: .identity)
        if KernelVariant.isSupported(.avx2) {
            #expect(layer.packed != nil, "Debian's OpenBLAS exports its per-core routines on x86-64")
        }
        var got = [Float](repeating: .nan, count: rows * outChannels)
        input.withUnsafeBufferPointer { input in
            got.withUnsafeMutableBufferPointer { layer.apply(input.baseAddress!, rows: rows, into: $0.baseAddress!, variant: .best) }
        }
        var worst: Float = 0
        for index in stride(from: 0, to: rows * outChannels, by: 89) {
            let (row, column) = index.quotientAndRemainder(dividingBy: outChannels)
            var sum = Double(bias[column])
            for i in 0..<inChannels { sum += Double(input[row * inChannels + i]) * Double(weights[i * outChannels + column]) }
            worst = max(worst, abs(Float(sum) - got[index]))
        }
        #expect(worst < 1e-4 * Float(inChannels).squareRoot(), "largest difference \(worst)")
    }

    /// On an AVX-512 CPU the packed products run one of OpenBLAS's AVX-512 kernels, even where the OpenBLAS release
    /// predates the CPU and reports an older core (0.3.21 reports a Zen 5 as Haswell); the products themselves are
    /// checked by `packedWeightsMatchNaive`, which runs on whichever kernel this picks.
    @Test func packedProductsUseAnAVX512KernelWhereTheCPUHasOne() {
        guard KernelVariant.isSupported(.avx512),
              ProcessInfo.processInfo.environment["LOOKALIKE_OPENBLAS_CORE"] != "reported" else { return }
        let core = BLAS.packedKernelCore?.lowercased()
        #expect(["skylakex", "cooperlake", "sapphirerapids"].contains(core ?? ""), "packed kernel core \(core ?? "none")")
    }

    /// Convolutions whose patches are gathered straight into OpenBLAS's packed layout, on shapes that cross the
    /// driver's K blocks inside a tap's channels, its second A block, and column runs ending in groups of 2 and 1;
    /// against the naive sum, every kernel build (the portable one runs im2col).
    @Test(arguments: [(3, 1, 67, 600), (3, 2, 40, 24), (7, 2, 3, 64), (1, 2, 300, 33)])
    func gatheredPatchesMatchNaive(parameters: (Int, Int, Int, Int)) {
        let (kernel, stride, inChannels, outChannels) = parameters
        let (batch, height, width) = (2, 9, 11)
        var random = SeededRandom(seed: UInt64(kernel * 1000 + inChannels + outChannels))
        let input = random.floats(batch * height * width * inChannels, in: -2...2)
        let weights = random.floats(kernel * kernel * inChannels * outChannels)
        let bias = random.floats(outChannels)
        let layer = Convolution(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                                padding: .symmetric(kernel / 2), weights: weights, bias: bias, activation: .identity)
        if KernelVariant.isSupported(.avx2) {
            #expect(Convolution.gathersPatches, "Debian's OpenBLAS packs B in groups of 4 columns on x86-64")
        }
        let want = Self.naiveConvolution(input, batch: batch, height: height, width: width, inChannels: inChannels,
                                         outChannels: outChannels, kernel: kernel, stride: stride, weights: weights,
                                         bias: bias, depthwise: false, relu6: false, symmetricPadding: kernel / 2, relu: false)
        for variant in KernelVariant.supported {
            let got = Self.apply(layer, input, batch: batch, height: height, width: width, variant: variant)
            #expect(Self.maxDifference(got, want.values) < 1e-4 * Float(kernel * kernel * inChannels).squareRoot(),
                    "\(variant) \(parameters)")
        }
    }
}

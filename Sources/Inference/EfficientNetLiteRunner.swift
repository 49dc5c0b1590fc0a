import Foundation

/// ``EfficientNetLite``'s layers over four activation buffers: stem, MBConv blocks, head.
///
/// A block whose expanded activations (six times its input's channels) would not stay in the core's L2 runs a band
/// of output rows at a time: the expansion of the input rows the band's depthwise convolution reads (rows shared
/// with the previous band are kept, not recomputed), the depthwise convolution, and the projection of the band's
/// rows. The wide tensor then lives in two band-sized buffers instead of going out to memory and back. Where the
/// stem is computed directly (AVX-512) and the first block has no expansion, the stem feeds that block's bands the
/// same way.
final class EfficientNetLiteRunner: NetworkRunner {
    let network: EfficientNetLite
    /// The band buffers: expanded input rows, and the depthwise convolution's output rows.
    private let bands = ActivationBuffers(number: 2)
    /// Bytes of expanded rows one band may hold; blocks whose whole expanded image fits run unbanded, as every
    /// block does with 0. The default is what `bench-model` measured fastest (docs/benchmarks.md);
    /// `LOOKALIKE_BAND_KIB` overrides it for such measurements.
    let bandBytes: Int
    static let defaultBandBytes =
        (ProcessInfo.processInfo.environment["LOOKALIKE_BAND_KIB"].flatMap(Int.init) ?? 512) * 1024

    /// A block's bands: output rows per band, and the floats its two band buffers need.
    struct Banding {
        let outputRowsPerBand: Int
        let inputFloats: Int
        let depthwiseFloats: Int
    }
    /// Each block's bands at the model's input size, nil for a block that runs over whole images.
    private let bandings: [Banding?]

    init(network: EfficientNetLite, variant: KernelVariant, bandBytes: Int = defaultBandBytes) {
        self.network = network
        self.bandBytes = max(0, bandBytes)
        bandings = Self.bandings(of: network, variant: variant, bandBytes: max(0, bandBytes))
        super.init(variant: variant, buffers: 4)
    }

    /// How many blocks run in bands at the model's input size.
    var bandedBlockCount: Int { bandings.filter { $0 != nil }.count }

    /// Whether the stem computes the first block's input a band at a time: it must be able to compute rows, and
    /// the block must read the stem's output through its depthwise convolution alone.
    private static func stemFeedsBands(_ network: EfficientNetLite, variant: KernelVariant) -> Bool {
        guard network.stem.computesDirectly(with: variant), let first = network.blocks.first else { return false }
        return first.expand == nil && !first.hasResidual
    }

    /// Every block's bands: a block with an expansion (or the first, fed by the stem) whose depthwise input image
    /// exceeds `bandBytes` runs in bands of at most that many bytes of input rows.
    private static func bandings(of network: EfficientNetLite, variant: KernelVariant, bandBytes: Int) -> [Banding?] {
        let stemFeedsBands = stemFeedsBands(network, variant: variant)
        var (height, width) = network.stem.outputSize(height: network.inputSize, width: network.inputSize)
        var bandings: [Banding?] = []
        for (index, block) in network.blocks.enumerated() {
            let depthwise = block.depthwise
            let (outputHeight, outputWidth) = depthwise.outputSize(height: height, width: width)
            defer { (height, width) = (outputHeight, outputWidth) }
            let rowFloats = width * depthwise.channels
            guard block.expand != nil || index == 0 && stemFeedsBands,
                  bandBytes > 0, height * rowFloats * MemoryLayout<Float>.size > bandBytes else {
                bandings.append(nil)
                continue
            }
            let inputRows = max(depthwise.kernel, bandBytes / MemoryLayout<Float>.size / rowFloats)
            let outputRows = max(1, (inputRows - depthwise.kernel) / depthwise.stride + 1)
            bandings.append(Banding(outputRowsPerBand: outputRows,
                                    inputFloats: ((outputRows - 1) * depthwise.stride + depthwise.kernel) * rowFloats,
                                    depthwiseFloats: outputRows * outputWidth * depthwise.channels))
        }
        return bandings
    }

    override var classifier: PointwiseConvolution? { network.classifier }

    /// Largest activation (floats per image) of any layer.
    private var largestActivationPerImage: Int {
        var (height, width) = network.stem.outputSize(height: network.inputSize, width: network.inputSize)
        var largest = max(network.inputSize * network.inputSize * 3, height * width * network.stem.outChannels)
        for block in network.blocks {
            largest = max(largest, height * width * (block.expand?.outChannels ?? block.inChannels))
            (height, width) = block.depthwise.outputSize(height: height, width: width)
            largest = max(largest, height * width * max(block.depthwise.channels, block.project.outChannels))
        }
        return max(largest, height * width * network.head.outChannels)
    }

    override func reserve(batch: Int) {
        activations.reserve(largestActivationPerImage * batch)
        // A stem computed directly needs no patch matrix (one float keeps the buffer addressable).
        workspace.reserve(network.stem.computesDirectly(with: variant)
            ? 1 : network.stem.workspaceCount(batch: batch, height: network.inputSize, width: network.inputSize))
        let largestBand = bandings.compactMap { $0.map { max($0.inputFloats, $0.depthwiseFloats) } }.max() ?? 0
        bands.reserve(largestBand)
    }

    override func featureMap(_ input: UnsafePointer<Float>, batch: Int) -> (values: UnsafePointer<Float>, pixels: Int, channels: Int) {
        let size = network.inputSize
        var current = activations[0], expanded = activations[1], depthwiseOut = activations[2], projected = activations[3]
        // The stem's ReLU6 too is left to the first depthwise convolution when that alone reads the stem's output
        // (no expansion, no skip connection).
        var (height, width) = network.stem.outputSize(height: size, width: size)
        var firstBlock = 0
        let first = network.blocks.first
        var unclampedInput = false
        if let first, let band = bandings.first ?? nil, first.expand == nil {
            let (outputHeight, outputWidth) = first.depthwise.outputSize(height: height, width: width)
            for image in 0..<batch {
                let imageInput = input + image * size * size * network.stem.inChannels
                runBanded(first.depthwise, first.project, band: band.outputRowsPerBand, height: height, width: width,
                          clampInput: false, residual: nil,
                          into: projected + image * outputHeight * outputWidth * first.project.outChannels) { rows, into in
                    network.stem.apply(image: imageInput, height: size, width: size, outputRows: rows, into: into,
                                      variant: variant)
                }
            }
            (height, width) = (outputHeight, outputWidth)
            swap(&current, &projected)
            firstBlock = 1
        } else {
            // The stem's ReLU6 too is left to the first depthwise convolution when that alone reads the stem's
            // output (no expansion, no skip connection).
            unclampedInput = network.stem.activation == .relu6 && first?.expand == nil && first?.hasResidual == false
            network.stem.apply(input, batch: batch, height: size, width: size, workspace: workspace[0], into: expanded,
                               activate: !unclampedInput, variant: variant)
            swap(&current, &expanded)
        }

        for (index, block) in network.blocks.enumerated() where index >= firstBlock {
            if let band = bandings[index], let expand = block.expand {
                let (outputHeight, outputWidth) = block.depthwise.outputSize(height: height, width: width)
                for image in 0..<batch {
                    let imageInput = current + image * height * width * expand.inChannels
                    runBanded(block.depthwise, block.project, band: band.outputRowsPerBand, height: height, width: width,
                              clampInput: expand.activation == .relu6,
                              residual: block.hasResidual ? UnsafePointer(imageInput) : nil,
                              into: projected + image * outputHeight * outputWidth * block.project.outChannels) { rows, into in
                        expand.apply(imageInput + rows.lowerBound * width * expand.inChannels, rows: rows.count * width,
                                     into: into, activate: false, variant: variant)
                    }
                }
                (height, width) = (outputHeight, outputWidth)
                swap(&current, &projected)
                continue
            }
            var depthwiseInput = current
            if let expand = block.expand {
                // The expansion's ReLU6 is applied by the depthwise convolution as it reads.
                expand.apply(current, rows: batch * height * width, into: expanded, activate: false, variant: variant)
                depthwiseInput = expanded
                unclampedInput = expand.activation == .relu6
            }
            block.depthwise.apply(depthwiseInput, batch: batch, height: height, width: width, into: depthwiseOut,
                                  clampInput: unclampedInput, variant: variant)
            unclampedInput = false
            (height, width) = block.depthwise.outputSize(height: height, width: width)
            let rows = batch * height * width
            block.project.apply(depthwiseOut, rows: rows, into: projected, residual: block.hasResidual ? UnsafePointer(current) : nil,
                                variant: variant)
            swap(&current, &projected)
        }
        network.head.apply(current, rows: batch * height * width, into: expanded, variant: variant)
        return (UnsafePointer(expanded), height * width, network.head.outChannels)
    }

    /// One image of a block, `outputRowsPerBand` output rows at a time (see the type's comment): `produce(rows, into)`
    /// writes the depthwise convolution's input rows `rows` (the expansion's or the stem's output); `residual`, the
    /// block's input when it has a skip connection, and `output` are the image's.
    private func runBanded(_ depthwise: DepthwiseConvolution, _ project: PointwiseConvolution, band outputRowsPerBand: Int,
                           height: Int, width: Int, clampInput: Bool, residual: UnsafePointer<Float>?,
                           into output: UnsafeMutablePointer<Float>,
                           produce: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) {
        let (outputHeight, outputWidth) = depthwise.outputSize(height: height, width: width)
        let rowFloats = width * depthwise.channels
        let produced = bands[0], depthwiseOut = bands[1]
        var held = 0..<0  // the rows in `produced`, from its start
        for first in stride(from: 0, to: outputHeight, by: outputRowsPerBand) {
            let outputRows = first..<min(outputHeight, first + outputRowsPerBand)
            let needed = depthwise.inputRows(forOutputRows: outputRows, height: height)
            var start = needed.lowerBound
            if held.upperBound > needed.lowerBound {
                // Rows this band shares with the previous one move to the front instead of being recomputed.
                let kept = needed.lowerBound..<held.upperBound
                if kept.lowerBound > held.lowerBound {
                    memmove(produced, produced + (kept.lowerBound - held.lowerBound) * rowFloats,
                            kept.count * rowFloats * MemoryLayout<Float>.size)
                }
                start = kept.upperBound
            }
            if start < needed.upperBound {
                produce(start..<needed.upperBound, produced + (start - needed.lowerBound) * rowFloats)
            }
            held = needed
            depthwise.apply(rows: produced, firstInputRow: needed.lowerBound, height: height, width: width,
                            outputRows: outputRows, into: depthwiseOut, clampInput: clampInput, variant: variant)
            let offset = outputRows.lowerBound * outputWidth * project.outChannels
            project.apply(depthwiseOut, rows: outputRows.count * outputWidth, into: output + offset,
                          residual: residual.map { $0 + offset }, variant: variant)
        }
    }
}

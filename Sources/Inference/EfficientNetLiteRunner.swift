import Foundation

/// ``EfficientNetLite``'s layers over four activation buffers: stem, MBConv blocks, head.
///
/// A block whose expanded activations (six times its input's channels) would not stay in the core's L2 runs a band
/// of output rows at a time: the expansion of the input rows the band's depthwise convolution reads (rows shared
/// with the previous band are kept, not recomputed), the depthwise convolution, and the projection of the band's
/// rows. The wide tensor then lives in two band-sized buffers instead of going out to memory and back.
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

    init(network: EfficientNetLite, variant: KernelVariant, bandBytes: Int = defaultBandBytes) {
        self.network = network
        self.bandBytes = max(0, bandBytes)
        super.init(variant: variant, buffers: 4)
    }

    /// How many blocks run in bands at the model's input size.
    var bandedBlockCount: Int {
        var (height, width) = network.stem.outputSize(height: network.inputSize, width: network.inputSize)
        var count = 0
        for block in network.blocks {
            if banding(block, height: height, width: width) != nil { count += 1 }
            (height, width) = block.depthwise.outputSize(height: height, width: width)
        }
        return count
    }

    /// The geometry of one block's bands at an input of `height × width`, nil when the block runs unbanded.
    private func banding(_ block: EfficientNetLite.Block, height: Int, width: Int)
        -> (outputRowsPerBand: Int, expandedFloats: Int, depthwiseFloats: Int)? {
        guard let expand = block.expand else { return nil }
        let rowFloats = width * expand.outChannels
        guard bandBytes > 0, height * rowFloats * MemoryLayout<Float>.size > bandBytes else { return nil }
        let stride = block.depthwise.stride, kernel = block.depthwise.kernel
        let inputRows = max(kernel, bandBytes / MemoryLayout<Float>.size / rowFloats)
        let outputRows = max(1, (inputRows - kernel) / stride + 1)
        let outputWidth = block.depthwise.outputSize(height: height, width: width).width
        return (outputRows, ((outputRows - 1) * stride + kernel) * rowFloats, outputRows * outputWidth * expand.outChannels)
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
        workspace.reserve(network.stem.workspaceCount(batch: batch, height: network.inputSize, width: network.inputSize))
        var (height, width) = network.stem.outputSize(height: network.inputSize, width: network.inputSize)
        var largestBand = 0
        for block in network.blocks {
            if let band = banding(block, height: height, width: width) {
                largestBand = max(largestBand, band.expandedFloats, band.depthwiseFloats)
            }
            (height, width) = block.depthwise.outputSize(height: height, width: width)
        }
        bands.reserve(largestBand)
    }

    override func featureMap(_ input: UnsafePointer<Float>, batch: Int) -> (values: UnsafePointer<Float>, pixels: Int, channels: Int) {
        let size = network.inputSize
        var current = activations[0], expanded = activations[1], depthwiseOut = activations[2], projected = activations[3]
        // The stem's ReLU6 too is left to the first depthwise convolution when that alone reads the stem's output
        // (no expansion, no skip connection).
        let first = network.blocks.first
        var unclampedInput = network.stem.activation == .relu6 && first?.expand == nil && first?.hasResidual == false
        network.stem.apply(input, batch: batch, height: size, width: size, workspace: workspace[0], into: expanded,
                           activate: !unclampedInput, variant: variant)
        swap(&current, &expanded)
        var (height, width) = network.stem.outputSize(height: size, width: size)

        for block in network.blocks {
            if let band = banding(block, height: height, width: width) {
                for image in 0..<batch {
                    runBanded(block, band: band.outputRowsPerBand, image: image, height: height, width: width,
                              input: current, into: projected)
                }
                (height, width) = block.depthwise.outputSize(height: height, width: width)
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

    /// One image of a block with an expansion, `outputRowsPerBand` output rows at a time (see the type's comment).
    private func runBanded(_ block: EfficientNetLite.Block, band outputRowsPerBand: Int, image: Int, height: Int,
                           width: Int, input: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        guard let expand = block.expand else { preconditionFailure("only blocks with an expansion run in bands") }
        let depthwise = block.depthwise, project = block.project
        let (outputHeight, outputWidth) = depthwise.outputSize(height: height, width: width)
        let imageInput = input + image * height * width * expand.inChannels
        let imageOutput = output + image * outputHeight * outputWidth * project.outChannels
        let expandedRowFloats = width * expand.outChannels
        let expanded = bands[0], depthwiseOut = bands[1]
        var held = 0..<0  // the expanded rows in `expanded`, from its start
        for first in stride(from: 0, to: outputHeight, by: outputRowsPerBand) {
            let outputRows = first..<min(outputHeight, first + outputRowsPerBand)
            let needed = depthwise.inputRows(forOutputRows: outputRows, height: height)
            var start = needed.lowerBound
            if held.upperBound > needed.lowerBound {
                // Rows this band shares with the previous one move to the front instead of being recomputed.
                let kept = needed.lowerBound..<held.upperBound
                if kept.lowerBound > held.lowerBound {
                    memmove(expanded, expanded + (kept.lowerBound - held.lowerBound) * expandedRowFloats,
                            kept.count * expandedRowFloats * MemoryLayout<Float>.size)
                }
                start = kept.upperBound
            }
            if start < needed.upperBound {
                expand.apply(imageInput + start * width * expand.inChannels, rows: (needed.upperBound - start) * width,
                             into: expanded + (start - needed.lowerBound) * expandedRowFloats, activate: false,
                             variant: variant)
            }
            held = needed
            depthwise.apply(rows: expanded, firstInputRow: needed.lowerBound, height: height, width: width,
                            outputRows: outputRows, into: depthwiseOut, clampInput: expand.activation == .relu6,
                            variant: variant)
            let offset = outputRows.lowerBound * outputWidth * project.outChannels
            project.apply(depthwiseOut, rows: outputRows.count * outputWidth, into: imageOutput + offset,
                          residual: block.hasResidual ? UnsafePointer(imageInput + offset) : nil, variant: variant)
        }
    }
}

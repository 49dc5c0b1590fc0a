/// ``EfficientNetLite``'s layers over four activation buffers: stem, MBConv blocks, head.
final class EfficientNetLiteRunner: NetworkRunner {
    let network: EfficientNetLite

    init(network: EfficientNetLite, variant: KernelVariant) {
        self.network = network
        super.init(variant: variant, buffers: 4)
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
}

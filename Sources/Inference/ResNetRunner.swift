/// ``ResNet``'s layers over five activation buffers: stem, max pool, bottleneck blocks.
final class ResNetRunner: NetworkRunner {
    let network: ResNet

    init(network: ResNet, variant: KernelVariant) {
        self.network = network
        super.init(variant: variant, buffers: 5)
    }

    override var classifier: PointwiseConvolution? { network.classifier }

    /// Largest activation and largest im2col workspace (floats per image) of any layer.
    private var largestPerImage: (activation: Int, workspace: Int) {
        let size = network.inputSize
        var (height, width) = network.stem.outputSize(height: size, width: size)
        var activation = max(size * size * 3, height * width * network.stem.outChannels)
        var workspace = network.stem.workspaceCount(batch: 1, height: size, width: size)
        (height, width) = network.pool.outputSize(height: height, width: width)
        for block in network.blocks {
            activation = max(activation, height * width * max(block.reduce.inChannels, block.reduce.outChannels))
            workspace = max(workspace, block.spatial.workspaceCount(batch: 1, height: height, width: width),
                            block.shortcut?.workspaceCount(batch: 1, height: height, width: width) ?? 0)
            (height, width) = block.spatial.outputSize(height: height, width: width)
            activation = max(activation, height * width * max(block.spatial.outChannels, block.expand.outChannels))
        }
        return (activation, workspace)
    }

    override func reserve(batch: Int) {
        let largest = largestPerImage
        activations.reserve(largest.activation * batch)
        workspace.reserve(largest.workspace * batch)
    }

    override func featureMap(_ input: UnsafePointer<Float>, batch: Int) -> (values: UnsafePointer<Float>, pixels: Int, channels: Int) {
        featureMap(input, batch: batch, throughBlock: network.blocks.count)
    }

    /// The activations after the stem, the max pool and the first `blockCount` bottleneck blocks (the tests compare
    /// each stage's output with a reference).
    func featureMap(_ input: UnsafePointer<Float>, batch: Int, throughBlock blockCount: Int)
        -> (values: UnsafePointer<Float>, pixels: Int, channels: Int) {
        let size = network.inputSize
        var current = activations[0], reduced = activations[1], spatial = activations[2], shortcut = activations[3],
            output = activations[4]
        network.stem.apply(input, batch: batch, height: size, width: size, workspace: workspace[0], into: reduced, variant: variant)
        var (height, width) = network.stem.outputSize(height: size, width: size)
        network.pool.apply(reduced, batch: batch, height: height, width: width, channels: network.stem.outChannels, into: current)
        (height, width) = network.pool.outputSize(height: height, width: width)
        var channels = network.stem.outChannels

        for block in network.blocks.prefix(blockCount) {
            block.reduce.apply(current, rows: batch * height * width, into: reduced, variant: variant)
            block.spatial.apply(reduced, batch: batch, height: height, width: width, workspace: workspace[0], into: spatial,
                                variant: variant)
            var residual = UnsafePointer(current)
            if let projection = block.shortcut {
                projection.apply(current, batch: batch, height: height, width: width, workspace: workspace[0], into: shortcut,
                                 variant: variant)
                residual = UnsafePointer(shortcut)
            }
            (height, width) = block.spatial.outputSize(height: height, width: width)
            // relu(expand(x) + shortcut): the shortcut is the matrix product's starting point.
            block.expand.apply(spatial, rows: batch * height * width, into: output, residual: residual, variant: variant)
            swap(&current, &output)
            channels = block.expand.outChannels
        }
        return (UnsafePointer(current), height * width, channels)
    }
}

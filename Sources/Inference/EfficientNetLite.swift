import Foundation

/// EfficientNet-Lite (Tan & Le, 2019; the "Lite" variant without squeeze-excite and swish) running on OpenBLAS.
///
/// The architecture is read from the weight file: tensor shapes give channels and kernel sizes, the metadata
/// gives block strides, input size and input normalisation. BatchNorm is folded into each convolution at load
/// time (ε from the file, 1e-3 for these weights).
///
/// Activations are NHWC (channels contiguous), so every 1×1 convolution is one `sgemm` over all pixels of all
/// images in the batch. The loaded model is immutable and shared; per-thread buffers live in
/// ``InferenceSession``.
public final class EfficientNetLite: Sendable {
    /// One MBConv block: optional 1×1 expansion, depthwise k×k, 1×1 projection, optional residual.
    struct Block: Sendable {
        let expand: PointwiseConvolution?
        let depthwise: DepthwiseConvolution
        let project: PointwiseConvolution
        var hasResidual: Bool { depthwise.stride == 1 && project.outChannels == inChannels }
        var inChannels: Int { expand?.inChannels ?? depthwise.channels }
    }

    /// Which model and which exact weights produced a vector.
    public let identity: ModelIdentity
    /// Side of the square input in pixels.
    public let inputSize: Int
    /// Per-channel input normalisation: `(pixel − mean) / std`.
    public let inputMean: (Float, Float, Float)
    public let inputStd: (Float, Float, Float)
    /// Dimension of the pooled feature vector.
    public var featureDimension: Int { head.outChannels }
    /// Number of classifier outputs (1000 for ImageNet), 0 when the file has no classifier.
    public var classCount: Int { classifier?.outChannels ?? 0 }

    let stem: Convolution
    let blocks: [Block]
    let head: PointwiseConvolution
    let classifier: PointwiseConvolution?

    /// Loads a converted weight file (see `scripts/convert_model.py`).
    public convenience init(path: String) throws {
        try self.init(weights: try WeightFile(path: path))
    }

    public init(weights file: WeightFile) throws {
        func fail(_ reason: String) -> WeightFile.Error { WeightFile.Error(path: file.path, reason: reason) }
        let metadata = file.requiredMetadata
        guard try metadata("architecture") == "efficientnet-lite" else {
            throw fail("architecture '\(file.metadata["architecture"] ?? "")' is not efficientnet-lite")
        }
        guard let epsilon = Float(try metadata("batchnorm_epsilon")), epsilon > 0,
              let inputSize = Int(try metadata("input_size")), (32...1024).contains(inputSize) else {
            throw fail("metadata batchnorm_epsilon or input_size is invalid")
        }
        let strides = try metadata("block_strides").split(separator: ",").map { Int($0) ?? 0 }
        guard strides.allSatisfy({ $0 == 1 || $0 == 2 }) else { throw fail("block_strides must be 1s and 2s") }

        func pointwise(_ conv: String, _ bn: String, activation: Activation) throws -> PointwiseConvolution {
            try file.pointwise(conv, norm: bn, activation: activation, epsilon: epsilon)
        }
        stem = try file.convolution("_conv_stem", norm: "_bn0", stride: 2, padding: .same, activation: .relu6, epsilon: epsilon)
        let stemOut = stem.outChannels

        var blocks: [Block] = []
        var channels = stemOut
        for (index, stride) in strides.enumerated() {
            let prefix = "_blocks.\(index)."
            let expand = file.tensors[prefix + "_expand_conv.weight"] == nil ? nil
                : try pointwise(prefix + "_expand_conv", prefix + "_bn0", activation: .relu6)
            if let expand, expand.inChannels != channels {
                throw fail("block \(index) expects \(expand.inChannels) channels, previous layer gives \(channels)")
            }
            let depthwiseTensor = try file.tensor(prefix + "_depthwise_conv.weight")
            guard depthwiseTensor.shape.count == 4, depthwiseTensor.shape[1] == 1,
                  depthwiseTensor.shape[2] == depthwiseTensor.shape[3] else {
                throw fail("'\(prefix)_depthwise_conv.weight' has shape \(depthwiseTensor.shape)")
            }
            let (depthChannels, kernel) = (depthwiseTensor.shape[0], depthwiseTensor.shape[2])
            guard depthChannels == (expand?.outChannels ?? channels) else {
                throw fail("block \(index) depthwise channels \(depthChannels) do not match its input")
            }
            let depthNorm = try file.batchNorm(prefix + "_bn1", channels: depthChannels, epsilon: epsilon)
            var depthWeights = [Float](repeating: 0, count: depthwiseTensor.values.count)
            for c in 0..<depthChannels {
                for tap in 0..<(kernel * kernel) {
                    depthWeights[tap * depthChannels + c] =
                        depthwiseTensor.values[c * kernel * kernel + tap] * depthNorm.scale[c]
                }
            }
            let depthwise = DepthwiseConvolution(channels: depthChannels, kernel: kernel, stride: stride,
                                                 weights: depthWeights, bias: depthNorm.shift, activation: .relu6)
            let project = try pointwise(prefix + "_project_conv", prefix + "_bn2", activation: .identity)
            guard project.inChannels == depthChannels else { throw fail("block \(index) projection does not match") }
            blocks.append(Block(expand: expand, depthwise: depthwise, project: project))
            channels = project.outChannels
        }
        if file.tensors["_blocks.\(strides.count)._depthwise_conv.weight"] != nil {
            throw fail("the file has more blocks than block_strides lists")
        }
        self.blocks = blocks
        head = try pointwise("_conv_head", "_bn1", activation: .relu6)
        guard head.inChannels == channels else { throw fail("head expects \(head.inChannels) channels, got \(channels)") }

        classifier = file.tensors["_fc.weight"] == nil ? nil : try file.linear("_fc", inputs: head.outChannels)
        self.inputSize = inputSize
        self.inputMean = try file.metadataTriple("input_mean")
        self.inputStd = try file.metadataTriple("input_std")
        self.identity = ModelIdentity(name: file.metadata["name"] ?? "efficientnet-lite", weightsHash: file.contentHash)
    }

    /// Multiply-adds for one image, counted layer by layer (for the benchmark's bound).
    public var multiplyAddsPerImage: Int {
        var total = 0
        var (height, width) = stem.outputSize(height: inputSize, width: inputSize)
        total += height * width * stem.kernel * stem.kernel * stem.inChannels * stem.outChannels
        for block in blocks {
            if let expand = block.expand { total += height * width * expand.inChannels * expand.outChannels }
            let out = block.depthwise.outputSize(height: height, width: width)
            (height, width) = out
            total += height * width * block.depthwise.kernel * block.depthwise.kernel * block.depthwise.channels
            total += height * width * block.project.inChannels * block.project.outChannels
        }
        total += height * width * head.inChannels * head.outChannels
        return total
    }
}

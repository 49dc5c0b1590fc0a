import Foundation

/// EfficientNet-Lite (Tan & Le, 2019; the "Lite" variant without squeeze-excite and swish) running on OpenBLAS.
///
/// The architecture is read from the weight file: tensor shapes give channels and kernel sizes, the metadata
/// gives block strides, input size and input normalisation. BatchNorm is folded into each convolution at load
/// time (`w′ = w · γ/√(σ² + ε)`, `b′ = β − μ · γ/√(σ² + ε)`, ε from the file, 1e-3 for these weights).
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
        func metadata(_ key: String) throws -> String {
            guard let value = file.metadata[key] else { throw fail("metadata has no '\(key)'") }
            return value
        }
        func triple(_ key: String) throws -> (Float, Float, Float) {
            let parts = try metadata(key).split(separator: ",").compactMap { Float($0) }
            guard parts.count == 3 else { throw fail("metadata '\(key)' must be three numbers") }
            return (parts[0], parts[1], parts[2])
        }
        guard try metadata("architecture") == "efficientnet-lite" else {
            throw fail("architecture '\(file.metadata["architecture"] ?? "")' is not efficientnet-lite")
        }
        guard let epsilon = Float(try metadata("batchnorm_epsilon")), epsilon > 0,
              let inputSize = Int(try metadata("input_size")), (32...1024).contains(inputSize) else {
            throw fail("metadata batchnorm_epsilon or input_size is invalid")
        }
        let strides = try metadata("block_strides").split(separator: ",").map { Int($0) ?? 0 }
        guard strides.allSatisfy({ $0 == 1 || $0 == 2 }) else { throw fail("block_strides must be 1s and 2s") }

        /// BatchNorm parameters → (scale, shift) per channel.
        func batchNorm(_ prefix: String, channels: Int) throws -> (scale: [Float], shift: [Float]) {
            let gamma = try file.tensor(prefix + ".weight", shape: [channels]).values
            let beta = try file.tensor(prefix + ".bias", shape: [channels]).values
            let mean = try file.tensor(prefix + ".running_mean", shape: [channels]).values
            let variance = try file.tensor(prefix + ".running_var", shape: [channels]).values
            let scale = (0..<channels).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
            let shift = (0..<channels).map { beta[$0] - mean[$0] * scale[$0] }
            return (scale, shift)
        }
        /// A 1×1 convolution `[cout, cin, 1, 1]` + BatchNorm → `[cin][cout]` weights and bias.
        func pointwise(_ conv: String, _ bn: String, activation: Activation) throws -> PointwiseConvolution {
            let tensor = try file.tensor(conv + ".weight")
            guard tensor.shape.count == 4, tensor.shape[2] == 1, tensor.shape[3] == 1 else {
                throw fail("'\(conv).weight' is not a 1×1 convolution: shape \(tensor.shape)")
            }
            let (cout, cin) = (tensor.shape[0], tensor.shape[1])
            let (scale, shift) = try batchNorm(bn, channels: cout)
            var weights = [Float](repeating: 0, count: cin * cout)
            for o in 0..<cout { for i in 0..<cin { weights[i * cout + o] = tensor.values[o * cin + i] * scale[o] } }
            return PointwiseConvolution(inChannels: cin, outChannels: cout, weights: weights, bias: shift,
                                        activation: activation)
        }

        // Stem: [32, 3, k, k] → [(ky, kx, cin)][cout].
        let stemTensor = try file.tensor("_conv_stem.weight")
        guard stemTensor.shape.count == 4, stemTensor.shape[2] == stemTensor.shape[3] else {
            throw fail("'_conv_stem.weight' has shape \(stemTensor.shape)")
        }
        let (stemOut, stemIn, stemKernel) = (stemTensor.shape[0], stemTensor.shape[1], stemTensor.shape[2])
        let stemNorm = try batchNorm("_bn0", channels: stemOut)
        var stemWeights = [Float](repeating: 0, count: stemTensor.values.count)
        for o in 0..<stemOut {
            for i in 0..<stemIn {
                for ky in 0..<stemKernel {
                    for kx in 0..<stemKernel {
                        let source = ((o * stemIn + i) * stemKernel + ky) * stemKernel + kx
                        stemWeights[((ky * stemKernel + kx) * stemIn + i) * stemOut + o] =
                            stemTensor.values[source] * stemNorm.scale[o]
                    }
                }
            }
        }
        stem = Convolution(inChannels: stemIn, outChannels: stemOut, kernel: stemKernel, stride: 2,
                           weights: stemWeights, bias: stemNorm.shift, activation: .relu6)

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
            let depthNorm = try batchNorm(prefix + "_bn1", channels: depthChannels)
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

        if let fc = file.tensors["_fc.weight"] {
            guard fc.shape.count == 2, fc.shape[1] == head.outChannels else { throw fail("'_fc.weight' has shape \(fc.shape)") }
            let classes = fc.shape[0]
            let bias = try file.tensor("_fc.bias", shape: [classes]).values
            var weights = [Float](repeating: 0, count: fc.values.count)
            for o in 0..<classes { for i in 0..<head.outChannels { weights[i * classes + o] = fc.values[o * head.outChannels + i] } }
            classifier = PointwiseConvolution(inChannels: head.outChannels, outChannels: classes, weights: weights,
                                              bias: bias, activation: .identity)
        } else {
            classifier = nil
        }
        self.inputSize = inputSize
        self.inputMean = try triple("input_mean")
        self.inputStd = try triple("input_std")
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

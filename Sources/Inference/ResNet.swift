/// ResNet (He et al., 2016) with bottleneck blocks, v1.5 as torchvision builds it (the stride on each stage's first
/// 3×3 convolution), running on OpenBLAS like ``EfficientNetLite``.
///
/// The depth is read from the weight file's tensor names (`layer1.0.conv1.weight`, …): ResNet-50 has 3, 4, 6 and 3
/// blocks per stage, ResNet-101 and -152 load the same way. BatchNorm is folded into each convolution at load.
/// The feature is the global average pool of the last stage (2048-d for ResNet-50).
public final class ResNet: Sendable {
    /// 1×1 reduce → 3×3 (strided) → 1×1 expand, plus the shortcut, then ReLU.
    struct Bottleneck: Sendable {
        let reduce: PointwiseConvolution
        let spatial: Convolution
        let expand: PointwiseConvolution
        /// A strided 1×1 convolution where the shape changes; nil: the input itself.
        let shortcut: Convolution?
    }

    public let identity: ModelIdentity
    public let inputSize: Int
    public let inputMean: (Float, Float, Float)
    public let inputStd: (Float, Float, Float)
    /// Blocks per stage, e.g. `[3, 4, 6, 3]`.
    public let stageDepths: [Int]
    public var featureDimension: Int { blocks.last?.expand.outChannels ?? stem.outChannels }
    public var classCount: Int { classifier?.outChannels ?? 0 }

    let stem: Convolution
    let pool = MaxPooling(kernel: 3, stride: 2, padding: 1)
    let blocks: [Bottleneck]
    let classifier: PointwiseConvolution?

    public convenience init(path: String) throws {
        try self.init(weights: try WeightFile(path: path))
    }

    public init(weights file: WeightFile) throws {
        func fail(_ reason: String) -> WeightFile.Error { WeightFile.Error(path: file.path, reason: reason) }
        guard try file.requiredMetadata("architecture") == "resnet" else {
            throw fail("architecture '\(file.metadata["architecture"] ?? "")' is not resnet")
        }
        guard let epsilon = Float(try file.requiredMetadata("batchnorm_epsilon")), epsilon > 0,
              let inputSize = Int(try file.requiredMetadata("input_size")), (32...1024).contains(inputSize) else {
            throw fail("metadata batchnorm_epsilon or input_size is invalid")
        }
        stem = try file.convolution("conv1", norm: "bn1", stride: 2, padding: .symmetric(3), activation: .relu, epsilon: epsilon)
        guard stem.kernel == 7, stem.inChannels == 3 else { throw fail("'conv1.weight' must be a 7×7 convolution of 3 channels") }

        var blocks: [Bottleneck] = []
        var depths: [Int] = []
        var channels = stem.outChannels
        var stage = 1
        while file.tensors["layer\(stage).0.conv1.weight"] != nil {
            var index = 0
            while file.tensors["layer\(stage).\(index).conv1.weight"] != nil {
                let prefix = "layer\(stage).\(index)."
                let stride = stage > 1 && index == 0 ? 2 : 1
                let reduce = try file.pointwise(prefix + "conv1", norm: prefix + "bn1", activation: .relu, epsilon: epsilon)
                let spatial = try file.convolution(prefix + "conv2", norm: prefix + "bn2", stride: stride, padding: .symmetric(1),
                                                   activation: .relu, epsilon: epsilon)
                let expand = try file.pointwise(prefix + "conv3", norm: prefix + "bn3", activation: .relu, epsilon: epsilon)
                guard reduce.inChannels == channels, spatial.kernel == 3, spatial.inChannels == reduce.outChannels,
                      expand.inChannels == spatial.outChannels else {
                    throw fail("block \(prefix.dropLast()) does not chain: \(channels) → conv1 \(reduce.inChannels)→\(reduce.outChannels), "
                               + "conv2 \(spatial.inChannels)→\(spatial.outChannels) (\(spatial.kernel)×\(spatial.kernel)), "
                               + "conv3 \(expand.inChannels)→\(expand.outChannels)")
                }
                var shortcut: Convolution?
                if file.tensors[prefix + "downsample.0.weight"] != nil {
                    shortcut = try file.convolution(prefix + "downsample.0", norm: prefix + "downsample.1", stride: stride,
                                                    padding: .symmetric(0), activation: .identity, epsilon: epsilon)
                    guard shortcut?.kernel == 1, shortcut?.inChannels == channels, shortcut?.outChannels == expand.outChannels else {
                        throw fail("'\(prefix)downsample.0.weight' must be a 1×1 convolution \(channels)→\(expand.outChannels)")
                    }
                } else if stride != 1 || channels != expand.outChannels {
                    throw fail("block \(prefix.dropLast()) changes shape but has no '\(prefix)downsample.0.weight'")
                }
                blocks.append(Bottleneck(reduce: reduce, spatial: spatial, expand: expand, shortcut: shortcut))
                channels = expand.outChannels
                index += 1
            }
            depths.append(index)
            stage += 1
        }
        guard !blocks.isEmpty else { throw fail("no 'layer1.0.conv1.weight': not a ResNet with bottleneck blocks") }
        if let stated = file.metadata["stage_depths"], stated != depths.map(String.init).joined(separator: ",") {
            throw fail("metadata says stages of \(stated) blocks, the tensors hold \(depths)")
        }
        self.blocks = blocks
        self.stageDepths = depths
        classifier = file.tensors["fc.weight"] == nil ? nil : try file.linear("fc", inputs: channels)
        self.inputSize = inputSize
        self.inputMean = try file.metadataTriple("input_mean")
        self.inputStd = try file.metadataTriple("input_std")
        self.identity = ModelIdentity(name: file.metadata["name"] ?? "resnet", weightsHash: file.contentHash)
    }

    /// Multiply-adds for one image, counted layer by layer.
    public var multiplyAddsPerImage: Int {
        var (height, width) = stem.outputSize(height: inputSize, width: inputSize)
        var total = height * width * 49 * 3 * stem.outChannels
        (height, width) = pool.outputSize(height: height, width: width)
        for block in blocks {
            total += height * width * block.reduce.inChannels * block.reduce.outChannels
            let (outHeight, outWidth) = block.spatial.outputSize(height: height, width: width)
            total += outHeight * outWidth * 9 * block.spatial.inChannels * block.spatial.outChannels
            total += outHeight * outWidth * block.expand.inChannels * block.expand.outChannels
            if let shortcut = block.shortcut { total += outHeight * outWidth * shortcut.inChannels * shortcut.outChannels }
            (height, width) = (outHeight, outWidth)
        }
        return total
    }
}

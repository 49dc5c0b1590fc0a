/// The CNN that embeds images: whichever architecture its weight file names (`architecture` in the metadata),
/// loaded once and shared by every inference worker.
public final class ImageModel: Sendable {
    let network: any ConvolutionalNetwork
    /// Which model and which exact weights produced a vector.
    public let identity: ModelIdentity
    /// Side of the square input in pixels.
    public let inputSize: Int
    /// Per-channel input normalisation: `(pixel − mean) / std`, pixels in 0...255.
    public let inputMean: (Float, Float, Float)
    public let inputStd: (Float, Float, Float)
    /// Dimension of the feature vector: the pooled features, or the projection head's output when the file has one.
    public let featureDimension: Int
    /// A retrieval head (`projection.weight` `[d, pooled]`, `projection.bias` `[d]`) applied after pooling, if any.
    let projection: PointwiseConvolution?
    /// Number of classifier outputs (1000 for ImageNet), 0 when the file has no classifier.
    public let classCount: Int
    /// Multiply-adds for one image (for the benchmark's bound).
    public let multiplyAddsPerImage: Int
    /// The architecture and its shape, for people (`lookalike model verify`).
    public let architecture: String
    /// How the last feature map becomes the vector; part of the identity.
    public let pooling: FeaturePooling

    /// The architectures a weight file may name.
    public static let architectures = ["efficientnet-lite", "resnet"]

    public convenience init(path: String, pooling: FeaturePooling = .average) throws {
        try self.init(weights: try WeightFile(path: path), pooling: pooling)
    }

    public init(weights file: WeightFile, pooling: FeaturePooling = .average) throws {
        let network: any ConvolutionalNetwork
        switch file.metadata["architecture"] {
        case "efficientnet-lite": network = try EfficientNetLite(weights: file)
        case "resnet": network = try ResNet(weights: file)
        case let other:
            throw WeightFile.Error(
                path: file.path,
                reason: "architecture '\(other ?? "")' is not one Lookalike runs (\(Self.architectures.joined(separator: ", ")))")
        }
        self.network = network
        (inputSize, inputMean, inputStd) = (network.inputSize, network.inputMean, network.inputStd)
        (classCount, multiplyAddsPerImage) = (network.classCount, network.multiplyAddsPerImage)
        let pooledDimension = network.featureDimension
        var description = network.summary
        if file.tensors["projection.weight"] != nil {
            let head = try file.linear("projection", inputs: pooledDimension)
            description += "; projection head \(pooledDimension) → \(head.outChannels)"
            projection = head
            featureDimension = head.outChannels
        } else {
            projection = nil
            featureDimension = pooledDimension
        }
        architecture = description
        self.pooling = pooling
        identity = ModelIdentity(name: network.identity.name + pooling.recipeSuffix, weightsHash: network.identity.weightsHash)
    }
}

/// What ``ImageModel`` needs from an architecture: its description, and a runner of its layers for each session.
protocol ConvolutionalNetwork: Sendable {
    var identity: ModelIdentity { get }
    var inputSize: Int { get }
    var inputMean: (Float, Float, Float) { get }
    var inputStd: (Float, Float, Float) { get }
    /// Channels of the last feature map (the pooled vector's dimension).
    var featureDimension: Int { get }
    var classCount: Int { get }
    var multiplyAddsPerImage: Int { get }
    /// The architecture and its shape, for people.
    var summary: String { get }
    /// Buffers and layer order for one inference session.
    func makeRunner(variant: KernelVariant) -> NetworkRunner
}

extension EfficientNetLite: ConvolutionalNetwork {
    var summary: String { "EfficientNet-Lite, \(blocks.count) MBConv blocks" }
    func makeRunner(variant: KernelVariant) -> NetworkRunner { EfficientNetLiteRunner(network: self, variant: variant) }
}

extension ResNet: ConvolutionalNetwork {
    var summary: String { "ResNet v1.5, bottleneck stages of \(stageDepths.map(String.init).joined(separator: ", ")) blocks" }
    func makeRunner(variant: KernelVariant) -> NetworkRunner { ResNetRunner(network: self, variant: variant) }
}

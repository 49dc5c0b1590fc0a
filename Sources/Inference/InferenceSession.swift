/// The per-thread half of ``ImageModel``: pre-allocated activation buffers for batches up to a size.
///
/// A session allocates its buffers once (growing only if a larger batch arrives), so steady-state inference
/// allocates nothing per layer. It is not thread-safe: each inference worker owns one.
public final class InferenceSession {
    /// The model's outputs for a batch, row-major per image.
    public struct Output: Sendable {
        /// `batch × featureDimension` pooled (and, with a projection head, projected) features, before L2
        /// normalisation.
        public var features: [Float]
        /// `batch × classCount` logits, when requested.
        public var logits: [Float]?
    }

    public let model: ImageModel
    /// The build of the C kernels this session runs.
    public let variant: KernelVariant
    private let runner: NetworkRunner

    public init(model: ImageModel, maxBatch: Int = 1, variant: KernelVariant = .best) {
        precondition(KernelVariant.isSupported(variant), "this CPU cannot run the \(variant) kernels")
        self.model = model
        self.variant = variant
        runner = model.network.makeRunner(variant: variant)
        runner.reserve(batch: max(1, maxBatch))
    }

    /// How the values of one input image are ordered.
    public enum InputLayout: Sendable {
        /// CHW: a plane of R, then of G, then of B (PyTorch's layout, and `.npy` inputs).
        case planar
        /// HWC: each pixel's R, G, B together, the layout the network computes in (no transposition).
        case interleaved
    }

    /// Runs the network on `batch` input tensors, each `3 × inputSize × inputSize` in `layout`, back to back.
    public func run(
        _ input: UnsafeBufferPointer<Float>, batch: Int, layout: InputLayout = .planar, classify: Bool = false
    ) -> Output {
        let size = model.inputSize
        precondition(batch > 0 && input.count == batch * 3 * size * size, "input must hold batch × 3 × size × size floats")
        runner.reserve(batch: batch)
        let interleaved: UnsafePointer<Float>
        switch layout {
        case .planar:
            Self.interleave(planar: input.baseAddress!, images: batch, pixels: size * size, into: runner.inputScratch)
            interleaved = UnsafePointer(runner.inputScratch)
        case .interleaved:
            interleaved = input.baseAddress!
        }
        let map = runner.featureMap(interleaved, batch: batch)

        var features = model.pooling.pool(map.values, images: batch, pixels: map.pixels, channels: map.channels)
        var logits: [Float]? = nil
        if classify, let classifier = runner.classifier {
            var values = [Float](repeating: 0, count: batch * classifier.outChannels)
            features.withUnsafeBufferPointer { features in
                values.withUnsafeMutableBufferPointer { classifier.apply(features.baseAddress!, rows: batch, into: $0.baseAddress!) }
            }
            logits = values
        }
        if let projection = model.projection {
            var projected = [Float](repeating: 0, count: batch * projection.outChannels)
            features.withUnsafeBufferPointer { features in
                projected.withUnsafeMutableBufferPointer { projection.apply(features.baseAddress!, rows: batch, into: $0.baseAddress!) }
            }
            features = projected
        }
        return Output(features: features, logits: logits)
    }

    /// CHW → HWC for `images` RGB images of `pixels` pixels each.
    static func interleave(planar source: UnsafePointer<Float>, images: Int, pixels: Int, into destination: UnsafeMutablePointer<Float>) {
        for image in 0..<images {
            let source = source + image * 3 * pixels
            let destination = destination + image * 3 * pixels
            for pixel in 0..<pixels {
                destination[pixel * 3] = source[pixel]
                destination[pixel * 3 + 1] = source[pixels + pixel]
                destination[pixel * 3 + 2] = source[2 * pixels + pixel]
            }
        }
    }

    /// Convenience for one image: its pooled feature and optionally its logits.
    public func run(_ input: [Float], classify: Bool = false) -> Output {
        input.withUnsafeBufferPointer { run($0, batch: 1, classify: classify) }
    }
}

/// One architecture's layers run over a session's buffers, up to the feature map the session pools. Subclasses
/// size the buffers (``reserve(batch:)``) and run the layers (``featureMap(_:batch:)``).
class NetworkRunner {
    let variant: KernelVariant
    let activations: ActivationBuffers
    let workspace = ActivationBuffers(number: 1)

    init(variant: KernelVariant, buffers: Int) {
        self.variant = variant
        self.activations = ActivationBuffers(number: buffers)
    }

    /// Room for a batch of interleaved input images that ``featureMap(_:batch:)`` may read from.
    var inputScratch: UnsafeMutablePointer<Float> { activations[0] }
    var classifier: PointwiseConvolution? { nil }

    /// Grows the buffers for batches of `batch` images.
    func reserve(batch: Int) {}

    /// The last feature map, `batch × pixels × channels`, valid until the next call.
    func featureMap(_ input: UnsafePointer<Float>, batch: Int) -> (values: UnsafePointer<Float>, pixels: Int, channels: Int) {
        preconditionFailure("\(type(of: self)) does not run a network")
    }
}

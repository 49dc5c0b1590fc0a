/// The per-thread half of ``EfficientNetLite``: pre-allocated activation buffers for batches up to a size.
///
/// A session allocates its buffers once (growing only if a larger batch arrives), so steady-state inference
/// allocates nothing per layer. It is not thread-safe: each inference worker owns one.
public final class InferenceSession {
    /// The model's outputs for a batch, row-major per image.
    public struct Output: Sendable {
        /// `batch × featureDimension` pooled features, before L2 normalisation.
        public var features: [Float]
        /// `batch × classCount` logits, when requested.
        public var logits: [Float]?
    }

    public let model: EfficientNetLite
    /// The build of the C kernels this session runs.
    public let variant: KernelVariant
    private(set) var capacity = 0
    private var activations: [UnsafeMutablePointer<Float>] = []
    private var workspace: UnsafeMutablePointer<Float>?
    private var activationCount = 0

    public init(model: EfficientNetLite, maxBatch: Int = 1, variant: KernelVariant = .best) {
        precondition(KernelVariant.isSupported(variant), "this CPU cannot run the \(variant) kernels")
        self.model = model
        self.variant = variant
        reserve(batch: max(1, maxBatch))
    }

    deinit {
        release()
    }

    private func release() {
        for buffer in activations { buffer.deallocate() }
        activations = []
        workspace?.deallocate()
        workspace = nil
    }

    /// Largest activation (floats per image) of any layer.
    private var largestActivationPerImage: Int {
        var (height, width) = model.stem.outputSize(height: model.inputSize, width: model.inputSize)
        var largest = max(model.inputSize * model.inputSize * 3, height * width * model.stem.outChannels)
        for block in model.blocks {
            largest = max(largest, height * width * (block.expand?.outChannels ?? block.inChannels))
            (height, width) = block.depthwise.outputSize(height: height, width: width)
            largest = max(largest, height * width * max(block.depthwise.channels, block.project.outChannels))
        }
        return max(largest, height * width * model.head.outChannels)
    }

    private func reserve(batch: Int) {
        guard batch > capacity else { return }
        release()
        activationCount = largestActivationPerImage * batch
        activations = (0..<4).map { _ in
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: activationCount)
            buffer.initialize(repeating: 0, count: activationCount)
            return buffer
        }
        let workspaceCount = model.stem.workspaceCount(batch: batch, height: model.inputSize, width: model.inputSize)
        workspace = UnsafeMutablePointer<Float>.allocate(capacity: workspaceCount)
        workspace!.initialize(repeating: 0, count: workspaceCount)
        capacity = batch
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
        reserve(batch: batch)
        var current = activations[0], expanded = activations[1], depthwiseOut = activations[2],
            projected = activations[3]

        let stemInput: UnsafePointer<Float>
        switch layout {
        case .planar:
            Self.interleave(planar: input.baseAddress!, images: batch, pixels: size * size, into: current)
            stemInput = UnsafePointer(current)
        case .interleaved:
            stemInput = input.baseAddress!
        }
        model.stem.apply(stemInput, batch: batch, height: size, width: size, workspace: workspace!, into: expanded, variant: variant)
        swap(&current, &expanded)
        var (height, width) = model.stem.outputSize(height: size, width: size)

        for block in model.blocks {
            var depthwiseInput = current
            if let expand = block.expand {
                // The expansion's ReLU6 is applied by the depthwise convolution as it reads.
                expand.apply(current, rows: batch * height * width, into: expanded, activate: false, variant: variant)
                depthwiseInput = expanded
            }
            block.depthwise.apply(depthwiseInput, batch: batch, height: height, width: width, into: depthwiseOut,
                                  clampInput: block.expand?.activation == .relu6, variant: variant)
            (height, width) = block.depthwise.outputSize(height: height, width: width)
            let rows = batch * height * width
            block.project.apply(depthwiseOut, rows: rows, into: projected, residual: block.hasResidual ? UnsafePointer(current) : nil,
                                variant: variant)
            swap(&current, &projected)
        }
        let pixels = height * width
        model.head.apply(current, rows: batch * pixels, into: expanded, variant: variant)

        // Global average pool.
        let channels = model.head.outChannels
        var features = [Float](repeating: 0, count: batch * channels)
        features.withUnsafeMutableBufferPointer { features in
            for image in 0..<batch {
                let sum = features.baseAddress! + image * channels
                for pixel in 0..<pixels {
                    let row = expanded + (image * pixels + pixel) * channels
                    for channel in 0..<channels { sum[channel] += row[channel] }
                }
                let scale = 1 / Float(pixels)
                for channel in 0..<channels { sum[channel] *= scale }
            }
        }
        var logits: [Float]? = nil
        if classify, let classifier = model.classifier {
            var values = [Float](repeating: 0, count: batch * classifier.outChannels)
            features.withUnsafeBufferPointer { features in
                values.withUnsafeMutableBufferPointer { classifier.apply(features.baseAddress!, rows: batch, into: $0.baseAddress!) }
            }
            logits = values
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

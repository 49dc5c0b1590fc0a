/// TensorFlow "SAME" padding: the output has `ceil(input / stride)` samples, and when the total padding is odd
/// the extra sample goes after (bottom/right). EfficientNet-Lite's weights were trained with it; PyTorch-style
/// symmetric padding shifts stride-2 layers by a pixel and degrades features (cosine 0.94).
public struct SamePadding: Sendable, Equatable {
    public let before: Int
    public let after: Int
    public let outputSize: Int

    public init(inputSize: Int, kernel: Int, stride: Int) {
        precondition(inputSize > 0 && kernel > 0 && stride > 0, "padding needs positive sizes")
        outputSize = (inputSize + stride - 1) / stride
        let total = max((outputSize - 1) * stride + kernel - inputSize, 0)
        before = total / 2
        after = total - total / 2
    }

    /// Output height and width of a `kernel × kernel` window moved by `stride` over `height × width`.
    public static func outputSize(height: Int, width: Int, kernel: Int, stride: Int) -> (height: Int, width: Int) {
        (SamePadding(inputSize: height, kernel: kernel, stride: stride).outputSize,
         SamePadding(inputSize: width, kernel: kernel, stride: stride).outputSize)
    }
}

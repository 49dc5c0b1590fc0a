/// How a convolution's window meets the image border.
public enum ConvolutionPadding: Sendable, Equatable {
    /// TensorFlow "SAME" (see ``SamePadding``): EfficientNet-Lite's weights were trained with it.
    case same
    /// `amount` zeros before and after, in both directions (PyTorch's `padding=amount`): ResNet's.
    case symmetric(Int)

    /// Zeros before the first sample, and the number of output samples, along one axis of `inputSize`.
    func window(inputSize: Int, kernel: Int, stride: Int) -> (before: Int, outputSize: Int) {
        switch self {
        case .same:
            let padding = SamePadding(inputSize: inputSize, kernel: kernel, stride: stride)
            return (padding.before, padding.outputSize)
        case .symmetric(let amount):
            return (amount, (inputSize + 2 * amount - kernel) / stride + 1)
        }
    }
}

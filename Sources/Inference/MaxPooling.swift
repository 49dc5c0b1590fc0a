internal import CKernels

/// k×k max pooling over NHWC activations with symmetric padding that never wins (ResNet's 3×3, stride 2).
public struct MaxPooling: Sendable {
    public let kernel: Int
    public let stride: Int
    public let padding: Int

    public init(kernel: Int, stride: Int, padding: Int) {
        precondition(kernel > 0 && stride > 0 && padding >= 0 && padding < kernel, "max pooling needs a valid window")
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + 2 * padding - kernel) / stride + 1, (width + 2 * padding - kernel) / stride + 1)
    }

    public func apply(_ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, channels: Int,
                      into output: UnsafeMutablePointer<Float>) {
        let out = outputSize(height: height, width: width)
        var shape = lookalike_depthwise_shape(
            batch: Int32(batch), height: Int32(height), width: Int32(width), channels: Int32(channels), kernel: Int32(kernel),
            stride: Int32(stride), pad_top: Int32(padding), pad_left: Int32(padding), out_height: Int32(out.height),
            out_width: Int32(out.width))
        lookalike_max_pool(input, &shape, output)
    }
}

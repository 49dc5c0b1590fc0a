/// A depthwise k×k convolution (one filter per channel) over NHWC activations, with TensorFlow "SAME" padding.
///
/// Written by hand with `SIMD8<Float>` across channels: in NHWC the channels of one pixel are contiguous, so each
/// tap is a vector multiply-add of the tap's weight row and the input pixel's channel row. Weights are stored
/// `[ky][kx][channel]`, BatchNorm folded in.
public struct DepthwiseConvolution: Sendable {
    public let channels: Int
    public let kernel: Int
    public let stride: Int
    public let weights: [Float]
    public let bias: [Float]
    public let activation: Activation

    public init(channels: Int, kernel: Int, stride: Int, weights: [Float], bias: [Float], activation: Activation) {
        precondition(weights.count == kernel * kernel * channels && bias.count == channels,
                     "depthwise weights do not match kernel and channels")
        precondition(stride == 1 || stride == 2, "depthwise stride must be 1 or 2")
        self.channels = channels
        self.kernel = kernel
        self.stride = stride
        self.weights = weights
        self.bias = bias
        self.activation = activation
    }

    /// Output height and width for an input of `height × width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        (SamePadding(inputSize: height, kernel: kernel, stride: stride).outputSize,
         SamePadding(inputSize: width, kernel: kernel, stride: stride).outputSize)
    }

    /// Applies the layer to `batch` images of `height × width × channels`.
    public func apply(
        _ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, into output: UnsafeMutablePointer<Float>
    ) {
        let rowPadding = SamePadding(inputSize: height, kernel: kernel, stride: stride)
        let columnPadding = SamePadding(inputSize: width, kernel: kernel, stride: stride)
        let (outHeight, outWidth) = (rowPadding.outputSize, columnPadding.outputSize)
        let channels = self.channels
        let vectorChannels = channels & ~7
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                let weights = weights.baseAddress!
                for image in 0..<batch {
                    let imageInput = input + image * height * width * channels
                    for outY in 0..<outHeight {
                        let firstY = outY * stride - rowPadding.before
                        let kyRange = max(0, -firstY)..<min(kernel, height - firstY)
                        for outX in 0..<outWidth {
                            let firstX = outX * stride - columnPadding.before
                            let kxRange = max(0, -firstX)..<min(kernel, width - firstX)
                            let pixel = output + ((image * outHeight + outY) * outWidth + outX) * channels
                            pixel.update(from: bias.baseAddress!, count: channels)
                            for ky in kyRange {
                                for kx in kxRange {
                                    let source = imageInput + ((firstY + ky) * width + firstX + kx) * channels
                                    let tap = weights + (ky * kernel + kx) * channels
                                    var channel = 0
                                    while channel < vectorChannels {
                                        let raw = UnsafeMutableRawPointer(pixel + channel)
                                        let sum = raw.loadUnaligned(as: SIMD8<Float>.self)
                                            + UnsafeRawPointer(tap + channel).loadUnaligned(as: SIMD8<Float>.self)
                                            * UnsafeRawPointer(source + channel).loadUnaligned(as: SIMD8<Float>.self)
                                        raw.storeBytes(of: sum, as: SIMD8<Float>.self)
                                        channel += 8
                                    }
                                    while channel < channels {
                                        pixel[channel] += tap[channel] * source[channel]
                                        channel += 1
                                    }
                                }
                            }
                            if case .relu6 = activation {
                                for channel in 0..<channels { pixel[channel] = min(max(pixel[channel], 0), 6) }
                            }
                        }
                    }
                }
            }
        }
    }
}

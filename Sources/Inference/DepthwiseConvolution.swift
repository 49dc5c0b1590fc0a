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
                            let corner = imageInput + (firstY * width + firstX) * channels
                            // Accumulators stay in registers across all taps: 16 channels at a time, then 8,
                            // then single channels.
                            var channel = 0
                            while channel + 16 <= channels {
                                var low = load(bias.baseAddress! + channel)
                                var high = load(bias.baseAddress! + channel + 8)
                                for ky in kyRange {
                                    for kx in kxRange {
                                        let source = corner + (ky * width + kx) * channels + channel
                                        let tap = weights + (ky * kernel + kx) * channels + channel
                                        low += load(tap) * load(source)
                                        high += load(tap + 8) * load(source + 8)
                                    }
                                }
                                store(low, pixel + channel)
                                store(high, pixel + channel + 8)
                                channel += 16
                            }
                            while channel < vectorChannels {
                                var sum = load(bias.baseAddress! + channel)
                                for ky in kyRange {
                                    for kx in kxRange {
                                        sum += load(weights + (ky * kernel + kx) * channels + channel)
                                            * load(corner + (ky * width + kx) * channels + channel)
                                    }
                                }
                                store(sum, pixel + channel)
                                channel += 8
                            }
                            while channel < channels {
                                var sum = bias[channel]
                                for ky in kyRange {
                                    for kx in kxRange {
                                        sum += weights[(ky * kernel + kx) * channels + channel]
                                            * corner[(ky * width + kx) * channels + channel]
                                    }
                                }
                                pixel[channel] = sum
                                channel += 1
                            }
                            if case .relu6 = activation { Activation.relu6(pixel, count: channels) }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    private func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }

    @inline(__always)
    private func store(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
    }
}

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
        SamePadding.outputSize(height: height, width: width, kernel: kernel, stride: stride)
    }

    /// Applies the layer to `batch` images of `height × width × channels`.
    public func apply(
        _ input: UnsafePointer<Float>, batch: Int, height: Int, width: Int, into output: UnsafeMutablePointer<Float>
    ) {
        let rowPadding = SamePadding(inputSize: height, kernel: kernel, stride: stride)
        let columnPadding = SamePadding(inputSize: width, kernel: kernel, stride: stride)
        let (outHeight, outWidth) = (rowPadding.outputSize, columnPadding.outputSize)
        let channels = self.channels
        let clamp = activation == .relu6
        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                let weights = weights.baseAddress!, bias = bias.baseAddress!
                for image in 0..<batch {
                    let imageInput = input + image * height * width * channels
                    for outY in 0..<outHeight {
                        let firstY = outY * stride - rowPadding.before
                        let kyRange = max(0, -firstY)..<min(kernel, height - firstY)
                        let outputRow = output + (image * outHeight + outY) * outWidth * channels
                        var outX = 0
                        while outX < outWidth {
                            let firstX = outX * stride - columnPadding.before
                            let corner = imageInput + (firstY * width + firstX) * channels
                            // Two neighbouring output pixels whose taps all lie inside the row share every
                            // weight load; the rest (borders, odd end) go one at a time.
                            if outX + 1 < outWidth && firstX >= 0 && firstX + stride + kernel <= width {
                                pair(corner: corner, kyRange: kyRange, width: width, weights: weights, bias: bias,
                                     clamp: clamp, into: outputRow + outX * channels)
                                outX += 2
                            } else {
                                let kxRange = max(0, -firstX)..<min(kernel, width - firstX)
                                single(corner: corner, kyRange: kyRange, kxRange: kxRange, width: width,
                                       weights: weights, bias: bias, clamp: clamp, into: outputRow + outX * channels)
                                outX += 1
                            }
                        }
                    }
                }
            }
        }
    }

    /// Computes the output pixel whose top-left tap is at `corner`, over the given tap ranges.
    @inline(__always)
    private func single(
        corner: UnsafePointer<Float>, kyRange: Range<Int>, kxRange: Range<Int>, width: Int,
        weights: UnsafePointer<Float>, bias: UnsafePointer<Float>, clamp: Bool, into pixel: UnsafeMutablePointer<Float>
    ) {
        var channel = 0
        while channel + 8 <= channels {
            var sum = load(bias + channel)
            for ky in kyRange {
                for kx in kxRange {
                    sum += load(weights + ((ky &* kernel &+ kx) &* channels &+ channel))
                        * load(corner + ((ky &* width &+ kx) &* channels &+ channel))
                }
            }
            store(clamp ? Activation.relu6(sum) : sum, pixel + channel)
            channel &+= 8
        }
        while channel < channels {
            var sum = bias[channel]
            for ky in kyRange {
                for kx in kxRange {
                    sum += weights[(ky &* kernel &+ kx) &* channels &+ channel] * corner[(ky &* width &+ kx) &* channels &+ channel]
                }
            }
            pixel[channel] = clamp ? min(max(sum, 0), 6) : sum
            channel &+= 1
        }
    }

    /// Computes two horizontally adjacent output pixels, all of whose column taps are inside the image.
    @inline(__always)
    private func pair(
        corner: UnsafePointer<Float>, kyRange: Range<Int>, width: Int, weights: UnsafePointer<Float>,
        bias: UnsafePointer<Float>, clamp: Bool, into pixel: UnsafeMutablePointer<Float>
    ) {
        let next = stride * channels
        var channel = 0
        while channel + 8 <= channels {
            var first = load(bias + channel)
            var second = first
            for ky in kyRange {
                let row = corner + (ky &* width &* channels &+ channel)
                let tapRow = weights + (ky &* kernel &* channels &+ channel)
                for kx in 0..<kernel {
                    let weight = load(tapRow + (kx &* channels))
                    first += weight * load(row + (kx &* channels))
                    second += weight * load(row + (kx &* channels &+ next))
                }
            }
            store(clamp ? Activation.relu6(first) : first, pixel + channel)
            store(clamp ? Activation.relu6(second) : second, pixel + channels + channel)
            channel &+= 8
        }
        while channel < channels {
            var first = bias[channel], second = bias[channel]
            for ky in kyRange {
                for kx in 0..<kernel {
                    let weight = weights[(ky &* kernel &+ kx) &* channels &+ channel]
                    first += weight * corner[(ky &* width &+ kx) &* channels &+ channel]
                    second += weight * corner[(ky &* width &+ kx) &* channels &+ channel + next]
                }
            }
            pixel[channel] = clamp ? min(max(first, 0), 6) : first
            pixel[channels + channel] = clamp ? min(max(second, 0), 6) : second
            channel &+= 1
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

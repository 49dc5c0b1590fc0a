/// Layers read from a weight file in PyTorch's layout, with BatchNorm folded in at load time:
/// `w′ = w · γ/√(σ² + ε)`, `b′ = β − μ · γ/√(σ² + ε)`.
extension WeightFile {
    /// A metadata value the architecture needs.
    func requiredMetadata(_ key: String) throws -> String {
        guard let value = metadata[key] else { throw Error(path: path, reason: "metadata has no '\(key)'") }
        return value
    }

    /// Three comma-separated numbers (a per-channel input mean or standard deviation).
    func metadataTriple(_ key: String) throws -> (Float, Float, Float) {
        let parts = try requiredMetadata(key).split(separator: ",").compactMap { Float($0) }
        guard parts.count == 3 else { throw Error(path: path, reason: "metadata '\(key)' must be three numbers") }
        return (parts[0], parts[1], parts[2])
    }

    /// A BatchNorm's `weight`, `bias`, `running_mean` and `running_var` as a per-channel scale and shift.
    func batchNorm(_ prefix: String, channels: Int, epsilon: Float) throws -> (scale: [Float], shift: [Float]) {
        let gamma = try tensor(prefix + ".weight", shape: [channels]).values
        let beta = try tensor(prefix + ".bias", shape: [channels]).values
        let mean = try tensor(prefix + ".running_mean", shape: [channels]).values
        let variance = try tensor(prefix + ".running_var", shape: [channels]).values
        let scale = (0..<channels).map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
        let shift = (0..<channels).map { beta[$0] - mean[$0] * scale[$0] }
        return (scale, shift)
    }

    /// A 1×1 convolution `[cout, cin, 1, 1]` and its BatchNorm as `[cin][cout]` weights and a bias.
    func pointwise(_ convolution: String, norm: String, activation: Activation, epsilon: Float) throws -> PointwiseConvolution {
        let weight = try tensor(convolution + ".weight")
        guard weight.shape.count == 4, weight.shape[2] == 1, weight.shape[3] == 1 else {
            throw Error(path: path, reason: "'\(convolution).weight' is not a 1×1 convolution: shape \(weight.shape)")
        }
        let (cout, cin) = (weight.shape[0], weight.shape[1])
        let (scale, shift) = try batchNorm(norm, channels: cout, epsilon: epsilon)
        var weights = [Float](repeating: 0, count: cin * cout)
        for o in 0..<cout { for i in 0..<cin { weights[i * cout + o] = weight.values[o * cin + i] * scale[o] } }
        return PointwiseConvolution(inChannels: cin, outChannels: cout, weights: weights, bias: shift, activation: activation)
    }

    /// A square k×k convolution `[cout, cin, k, k]` and its BatchNorm as `[(ky, kx, cin)][cout]` weights (im2col's
    /// row order) and a bias.
    func convolution(
        _ convolution: String, norm: String, stride: Int, padding: ConvolutionPadding, activation: Activation, epsilon: Float
    ) throws -> Convolution {
        let weight = try tensor(convolution + ".weight")
        guard weight.shape.count == 4, weight.shape[2] == weight.shape[3] else {
            throw Error(path: path, reason: "'\(convolution).weight' is not a square convolution: shape \(weight.shape)")
        }
        let (cout, cin, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        let (scale, shift) = try batchNorm(norm, channels: cout, epsilon: epsilon)
        var weights = [Float](repeating: 0, count: weight.values.count)
        for o in 0..<cout {
            for i in 0..<cin {
                for ky in 0..<kernel {
                    for kx in 0..<kernel {
                        let source = ((o * cin + i) * kernel + ky) * kernel + kx
                        weights[((ky * kernel + kx) * cin + i) * cout + o] = weight.values[source] * scale[o]
                    }
                }
            }
        }
        return Convolution(inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: padding,
                           weights: weights, bias: shift, activation: activation)
    }

    /// A classifier `[classes, features]` with its bias as a `[features][classes]` matrix product.
    func linear(_ name: String, inputs: Int) throws -> PointwiseConvolution {
        let weight = try tensor(name + ".weight")
        guard weight.shape.count == 2, weight.shape[1] == inputs else {
            throw Error(path: path, reason: "'\(name).weight' has shape \(weight.shape), expected [outputs, \(inputs)]")
        }
        let outputs = weight.shape[0]
        let bias = try tensor(name + ".bias", shape: [outputs]).values
        var weights = [Float](repeating: 0, count: weight.values.count)
        for o in 0..<outputs { for i in 0..<inputs { weights[i * outputs + o] = weight.values[o * inputs + i] } }
        return PointwiseConvolution(inChannels: inputs, outChannels: outputs, weights: weights, bias: bias, activation: .identity)
    }
}

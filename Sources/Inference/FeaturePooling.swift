import Foundation

/// How the last feature map (pixels × channels, all ≥ 0 after ReLU/ReLU6) becomes one vector.
public enum FeaturePooling: Sendable, Equatable, CustomStringConvertible {
    /// The mean over pixels (what the networks were trained with).
    case average
    /// Generalized mean (Radenović et al., 2018): `(mean xᵖ)^(1/p)`; p = 1 is the average, and a larger p leans
    /// towards the strongest responses (the maximum as p → ∞).
    case generalizedMean(power: Float)

    /// Added to the model's name in its identity, so vectors pooled differently never meet in one search.
    public var recipeSuffix: String {
        switch self {
        case .average: ""
        case .generalizedMean(let power): "+gem\(power.formatted)"
        }
    }

    public var description: String {
        switch self {
        case .average: "average"
        case .generalizedMean(let power): "generalized mean, p = \(power.formatted)"
        }
    }

    /// Pools `images` maps of `pixels × channels` values into `images × channels`.
    func pool(_ map: UnsafePointer<Float>, images: Int, pixels: Int, channels: Int) -> [Float] {
        var features = [Float](repeating: 0, count: images * channels)
        features.withUnsafeMutableBufferPointer { features in
            for image in 0..<images {
                let sum = features.baseAddress! + image * channels
                for pixel in 0..<pixels {
                    let row = map + (image * pixels + pixel) * channels
                    switch self {
                    case .average:
                        for channel in 0..<channels { sum[channel] += row[channel] }
                    case .generalizedMean(let power) where power == 3:
                        for channel in 0..<channels { let x = max(row[channel], 0); sum[channel] += x * x * x }
                    case .generalizedMean(let power):
                        for channel in 0..<channels { sum[channel] += Float.pow(max(row[channel], 0), power) }
                    }
                }
                let scale = 1 / Float(pixels)
                switch self {
                case .average:
                    for channel in 0..<channels { sum[channel] *= scale }
                case .generalizedMean(let power):
                    for channel in 0..<channels { sum[channel] = Float.pow(sum[channel] * scale, 1 / power) }
                }
            }
        }
        return features
    }
}

extension Float {
    /// `3` for 3.0, `2.5` for 2.5.
    fileprivate var formatted: String { rounded() == self ? String(Int(self)) : String(self) }

    fileprivate static func pow(_ base: Float, _ exponent: Float) -> Float { Foundation.pow(base, exponent) }
}

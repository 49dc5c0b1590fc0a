import Foundation

/// How the last feature map (pixels × channels, all ≥ 0 after ReLU/ReLU6) becomes one vector.
public enum FeaturePooling: Sendable, Equatable, CustomStringConvertible {
    /// The mean over pixels (what the networks were trained with).
    case average
    /// Generalized mean (Radenović et al., 2018): `(mean xᵖ)^(1/p)`; p = 1 is the average, and a larger p leans
    /// towards the strongest responses (the maximum as p → ∞).
    case generalizedMean(power: Float)
    /// Regional maximum activations (R-MAC, Tolias et al., 2016, without its learned whitening): the per-channel
    /// maximum over square regions at three scales (1, 4 and 9 regions of a square map), each region's vector
    /// L2-normalised, summed.
    case regionalMaximum

    /// Added to the model's name in its identity, so vectors pooled differently never meet in one search.
    public var recipeSuffix: String {
        switch self {
        case .average: ""
        case .generalizedMean(let power): "+gem\(power.formatted)"
        case .regionalMaximum: "+rmac"
        }
    }

    public var description: String {
        switch self {
        case .average: "average"
        case .generalizedMean(let power): "generalized mean, p = \(power.formatted)"
        case .regionalMaximum: "regional maximum (R-MAC, 3 scales)"
        }
    }

    /// Pools `images` maps of `pixels × channels` values into `images × channels`.
    func pool(_ map: UnsafePointer<Float>, images: Int, pixels: Int, channels: Int) -> [Float] {
        switch self {
        case .average:
            return Self.mean(map, images: images, pixels: pixels, channels: channels, of: { $0 }, then: { $0 })
        case .generalizedMean(let power) where power == 3:
            return Self.mean(map, images: images, pixels: pixels, channels: channels,
                             of: { let x = max($0, 0); return x * x * x }, then: { Float.pow($0, 1 / power) })
        case .generalizedMean(let power):
            return Self.mean(map, images: images, pixels: pixels, channels: channels,
                             of: { Float.pow(max($0, 0), power) }, then: { Float.pow($0, 1 / power) })
        case .regionalMaximum:
            return Self.regionalMaximum(map, images: images, pixels: pixels, channels: channels)
        }
    }

    /// `then(mean over pixels of term(x))` per image and channel.
    @inline(__always)
    private static func mean(
        _ map: UnsafePointer<Float>, images: Int, pixels: Int, channels: Int, of term: (Float) -> Float,
        then finish: (Float) -> Float
    ) -> [Float] {
        var features = [Float](repeating: 0, count: images * channels)
        features.withUnsafeMutableBufferPointer { features in
            for image in 0..<images {
                let sum = features.baseAddress! + image * channels
                for pixel in 0..<pixels {
                    let row = map + (image * pixels + pixel) * channels
                    for channel in 0..<channels { sum[channel] += term(row[channel]) }
                }
                let scale = 1 / Float(pixels)
                for channel in 0..<channels { sum[channel] = finish(sum[channel] * scale) }
            }
        }
        return features
    }
}

extension FeaturePooling {
    /// The regions of a `side × side` map at scales 1...3: `l × l` squares of side `2·side/(l+1)` (rounded),
    /// spread evenly from edge to edge.
    static func regions(side: Int) -> [(x: Int, y: Int, size: Int)] {
        var regions: [(x: Int, y: Int, size: Int)] = []
        for level in 1...3 {
            let size = max(1, min(side, Int((2 * Double(side) / Double(level + 1)).rounded())))
            let offsets = (0..<level).map { level == 1 ? (side - size) / 2 : Int((Double($0 * (side - size)) / Double(level - 1)).rounded()) }
            for y in offsets { for x in offsets { regions.append((x, y, size)) } }
        }
        return regions
    }

    static func regionalMaximum(_ map: UnsafePointer<Float>, images: Int, pixels: Int, channels: Int) -> [Float] {
        let side = Int(Double(pixels).squareRoot().rounded())
        let regions = side * side == pixels ? Self.regions(side: side) : [(0, 0, 1)]
        var features = [Float](repeating: 0, count: images * channels)
        // The pixels of each region, once for every image (a map that is not square: one region of all pixels).
        let regionCells = regions.map { x0, y0, size in
            side * side == pixels ? (y0..<(y0 + size)).flatMap { y in (x0..<(x0 + size)).map { y * side + $0 } } : Array(0..<pixels)
        }
        var region = [Float](repeating: 0, count: channels)
        for image in 0..<images {
            let base = map + image * pixels * channels
            for cells in regionCells {
                for channel in 0..<channels { region[channel] = -.infinity }
                for cell in cells {
                    let row = base + cell * channels
                    for channel in 0..<channels { region[channel] = max(region[channel], row[channel]) }
                }
                let norm = region.reduce(0) { $0 + $1 * $1 }.squareRoot()
                guard norm > 0 else { continue }
                for channel in 0..<channels { features[image * channels + channel] += region[channel] / norm }
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

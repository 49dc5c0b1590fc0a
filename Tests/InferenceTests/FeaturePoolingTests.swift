import Foundation
import Testing
@testable import Inference
import TestSupport

@Suite struct FeaturePoolingTests {
    /// Average and generalized mean against a direct float64 computation, over two images of 7 pixels × 5 channels.
    @Test(arguments: [FeaturePooling.average, .generalizedMean(power: 3), .generalizedMean(power: 2.5), .generalizedMean(power: 1)])
    func poolingMatchesTheFormula(pooling: FeaturePooling) {
        let (images, pixels, channels) = (2, 7, 5)
        var random = SeededRandom(seed: 11)
        let map = random.floats(images * pixels * channels, in: 0...6)
        let pooled = map.withUnsafeBufferPointer { pooling.pool($0.baseAddress!, images: images, pixels: pixels, channels: channels) }
        for image in 0..<images {
            for channel in 0..<channels {
                let values = (0..<pixels).map { Double(map[(image * pixels + $0) * channels + channel]) }
                let want: Double
                switch pooling {
                case .average: want = values.reduce(0, +) / Double(pixels)
                case .generalizedMean(let power):
                    want = pow(values.map { pow($0, Double(power)) }.reduce(0, +) / Double(pixels), 1 / Double(power))
                case .regionalMaximum:
                    Issue.record("tested below")
                    return
                }
                #expect(abs(Double(pooled[image * channels + channel]) - want) < 1e-4 * max(1, want), "\(pooling)")
            }
        }
    }

    @Test func theRecipeNamesThePooling() throws {
        #expect(FeaturePooling.average.recipeSuffix == "")
        #expect(FeaturePooling.generalizedMean(power: 3).recipeSuffix == "+gem3")
        #expect(FeaturePooling.generalizedMean(power: 2.5).recipeSuffix == "+gem2.5")
        let plain = EfficientNetLiteTests.model
        let gem = try ImageModel(path: ModelLocator.path(), pooling: .generalizedMean(power: 3))
        #expect(gem.identity.name == plain.identity.name + "+gem3")
        #expect(gem.identity.weightsHash == plain.identity.weightsHash)
        let input = [Float](repeating: 0.25, count: 3 * 224 * 224)
        let a = InferenceSession(model: plain).run(input).features, b = InferenceSession(model: gem).run(input).features
        #expect(FeatureVector.cosine(a, b) < 0.9999, "GeM changes the vector")
    }

    /// R-MAC on a 7×7 map: the 14 regions of Tolias et al.'s three scales, and the pooled vector against a direct
    /// computation (per region: the maximum, L2-normalised; then the sum).
    @Test func regionalMaximumMatchesItsDefinition() {
        let regions = FeaturePooling.regions(side: 7).map { [$0.x, $0.y, $0.size] }
        #expect(regions == [[0, 0, 7], [0, 0, 5], [2, 0, 5], [0, 2, 5], [2, 2, 5],
                            [0, 0, 4], [2, 0, 4], [3, 0, 4], [0, 2, 4], [2, 2, 4], [3, 2, 4], [0, 3, 4], [2, 3, 4], [3, 3, 4]])
        let (images, side, channels) = (2, 7, 3)
        var random = SeededRandom(seed: 5)
        let map = random.floats(images * side * side * channels, in: 0...6)
        let pooled = map.withUnsafeBufferPointer {
            FeaturePooling.regionalMaximum.pool($0.baseAddress!, images: images, pixels: side * side, channels: channels)
        }
        for image in 0..<images {
            var want = [Double](repeating: 0, count: channels)
            for region in regions {
                var maxima = [Double](repeating: -1, count: channels)
                for y in region[1]..<(region[1] + region[2]) {
                    for x in region[0]..<(region[0] + region[2]) {
                        for c in 0..<channels { maxima[c] = max(maxima[c], Double(map[((image * side + y) * side + x) * channels + c])) }
                    }
                }
                let norm = maxima.map { $0 * $0 }.reduce(0, +).squareRoot()
                for c in 0..<channels { want[c] += maxima[c] / norm }
            }
            for c in 0..<channels { #expect(abs(Double(pooled[image * channels + c]) - want[c]) < 1e-4) }
        }
        #expect(FeaturePooling.regionalMaximum.recipeSuffix == "+rmac")
    }
}

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
}

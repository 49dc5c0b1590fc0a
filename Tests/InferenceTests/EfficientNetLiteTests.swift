import Foundation
import Imaging
import Testing
@testable import Inference
import TestSupport

/// The real EfficientNet-Lite0 weights (fetched by scripts/test) against reference outputs.
///
/// `chelsea_reference.json` holds onnxruntime's output for the graph built by scripts/build_onnx.py from the same
/// weight file; its first values and top-5 match the independent numpy reference in the model notes.
@Suite(.serialized)
struct EfficientNetLiteTests {
    struct Reference: Decodable {
        let input_sum: Double
        let feature: [Float]
        let top5: [[Double]]
    }

    static let model: ImageModel = {
        do { return try ImageModel(path: ModelLocator.path()) } catch {
            fatalError("cannot load the model (run scripts/fetch-model): \(error)")
        }
    }()

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(try fixture("chelsea_reference.json")))
    }

    /// The reference preprocessing: centre square, bilinear with half-pixel centres, no antialias, (x−127)/128.
    static let referencePreprocessor = ModelInputPreprocessor(
        size: 224, mean: (127, 127, 127), std: (128, 128, 128), cropPolicy: .centerSquare, filter: .bilinear)

    @Test func architectureIsReadFromTheFile() {
        let model = Self.model
        #expect(model.inputSize == 224)
        #expect(model.featureDimension == 1280)
        #expect(model.classCount == 1000)
        guard let lite = model.network as? EfficientNetLite else {
            Issue.record("the file is not read as EfficientNet-Lite")
            return
        }
        #expect(lite.blocks.count == 16)
        #expect(model.architecture == "EfficientNet-Lite, 16 MBConv blocks")
        #expect(model.identity.name == "efficientnet-lite0")
        // About 385 M multiply-adds at 224×224 (the model notes say ~384 M).
        #expect((380_000_000...390_000_000).contains(model.multiplyAddsPerImage))
    }

    @Test func chelseaMatchesTheReference() throws {
        let reference = try Self.reference()
        let image = try ImageDecoder().decode(try Self.fixture("chelsea.png")).image
        #expect(image.width == 451 && image.height == 300)
        let input = Self.referencePreprocessor.tensor(from: image)
        let sum = input.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - reference.input_sum) < 0.05)  // float32 resampling vs float64: ~1e-6 per value

        // Every build of the C kernels this CPU runs (portable always, AVX2 + FMA where present).
        for variant in KernelVariant.supported {
            let output = InferenceSession(model: Self.model, variant: variant).run(input, classify: true)
            let cosine = FeatureVector.cosine(output.features, reference.feature)
            #expect(cosine >= 0.9999, "\(variant): cosine to reference \(cosine)")
            let maxError = zip(output.features, reference.feature).map { abs($0 - $1) }.max()!
            #expect(maxError < 1e-3, "\(variant): max abs error \(maxError)")
            let top = FeatureVector.topClasses(logits: output.logits!, count: 5)
            #expect(top.map(\.index) == reference.top5.map { Int($0[0]) }, "\(variant)")
            #expect(abs(Double(top[0].probability) - reference.top5[0][1]) < 1e-3, "\(variant)")
        }
    }

    @Test func secondPhotoClassifiesSensibly() throws {
        // scikit-image's "coffee": a cup of coffee on a saucer. 967 = espresso, 968 = cup, 504 = coffee mug.
        let image = try ImageDecoder().decode(try Self.fixture("coffee.jpg")).image
        let preprocessor = ModelInputPreprocessor(size: 224, mean: (127, 127, 127), std: (128, 128, 128))
        for variant in KernelVariant.supported {
            let output = InferenceSession(model: Self.model, variant: variant).run(preprocessor.tensor(from: image), classify: true)
            let top = FeatureVector.topClasses(logits: output.logits!, count: 5)
            #expect(top[0].index == 967, "\(variant) top-5: \(top)")
        }
    }

    @Test func batchedAndSingleRunsAgree() throws {
        var random = SeededRandom(seed: 7)
        let count = 3 * 224 * 224
        let inputs = (0..<3).map { _ in random.floats(count, in: -1...1) }
        let session = InferenceSession(model: Self.model, maxBatch: 3)
        let batched = inputs.flatMap { $0 }.withUnsafeBufferPointer { session.run($0, batch: 3) }.features
        for (index, input) in inputs.enumerated() {
            let single = InferenceSession(model: Self.model).run(input).features
            let slice = Array(batched[(index * 1280)..<((index + 1) * 1280)])
            let difference = zip(single, slice).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-5, "image \(index): max difference \(difference)")
        }
    }

    /// Blocks computed a band of rows at a time against the same blocks over the whole image, for band sizes down
    /// to one output row per band (every kept-row path), two images per batch, every kernel build.
    @Test(arguments: KernelVariant.supported)
    func bandedBlocksMatchWholeImages(variant: KernelVariant) throws {
        let network = try #require(Self.model.network as? EfficientNetLite)
        var random = SeededRandom(seed: 11)
        let input = random.floats(2 * 3 * 224 * 224, in: -1...1)
        func features(bandBytes: Int) -> (values: [Float], banded: Int) {
            let runner = EfficientNetLiteRunner(network: network, variant: variant, bandBytes: bandBytes)
            runner.reserve(batch: 2)
            let map = input.withUnsafeBufferPointer { runner.featureMap($0.baseAddress!, batch: 2) }
            return (Array(UnsafeBufferPointer(start: map.values, count: 2 * map.pixels * map.channels)),
                    runner.bandedBlockCount)
        }
        let whole = features(bandBytes: 0)
        #expect(whole.banded == 0)
        for bandBytes in [1, 100_000, EfficientNetLiteRunner.defaultBandBytes] {
            let banded = features(bandBytes: bandBytes)
            #expect(banded.banded > 0, "band of \(bandBytes) bytes")
            let difference = zip(whole.values, banded.values).map { abs($0 - $1) }.max()!
            #expect(difference < 1e-4, "band of \(bandBytes) bytes: max difference \(difference)")
        }
    }

    @Test func identityChangesWithTheWeights() throws {
        let path = ModelLocator.path()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let original = try WeightFile(data: bytes, path: path)
        bytes[bytes.count - 1] ^= 1
        let changed = try WeightFile(data: bytes, path: path)
        #expect(original.contentHash != changed.contentHash)
    }
}

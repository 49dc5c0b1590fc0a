import Foundation
import Testing
@testable import Inference
import TestSupport

/// ResNet-50 on seeded random weights in torchvision's layout (scripts/make_resnet_fixture.py, numpy only), against
/// that script's independent float64 forward pass: every stage's output and the pooled feature.
@Suite(.serialized) struct ResNetTests {
    /// The fixture, made once per test run: checkpoints, the converted file, the input and the reference outputs.
    static let fixture: Result<URL, any Error> = Result {
        let directory = try ExternalTool.scratchDirectory()
        try ExternalTool.runScript("make_resnet_fixture.py", [directory.path])
        for source in ["weights.pth", "weights.safetensors"] {
            try ExternalTool.runScript("convert_model.py", ["--name", "resnet50",
                            directory.appendingPathComponent(source).path,
                            directory.appendingPathComponent("converted-\(source).safetensors").path])
        }
        try ExternalTool.runScript("convert_model.py", ["--name", "resnet50",
                        "--projection", directory.appendingPathComponent("head.pth").path,
                        directory.appendingPathComponent("weights.pth").path,
                        directory.appendingPathComponent("with-head.safetensors").path])
        return directory
    }

    static func file(_ name: String) throws -> URL { try fixture.get().appendingPathComponent(name) }

    static func array(_ name: String) throws -> NumpyArray {
        try NumpyArray(bytes: Array(try Data(contentsOf: try file("\(name).npy"))))
    }

    static let model: Result<ImageModel, any Error> = Result {
        try ImageModel(path: try file("converted-weights.pth.safetensors").path)
    }

    /// NCHW (the reference's layout) → NHWC (the engine's).
    static func channelsLast(_ array: NumpyArray) -> [Float] {
        let (channels, height, width) = (array.shape[0], array.shape[1], array.shape[2])
        var out = [Float](repeating: 0, count: array.values.count)
        for c in 0..<channels { for y in 0..<height { for x in 0..<width {
            out[(y * width + x) * channels + c] = array.values[(c * height + y) * width + x]
        } } }
        return out
    }

    @Test func bothCheckpointFormatsConvertToTheSameFile() throws {
        let fromPTH = try Data(contentsOf: try Self.file("converted-weights.pth.safetensors"))
        let fromSafetensors = try Data(contentsOf: try Self.file("converted-weights.safetensors.safetensors"))
        #expect(fromPTH == fromSafetensors)
    }

    @Test func architectureIsReadFromTheFile() throws {
        let model = try Self.model.get()
        #expect(model.featureDimension == 2048)
        #expect(model.classCount == 10)
        #expect(model.inputSize == 224)
        #expect(model.identity.name == "resnet50")
        #expect(model.architecture == "ResNet v1.5, bottleneck stages of 3, 4, 6, 3 blocks")
        #expect(model.inputMean == (123.675, 116.28, 103.53) && model.inputStd == (58.395, 57.12, 57.375))
        // ResNet-50: about 4.09 G multiply-adds at 224×224 (the fc layer excluded).
        #expect((4_050_000_000...4_150_000_000).contains(model.multiplyAddsPerImage), "\(model.multiplyAddsPerImage)")
    }

    /// Each stage's output (after the stem and max pool, then after each of the four stages) and the pooled feature,
    /// for every build of the C kernels this CPU runs: cosine ≥ 0.9999 and a small relative error.
    @Test(arguments: KernelVariant.supported) func everyStageMatchesTheReference(variant: KernelVariant) throws {
        let model = try Self.model.get()
        guard let network = model.network as? ResNet else { throw WeightFile.Error(path: "", reason: "not a ResNet") }
        let input = try Self.array("input")
        let runner = ResNetRunner(network: network, variant: variant)
        runner.reserve(batch: 1)
        var interleaved = [Float](repeating: 0, count: input.values.count)
        input.values.withUnsafeBufferPointer { source in
            interleaved.withUnsafeMutableBufferPointer {
                InferenceSession.interleave(planar: source.baseAddress!, images: 1, pixels: 224 * 224, into: $0.baseAddress!)
            }
        }
        var stageEnds = [0]
        for depth in network.stageDepths { stageEnds.append(stageEnds.last! + depth) }
        for (stage, blockCount) in stageEnds.enumerated() {
            let expected = Self.channelsLast(try Self.array("stage\(stage)"))
            let map = interleaved.withUnsafeBufferPointer { runner.featureMap($0.baseAddress!, batch: 1, throughBlock: blockCount) }
            #expect(map.pixels * map.channels == expected.count, "stage \(stage)")
            let actual = Array(UnsafeBufferPointer(start: map.values, count: expected.count))
            let cosine = FeatureVector.cosine(actual, expected)
            #expect(cosine >= 0.9999, "\(variant) stage \(stage): cosine \(cosine)")
            let scale = expected.map(abs).max()!
            let worst = zip(actual, expected).map { abs($0 - $1) }.max()! / scale
            #expect(worst < 1e-3, "\(variant) stage \(stage): largest error \(worst) of the largest value")
        }
        let output = InferenceSession(model: model, variant: variant).run(input.values, classify: true)
        let feature = try Self.array("feature").values
        #expect(FeatureVector.cosine(output.features, feature) >= 0.9999, "\(variant) feature")
        let logits = try Self.array("logits").values
        let logitError = zip(output.logits!, logits).map { abs($0 - $1) }.max()!
        #expect(logitError < 1e-3 * max(1, logits.map(abs).max()!), "\(variant) logits: error \(logitError)")
    }

    /// A retrieval head (nn.Linear(2048, 256)) stored with the weights: the served vector is its output; the
    /// classifier still reads the pooled features.
    @Test func aProjectionHeadIsAppliedAfterPooling() throws {
        let model = try ImageModel(path: try Self.file("with-head.safetensors").path)
        #expect(model.featureDimension == 256)
        #expect(model.architecture.hasSuffix("; projection head 2048 → 256"))
        #expect(model.identity != (try Self.model.get()).identity, "the head is part of the recipe")
        let output = InferenceSession(model: model).run(try Self.array("input").values, classify: true)
        let cosine = FeatureVector.cosine(output.features, try Self.array("projected").values)
        #expect(cosine >= 0.9999, "projected feature: cosine \(cosine)")
        let logits = try Self.array("logits").values
        #expect(zip(output.logits!, logits).map { abs($0 - $1) }.max()! < 1e-3 * max(1, logits.map(abs).max()!))
    }

    @Test func aHeadOfTheWrongShapeIsRefused() throws {
        let output = try Self.file("bad-head.safetensors").path
        // The network's own checkpoint is no linear head: it has no 'weight' and 'bias'.
        #expect {
            try ExternalTool.runScript("convert_model.py", ["--name", "resnet50",
                            "--projection", try Self.file("weights.safetensors").path, try Self.file("weights.pth").path, output])
        } throws: { error in
            "\(error)".contains("a projection head needs tensors 'weight' and 'bias'")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func batchedAndSingleRunsAgree() throws {
        let model = try Self.model.get()
        let input = try Self.array("input").values
        let mirrored = stride(from: input.count - 1, through: 0, by: -1).map { input[$0] }
        let both = input + mirrored
        let batch = both.withUnsafeBufferPointer { InferenceSession(model: model, maxBatch: 2).run($0, batch: 2) }
        let single = InferenceSession(model: model).run(mirrored).features
        #expect(FeatureVector.cosine(Array(batch.features[2048...]), single) >= 0.99999)
    }

    /// A checkpoint with a tensor missing or mis-shaped is refused, naming the tensor.
    @Test(arguments: [("--drop", "layer3.2.conv2.weight", "lacks"), ("--reshape", "layer2.0.downsample.0.weight", "has shape [511, 256, 1, 1]")])
    func brokenCheckpointsAreRefusedByName(option: String, tensor: String, complaint: String) throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ExternalTool.runScript("make_resnet_fixture.py", [directory.path, option, tensor])
        let output = directory.appendingPathComponent("out.safetensors").path
        #expect {
            try ExternalTool.runScript("convert_model.py", ["--name", "resnet50",
                            directory.appendingPathComponent("broken.pth").path, output])
        } throws: { error in
            "\(error)".contains("'\(tensor)'") && "\(error)".contains(complaint)
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

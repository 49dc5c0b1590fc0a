import ArgumentParser
import Foundation
import Inference

struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Inspect the model weight file.", subcommands: [Verify.self])

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load the weight file, check its structure, and print its identity and size.")

        @OptionGroup var modelOptions: ModelOptions

        func run() throws {
            let model = try modelOptions.load()
            print("model:        \(model.identity)")
            print("file:         \(modelOptions.resolvedPath)")
            print("architecture: \(model.architecture)")
            let (mean, std) = (model.inputMean, model.inputStd)
            print("input:        3×\(model.inputSize)×\(model.inputSize) RGB, (x − (\(mean.0), \(mean.1), \(mean.2))) / (\(std.0), \(std.1), \(std.2))")
            print("feature dim:  \(model.featureDimension)")
            print("classes:      \(model.classCount)")
            print("multiply-adds per image: \(model.multiplyAddsPerImage)")
        }
    }
}

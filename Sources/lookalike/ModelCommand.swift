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
            print("input:        3×\(model.inputSize)×\(model.inputSize), (x − \(model.inputMean.0)) / \(model.inputStd.0)")
            print("feature dim:  \(model.featureDimension)")
            print("classes:      \(model.classCount)")
            print("multiply-adds per image: \(model.multiplyAddsPerImage)")
        }
    }
}

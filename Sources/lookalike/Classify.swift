import ArgumentParser
import Foundation
import Inference

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the top ImageNet classes of an image (indices 0–999) with probabilities.",
        discussion: "INPUT is a JPEG or PNG file, or a .npy float32 tensor already preprocessed.")

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "Image or .npy tensor.") var input: String
    @Option(help: "How many classes to print (1–1000).") var top = 5
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...1000).contains(top) else { throw ValidationError("--top must be 1...1000") }
    }

    func run() throws {
        let model = try modelOptions.load()
        guard model.classCount > 0 else { throw ValidationError("this weight file has no classifier") }
        let tensor = try ModelInput.tensor(path: input, model: model)
        let output = InferenceSession(model: model).run(tensor, classify: true)
        let classes = FeatureVector.topClasses(logits: output.logits!, count: top)
        if json {
            let items = classes.map { "{\"class\":\($0.index),\"probability\":\(String(format: "%.6f", $0.probability))}" }
            print("{\"model\":\"\(model.identity)\",\"top\":[\(items.joined(separator: ","))]}")
        } else {
            for entry in classes { print(String(format: "%4d  %6.2f%%", entry.index, entry.probability * 100)) }
        }
    }
}

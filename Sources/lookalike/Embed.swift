import ArgumentParser
import Foundation
import Inference

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an image's L2-normalised feature vector as JSON.",
        discussion: "INPUT is a JPEG or PNG file, or a .npy float32 tensor of shape (3, S, S) or (1, 3, S, S) already preprocessed.")

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "Image or .npy tensor.") var input: String

    func run() throws {
        let model = try modelOptions.load()
        let tensor = try ModelInput.tensor(path: input, model: model)
        let features = InferenceSession(model: model).run(tensor).features
        let vector = FeatureVector.normalized(features)
        let values = vector.map { String(format: "%.7g", $0) }.joined(separator: ",")
        print("{\"model\":\"\(model.identity)\",\"dimension\":\(vector.count),\"vector\":[\(values)]}")
    }
}

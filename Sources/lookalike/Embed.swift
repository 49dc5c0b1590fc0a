import ArgumentParser
import Foundation
import Imaging
import Inference
import Lookalike

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print an image's L2-normalised feature vector as JSON.",
        discussion: """
            INPUT is an image file, or a .npy float32 tensor of shape (3, S, S) or (1, 3, S, S) already \
            preprocessed. The defaults are a new database's recipe (padded input, features to the power 0.8), so \
            the vector can be sent to search/vector.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @Argument(help: "Image or .npy tensor.") var input: String
    @OptionGroup var recipe: RecipeOptions

    func run() throws {
        let model = try modelOptions.load()
        let tensor = try ModelInput.tensor(path: input, model: model, crop: recipe.cropPolicy)
        let features = InferenceSession(model: model).run(tensor).features
        let vector = FeatureVector.powered(features, power: recipe.featurePower)
        let values = vector.map { String(format: "%.7g", $0) }.joined(separator: ",")
        print("{\"model\":\"\(model.identity)\",\"dimension\":\(vector.count),\"vector\":[\(values)]}")
    }
}

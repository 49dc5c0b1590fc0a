import ArgumentParser
import Imaging
import Lookalike

/// The recipe options of the commands that embed images themselves (`embed`, `embed-all`): the crop and the
/// feature power, a new database's by default.
struct RecipeOptions: ParsableArguments {
    @Option(help: "How the square input is cut: pad, squash or centerSquare.")
    var crop = Configuration.Model.newDatabaseCropPolicy.rawValue
    @Option(help: "Each feature x becomes sign(x)·|x|^p before normalising (0.1–1; 1: plain).")
    var featurePower = Configuration.Model.newDatabaseFeaturePower

    func validate() throws {
        guard ModelInputPreprocessor.CropPolicy(rawValue: crop) != nil else {
            throw ValidationError("--crop must be pad, squash or centerSquare")
        }
        guard featurePower >= 0.1 && featurePower <= 1 else { throw ValidationError("--feature-power must be 0.1...1") }
    }

    var cropPolicy: ModelInputPreprocessor.CropPolicy {
        ModelInputPreprocessor.CropPolicy(rawValue: crop) ?? Configuration.Model.newDatabaseCropPolicy
    }
}

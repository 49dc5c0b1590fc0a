import ArgumentParser
import Foundation
import Inference
import Lookalike

/// `--model`: which weight file to load.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Path to a converted weight file (default: $LOOKALIKE_MODEL, $LOOKALIKE_MODEL_DIR or models/).")
    var model: String?

    var resolvedPath: String {
        ModelLocation.resolve(explicitPath: model, environment: ProcessInfo.processInfo.environment)
    }

    func load() throws -> ImageModel {
        do {
            return try ImageModel(path: resolvedPath)
        } catch {
            throw ValidationError("cannot load model: \(error)")
        }
    }
}

import ArgumentParser
import Dispatch
import Foundation
import Imaging
import Inference
import Lookalike
import Synchronization

struct EmbedAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-all",
        abstract: "Write the feature vectors of many images to one .npy file (float32, one row per image).",
        discussion: """
            LIST names one image per line. Rows follow the list's order; the recipe is a new database's unless \
            --crop and --feature-power say otherwise (as for `embed`). For building evaluation and benchmark sets, \
            and for checking stored vectors against an independent computation.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var recipe: RecipeOptions
    @Argument(help: "A file naming one image per line.") var list: String
    @Option(help: "The .npy file to write.") var output: String
    @Option(help: "Threads (each runs the model on one image at a time).") var threads = 2

    func validate() throws {
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1...64") }
    }

    func run() throws {
        guard let text = try? String(contentsOfFile: list, encoding: .utf8) else { throw ValidationError("cannot read \(list)") }
        let paths = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        guard !paths.isEmpty else { throw ValidationError("\(list) names no images") }
        let model = try modelOptions.load()
        let dimension = model.featureDimension
        let progress = Mutex(EmbeddingProgress(rows: [Float](repeating: 0, count: paths.count * dimension)))
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let session = InferenceSession(model: model)
            while let index = progress.withLock({ $0.take(below: paths.count) }) {
                do {
                    let tensor = try ModelInput.tensor(path: paths[index], model: model, crop: recipe.cropPolicy)
                    let vector = FeatureVector.powered(session.run(tensor).features, power: recipe.featurePower)
                    progress.withLock { $0.rows.replaceSubrange(index * dimension..<(index + 1) * dimension, with: vector) }
                } catch {
                    progress.withLock { $0.failures.append("\(paths[index]): \(error)") }
                }
                if index % 1000 == 999 { FileHandle.standardError.write(Data("embed-all: \(index + 1)/\(paths.count)\n".utf8)) }
            }
        }
        let (rows, failures) = progress.withLock { ($0.rows, $0.failures) }
        if let first = failures.first { throw ValidationError("\(failures.count) images failed, first: \(first)") }
        try Data(NumpyArray(shape: [paths.count, dimension], values: rows).encoded())
            .write(to: URL(fileURLWithPath: output))
        print("embed-all: \(paths.count) × \(dimension) → \(output)")
    }
}

/// What the threads share: the next image to take, the rows written so far and the images that failed.
private struct EmbeddingProgress {
    var next = 0
    var rows: [Float]
    var failures: [String] = []

    mutating func take(below limit: Int) -> Int? {
        guard next < limit else { return nil }
        next += 1
        return next - 1
    }
}

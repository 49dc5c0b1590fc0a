import ArgumentParser
import Dispatch
import Foundation
import Imaging
import Inference
import Lookalike

struct EmbedAll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed-all",
        abstract: "Write the feature vectors of many images to one .npy file (float32, one row per image).",
        discussion: """
            LIST names one image per line. Rows follow the list's order; the recipe is a new database's (as for \
            `embed`). For building evaluation and benchmark sets.
            """)

    @OptionGroup var modelOptions: ModelOptions
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
        let rows = RowBuffer(count: paths.count * dimension)
        let failures = FailureList()
        let next = NextIndex()
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            let session = InferenceSession(model: model)
            while let index = next.take(below: paths.count) {
                do {
                    let tensor = try ModelInput.tensor(path: paths[index], model: model, crop: Configuration.Model.newDatabaseCropPolicy)
                    let vector = FeatureVector.powered(session.run(tensor).features,
                                                       power: Configuration.Model.newDatabaseFeaturePower)
                    rows.write(vector, at: index * dimension)
                } catch {
                    failures.append("\(paths[index]): \(error)")
                }
                if index % 1000 == 999 { FileHandle.standardError.write(Data("embed-all: \(index + 1)/\(paths.count)\n".utf8)) }
            }
        }
        if let first = failures.items.first { throw ValidationError("\(failures.items.count) images failed, first: \(first)") }
        try Data(NumpyArray(shape: [paths.count, dimension], values: rows.values).encoded())
            .write(to: URL(fileURLWithPath: output))
        print("embed-all: \(paths.count) × \(dimension) → \(output)")
    }
}

/// The rows being written by the threads: each writes its own disjoint ranges.
/// `@unchecked Sendable` is safe because `lock` guards `values`.
private final class RowBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Float]
    init(count: Int) { values = [Float](repeating: 0, count: count) }
    func write(_ row: [Float], at offset: Int) {
        lock.withLock { values.replaceSubrange(offset..<offset + row.count, with: row) }
    }
}

/// `@unchecked Sendable` is safe because `lock` guards `items`.
private final class FailureList: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var items: [String] = []
    func append(_ item: String) { lock.withLock { items.append(item) } }
}

/// `@unchecked Sendable` is safe because `lock` guards `value`.
private final class NextIndex: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func take(below limit: Int) -> Int? {
        lock.withLock {
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}

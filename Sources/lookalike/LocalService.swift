import Synchronization
import ArgumentParser
import Foundation
import Inference
import Lookalike

extension ServiceOptions {
    /// Opens the database and model in this process and loads the index (the commands that work on a
    /// database directly rather than through a server).
    func openService(apply: (inout Configuration) -> Void = { _ in }) throws -> LookalikeService {
        let configuration = try configuration(apply: apply)
        let path = modelPath(configuration)
        let model: ImageModel
        do { model = try ImageModel(path: path, pooling: configuration.model.featurePooling) } catch { throw ValidationError("cannot load the model: \(error)") }
        let service = try LookalikeService(configuration: configuration, model: model)
        try service.loadIndex()
        return service
    }
}

/// Progress on standard error: a redrawn bar with rate and ETA on a terminal, plain lines otherwise.
final class ProgressReporter: Sendable {
    private let total: Int
    private let label: String
    private let start = Date()
    private let progress = Mutex<(done: Int, lastPrint: Date)>((0, .distantPast))
    private let interactive = isatty(2) != 0

    init(total: Int, label: String) {
        self.total = total
        self.label = label
    }

    func advance() { update { $0 + 1 } }

    /// Sets the count of finished items (progress followed from elsewhere, such as a server's job).
    func update(done: Int) { update { _ in done } }

    private func update(_ change: (Int) -> Int) {
        progress.withLock { progress in
            progress.done = change(progress.done)
            let done = progress.done
            let now = Date()
            guard done == total || now.timeIntervalSince(progress.lastPrint) > (interactive ? 0.1 : 2) else { return }
            progress.lastPrint = now
            let elapsed = now.timeIntervalSince(start)
            let rate = Double(done) / max(elapsed, 1e-6)
            let eta = rate > 0 ? Double(total - done) / rate : 0
            let text: String
            if interactive {
                let width = 30
                let filled = total > 0 ? width * done / total : width
                let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                text = String(format: "\r%@ [%@] %d/%d  %.1f/s  ETA %.0fs ", label, bar, done, total, rate, eta)
            } else {
                text = String(format: "%@ %d/%d  %.1f/s  ETA %.0fs\n", label, done, total, rate, eta)
            }
            FileHandle.standardError.write(Data(text.utf8))
            if interactive && done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        }
    }
}

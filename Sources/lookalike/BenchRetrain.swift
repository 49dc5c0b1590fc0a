import ArgumentParser
import Dispatch
import Foundation
import Imaging
import Inference
import Lookalike
import Storage
import Synchronization
import VectorIndex

/// Upload latency while a collection switches to ITQ codes: the database is filled with synthetic vectors of
/// the model's shape, then uploaders run through the real pipeline until the retraining has committed. The
/// first `--warmup` uploads come before the retraining is due and give the baseline.
struct BenchRetrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-retrain",
        abstract: "Longest upload stall while ITQ codes are retrained on a large collection.")

    @Option(help: "Stored images before the retraining (synthetic vectors).") var images = 100_000
    @Option(help: "Uploads before the retraining is due (the baseline).") var warmup = 200
    @Option(help: "Concurrent uploaders.") var uploaders = 2
    @Option(help: "Seconds of uploads after the retraining has committed.") var tail = 5.0
    @Option(help: "Database file (deleted first).") var db = "/tmp/lookalike-bench-retrain.sqlite"
    @OptionGroup var modelOptions: ModelOptions

    func validate() throws {
        guard (1_000...2_000_000).contains(images), (10...100_000).contains(warmup), (1...16).contains(uploaders),
              (0...600).contains(tail) else {
            throw ValidationError("--images 1000...2000000, --warmup 10...100000, --uploaders 1...16, --tail 0...600")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        var configuration = Configuration()
        configuration.storage.databasePath = db
        configuration.model.path = modelOptions.resolvedPath
        configuration.index.snapshot = false
        configuration.hashing.scheme = .itq
        configuration.hashing.itqMinimumImages = images + warmup
        try configuration.validate()

        var start = DispatchTime.now().uptimeNanoseconds
        try fill(model: model)
        print(String(format: "filled: %d synthetic vectors in %.1f s", images, seconds(since: start)))

        let service = try LookalikeService(configuration: configuration, model: model)
        start = DispatchTime.now().uptimeNanoseconds
        try service.loadIndex()
        print(String(format: "loaded: %.1f s (codes recomputed under the collection's scheme)", seconds(since: start)))

        let bodies = try (0..<64).map { try JPEGEncoder.encode(Self.scene(seed: UInt64($0))) }
        let recorder = LatencyRecorder()
        let counter = Mutex(0)
        let benchStart = DispatchTime.now().uptimeNanoseconds
        let stop = Mutex(false)
        // The watcher has a thread of its own (concurrentPerform runs at most one lane per core): it marks
        // when the scheme switches, then lets the uploads run `tail` seconds more.
        let watcher = Thread { [tail] in
            while (try? service.codeScheme().kind) != "itq" { usleep(2_000) }
            recorder.markCommitted()
            usleep(UInt32(tail * 1e6))
            stop.withLock { $0 = true }
        }
        watcher.start()
        DispatchQueue.concurrentPerform(iterations: uploaders) { _ in
            while !stop.withLock({ $0 }) {
                let number = counter.withLock { value in defer { value += 1 }; return value }
                let began = DispatchTime.now().uptimeNanoseconds
                do {
                    _ = try service.ingest(bytes: bodies[number % bodies.count], key: "upload-\(number)")
                } catch {
                    recorder.fail("\(error)")
                }
                recorder.record(number: number, began: began, ended: DispatchTime.now().uptimeNanoseconds)
            }
        }
        service.waitForRetraining()
        let report = recorder.report(warmup: warmup, origin: benchStart)
        print(report)
        _ = service.shutdown()
    }

    /// Non-negative, clustered, L2-normalised vectors (a CNN's pooled features are post-ReLU and cluster by
    /// content), written in batches straight to the store.
    private func fill(model: ImageModel) throws {
        let store = try ImageStore(path: db)
        let dimension = model.featureDimension
        let placeholder = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: dimension, parameters: [])
        var random = SplitMix64(seed: 11)
        let centres = (0..<64).map { _ in (0..<dimension).map { _ in Float.random(in: 0..<1, using: &random) * 2 } }
        var written = 0
        while written < images {
            let batch = (written..<min(written + 1_000, images)).map { i -> ImageWrite in
                let centre = centres[i % centres.count]
                var vector = centre.map { max(0, $0 + Float.random(in: -0.75..<0.75, using: &random)) }
                let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
                for j in vector.indices { vector[j] /= max(norm, 1e-12) }
                return ImageWrite(
                    key: "synthetic-\(i)", sha256: (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) },
                    format: "jpeg", width: 320, height: 240, byteSize: 10_000, metadata: "{}",
                    model: model.identity.description, vector: vector,
                    code: StoredCode(schemeID: placeholder, bits: 256, words: [0, 0, 0, 0]), thumbnail: [])
            }
            try store.upsert(batch: batch)
            written += batch.count
        }
    }

    /// A 320×240 picture of coloured blocks, different per seed.
    static func scene(seed: UInt64) -> RGBImage {
        var random = SplitMix64(seed: seed)
        let (width, height) = (320, 240)
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        for _ in 0..<12 {
            let colour = (0..<3).map { _ in UInt8.random(in: 0...255, using: &random) }
            let (x0, y0, side) = (Int.random(in: 0..<width, using: &random), Int.random(in: 0..<height, using: &random),
                                  Int.random(in: 20...120, using: &random))
            for y in y0..<min(height, y0 + side) {
                for x in x0..<min(width, x0 + side) {
                    pixels.replaceSubrange((y * width + x) * 3..<(y * width + x) * 3 + 3, with: colour)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}

/// Per-upload latencies, and the moment the code scheme switched.
private final class LatencyRecorder: Sendable {
    private struct State {
        var samples: [(number: Int, began: UInt64, ended: UInt64)] = []
        var committed: UInt64?
        var failures: [String] = []
    }
    private let state = Mutex(State())

    func record(number: Int, began: UInt64, ended: UInt64) { state.withLock { $0.samples.append((number, began, ended)) } }
    func markCommitted() { state.withLock { $0.committed = DispatchTime.now().uptimeNanoseconds } }
    func fail(_ message: String) { state.withLock { $0.failures.append(message) } }

    func report(warmup: Int, origin: UInt64) -> String {
        state.withLock { state in
            let committed = state.committed ?? UInt64.max
            // The retraining is due from the upload that brings the count to the threshold.
            let due = state.samples.first { $0.number == warmup - 1 }?.ended ?? origin
            func line(_ name: String, _ selected: [(number: Int, began: UInt64, ended: UInt64)]) -> String {
                let latencies = selected.map { Double($0.ended - $0.began) / 1e6 }.sorted()
                guard let longest = latencies.last else { return "\(name): no uploads" }
                func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
                return String(format: "%@: %d uploads, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                              name, latencies.count, percentile(0.5), percentile(0.99), longest)
            }
            var text = [
                String(format: "retraining: due at %.2f s, committed at %.2f s (%.1f s)", Double(due - origin) / 1e9,
                       Double(committed - origin) / 1e9, Double(committed - due) / 1e9),
                line("before", state.samples.filter { $0.ended <= due }),
                line("during", state.samples.filter { $0.ended > due && $0.began < committed }),
                line("after", state.samples.filter { $0.began >= committed }),
            ].joined(separator: "\n")
            if let first = state.failures.first { text += "\nfailed uploads: \(state.failures.count), first: \(first)" }
            return text
        }
    }
}

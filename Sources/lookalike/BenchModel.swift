import Synchronization
import ArgumentParser
import Dispatch
import Foundation
import Inference

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-model",
        abstract: "Measure CNN latency and throughput (release builds only give meaningful numbers).")

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Comma-separated batch sizes.") var batches = "1,8,32"
    @Option(help: "Comma-separated worker counts.") var workers = "1,2"
    @Option(help: "Seconds per configuration.") var seconds = 5.0
    @Option(help: "Run on this image's (or .npy tensor's) model input instead of uniform noise in [-1, 1].")
    var image: String?
    @Flag(help: "Print one JSON object per row.") var json = false

    func validate() throws {
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
        guard parse(batches).allSatisfy({ (1...256).contains($0) }), !parse(batches).isEmpty else {
            throw ValidationError("--batches must list sizes 1...256")
        }
        guard parse(workers).allSatisfy({ (1...64).contains($0) }), !parse(workers).isEmpty else {
            throw ValidationError("--workers must list counts 1...64")
        }
    }

    private func parse(_ list: String) -> [Int] { list.split(separator: ",").compactMap { Int($0) } }

    func run() throws {
        let model = try modelOptions.load()
        BLAS.setThreadCount(1)
        let gflops = Self.measureSgemm()
        let flopsPerImage = 2.0 * Double(model.multiplyAddsPerImage)
        if !json {
            print("model \(model.identity), \(String(format: "%.3f", flopsPerImage / 1e9)) GFLOP per image; kernels \(KernelVariant.best.rawValue)\(KernelVariant.best != .portable ? BLAS.packedKernelCore.map { ", weights packed once for OpenBLAS's \($0) kernel" } ?? "" : "")")
            print("sgemm 1 thread: \(String(format: "%.1f", gflops)) GFLOP/s → bound \(String(format: "%.1f", gflops * 1e9 / flopsPerImage)) images/s per core")
            if KernelVariant.best != .portable, BLAS.packedKernelCore != nil {
                let packed = Self.measurePackedProduct()
                print("packed product 1 thread: \(String(format: "%.1f", packed)) GFLOP/s → bound \(String(format: "%.1f", packed * 1e9 / flopsPerImage)) images/s per core")
            }
            print("workers batch  images/s  ms/batch(median)")
        }
        var random = SystemRandomNumberGenerator()
        let side = model.inputSize
        let imageTensor = try image.map { try ModelInput.tensor(path: $0, model: model) }
        for workerCount in parse(workers) {
            for batch in parse(batches) {
                let input = imageTensor.map { Array([[Float]](repeating: $0, count: batch).joined()) }
                    ?? (0..<(batch * 3 * side * side)).map { _ in Float.random(in: -1...1, using: &random) }
                let perWorker = Self.run(model: model, input: input, batch: batch, workers: workerCount, seconds: seconds)
                let images = perWorker.reduce(0) { $0 + $1.count } * batch
                let wall = perWorker.map { $0.reduce(0, +) }.max() ?? 1
                let all = perWorker.flatMap { $0 }.sorted()
                let median = all[all.count / 2] * 1000
                let rate = Double(images) / wall
                if json {
                    print("{\"engine\":\"lookalike\",\"workers\":\(workerCount),\"batch\":\(batch),\"images_per_s\":\(String(format: "%.2f", rate)),\"median_ms\":\(String(format: "%.3f", median))}")
                } else {
                    print(String(format: "%7d %5d  %8.1f  %8.2f", workerCount, batch, rate, median))
                }
            }
        }
    }

    /// Runs `workers` threads, each with its own session, until `seconds` pass; returns each thread's batch times.
    static func run(model: ImageModel, input: [Float], batch: Int, workers: Int, seconds: Double) -> [[Double]] {
        let results = Results(count: workers)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let session = InferenceSession(model: model, maxBatch: batch)
            input.withUnsafeBufferPointer { _ = session.run($0, batch: batch) }  // warm-up
            var times: [Double] = []
            let start = DispatchTime.now().uptimeNanoseconds
            while Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < seconds || times.count < 3 {
                let begin = DispatchTime.now().uptimeNanoseconds
                input.withUnsafeBufferPointer { _ = session.run($0, batch: batch) }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9)
            }
            results.set(worker, times)
        }
        return results.all
    }

    /// Single-thread sgemm GFLOP/s on a 1024³ product, best of 5.
    static func measureSgemm() -> Double {
        let n = 1024
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        return gflopsBestOfFive(multiplyAdds: n * n * n) {
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.sgemm(m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                                   c: c.baseAddress!, ldc: n)
                    }
                }
            }
        }
    }

    /// GFLOP/s of the fastest of five runs of `body`, which does `multiplyAdds` multiply-adds.
    private static func gflopsBestOfFive(multiplyAdds: Int, _ body: () -> Void) -> Double {
        var best = Double.infinity
        for _ in 0..<5 {
            let begin = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9)
        }
        return 2 * Double(multiplyAdds) / best / 1e9
    }

    /// Single-thread GFLOP/s of the product with weights packed once (what every 1×1 convolution runs), on a
    /// 1024³ product, best of 5.
    static func measurePackedProduct() -> Double {
        let n = 1024
        let layer = PointwiseConvolution(inChannels: n, outChannels: n, weights: [Float](repeating: 0.5, count: n * n),
                                         bias: [Float](repeating: 0, count: n), activation: .identity)
        let input = [Float](repeating: 0.25, count: n * n)
        var output = [Float](repeating: 0, count: n * n)
        return gflopsBestOfFive(multiplyAdds: n * n * n) {
            input.withUnsafeBufferPointer { input in
                output.withUnsafeMutableBufferPointer { layer.apply(input.baseAddress!, rows: n, into: $0.baseAddress!) }
            }
        }
    }

    /// Per-worker timings, written once per worker from `concurrentPerform`.
    final class Results: Sendable {
        private let storage: Mutex<[[Double]]>
        init(count: Int) { storage = Mutex(Array(repeating: [], count: count)) }
        func set(_ index: Int, _ values: [Double]) { storage.withLock { $0[index] = values } }
        var all: [[Double]] { storage.withLock { $0 } }
    }
}

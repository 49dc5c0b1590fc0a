import ArgumentParser
import Dispatch
import Foundation
import Imaging
import Lookalike

struct BenchDecode: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decode",
        abstract: "Time image bytes (JPEG, PNG, WebP) → 224×224 model tensor (decode, crop, resize, normalise) on one thread, and the upload's thumbnail.")

    @Argument(help: "Image file.") var input: String
    @Option(help: "Repetitions.") var repeats = 50
    @Option(help: "Model input size.") var size = 224
    @Option(help: "How the square input is cut: pad (the default for new databases), squash or centerSquare.")
    var crop = Configuration.Model.newDatabaseCropPolicy.rawValue

    func validate() throws {
        guard (1...100_000).contains(repeats) else { throw ValidationError("--repeats must be 1...100000") }
        guard ModelInputPreprocessor.CropPolicy(rawValue: crop) != nil else { throw ValidationError("--crop must be pad, squash or centerSquare") }
    }

    func run() throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: input)))
        let decoder = ImageDecoder()
        let preprocessor = ModelInputPreprocessor(size: size, mean: (127, 127, 127), std: (128, 128, 128),
                                                  cropPolicy: ModelInputPreprocessor.CropPolicy(rawValue: crop)
                                                      ?? Configuration.Model.newDatabaseCropPolicy)
        var tensor: [Float] = []
        let times = try Self.sortedMilliseconds(repeats: repeats) {
            // The interleaved (HWC) tensor is what uploads hand to the model.
            tensor = preprocessor.interleavedTensor(from: try decoder.decode(bytes, minimumShortSide: size).image)
        }
        print(String(format: "{\"engine\":\"lookalike\",\"crop\":\"\(crop)\",\"median_ms\":%.3f,\"min_ms\":%.3f,\"repeats\":%d,\"checksum\":%.3f}",
                     times[times.count / 2], times[0], repeats, tensor.reduce(0, +)))

        // The thumbnail every upload also makes (resize to 256 on the long side, JPEG quality 85).
        let image = try decoder.decode(bytes, minimumShortSide: size).image
        var thumbnailBytes = 0
        let thumbnailTimes = try Self.sortedMilliseconds(repeats: repeats) {
            thumbnailBytes = try Thumbnailer().thumbnail(of: image).count
        }
        print(String(format: "{\"engine\":\"lookalike\",\"stage\":\"thumbnail\",\"median_ms\":%.3f,\"min_ms\":%.3f,\"bytes\":%d}",
                     thumbnailTimes[thumbnailTimes.count / 2], thumbnailTimes[0], thumbnailBytes))
    }

    /// Times `repeats` runs of `body` after two warm-up runs, in milliseconds, fastest first.
    static func sortedMilliseconds(repeats: Int, _ body: () throws -> Void) rethrows -> [Double] {
        var times: [Double] = []
        for _ in 0..<(repeats + 2) {
            let begin = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6)
        }
        return Array(times.dropFirst(2)).sorted()
    }
}

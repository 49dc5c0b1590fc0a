import Testing
@testable import Imaging
import TestSupport

struct ResamplerTests {
    /// Naive reference: every output pixel as a direct 2-D weighted sum, weights from the filter's definition.
    static func reference(
        _ image: RGBImage, region: Resampler.Region, width: Int, height: Int, filter: Resampler.Filter
    ) -> [Double] {
        func weights(inputSize: Int, outputSize: Int, out: Int) -> [(Int, Double)] {
            let scale = Double(inputSize) / Double(outputSize)
            switch filter {
            case .bilinear:
                let source = min(max((Double(out) + 0.5) * scale - 0.5, 0), Double(inputSize - 1))
                let lower = Int(source.rounded(.down))
                let fraction = source - Double(lower)
                return lower + 1 < inputSize ? [(lower, 1 - fraction), (lower + 1, fraction)] : [(lower, 1)]
            case .antialiasedTriangle:
                let stretch = max(scale, 1)
                let center = (Double(out) + 0.5) * scale
                var list = (0..<inputSize).map { i in (i, max(0, 1 - abs((Double(i) + 0.5 - center) / stretch))) }
                list = list.filter { $0.1 > 0 }
                let total = list.reduce(0) { $0 + $1.1 }
                return list.map { ($0.0, $0.1 / total) }
            }
        }
        var out = [Double](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let wy = weights(inputSize: region.height, outputSize: height, out: y)
            for x in 0..<width {
                let wx = weights(inputSize: region.width, outputSize: width, out: x)
                for (iy, vy) in wy {
                    for (ix, vx) in wx {
                        let pixel = image[region.x + ix, region.y + iy]
                        out[(y * width + x) * 3] += vx * vy * Double(pixel.0)
                        out[(y * width + x) * 3 + 1] += vx * vy * Double(pixel.1)
                        out[(y * width + x) * 3 + 2] += vx * vy * Double(pixel.2)
                    }
                }
            }
        }
        return out
    }

    @Test(arguments: [Resampler.Filter.antialiasedTriangle, .bilinear], [(37, 29), (9, 5), (61, 80), (224, 224)])
    func matchesNaiveReference(filter: Resampler.Filter, size: (Int, Int)) {
        let pixels = TestImages.randomBytes(count: 97 * 71 * 3, seed: 42)
        let image = RGBImage(width: 97, height: 71, pixels: pixels)
        let region = Resampler.Region(x: 5, y: 3, width: 83, height: 64)
        let want = Self.reference(image, region: region, width: size.0, height: size.1, filter: filter)
        var maxError = 0.0
        Resampler(filter: filter).resample(image, region: region, width: size.0, height: size.1) { y, row in
            #expect(row.count == size.0 * 3)
            for (index, value) in row.enumerated() {
                maxError = max(maxError, abs(Double(value) - want[y * size.0 * 3 + index]))
            }
        }
        // Float accumulation vs Double: well under one grey level.
        #expect(maxError < 1e-3)
    }

    /// 8-bit resizing is the float resampling rounded to nearest (ties to even) and clamped to 0...255.
    @Test(arguments: [(37, 29), (256, 192), (3, 1)])
    func resizeRoundsTheResampledValues(size: (Int, Int)) {
        let image = RGBImage(width: 97, height: 71, pixels: TestImages.randomBytes(count: 97 * 71 * 3, seed: 7))
        var want = [UInt8](repeating: 0, count: size.0 * size.1 * 3)
        Resampler().resample(image, region: .init(x: 0, y: 0, width: 97, height: 71), width: size.0, height: size.1) { y, row in
            for (index, value) in row.enumerated() {
                want[y * size.0 * 3 + index] = UInt8(min(max(value.rounded(.toNearestOrEven), 0), 255))
            }
        }
        #expect(Resampler().resize(image, width: size.0, height: size.1).pixels == want)
    }

    @Test func preprocessorCropsCentreAndNormalises() {
        let preprocessor = ModelInputPreprocessor(size: 4, mean: (127, 127, 127), std: (128, 128, 128))
        #expect(preprocessor.cropRegion(width: 300, height: 451) == .init(x: 0, y: 75, width: 300, height: 300))
        #expect(preprocessor.cropRegion(width: 451, height: 300) == .init(x: 75, y: 0, width: 300, height: 300))
        let tensor = preprocessor.tensor(from: RGBImage(width: 10, height: 6, red: 255, green: 127, blue: 0))
        #expect(tensor.count == 48)
        for index in 0..<16 {
            #expect(abs(tensor[index] - 1) < 1e-6)
            #expect(abs(tensor[16 + index]) < 1e-6)
            #expect(abs(tensor[32 + index] + 127.0 / 128) < 1e-6)
        }
    }

    /// Padding places the whole image, aspect kept, centred; the margins are zero (the mean colour) and the
    /// placed pixels are the image resampled to the placed size, in both tensor layouts.
    @Test func paddingCentresTheWholeImageOnZero() {
        let preprocessor = ModelInputPreprocessor(size: 10, mean: (127, 127, 127), std: (128, 128, 128), cropPolicy: .pad)
        #expect(preprocessor.placement(width: 300, height: 100) ==
                .init(source: .init(x: 0, y: 0, width: 300, height: 100), x: 0, y: 3, width: 10, height: 3))
        #expect(preprocessor.placement(width: 50, height: 1000).width == 1, "at least one column")
        #expect(preprocessor.placement(width: 64, height: 64).width == 10)
        let image = RGBImage(width: 300, height: 100, pixels: TestImages.randomBytes(count: 300 * 100 * 3, seed: 5))
        var placed = [Float](repeating: 0, count: 10 * 3 * 3)
        Resampler().resample(image, region: .init(x: 0, y: 0, width: 300, height: 100), width: 10, height: 3) { y, row in
            for (index, value) in row.enumerated() { placed[y * 30 + index] = (value - 127) / 128 }
        }
        let interleaved = preprocessor.interleavedTensor(from: image), planar = preprocessor.tensor(from: image)
        for y in 0..<10 {
            for x in 0..<10 {
                for c in 0..<3 {
                    let want: Float = (3..<6).contains(y) ? placed[(y - 3) * 30 + x * 3 + c] : 0
                    #expect(abs(interleaved[(y * 10 + x) * 3 + c] - want) < 1e-6, "interleaved y \(y) x \(x)")
                    #expect(abs(planar[c * 100 + y * 10 + x] - want) < 1e-6, "planar y \(y) x \(x)")
                }
            }
        }
    }

    /// The interleaved tensor holds exactly the planar tensor's values, pixel by pixel (sizes whose rows are and
    /// are not whole 12-float vector periods; means and scales that differ per channel).
    @Test(arguments: [224, 10, 3])
    func interleavedTensorIsThePlanarOneTransposed(size: Int) {
        let image = RGBImage(width: 97, height: 71, pixels: TestImages.randomBytes(count: 97 * 71 * 3, seed: 11))
        let preprocessor = ModelInputPreprocessor(size: size, mean: (123.7, 116.3, 103.5), std: (58.4, 57.1, 57.4))
        let planar = preprocessor.tensor(from: image), interleaved = preprocessor.interleavedTensor(from: image)
        #expect(interleaved.count == planar.count)
        let plane = size * size
        let mismatches = (0..<plane).filter { pixel in
            (0..<3).contains { interleaved[pixel * 3 + $0] != planar[$0 * plane + pixel] }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) pixels differ, first at \(mismatches.first ?? -1)")
    }

    @Test func thumbnailKeepsAspectAndDecodes() throws {
        let thumbnailer = Thumbnailer()
        let jpeg = try thumbnailer.thumbnail(of: TestImages.pattern(width: 1000, height: 500))
        let decoded = try JPEGDecoder.decode(jpeg)
        #expect(decoded.width == 256 && decoded.height == 128)
        let small = try JPEGDecoder.decode(try thumbnailer.thumbnail(of: TestImages.pattern(width: 40, height: 30)))
        #expect(small.width == 40 && small.height == 30)
    }
}

import Foundation
import Testing
@testable import Imaging
import TestSupport

/// HEIC files written by `heif-enc` (Debian's libheif-examples, x265) from PNGs written here: 8-bit, 10-bit and
/// alpha, compared with the source within the lossy codec's tolerance (mean absolute difference per sample).
@Suite(.serialized)
struct HEIFDecoderTests {
    static let encoder = ExternalTool("heif-enc", package: "libheif-examples")

    static func png(_ image: RGBImage, alpha: [UInt8]? = nil, sixteenBit: Bool = false) -> [UInt8] {
        let channels = alpha == nil ? 3 : 4
        var samples: [Int] = []
        for pixel in 0..<(image.width * image.height) {
            for channel in 0..<3 { samples.append(Int(image.pixels[pixel * 3 + channel]) * (sixteenBit ? 257 : 1)) }
            if let alpha { samples.append(Int(alpha[pixel])) }
        }
        let writer = PNGWriter(colorType: channels == 4 ? .rgba : .rgb, bitDepth: sixteenBit ? 16 : 8)
        return writer.encode(width: image.width, height: image.height, samples: samples)
    }

    @Test func eightTenBitAndAlpha() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 31, width: 160, height: 120)
        let alpha: [UInt8] = (0..<(160 * 120)).map { (index: Int) -> UInt8 in UInt8((index % 160) * 255 / 159) }
        let cases: [(name: String, png: [UInt8], flags: [String])] = [
            ("eight", Self.png(source), ["-q", "92"]),
            ("ten", Self.png(source, sixteenBit: true), ["-q", "92", "-b", "10"]),
            ("alpha", Self.png(source, alpha: alpha), ["-q", "92"]),
        ]
        // Over white, worked out here for the alpha case.
        let composited = RGBImage(width: 160, height: 120, pixels: (0..<(160 * 120 * 3)).map { index in
            let a = Double(alpha[index / 3]) / 255
            return UInt8((Double(source.pixels[index]) * a + 255 * (1 - a)).rounded())
        })
        for (name, png, flags) in cases {
            let input = directory.appendingPathComponent("\(name).png"), output = directory.appendingPathComponent("\(name).heic")
            try Data(png).write(to: input)
            try Self.encoder.run(flags + [input.path, "-o", output.path])
            let decoded = try ImageDecoder().decode(Array(try Data(contentsOf: output)))
            #expect(decoded.format == .heic && decoded.image.width == 160 && decoded.image.height == 120, "\(name)")
            let difference = TestImages.meanAbsoluteDifference(decoded.image, name == "alpha" ? composited : source)
            #expect(difference < 5, "\(name): mean absolute difference \(difference)")
        }
    }

    @Test func truncatedFilesAreTypedErrors() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("s.png"), output = directory.appendingPathComponent("s.heic")
        try Data(Self.png(TestImages.scene(seed: 32, width: 64, height: 48))).write(to: input)
        try Self.encoder.run(["-q", "80", input.path, "-o", output.path])
        let bytes = Array(try Data(contentsOf: output))
        TruncatedFiles.expectRefused(bytes, cuts: [bytes.count - 50, bytes.count / 2, 40], format: .heic)
        #expect(throws: ImagingError.tooManyPixels(width: 64, height: 48, limit: 1_000)) {
            try HEIFDecoder.decode(bytes, limits: DecodingLimits(maxPixels: 1_000))
        }
    }
}

import Foundation
import Testing
@testable import Imaging
import TestSupport

/// AVIF files written by `avifenc` (Debian's libavif-bin, libaom) from PNGs written here. Lossless files decode to
/// the source exactly, so the container's rotation and mirroring are checked pixel for pixel against turns worked
/// out in the test; lossy, 10-bit and alpha files are compared within the codec's tolerance.
@Suite(.serialized)
struct AVIFDecoderTests {
    static let encoder = ExternalTool("avifenc", package: "libavif-bin")

    /// `image` turned a quarter anticlockwise: the new top row is the old right column, read downwards.
    static func quarterAnticlockwise(_ image: RGBImage) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<image.width {
            for x in 0..<image.height {
                let (r, g, b) = image[image.width - 1 - y, x]
                pixels += [r, g, b]
            }
        }
        return RGBImage(width: image.height, height: image.width, pixels: pixels)
    }

    static func flippedTopBottom(_ image: RGBImage) -> RGBImage {
        RGBImage(width: image.width, height: image.height, pixels: (0..<image.height).reversed().flatMap { y in
            image.pixels[(y * image.width * 3)..<((y + 1) * image.width * 3)]
        })
    }

    static func flippedLeftRight(_ image: RGBImage) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<image.height {
            for x in (0..<image.width).reversed() {
                let (r, g, b) = image[x, y]
                pixels += [r, g, b]
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    func encode(_ png: [UInt8], _ flags: [String], in directory: URL, name: String) throws -> [UInt8] {
        let input = directory.appendingPathComponent("\(name).png"), output = directory.appendingPathComponent("\(name).avif")
        try Data(png).write(to: input)
        try Self.encoder.run(["-j", "1"] + flags + [input.path, output.path])
        return Array(try Data(contentsOf: output))
    }

    @Test func losslessRotationsAndMirrorsArePixelExact() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 41, width: 48, height: 30)
        let png = HEIFDecoderTests.png(source)
        let once = Self.quarterAnticlockwise(source)
        let cases: [(name: String, flags: [String], expected: RGBImage)] = [
            ("plain", [], source),
            ("irot1", ["--irot", "1"], once),
            ("irot2", ["--irot", "2"], Self.quarterAnticlockwise(once)),
            ("irot3", ["--irot", "3"], Self.quarterAnticlockwise(Self.quarterAnticlockwise(once))),
            ("imir0", ["--imir", "0"], Self.flippedTopBottom(source)),
            ("imir1", ["--imir", "1"], Self.flippedLeftRight(source)),
            ("irot1-imir0", ["--irot", "1", "--imir", "0"], Self.flippedTopBottom(once)),
        ]
        for (name, flags, expected) in cases {
            let bytes = try encode(png, ["-l"] + flags, in: directory, name: name)
            let decoded = try ImageDecoder().decode(bytes)
            #expect(decoded.format == .avif && decoded.originalWidth == expected.width && decoded.originalHeight == expected.height, "\(name)")
            #expect(decoded.image == expected, "\(name)")
        }
    }

    @Test func lossyTenBitAndAlpha() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 42, width: 160, height: 120)
        let alpha: [UInt8] = (0..<(160 * 120)).map { (index: Int) -> UInt8 in UInt8((index / 160) * 255 / 119) }
        let composited = RGBImage(width: 160, height: 120, pixels: (0..<(160 * 120 * 3)).map { index in
            let a = Double(alpha[index / 3]) / 255
            return UInt8((Double(source.pixels[index]) * a + 255 * (1 - a)).rounded())
        })
        let cases: [(name: String, png: [UInt8], flags: [String], expected: RGBImage)] = [
            ("eight", HEIFDecoderTests.png(source), ["--min", "10", "--max", "20"], source),
            ("ten", HEIFDecoderTests.png(source, sixteenBit: true), ["-d", "10", "--min", "10", "--max", "20"], source),
            ("alpha", HEIFDecoderTests.png(source, alpha: alpha), ["--min", "10", "--max", "20", "--minalpha", "0", "--maxalpha", "0"], composited),
        ]
        for (name, png, flags, expected) in cases {
            let decoded = try ImageDecoder().decode(try encode(png, flags, in: directory, name: name))
            #expect(decoded.format == .avif && decoded.image.width == 160 && decoded.image.height == 120, "\(name)")
            let difference = TestImages.meanAbsoluteDifference(decoded.image, expected)
            #expect(difference < 5, "\(name): mean absolute difference \(difference)")
        }
        let bytes = try encode(HEIFDecoderTests.png(source), [], in: directory, name: "cut")
        TruncatedFiles.expectRefused(bytes, cuts: [bytes.count - 30, bytes.count / 2, 30], format: .avif)
        #expect(throws: ImagingError.tooManyPixels(width: 160, height: 120, limit: 10_000)) {
            try AVIFDecoder.decode(bytes, limits: DecodingLimits(maxPixels: 10_000))
        }
    }
}

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

    /// A box: 32-bit size, type, payload.
    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let size = UInt32(8 + payload.count)
        return [UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + Array(type.utf8) + payload
    }

    /// A file with primary item 1 and the given `dimg` references (16-bit ids).
    static func file(references: [(from: UInt16, to: [UInt16])]) -> [UInt8] {
        func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
        let dimg = references.flatMap { box("dimg", u16($0.from) + u16(UInt16($0.to.count)) + $0.to.flatMap(u16)) }
        let meta = box("meta", [0, 0, 0, 0] + box("pitm", [0, 0, 0, 0] + u16(1)) + box("iref", [0, 0, 0, 0] + dimg))
        return box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)) + meta
    }

    @Test func cyclicOrDeepDerivedImagesAreRefusedBeforeLibheif() throws {
        // A grid of tiles, and a grid shared by two paths, are fine.
        try HEIFReferences.check(Self.file(references: [(1, [2, 3, 4])]))
        try HEIFReferences.check(Self.file(references: [(1, [2, 3]), (2, [5]), (3, [5])]))
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try HEIFReferences.check(Self.file(references: [(1, [1])]))
        }
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try HEIFReferences.check(Self.file(references: [(1, [2]), (2, [3]), (3, [1])]))
        }
        #expect(throws: ImagingError.corrupt(format: .heic, message: "derived images nested deeper than 4 levels")) {
            try HEIFReferences.check(Self.file(references: (1..<7).map { (UInt16($0), [UInt16($0 + 1)]) }))
        }
        // Through the decoder: refused with the reason, before libheif recurses.
        #expect(throws: ImagingError.corrupt(format: .heic, message: "image 1 is derived from itself")) {
            try ImageDecoder().decode(Self.file(references: [(1, [1])]))
        }
    }
}

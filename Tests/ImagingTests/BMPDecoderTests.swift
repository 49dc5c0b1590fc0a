import Foundation
import Testing
@testable import Imaging
import TestSupport

/// Bitmaps from `scripts/make_format_fixtures.py` (Pillow's writer, and a small writer of its own for the variants
/// Pillow does not write), compared with Pillow's decoding; and malformed headers refused before allocation.
@Suite(.serialized)
struct BMPDecoderTests {
    @Test func everyVariantDecodesToThePixelsPillowReads() throws {
        let (directory, all) = try GIFDecoderTests.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixtures = all.filter { $0.file.hasSuffix(".bmp") }
        #expect(Set(fixtures.map(\.name)) == ["rgb24", "gray8", "bilevel", "palette8", "palette4", "rgb565", "rgba32-v4",
                                               "top-down", "core-header"])
        for fixture in fixtures {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(fixture.file)))
            let expected = RGBImage(width: fixture.width, height: fixture.height,
                                    pixels: Array(try Data(contentsOf: directory.appendingPathComponent("\(fixture.name).rgb"))))
            let decoded = try ImageDecoder().decode(bytes)
            #expect(decoded.format == .bmp && decoded.image.width == fixture.width && decoded.image.height == fixture.height)
            // 5- and 6-bit channels: Pillow widens by repeating bits, we scale and round; they differ by at most 1.
            let tolerance = fixture.name == "rgb565" ? 1 : 0
            let worst = zip(decoded.image.pixels, expected.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= tolerance, "\(fixture.name): differs by up to \(worst)")
        }
        let rle = Array(try Data(contentsOf: directory.appendingPathComponent("rle8.bmp")))
        #expect(throws: ImagingError.unsupportedVariant(format: .bmp, reason: "run-length compression (RLE8)")) {
            try ImageDecoder().decode(rle)
        }
    }

    /// A 24-bit info-header bitmap with the given size fields and `rows` bytes of pixel data.
    static func bitmap(width: Int32, height: Int32, bits: UInt16 = 24, colorsUsed: UInt32 = 0, rowBytes: Int) -> [UInt8] {
        func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let dib = le(UInt32(40)) + le(width) + le(height) + le(UInt16(1)) + le(bits) + le(UInt32(0)) + le(UInt32(0))
            + le(Int32(2835)) + le(Int32(2835)) + le(colorsUsed) + le(UInt32(0))
        return Array("BM".utf8) + le(UInt32(54 + rowBytes)) + le(UInt32(0)) + le(UInt32(54)) + dib
            + [UInt8](repeating: 0x80, count: rowBytes)
    }

    @Test func malformedHeadersAreTypedErrorsBeforeAllocation() throws {
        #expect(try BMPDecoder.decode(Self.bitmap(width: 2, height: 2, rowBytes: 16)).pixels == [UInt8](repeating: 0x80, count: 12))
        let cases: [(String, [UInt8], ImagingError)] = [
            ("huge", Self.bitmap(width: 100_000, height: 100_000, rowBytes: 0),
             .tooManyPixels(width: 100_000, height: 100_000, limit: DecodingLimits().maxPixels)),
            ("negative width", Self.bitmap(width: -5, height: 5, rowBytes: 0), .invalidDimensions(width: -5, height: 5)),
            ("zero height", Self.bitmap(width: 5, height: 0, rowBytes: 0), .invalidDimensions(width: 5, height: 0)),
            ("rows missing", Self.bitmap(width: 100, height: 100, rowBytes: 1_000),
             .corrupt(format: .bmp, message: "truncated: the pixel rows need 30000 bytes from offset 54")),
            ("12 bits", Self.bitmap(width: 4, height: 4, bits: 12, rowBytes: 64), .corrupt(format: .bmp, message: "12 bits per pixel")),
            ("palette too long", Self.bitmap(width: 4, height: 4, bits: 8, colorsUsed: 300, rowBytes: 16),
             .corrupt(format: .bmp, message: "300 palette entries for 8-bit pixels")),
            ("cut header", Array(Self.bitmap(width: 4, height: 4, rowBytes: 48).prefix(30)), .corrupt(format: .bmp, message: "truncated header")),
        ]
        for (name, bytes, expected) in cases {
            #expect(throws: expected, "\(name)") { try ImageDecoder().decode(bytes) }
        }
        var unknownHeader = Self.bitmap(width: 4, height: 4, rowBytes: 48)
        unknownHeader[14] = 64
        #expect(throws: ImagingError.unsupportedVariant(format: .bmp, reason: "a 64-byte DIB header")) { try ImageDecoder().decode(unknownHeader) }
    }
}

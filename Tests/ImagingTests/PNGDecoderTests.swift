import Testing
@testable import Imaging
import TestSupport

struct PNGDecoderTests {
    /// A 13×7 RGB pattern (odd sizes exercise Adam7's partial passes).
    static let width = 13, height = 7
    static func rgbSamples(maxValue: Int) -> [Int] {
        (0..<(width * height)).flatMap { index -> [Int] in
            let x = index % width, y = index / width
            return [x * maxValue / (width - 1), y * maxValue / (height - 1), (x + y) % 2 == 0 ? maxValue : 0]
        }
    }

    static func expectedRGB8() -> [UInt8] { rgbSamples(maxValue: 255).map(UInt8.init) }

    @Test(arguments: [false, true])
    func rgb8(interlaced: Bool) throws {
        let png = PNGWriter(colorType: .rgb, interlaced: interlaced).encode(
            width: Self.width, height: Self.height, samples: Self.rgbSamples(maxValue: 255))
        let image = try ImageDecoder().decode(png).image
        #expect(image.pixels == Self.expectedRGB8())
    }

    @Test(arguments: [false, true])
    func rgb16(interlaced: Bool) throws {
        let png = PNGWriter(colorType: .rgb, bitDepth: 16, interlaced: interlaced).encode(
            width: Self.width, height: Self.height, samples: Self.rgbSamples(maxValue: 65535))
        let image = try PNGDecoder.decode(png)
        // 16 → 8 bits: v·255/65535 rounds to the 8-bit pattern within 1.
        for (got, want) in zip(image.pixels, Self.expectedRGB8()) { #expect(abs(Int(got) - Int(want)) <= 1) }
    }

    @Test func grayscaleDepths() throws {
        for depth in [1, 2, 4, 8, 16] {
            let maxValue = (1 << depth) - 1
            let samples = (0..<(Self.width * Self.height)).map { ($0 * 37) % (maxValue + 1) }
            let png = PNGWriter(colorType: .gray, bitDepth: depth).encode(
                width: Self.width, height: Self.height, samples: samples)
            let image = try PNGDecoder.decode(png)
            for (index, sample) in samples.enumerated() {
                let want = Int((Double(sample) * 255 / Double(maxValue)).rounded())
                #expect(abs(Int(image.pixels[index * 3]) - want) <= 1, "depth \(depth)")
                #expect(image.pixels[index * 3] == image.pixels[index * 3 + 2])
            }
        }
    }

    @Test func alphaIsCompositedOverWhite() throws {
        // Opaque red, fully transparent blue, half-transparent black.
        let samples = [255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0, 128]
        for interlaced in [false, true] {
            let png = PNGWriter(colorType: .rgba, interlaced: interlaced).encode(width: 3, height: 1, samples: samples)
            let image = try PNGDecoder.decode(png)
            #expect(image[0, 0] == (255, 0, 0))
            #expect(image[1, 0] == (255, 255, 255))
            let (r, g, b) = image[2, 0]
            #expect(r == g && g == b && r > 100 && r < 240)  // grey: exact value depends on libpng's gamma handling
        }
        let grayAlpha = PNGWriter(colorType: .grayAlpha, bitDepth: 16).encode(
            width: 2, height: 1, samples: [0, 65535, 0, 0])
        let image = try PNGDecoder.decode(grayAlpha)
        #expect(image[0, 0] == (0, 0, 0))
        #expect(image[1, 0] == (255, 255, 255))
    }

    @Test func paletteWithTransparency() throws {
        var writer = PNGWriter(colorType: .palette, bitDepth: 4, interlaced: true)
        writer.palette = [(10, 20, 30), (200, 100, 50), (0, 255, 0)]
        writer.paletteAlpha = [255, 255, 0]
        let samples = (0..<(Self.width * Self.height)).map { $0 % 3 }
        let image = try PNGDecoder.decode(writer.encode(width: Self.width, height: Self.height, samples: samples))
        for (index, entry) in samples.enumerated() {
            let want = entry == 2 ? (255, 255, 255) : (Int(writer.palette[entry].0), Int(writer.palette[entry].1),
                                                       Int(writer.palette[entry].2))
            let got = image[index % Self.width, index / Self.width]
            #expect((Int(got.0), Int(got.1), Int(got.2)) == want)
        }
    }

    @Test func truncatedAndDamagedPNGsAreTypedErrors() throws {
        let png = PNGWriter(colorType: .rgb).encode(
            width: Self.width, height: Self.height, samples: Self.rgbSamples(maxValue: 255))
        var badCRC = png
        badCRC[30] ^= 0xFF  // inside the IHDR chunk's CRC or data
        for broken in [Array(png.prefix(png.count / 2)), Array(png.prefix(40)), badCRC, Array(png.prefix(8))] {
            #expect {
                try ImageDecoder().decode(broken)
            } throws: { error in
                guard case .corrupt(format: .png, let message) = error as? ImagingError else { return false }
                return !message.isEmpty
            }
        }
    }

    @Test func hugeDeclaredSizeIsRejectedBeforeAllocation() throws {
        // A valid IHDR for 60000×60000 followed by a tiny IDAT: a classic decompression-bomb shape.
        var png = PNGWriter(colorType: .rgb).encode(width: 1, height: 1, samples: [1, 2, 3])
        let ihdr = Array(png[12..<29])  // "IHDR" + 13 bytes
        var patched = ihdr
        patched[4...7] = [0, 0, 0xEA, 0x60]
        patched[8...11] = [0, 0, 0xEA, 0x60]
        png.replaceSubrange(12..<29, with: patched)
        let crc = CRC32.checksum(patched)
        png.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF),
                                            UInt8(crc & 0xFF)])
        #expect(throws: ImagingError.tooManyPixels(width: 60000, height: 60000, limit: 50_000_000)) {
            try ImageDecoder().decode(png)
        }
    }
}

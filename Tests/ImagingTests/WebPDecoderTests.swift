import Foundation
import Testing
@testable import Imaging
import TestSupport

/// WebP files made by libwebp's own command-line encoders (`cwebp`, `img2webp`, `webpmux`, from Debian's `webp`)
/// out of PNGs written here, decoded by us and compared with the source pixels, or with `dwebp`'s decoding where
/// the codec is lossy.
@Suite(.serialized)
struct WebPDecoderTests {
    static let cwebp = ExternalTool("cwebp", package: "webp")
    static let dwebp = ExternalTool("dwebp", package: "webp")
    static let img2webp = ExternalTool("img2webp", package: "webp")
    static let webpmux = ExternalTool("webpmux", package: "webp")

    static func write(_ image: RGBImage, to url: URL) throws {
        try Data(PNGWriter(colorType: .rgb).encode(width: image.width, height: image.height, samples: image.pixels.map(Int.init)))
            .write(to: url)
    }

    static func read(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    /// A binary PPM (what `dwebp -ppm` writes) as an image.
    static func ppm(_ bytes: [UInt8]) throws -> RGBImage {
        var fields: [String] = [], index = 0
        while fields.count < 4 {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A { index += 1 }
            let start = index
            while index < bytes.count, bytes[index] != 0x20 && bytes[index] != 0x0A { index += 1 }
            fields.append(String(decoding: bytes[start..<index], as: UTF8.self))
        }
        let width = try #require(Int(fields[1])), height = try #require(Int(fields[2]))
        return RGBImage(width: width, height: height, pixels: Array(bytes[(index + 1)...]))
    }

    static func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
    }

    @Test func losslessAndLossyStills() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 3, width: 320, height: 240)
        let png = directory.appendingPathComponent("scene.png")
        try Self.write(source, to: png)

        // Lossless: exactly the source pixels.
        let lossless = directory.appendingPathComponent("lossless.webp")
        try Self.cwebp.run(["-quiet", "-lossless", png.path, "-o", lossless.path])
        let decoded = try ImageDecoder().decode(Self.read(lossless))
        #expect(decoded.format == .webp && decoded.originalWidth == 320 && decoded.originalHeight == 240)
        #expect(decoded.image == source)

        // Lossy: within 1 of libwebp's own decoder (dwebp, same upsampling), and near the source.
        let lossy = directory.appendingPathComponent("lossy.webp"), reference = directory.appendingPathComponent("lossy.ppm")
        try Self.cwebp.run(["-quiet", "-q", "90", png.path, "-o", lossy.path])
        try Self.dwebp.run(["-quiet", lossy.path, "-ppm", "-o", reference.path])
        let lossyImage = try WebPDecoder.decode(Self.read(lossy))
        let dwebpImage = try Self.ppm(Self.read(reference))
        #expect(lossyImage.width == 320 && lossyImage.height == 240)
        #expect(Self.maxDifference(lossyImage, dwebpImage) <= 1)
        #expect(TestImages.meanAbsoluteDifference(lossyImage, source) < 6)

        // Scaled while decoding: the largest power-of-two reduction that keeps the short side ≥ 100 (240 / 2).
        let scaled = try ImageDecoder().decode(Self.read(lossy), minimumShortSide: 100)
        #expect(scaled.image.width == 160 && scaled.image.height == 120)
        #expect(scaled.originalWidth == 320 && scaled.originalHeight == 240)
        let halved = Resampler().resize(dwebpImage, width: 160, height: 120)
        #expect(TestImages.meanAbsoluteDifference(scaled.image, halved) < 4)
    }

    @Test func alphaIsCompositedOverWhite() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (width, height) = (64, 48)
        var samples: [Int] = []
        for y in 0..<height {
            for x in 0..<width { samples += [x * 4, y * 5, (x + y) * 2, (x * 255) / (width - 1)] }
        }
        let png = directory.appendingPathComponent("alpha.png"), webp = directory.appendingPathComponent("alpha.webp")
        try Data(PNGWriter(colorType: .rgba).encode(width: width, height: height, samples: samples)).write(to: png)
        try Self.cwebp.run(["-quiet", "-lossless", "-exact", png.path, "-o", webp.path])
        let header = try WebPDecoder.readHeader(Self.read(webp))
        #expect(header.hasAlpha && !header.isAnimated)
        let image = try WebPDecoder.decode(Self.read(webp))
        // The expected composite, worked out here: c·a/255 + 255·(1 − a/255), rounded.
        let expected = (0..<(width * height)).flatMap { pixel -> [UInt8] in
            let alpha = Double(samples[pixel * 4 + 3]) / 255
            return (0..<3).map { UInt8((Double(samples[pixel * 4 + $0]) * alpha + 255 * (1 - alpha)).rounded()) }
        }
        #expect(Self.maxDifference(image, RGBImage(width: width, height: height, pixels: expected)) <= 1)
    }

    @Test func anAnimationGivesItsFirstFrame() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = TestImages.scene(seed: 11, width: 96, height: 64), second = TestImages.scene(seed: 12, width: 96, height: 64)
        let a = directory.appendingPathComponent("a.png"), b = directory.appendingPathComponent("b.png")
        try Self.write(first, to: a)
        try Self.write(second, to: b)
        let animation = directory.appendingPathComponent("animation.webp")
        try Self.img2webp.run(["-lossless", "-d", "100", a.path, b.path, "-o", animation.path])
        let bytes = try Self.read(animation)
        #expect(try WebPDecoder.readHeader(bytes).isAnimated)
        #expect(try ImageDecoder().decode(bytes).image == first)
    }

    @Test func exifOrientationIsApplied() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = TestImages.scene(seed: 21, width: 80, height: 50)
        let png = directory.appendingPathComponent("s.png"), plain = directory.appendingPathComponent("plain.webp")
        try Self.write(source, to: png)
        try Self.cwebp.run(["-quiet", "-lossless", png.path, "-o", plain.path])
        // A little-endian TIFF structure whose IFD0 holds one entry: orientation (0x0112) = 6.
        let exif: [UInt8] = [0x49, 0x49, 0x2A, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]
        let exifFile = directory.appendingPathComponent("exif.bin"), turned = directory.appendingPathComponent("turned.webp")
        try Data(exif).write(to: exifFile)
        try Self.webpmux.run(["-set", "exif", exifFile.path, plain.path, "-o", turned.path])
        let decoded = try ImageDecoder().decode(Self.read(turned))
        // Orientation 6: shown turned a quarter clockwise, so 80×50 stored is 50×80 upright.
        #expect(decoded.image == EXIFOrientation.right.apply(to: source))
        #expect(decoded.image.width == 50 && decoded.originalWidth == 50 && decoded.originalHeight == 80)
    }

    @Test func truncatedCorruptAndOversizedFilesAreTypedErrors() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = directory.appendingPathComponent("s.png")
        try Self.write(TestImages.scene(seed: 5, width: 120, height: 90), to: png)
        var files: [String: [UInt8]] = [:]
        for (name, flags) in [("lossy", ["-q", "80"]), ("lossless", ["-lossless"])] {
            let webp = directory.appendingPathComponent("\(name).webp")
            try Self.cwebp.run(["-quiet"] + flags + [png.path, "-o", webp.path])
            files[name] = try Self.read(webp)
        }
        for (name, bytes) in files {
            for cut in [bytes.count / 2, 30, 16] {
                #expect(throws: ImagingError.self, "\(name) cut at \(cut)") { try ImageDecoder().decode(Array(bytes.prefix(cut))) }
                do {
                    _ = try ImageDecoder().decode(Array(bytes.prefix(cut)))
                } catch ImagingError.corrupt(let format, _) {
                    #expect(format == .webp)
                } catch {
                    Issue.record("\(name) cut at \(cut): \(error)")
                }
            }
            var garbled = bytes
            for index in stride(from: 40, to: garbled.count, by: 7) { garbled[index] ^= 0x5A }
            if let image = try? ImageDecoder().decode(garbled).image { #expect(image.width == 120) }  // or a typed error
        }
        // A lossless header claiming 16384×16384 (the format's largest) is refused before any pixel is allocated.
        var huge = try #require(files["lossless"])
        #expect(Array(huge[12..<16]) == Array("VP8L".utf8) && huge[20] == 0x2F)
        let sizeBits: UInt32 = 16383 | 16383 << 14 | UInt32(huge[24] >> 4) << 28
        for shift in 0..<4 { huge[21 + shift] = UInt8((sizeBits >> (8 * UInt32(shift))) & 0xFF) }
        #expect(throws: ImagingError.tooManyPixels(width: 16384, height: 16384, limit: DecodingLimits().maxPixels)) {
            try ImageDecoder().decode(huge)
        }
    }
}

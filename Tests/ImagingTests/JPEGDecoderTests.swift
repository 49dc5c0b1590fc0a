import Testing
@testable import Imaging
import TestSupport

struct JPEGDecoderTests {
    @Test func baselineRoundTrip() throws {
        let image = TestImages.pattern(width: 64, height: 48)
        let jpeg = try JPEGEncoder.encode(image, quality: 95, subsampling: .none444)
        let decoded = try ImageDecoder().decode(jpeg)
        #expect(decoded.format == .jpeg)
        #expect(decoded.image.width == 64 && decoded.image.height == 48)
        #expect(TestImages.meanAbsoluteDifference(decoded.image, image) < 2)
    }

    @Test func progressiveJPEG() throws {
        let image = TestImages.pattern(width: 80, height: 40)
        let jpeg = try JPEGEncoder.encode(image, quality: 95, subsampling: .quarter420, progressive: true)
        // SOF2 marks a progressive frame.
        #expect(zip(jpeg, jpeg.dropFirst()).contains { $0 == 0xFF && $1 == 0xC2 })
        let decoded = try JPEGDecoder.decode(jpeg)
        #expect(TestImages.meanAbsoluteDifference(decoded, image) < 3)
    }

    @Test func grayscaleJPEGBecomesGrayRGB() throws {
        let gray: [UInt8] = (0..<(32 * 24)).map { (index: Int) -> UInt8 in UInt8((index * 7) % 128 + 64) }
        let jpeg = try JPEGEncoder.encodeGrayscale(gray, width: 32, height: 24, quality: 100)
        #expect(try JPEGDecoder.readHeader(jpeg).isGrayscale)
        let decoded = try JPEGDecoder.decode(jpeg)
        for index in 0..<(32 * 24) {
            let (r, g, b) = (decoded.pixels[index * 3], decoded.pixels[index * 3 + 1], decoded.pixels[index * 3 + 2])
            #expect(r == g && g == b)
        }
    }

    /// libjpeg-turbo's own RGB→CMYK convention (inverted, Adobe): c = 255·(1 − (1 − r/255 − k′)/(1 − k′)) etc.
    static func referenceCMYK(_ image: RGBImage) -> [UInt8] {
        var out: [UInt8] = []
        for index in 0..<(image.width * image.height) {
            let r = Double(image.pixels[index * 3]) / 255
            let g = Double(image.pixels[index * 3 + 1]) / 255
            let b = Double(image.pixels[index * 3 + 2]) / 255
            let k = min(1 - r, 1 - g, 1 - b)
            func ink(_ v: Double) -> UInt8 { k >= 1 ? 255 : UInt8((255 - (1 - v - k) / (1 - k) * 255).rounded()) }
            out += [ink(r), ink(g), ink(b), UInt8(((1 - k) * 255).rounded())]
        }
        return out
    }

    @Test func cmykJPEGIsConvertedToRGB() throws {
        let image = TestImages.pattern(width: 48, height: 32)
        let jpeg = try JPEGEncoder.encodeCMYK(Self.referenceCMYK(image), width: 48, height: 32, quality: 100)
        #expect(try JPEGDecoder.readHeader(jpeg).isCMYK)
        let decoded = try ImageDecoder().decode(jpeg)
        #expect(TestImages.meanAbsoluteDifference(decoded.image, image) < 3)
    }

    /// Builds the stored pixels for an orientation from the EXIF specification's table of where the stored
    /// 0th row and 0th column appear in the displayed image; independent of `EXIFOrientation.apply`.
    static func stored(_ upright: RGBImage, orientation: Int) -> RGBImage {
        // (0th row is at: top/bottom/left/right, 0th column is at: left/right/top/bottom)
        let table = [1: ("top", "left"), 2: ("top", "right"), 3: ("bottom", "right"), 4: ("bottom", "left"),
                     5: ("left", "top"), 6: ("right", "top"), 7: ("right", "bottom"), 8: ("left", "bottom")]
        let (rowSide, columnSide) = table[orientation]!
        let transposed = orientation >= 5
        let width = transposed ? upright.height : upright.width
        let height = transposed ? upright.width : upright.height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for row in 0..<height {
            for column in 0..<width {
                let (dx, dy): (Int, Int)
                if transposed {
                    // Stored rows run along displayed columns; stored columns along displayed rows.
                    dx = rowSide == "left" ? row : upright.width - 1 - row
                    dy = columnSide == "top" ? column : upright.height - 1 - column
                } else {
                    dy = rowSide == "top" ? row : upright.height - 1 - row
                    dx = columnSide == "left" ? column : upright.width - 1 - column
                }
                let (r, g, b) = upright[dx, dy]
                pixels[(row * width + column) * 3] = r
                pixels[(row * width + column) * 3 + 1] = g
                pixels[(row * width + column) * 3 + 2] = b
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    @Test(arguments: 1...8, [false, true])
    func exifOrientationGivesUprightPixels(orientation: Int, bigEndian: Bool) throws {
        let upright = TestImages.pattern(width: 64, height: 40)
        let uprightDecoded = try JPEGDecoder.decode(try JPEGEncoder.encode(upright, quality: 95, subsampling: .none444))
        let stored = Self.stored(upright, orientation: orientation)
        let jpeg = TestImages.withEXIFOrientation(
            try JPEGEncoder.encode(stored, quality: 95, subsampling: .none444), orientation: orientation,
            bigEndian: bigEndian)
        #expect(EXIFOrientation.read(fromJPEG: jpeg).rawValue == orientation)
        let decoded = try ImageDecoder().decode(jpeg)
        #expect(decoded.image.width == 64 && decoded.image.height == 40)
        #expect(decoded.originalWidth == 64 && decoded.originalHeight == 40)
        #expect(TestImages.meanAbsoluteDifference(decoded.image, uprightDecoded) < 2.5)
    }

    @Test func dctScalingPicksTheSmallestCoveringFactor() throws {
        let jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 1600, height: 1200), quality: 80)
        let decoded = try JPEGDecoder.decode(jpeg, minimumShortSide: 224)
        // 1/4 gives 400×300 (short side 300 ≥ 224); 1/8 would give 150 < 224, and 3/8 is larger than needed.
        #expect(decoded.width == 400 && decoded.height == 300)
        let full = try JPEGDecoder.decode(jpeg, minimumShortSide: 2000)
        #expect(full.width == 1600 && full.height == 1200)
    }

    @Test func truncatedJPEGIsATypedError() throws {
        let jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 128, height: 128), quality: 90)
        for cut in [jpeg.count / 2, jpeg.count - 10, 200] {
            #expect {
                try ImageDecoder().decode(Array(jpeg.prefix(cut)))
            } throws: { error in
                guard case .corrupt(format: .jpeg, let message) = error as? ImagingError else { return false }
                return !message.isEmpty
            }
        }
    }

    @Test func hugeDeclaredSizeIsRejectedBeforeAllocation() throws {
        var jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 16, height: 16), quality: 90)
        // Patch the SOF0 frame header's height and width to 60000.
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 })
        jpeg[sof + 5] = 0xEA; jpeg[sof + 6] = 0x60
        jpeg[sof + 7] = 0xEA; jpeg[sof + 8] = 0x60
        #expect(throws: ImagingError.tooManyPixels(width: 60000, height: 60000, limit: 50_000_000)) {
            try ImageDecoder().decode(jpeg)
        }
    }

    @Test func garbageEXIFIsIgnoredSafely() throws {
        let jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 16, height: 16))
        // An APP1 segment that claims an IFD far outside itself.
        let payload = Array("Exif".utf8) + [0, 0, 0x49, 0x49, 42, 0, 0xFF, 0xFF, 0xFF, 0x7F]
        let segment: [UInt8] = [0xFF, 0xE1, 0, UInt8(payload.count + 2)] + payload
        let broken = Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
        #expect(EXIFOrientation.read(fromJPEG: broken) == .up)
        #expect(try ImageDecoder().decode(broken).image.width == 16)
    }
}

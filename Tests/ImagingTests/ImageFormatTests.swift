import Testing
@testable import Imaging
import TestSupport

struct ImageFormatTests {
    static let samples: [(String, [UInt8], ImageFormat)] = [
        ("pdf", Array("%PDF-1.7\n".utf8), .pdf),
        ("svg", Array("  <?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>".utf8), .svg),
        ("svg-bare", Array("<svg width=\"10\"></svg>".utf8), .svg),
        ("text", Array("hello world".utf8), .unknown),
    ]

    @Test(arguments: samples.map { $0.0 })
    func unsupportedFormatsAreNamed(name: String) throws {
        let (_, bytes, expected) = Self.samples.first { $0.0 == name }!
        #expect(ImageFormat.detect(bytes) == expected)
        #expect(throws: ImagingError.unsupportedFormat(expected)) { try ImageDecoder().decode(bytes) }
    }

    @Test func jpegAndPNGAreDetected() throws {
        let jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 8, height: 8))
        #expect(ImageFormat.detect(jpeg) == .jpeg)
        let png = PNGWriter(colorType: .gray).encode(width: 1, height: 1, samples: [7])
        #expect(ImageFormat.detect(png) == .png)
    }

    static let headersWithoutImages: [(String, [UInt8], ImageFormat)] = [
        ("webp", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8), .webp),
        ("gif", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0], .gif),
        ("gif-terminated", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0, 0x3B], .gif),
        ("heic", [0, 0, 0, 24] + Array("ftypheic".utf8) + [0, 0, 0, 0], .heic),
        ("avif", [0, 0, 0, 24] + Array("ftypavif".utf8) + [0, 0, 0, 0], .avif),
        ("tiff", [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0], .tiff),
        ("tiff-be", [0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8], .tiff),
    ]

    @Test(arguments: headersWithoutImages.map { $0.0 })
    func aHeaderWithoutAnImageIsCorruptInItsFormat(name: String) {
        let (_, bytes, expected) = Self.headersWithoutImages.first { $0.0 == name }!
        #expect(ImageFormat.detect(bytes) == expected)
        do {
            _ = try ImageDecoder().decode(bytes)
            Issue.record("decoded \(name) without an image")
        } catch ImagingError.corrupt(let format, _) {
            #expect(format == expected)
        } catch {
            Issue.record("\(name): \(error)")
        }
    }

    @Test func emptyAndRandomBytesAreRejected() {
        #expect(throws: ImagingError.empty) { try ImageDecoder().decode([]) }
        #expect(throws: ImagingError.unsupportedFormat(.unknown)) {
            try ImageDecoder().decode(TestImages.randomBytes(count: 4096, seed: 1).map { $0 == 0xFF ? 0 : $0 })
        }
    }

    @Test func randomBytesBehindAJPEGMarkerAreCorrupt() {
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF] + TestImages.randomBytes(count: 4096, seed: 2)
        #expect {
            try ImageDecoder().decode(bytes)
        } throws: { error in
            guard case .corrupt(format: .jpeg, let message) = error as? ImagingError else { return false }
            return !message.isEmpty
        }
    }

    @Test func oversizedInputIsRejectedBeforeDecoding() throws {
        let jpeg = try JPEGEncoder.encode(TestImages.pattern(width: 16, height: 16))
        let decoder = ImageDecoder(limits: DecodingLimits(maxPixels: 1_000_000, maxBytes: 100))
        #expect(throws: ImagingError.self) { try decoder.decode(jpeg) }
    }
}

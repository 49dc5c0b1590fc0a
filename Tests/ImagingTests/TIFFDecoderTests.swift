import Foundation
import Testing
@testable import Imaging
import TestSupport

/// TIFFs written by Pillow (`scripts/make_format_fixtures.py`): compressions, sample formats, alpha, 16 bits, a
/// second page and the orientation tag, compared with the pixels Pillow decodes them to (or, where Pillow's own
/// conversion is not the reference, with values worked out in the script).
@Suite(.serialized)
struct TIFFDecoderTests {
    @Test func everyVariantDecodesToItsReference() throws {
        let (directory, all) = try GIFDecoderTests.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixtures = all.filter { $0.file.hasSuffix(".tiff") }
        #expect(fixtures.count == 11)
        // CMYK: libtiff truncates (255 − c)(255 − k)/255 where Pillow rounds; alpha and 16 bits: libtiff's own
        // rounding against the script's. All within 1.
        let tolerances = ["tiff-cmyk": 1, "tiff-rgba": 1, "tiff-gray16": 1]
        for fixture in fixtures {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(fixture.file)))
            let expected = Array(try Data(contentsOf: directory.appendingPathComponent("\(fixture.name).rgb")))
            let decoded = try ImageDecoder().decode(bytes)
            #expect(decoded.format == .tiff && decoded.image.width == fixture.width && decoded.image.height == fixture.height,
                    "\(fixture.name): \(decoded.image.width)×\(decoded.image.height)")
            let worst = zip(decoded.image.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= tolerances[fixture.name, default: 0], "\(fixture.name): differs by up to \(worst)")
        }
    }

    @Test func truncatedAndOversizedFilesAreTypedErrors() throws {
        let (directory, _) = try GIFDecoderTests.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let bytes = Array(try Data(contentsOf: directory.appendingPathComponent("tiff-rgb-lzw.tiff")))
        TruncatedFiles.expectRefused(bytes, cuts: [bytes.count - 40, bytes.count / 2, 100, 9], format: .tiff)
        let small = DecodingLimits(maxPixels: 1_000)
        #expect(throws: ImagingError.tooManyPixels(width: 41, height: 27, limit: 1_000)) { try TIFFDecoder.decode(bytes, limits: small) }
    }
}

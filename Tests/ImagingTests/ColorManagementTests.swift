import Foundation
import Testing
@testable import Imaging
import TestSupport

/// Files with embedded ICC profiles, written by Pillow, heif-enc and avifenc (`scripts/make_colour_fixtures.py`):
/// each decodes to the sRGB pixels Pillow's ImageCms converts it to; untagged files and sRGB profiles pass unchanged.
@Suite(.serialized)
struct ColorManagementTests {
    typealias Fixture = GIFDecoderTests.Fixture  // the same manifest format

    static let photo = ExternalTool.repositoryRoot.appendingPathComponent("Tests/InferenceTests/Fixtures/coffee.jpg")

    static func makeFixtures() throws -> (URL, [Fixture]) {
        let directory = try ExternalTool.scratchDirectory()
        let script = ExternalTool.repositoryRoot.appendingPathComponent("scripts/make_colour_fixtures.py").path
        try ExternalTool.testPython.run([script, photo.path, directory.path])
        let fixtures = try JSONDecoder().decode([Fixture].self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
        return (directory, fixtures)
    }

    static func bytes(_ directory: URL, _ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(file)))
    }

    static func meanDifference(_ a: [UInt8], _ b: [UInt8]) -> Double {
        precondition(a.count == b.count)
        return Double(zip(a, b).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.count)
    }

    @Test func taggedFilesDecodeToPillowsSRGB() throws {
        let (directory, fixtures) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(fixtures.count == 7)
        // Both sides run lcms (Debian's 2.14 here, Pillow's bundled 2.19 there) with the perceptual intent on the
        // same samples: the matrix-shaper profiles agree exactly (1 level allowed), the CMYK profile is a large LUT
        // that the two versions interpolate up to 2 levels apart (3 allowed).
        let tolerances = ["cmyk-jpg": (3, 0.4), "cmyk-tiff": (3, 0.4)]
        for fixture in fixtures {
            let decoded = try ImageDecoder().decode(Self.bytes(directory, fixture.file))
            let expected = try Self.bytes(directory, "\(fixture.name).rgb")
            #expect(decoded.image.width == fixture.width && decoded.image.height == fixture.height, "\(fixture.name)")
            let worst = zip(decoded.image.pixels, expected).map { abs(Int($0) - Int($1)) }.max() ?? 0
            let mean = Self.meanDifference(decoded.image.pixels, expected)
            let (maximum, meanLimit) = tolerances[fixture.name, default: (1, 0.1)]
            #expect(worst <= maximum && mean <= meanLimit, "\(fixture.name): up to \(worst), mean \(mean)")
        }
    }

    @Test func heicAndAVIFProfilesAreApplied() throws {
        let (directory, _) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let expected = try Self.bytes(directory, "p3-png.rgb")
        let untagged = try ImageDecoder().decode(Self.bytes(directory, "p3-untagged.png")).image.pixels
        let unconverted = Self.meanDifference(untagged, expected)
        #expect(unconverted > 4, "the P3 numbers read as sRGB differ from the sRGB rendering by only \(unconverted)")
        for file in ["p3.heic", "p3.avif"] {
            let decoded = try ImageDecoder().decode(Self.bytes(directory, file))
            let mean = Self.meanDifference(decoded.image.pixels, expected)
            // Lossy at quality 90 / quantizer 10–20 (measured 2.1 and 2.3 levels on average), against 14.6 unconverted.
            #expect(mean < 3.5 && mean < unconverted / 3, "\(file): mean difference \(mean), \(unconverted) without conversion")
        }
    }

    @Test func untaggedFilesAndSRGBProfilesAreLeftAlone() throws {
        let (directory, _) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let srgbProfile = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/color/icc/sRGB.icc")))
        #expect(ColorTransform(iccProfile: srgbProfile, input: .rgb)?.isIdentity == true)
        let p3Profile = try Self.bytes(directory, "display-p3.icc")
        #expect(ColorTransform(iccProfile: p3Profile, input: .rgb)?.isIdentity == false)
        // A profile of another colour space than the pixels', or one lcms cannot parse, is no transform at all.
        #expect(ColorTransform(iccProfile: p3Profile, input: .cmyk) == nil)
        #expect(ColorTransform(iccProfile: Array(p3Profile.prefix(200)), input: .rgb) == nil)

        // The same JPEG with its profile's signature broken decodes as the untagged copy does (as browsers do).
        var broken = try Self.bytes(directory, "p3.jpg")
        let signature = Array("acsp".utf8)
        let at = try #require((0..<(broken.count - 4)).first { broken[$0..<($0 + 4)].elementsEqual(signature) })
        broken[at] = UInt8(ascii: "x")
        let untagged = try ImageDecoder().decode(Self.bytes(directory, "p3-untagged.jpg")).image
        #expect(try ImageDecoder().decode(broken).image == untagged)
        #expect(try ImageDecoder().decode(Self.bytes(directory, "p3.jpg")).image != untagged)
        // An untagged PNG decodes to its stored numbers.
        let stored = try ImageDecoder().decode(Self.bytes(directory, "p3-untagged.png")).image
        let tagged = try ImageDecoder().decode(Self.bytes(directory, "p3.png")).image
        #expect(Self.meanDifference(stored.pixels, tagged.pixels) > 4)
    }

    /// Matrix/TRC profiles convert through tables of our own: checked here against lcms on random pixels (the
    /// transform itself checks a 32³ grid when it is made). The CMYK profile is a LUT profile and stays with lcms.
    @Test func matrixProfilesUseTablesThatAgreeWithLittleCMS() throws {
        let (directory, _) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        var random = SeededRandom(seed: 19)
        let pixels = (0..<(200_000 * 3)).map { _ in UInt8.random(in: 0...255, using: &random) }
        for path in [directory.appendingPathComponent("display-p3.icc").path, "/usr/share/color/icc/compatibleWithAdobeRGB1998.icc"] {
            let transform = try #require(ColorTransform(iccProfile: Array(try Data(contentsOf: URL(fileURLWithPath: path))), input: .rgb))
            #expect(transform.usesTables, "\(path)")
            let (tables, lcms) = pixels.withUnsafeBytes {
                (transform.convert($0, count: 200_000), transform.convertThroughLittleCMS($0, count: 200_000))
            }
            let worst = zip(tables, lcms).map { abs(Int($0) - Int($1)) }.max() ?? 0
            #expect(worst <= 1, "\(path): up to \(worst) levels from lcms")
        }
        let cmyk = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/color/icc/ghostscript/default_cmyk.icc")))
        #expect(try #require(ColorTransform(iccProfile: cmyk, input: .cmyk)).usesTables == false)
    }

    @Test func jpegProfileSegmentsAreJoinedInTheirOrder() {
        func segment(_ number: UInt8, of count: UInt8, _ data: [UInt8]) -> [UInt8] {
            let payload = Array("ICC_PROFILE".utf8) + [0, number, count] + data
            let length = payload.count + 2
            return [0xFF, 0xE2, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
        }
        let start: [UInt8] = [0xFF, 0xD8], scan: [UInt8] = [0xFF, 0xDA, 0, 2]
        let reversed = start + segment(2, of: 2, [4, 5, 6]) + segment(1, of: 2, [1, 2, 3]) + scan
        #expect(EmbeddedColorProfile.inJPEG(reversed, limit: 100) == [1, 2, 3, 4, 5, 6])
        #expect(EmbeddedColorProfile.inJPEG(reversed, limit: 5) == nil)
        #expect(EmbeddedColorProfile.inJPEG(start + segment(1, of: 2, [1, 2, 3]) + scan, limit: 100) == nil)
        #expect(EmbeddedColorProfile.inJPEG(start + segment(1, of: 1, [1]) + segment(1, of: 1, [2]) + scan, limit: 100) == nil)
        #expect(EmbeddedColorProfile.inJPEG(start + segment(0, of: 1, [1]) + scan, limit: 100) == nil)
    }

    @Test func pngProfilesInflateWithinTheirLimit() throws {
        let (directory, _) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = try Self.bytes(directory, "p3.png")
        let profile = try Self.bytes(directory, "display-p3.icc")
        #expect(EmbeddedColorProfile.inPNG(png, limit: 1 << 20) == profile)
        #expect(EmbeddedColorProfile.inPNG(png, limit: profile.count - 1) == nil)
        #expect(EmbeddedColorProfile.inPNG(try Self.bytes(directory, "p3-untagged.png"), limit: 1 << 20) == nil)
        #expect(EmbeddedColorProfile.inflate([0x78, 0x9C, 1, 2, 3], limit: 100) == nil)
        #expect(EmbeddedColorProfile.inWebP(try Self.bytes(directory, "p3.webp"), limit: 1 << 20) == profile)
    }
}

import Foundation
import Testing
@testable import Imaging
import TestSupport

/// GIFs written by Pillow (`scripts/make_format_fixtures.py`, an encoder independent of giflib), decoded by us
/// and compared exactly with the pixels Pillow decodes them to: palette, interlaced, transparent, animated (first
/// frame) and a first frame smaller than the screen.
@Suite(.serialized)
struct GIFDecoderTests {
    struct Fixture: Decodable {
        let name: String
        let file: String
        let width: Int
        let height: Int
    }

    /// Runs the fixture script into a fresh folder and returns it with the manifest's entries.
    static func makeFixtures() throws -> (URL, [Fixture]) {
        let directory = try ExternalTool.scratchDirectory()
        try ExternalTool.testPython.run([script, directory.path])
        let fixtures = try JSONDecoder().decode([Fixture].self, from: Data(contentsOf: directory.appendingPathComponent("manifest.json")))
        return (directory, fixtures)
    }

    static var script: String { ExternalTool.repositoryRoot.appendingPathComponent("scripts/make_format_fixtures.py").path }

    @Test func pillowsGIFsDecodeToPillowsPixels() throws {
        let (directory, all) = try Self.makeFixtures()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixtures = all.filter { $0.file.hasSuffix(".gif") }
        #expect(Set(fixtures.map(\.name)) == ["palette", "interlaced", "transparent", "animated", "offset"])
        for fixture in fixtures {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(fixture.file)))
            let expected = Array(try Data(contentsOf: directory.appendingPathComponent("\(fixture.name).rgb")))
            let decoded = try ImageDecoder().decode(bytes)
            #expect(decoded.format == .gif && decoded.originalWidth == fixture.width && decoded.originalHeight == fixture.height)
            #expect(decoded.image == RGBImage(width: fixture.width, height: fixture.height, pixels: expected), "\(fixture.name)")
        }
        // The transparent fixture really has white in it, and the offset one a white border, so both paths ran.
        let offset = try ImageDecoder().decode(Array(Data(contentsOf: directory.appendingPathComponent("offset.gif")))).image
        #expect(offset[0, 0] == (255, 255, 255) && offset[12, 9] != (255, 255, 255))
    }

    @Test func interlacedRowsArriveInTheirFourPasses() {
        #expect(GIFDecoder.rowOrder(height: 10, interlaced: true) == [0, 8, 4, 2, 6, 1, 3, 5, 7, 9])
        #expect(GIFDecoder.rowOrder(height: 3, interlaced: false) == [0, 1, 2])
        for height in 1..<40 { #expect(GIFDecoder.rowOrder(height: height, interlaced: true).sorted() == Array(0..<height)) }
    }

    @Test func truncatedAndOversizedFilesAreTypedErrors() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ExternalTool.testPython.run([Self.script, directory.path])
        let bytes = Array(try Data(contentsOf: directory.appendingPathComponent("palette.gif")))
        TruncatedFiles.expectRefused(bytes, cuts: [bytes.count - 10, bytes.count / 2, 800, 13, 8], format: .gif)
        // A screen of 65535×65535 is refused before anything is allocated for it; so is a frame that large.
        var huge = bytes
        huge[6] = 0xFF; huge[7] = 0xFF; huge[8] = 0xFF; huge[9] = 0xFF
        #expect(throws: ImagingError.tooManyPixels(width: 65535, height: 65535, limit: DecodingLimits().maxPixels)) {
            try ImageDecoder().decode(huge)
        }
        let small = DecodingLimits(maxPixels: 1_000)
        #expect(throws: ImagingError.tooManyPixels(width: 96, height: 64, limit: 1_000)) { try GIFDecoder.decode(bytes, limits: small) }
    }
}

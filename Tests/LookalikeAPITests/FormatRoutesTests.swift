import Foundation
import Testing
import TestSupport

/// Formats beyond JPEG and PNG through the API with the real model: a copy made by an independent encoder finds
/// the stored original first.
@Suite(.serialized)
struct FormatRoutesTests {
    static let cwebp = ExternalTool("cwebp", package: "webp")

    static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InferenceTests/Fixtures/\(name)")
    }

    @Test func copiesInOtherFormatsFindTheirOriginals() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let coffee = Array(try Data(contentsOf: Self.fixture("coffee.jpg")))
        let cat = Array(try Data(contentsOf: Self.fixture("chelsea.png")))
        #expect(try client.request("PUT", "/v1/images/coffee", body: coffee).status == 201)
        #expect(try client.request("PUT", "/v1/images/cat", body: cat).status == 201)
        for seed in 0..<6 {
            #expect(try client.request("PUT", "/v1/images/scene\(seed)", body: try APITestHarness.jpeg(seed: UInt64(60 + seed))).status == 201)
        }
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lossy = directory.appendingPathComponent("coffee.webp"), lossless = directory.appendingPathComponent("cat.webp")
        try Self.cwebp.run(["-quiet", "-q", "75", Self.fixture("coffee.jpg").path, "-o", lossy.path])
        try Self.cwebp.run(["-quiet", "-lossless", Self.fixture("chelsea.png").path, "-o", lossless.path])

        let search = try client.request("POST", "/v1/search?k=3", body: Array(try Data(contentsOf: lossy)))
        let hits = search.json["results"] as? [[String: Any]] ?? []
        #expect(search.status == 200 && hits.first?["id"] as? String == "coffee", "\(search.text)")
        #expect(((hits.first?["score"] as? NSNumber)?.doubleValue ?? 0) > 0.95, "\(search.text)")

        // Stored as WebP: its record says so, and the PNG it was made from is its near-duplicate.
        let stored = try client.request("PUT", "/v1/images/cat-webp", body: Array(try Data(contentsOf: lossless)))
        #expect(stored.status == 201 && stored.json["format"] as? String == "webp", "\(stored.text)")
        #expect((stored.json["duplicates"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == "cat" }, "\(stored.text)")
        #expect(try client.request("GET", "/v1/images/cat-webp/thumbnail").status == 200)

        // Copies Pillow writes: a GIF of the JPEG (256 colours), a BMP of the PNG and a TIFF of the JPEG each find their
        // original first.
        for (fixture, copy, original) in [("coffee.jpg", "coffee.gif", "coffee"), ("chelsea.png", "cat.bmp", "cat"),
                                              ("coffee.jpg", "coffee.tiff", "coffee")] {
            let file = directory.appendingPathComponent(copy)
            try ExternalTool.testPython.run(["-c", "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2])",
                                             Self.fixture(fixture).path, file.path])
            let found = try client.request("POST", "/v1/search?k=3", body: Array(try Data(contentsOf: file)))
            let hits = found.json["results"] as? [[String: Any]] ?? []
            #expect(found.status == 200 && hits.first?["id"] as? String == original, "\(copy): \(found.text)")
        }
        // HEIC and AVIF copies of the JPEG, from libheif's and libavif's encoders.
        for (tool, package, copy) in [("heif-enc", "libheif-examples", "coffee.heic"), ("avifenc", "libavif-bin", "coffee.avif")] {
            let file = directory.appendingPathComponent(copy)
            let flags = tool == "avifenc" ? ["-j", "1", Self.fixture("coffee.jpg").path, file.path] : ["-q", "75", Self.fixture("coffee.jpg").path, "-o", file.path]
            try ExternalTool(tool, package: package).run(flags)
            let found = try client.request("POST", "/v1/search?k=3", body: Array(try Data(contentsOf: file)))
            let hits = found.json["results"] as? [[String: Any]] ?? []
            #expect(found.status == 200 && hits.first?["id"] as? String == "coffee", "\(copy): \(found.text)")
        }
        // A run-length compressed bitmap is a 415 that names the variant.
        let rle = Array("BM".utf8) + [0x3A, 0, 0, 0, 0, 0, 0, 0, 0x36, 0, 0, 0, 40, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 8, 0, 1, 0, 0, 0]
            + [UInt8](repeating: 0, count: 20)
        let refused = try client.request("POST", "/v1/search", body: rle)
        #expect(refused.status == 415 && (refused.json["detail"] as? String)?.contains("RLE8") == true, "\(refused.text)")

        // A truncated WebP is a 422 naming the format; nothing stored changes.
        let truncated = try client.request("PUT", "/v1/images/broken", body: Array(try Data(contentsOf: lossy)).prefix(300).map { $0 })
        #expect(truncated.status == 422 && (truncated.json["detail"] as? String)?.contains("WEBP") == true, "\(truncated.text)")
        #expect(try harness.service.statistics().images == 9)
    }

    /// A wide-gamut photo and its sRGB rendering embed alike once the profile is applied (the bar is cosine
    /// ≥ 0.995); the same P3 numbers read as sRGB, as before colour management, score lower.
    @Test func aDisplayP3PhotoEmbedsLikeItsSRGBRendering() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ExternalTool.testPython.run([ExternalTool.repositoryRoot.appendingPathComponent("scripts/make_colour_fixtures.py").path,
                                         Self.fixture("coffee.jpg").path, directory.path])
        func file(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.appendingPathComponent(name))) }
        #expect(try client.request("PUT", "/v1/images/srgb-png", body: file("srgb.png")).status == 201)
        let scenes = try (0..<4).map { try APITestHarness.jpeg(seed: UInt64(80 + $0)) }
        for (index, scene) in scenes.enumerated() {
            #expect(try client.request("PUT", "/v1/images/scene\(index)", body: scene).status == 201)
        }
        func score(_ query: String) throws -> Double {
            let found = try client.request("POST", "/v1/search?k=1", body: file(query))
            let hit = (found.json["results"] as? [[String: Any]])?.first
            #expect(found.status == 200 && hit?["id"] as? String == "srgb-png", "\(query): \(found.text)")
            return (hit?["score"] as? NSNumber)?.doubleValue ?? 0
        }
        var scores: [String: Double] = [:]
        for query in ["p3.png", "p3-untagged.png", "p3.jpg", "p3-untagged.jpg", "srgb.jpg", "p3.webp", "p3.tiff", "p3.heic",
                      "p3.avif", "adobe.jpg", "cmyk.jpg", "cmyk.tiff"] {
            scores[query] = try score(query)
        }
        print("colour management, cosine to the sRGB PNG: " + scores.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect(scores["p3.png"]! >= 0.995, "\(scores)")
        #expect(scores["p3.png"]! > scores["p3-untagged.png"]!, "\(scores)")
        // A JPEG at quality 95 loses what its codec loses (its sRGB twin: about 0.997, the P3 one a little more,
        // quantised in the wider space), and the profile still helps it as much as the lossless copy.
        #expect(scores["p3.jpg"]! >= 0.99 && scores["srgb.jpg"]! >= 0.99, "\(scores)")
        #expect(scores["p3.jpg"]! > scores["p3-untagged.jpg"]! + 0.004, "\(scores)")
    }
}

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
}

import Foundation
import Imaging
import Testing
import TestSupport

/// `box=` on search by upload, with the real model: a composite whose left and right halves are two stored
/// photos finds each photo from its half, in pixels and in fractions, also through an EXIF rotation.
@Suite(.serialized)
struct RegionSearchTests {
    static let side = 288

    /// A photo from the model's fixtures, its centre square resized to `side`×`side`.
    static func photo(_ name: String) throws -> RGBImage {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("InferenceTests/Fixtures/\(name)")
        let image = try ImageDecoder().decode(Array(try Data(contentsOf: url))).image
        let square = min(image.width, image.height)
        return Resampler().resize(image, region: .init(x: (image.width - square) / 2, y: (image.height - square) / 2,
                                                       width: square, height: square), width: side, height: side)
    }

    static func png(_ image: RGBImage) -> [UInt8] {
        PNGWriter(colorType: .rgb).encode(width: image.width, height: image.height, samples: image.pixels.map(Int.init))
    }

    /// `left` and `right` side by side.
    static func sideBySide(_ left: RGBImage, _ right: RGBImage) -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<left.height {
            pixels += left.pixels[(y * left.width * 3)..<((y + 1) * left.width * 3)]
            pixels += right.pixels[(y * right.width * 3)..<((y + 1) * right.width * 3)]
        }
        return RGBImage(width: left.width + right.width, height: left.height, pixels: pixels)
    }

    /// The pixels stored under EXIF orientation 6 (shown turned 90° clockwise) for `upright`.
    static func storedForOrientation6(_ upright: RGBImage) -> RGBImage {
        let width = upright.height, height = upright.width
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let (r, g, b) = upright[height - 1 - y, x]
                pixels[(y * width + x) * 3] = r
                pixels[(y * width + x) * 3 + 1] = g
                pixels[(y * width + x) * 3 + 2] = b
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func results(_ response: HTTPTestClient.Response) -> [(id: String, score: Double)] {
        (response.json["results"] as? [[String: Any]] ?? []).compactMap { result in
            guard let id = result["id"] as? String, let score = (result["score"] as? NSNumber)?.doubleValue else { return nil }
            return (id, score)
        }
    }

    @Test func eachHalfFindsItsPhoto() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let cat = try Self.photo("chelsea.png"), coffee = try Self.photo("coffee.jpg")
        #expect(try client.request("PUT", "/v1/images/cat", body: Self.png(cat)).status == 201)
        #expect(try client.request("PUT", "/v1/images/coffee", body: Self.png(coffee)).status == 201)
        for seed in 0..<6 {
            #expect(try client.request("PUT", "/v1/images/scene\(seed)", body: try APITestHarness.jpeg(seed: UInt64(40 + seed))).status == 201)
        }
        let composite = Self.sideBySide(cat, coffee)
        let lossless = Self.png(composite)
        let side = Self.side

        // Pixels and fractions; the PNG half holds the stored photo's exact pixels, so its vector is the same.
        for (box, expected) in [("0,0,\(side),\(side)", "cat"), ("\(side),0,\(side),\(side)", "coffee"),
                                ("0,0,0.5,1", "cat"), ("0.5,0,0.5,1", "coffee")] {
            let response = try client.request("POST", "/v1/search?k=3&exact=true&box=\(box)", body: lossless)
            let hits = Self.results(response)
            #expect(response.status == 200 && hits.first?.id == expected, "box \(box): \(response.text)")
            #expect((hits.first?.score ?? 0) > 0.9999, "box \(box): \(hits.first?.score ?? 0)")
        }
        // Without a box the model sees the centre square: both halves, neither photo as stored.
        let whole = Self.results(try client.request("POST", "/v1/search?k=3&exact=true", body: lossless))
        #expect((whole.first?.score ?? 1) < 0.99, "\(whole)")

        // A JPEG stored turned, with EXIF orientation 6: boxes are in the upright image's pixels.
        let turned = TestImages.withEXIFOrientation(
            try JPEGEncoder.encode(Self.storedForOrientation6(composite), quality: 95), orientation: 6)
        for (box, expected) in [("0,0,\(side),\(side)", "cat"), ("0.5,0,0.5,1", "coffee")] {
            let hits = Self.results(try client.request("POST", "/v1/search?k=3&exact=true&box=\(box)", body: turned))
            #expect(hits.first?.id == expected && (hits.first?.score ?? 0) > 0.95, "turned, box \(box): \(hits)")
        }

        // Boxes that do not fit this image: 422 with the reason; not boxes at all: 400. Nothing stored changes.
        let refused: [(box: String, status: Int, detail: String)] = [
            ("0,0,\(2 * side + 1),\(side)", 422, "reaches past the \(2 * side)×\(side) image"),
            ("\(side),1,\(side),\(side)", 422, "reaches past"),
            ("0.6,0,0.5,1", 422, "x + w and y + h must be ≤ 1"),
            ("0,0,10,10", 422, "each side must be at least 16"),
            ("0,0,0.01,1", 422, "each side must be at least 16"),
            ("1.5,0,20,20", 422, "must be whole numbers"),
            ("0,0,0,5", 422, "each side must be at least 16"),
            ("-1,0,20,20", 400, "four numbers"),
            ("1,2,3", 400, "four numbers"),
            ("a,b,c,d", 400, "four numbers"),
            ("0,0,nan,5", 400, "four numbers"),
            ("1e2,0,20,20", 400, "four numbers"),
            ("0,0,1234567890,5", 400, "four numbers"),
        ]
        for (box, status, detail) in refused {
            let response = try client.request("POST", "/v1/search?box=\(box)", body: lossless)
            #expect(response.status == status, "box \(box): \(response.text)")
            #expect((response.json["detail"] as? String)?.contains(detail) == true, "box \(box): \(response.text)")
            // The document's pattern says the same as the parser.
            #expect((box.range(of: ImageRegion.syntax, options: .regularExpression) != nil) == (status == 422), "box \(box)")
        }
        #expect(try harness.service.statistics().images == 8)
    }
}

import Foundation
import HTTPServer
import Imaging
import Testing
import TestSupport

/// One hostile or broken request, sent on a fresh connection, and the status it must get.
struct HostileCase: CustomStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    let status: Int
    /// Whether the request is valid and stores one image.
    var stores: Bool { (200..<300).contains(status) && name.hasPrefix("upload") }
    var description: String { name }
}

/// Every case goes over a real socket to a real server with the real model, API keys configured; after each case
/// the server must still answer, and at the end the image stored before the attack is intact and found at rank 1,
/// and the database and the index agree on exactly the images the valid cases stored.
@Suite struct HostileInputTests {
    static let token = "hostile-test-key-0123456789"
    static let authorization = "Authorization: Bearer \(token)\r\n"

    static func request(
        _ method: String, _ target: String, headers: String = authorization, body: [UInt8] = []
    ) -> [UInt8] {
        Array("\(method) \(target) HTTP/1.1\r\nHost: t\r\n\(headers)Content-Length: \(body.count)\r\n\r\n".utf8) + body
    }

    static func multipart(_ parts: [(name: String, body: [UInt8])], boundary: String = "hostile") -> [UInt8] {
        var body: [UInt8] = []
        for part in parts {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\"".utf8)
            body += Array((part.name == "image" ? "; filename=\"x.jpg\"" : "").utf8) + Array("\r\n\r\n".utf8)
            body += part.body + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\r\n".utf8)
    }

    static func multipartUpload(_ parts: [(name: String, body: [UInt8])], contentType: String? = nil) -> [UInt8] {
        let type = contentType ?? "multipart/form-data; boundary=hostile"
        return request("POST", "/v1/images", headers: authorization + "Content-Type: \(type)\r\n", body: multipart(parts))
    }

    /// A JPEG whose start-of-frame claims `width` × `height` (the scan data is left as it was).
    static func jpegClaiming(width: Int, height: Int, from jpeg: [UInt8]) -> [UInt8] {
        var bytes = jpeg
        var offset = 2
        while offset + 9 < bytes.count {
            let marker = bytes[offset + 1]
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if (0xC0...0xC2).contains(marker) {
                bytes[offset + 5] = UInt8(height >> 8); bytes[offset + 6] = UInt8(height & 0xFF)
                bytes[offset + 7] = UInt8(width >> 8); bytes[offset + 8] = UInt8(width & 0xFF)
                return bytes
            }
            offset += 2 + length
        }
        fatalError("no start-of-frame marker")
    }

    /// A JPEG with an APP1 "Exif" segment of `size` bytes whose IFD offsets point far outside it.
    static func jpegWithEXIFBlock(size: Int, from jpeg: [UInt8]) -> [UInt8] {
        var payload = Array("Exif\0\0MM\0\u{2A}".utf8) + [0x7F, 0xFF, 0xFF, 0xF0]
        payload += TestImages.randomBytes(count: size - payload.count, seed: 99)
        let length = payload.count + 2
        return Array(jpeg[0..<2]) + [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload + jpeg[2...]
    }

    static func png(width: Int, height: Int, samples: [Int]) -> [UInt8] {
        PNGWriter(colorType: .gray).encode(width: width, height: height, samples: samples)
    }

    /// A PNG whose IHDR claims `width` × `height`, with a few KB of compressed zeros: a decompression bomb.
    static func pngBomb(width: Int, height: Int) -> [UInt8] {
        var bytes = png(width: 64, height: 64, samples: [Int](repeating: 0, count: 64 * 64))
        // IHDR data starts at byte 16: width and height as big-endian UInt32; the CRC follows at 29.
        for (index, value) in [(16, width), (20, height)] {
            for shift in 0..<4 { bytes[index + shift] = UInt8((value >> (24 - 8 * shift)) & 0xFF) }
        }
        let crc = CRC32.checksum(Array(bytes[12..<29]))
        for shift in 0..<4 { bytes[29 + shift] = UInt8((crc >> (24 - 8 * shift)) & 0xFF) }
        return bytes
    }

    static func vector(_ json: String) -> [UInt8] {
        request("POST", "/v1/search/vector", headers: "Content-Type: application/json\r\n", body: Array(json.utf8))
    }

    static func cases() throws -> [HostileCase] {
        let jpeg = try APITestHarness.jpeg(seed: 7)
        let tiny = try JPEGEncoder.encode(RGBImage(width: 1, height: 1, pixels: [200, 30, 40]), quality: 90)
        let search = { (query: String) in request("POST", "/v1/search?\(query)", body: jpeg) }
        let image = (name: "image", body: jpeg)
        let longID = String(repeating: "i", count: 10_000)
        let vector1280 = "[" + Array(repeating: "0.01", count: 1280).joined(separator: ",") + "]"
        var cases: [HostileCase] = [
            // Image bodies.
            .init(name: "empty body", bytes: request("POST", "/v1/images?id=e"), status: 400),
            .init(name: "random bytes", bytes: request("POST", "/v1/images?id=r", body: TestImages.randomBytes(count: 4096, seed: 1)), status: 415),
            .init(name: "truncated JPEG", bytes: request("POST", "/v1/images?id=t", body: Array(jpeg.prefix(jpeg.count / 2))), status: 422),
            .init(name: "JPEG header only", bytes: request("POST", "/v1/images?id=h", body: Array(jpeg.prefix(200))), status: 422),
            // libjpeg-turbo refuses dimensions over 65500 as corrupt; below that our pixel limit answers first.
            .init(name: "JPEG claiming 65535x65535", bytes: request("POST", "/v1/images?id=j", body: jpegClaiming(width: 65535, height: 65535, from: jpeg)), status: 422),
            .init(name: "JPEG claiming 60000x60000", bytes: request("POST", "/v1/images?id=k", body: jpegClaiming(width: 60000, height: 60000, from: jpeg)), status: 413),
            .init(name: "JPEG claiming 0x0", bytes: request("POST", "/v1/images?id=z", body: jpegClaiming(width: 0, height: 0, from: jpeg)), status: 422),
            .init(name: "PNG claiming 65535x65535", bytes: request("POST", "/v1/images?id=p", body: pngBomb(width: 65535, height: 65535)), status: 413),
            .init(name: "PNG decompression bomb 20000x20000", bytes: request("POST", "/v1/images?id=b", body: pngBomb(width: 20000, height: 20000)), status: 413),
            .init(name: "PNG with a bad CRC", bytes: request("POST", "/v1/images?id=c", body: { var b = png(width: 4, height: 4, samples: [Int](repeating: 9, count: 16)); b[30] ^= 0xFF; return b }()), status: 422),
            .init(name: "truncated GIF", bytes: request("POST", "/v1/images?id=g", body: Array("GIF89a\u{1}\0\u{1}\0".utf8)), status: 422),
            .init(name: "GIF screen 65535x65535", bytes: request("POST", "/v1/images?id=g", body: Array("GIF89a".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0]), status: 413),
            .init(name: "BMP", bytes: request("POST", "/v1/images?id=b", body: Array("BM".utf8) + [UInt8](repeating: 0, count: 52)), status: 415),
            .init(name: "upload 1x1 JPEG", bytes: request("POST", "/v1/images?id=one-pixel", body: tiny), status: 201),
            .init(name: "upload 1x1 PNG", bytes: request("POST", "/v1/images?id=one-pixel-png", body: png(width: 1, height: 1, samples: [128])), status: 201),
            .init(name: "upload JPEG with a 60 KB EXIF block", bytes: request("POST", "/v1/images?id=big-exif", body: jpegWithEXIFBlock(size: 60_000, from: jpeg)), status: 201),
            .init(name: "upload with a wrong Content-Type (sniffed)", bytes: request("POST", "/v1/images?id=typed", headers: authorization + "Content-Type: application/json\r\n", body: jpeg), status: 201),
            // Multipart.
            .init(name: "multipart without a boundary", bytes: multipartUpload([image], contentType: "multipart/form-data"), status: 400),
            .init(name: "multipart with a boundary not in the body", bytes: multipartUpload([image], contentType: "multipart/form-data; boundary=other"), status: 400),
            .init(name: "multipart never closed", bytes: request("POST", "/v1/images", headers: authorization + "Content-Type: multipart/form-data; boundary=hostile\r\n", body: Array(multipart([image]).dropLast(12))), status: 400),
            .init(name: "multipart without an image part", bytes: multipartUpload([(name: "id", body: Array("x".utf8))]), status: 400),
            .init(name: "multipart with too many parts", bytes: multipartUpload([image] + (0..<12).map { (name: "extra\($0)", body: [UInt8]()) }), status: 413),
            .init(name: "multipart part over the body limit", bytes: Array("POST /v1/images HTTP/1.1\r\nHost: t\r\n\(authorization)Content-Type: multipart/form-data; boundary=hostile\r\nContent-Length: 5000000\r\n\r\n".utf8), status: 413),
            .init(name: "batch that is not multipart", bytes: request("POST", "/v1/images/batch", body: jpeg), status: 415),
            // Ids.
            .init(name: "id with invalid UTF-8", bytes: request("POST", "/v1/images?id=%FF%FE", body: jpeg), status: 400),
            .init(name: "path id with invalid UTF-8", bytes: request("PUT", "/v1/images/%C3%28", body: jpeg), status: 400),
            .init(name: "id with NUL", bytes: request("POST", "/v1/images?id=a%00b", body: jpeg), status: 400),
            .init(name: "id of 10 KB in the URL", bytes: request("POST", "/v1/images?id=\(longID)", body: jpeg), status: 400),
            .init(name: "id of 300 KB in the URL", bytes: request("POST", "/v1/images?id=\(String(repeating: "i", count: 300_000))", body: jpeg), status: 414),
            .init(name: "id of 10 KB in a part", bytes: multipartUpload([image, (name: "id", body: Array(longID.utf8))]), status: 400),
            .init(name: "id that is only spaces", bytes: request("POST", "/v1/images?id=%20%20", body: jpeg), status: 400),
            .init(name: "upload id with a slash", bytes: request("POST", "/v1/images?id=shelf%2Fitem", body: jpeg), status: 201),
            .init(name: "upload id that is SQL", bytes: request("POST", "/v1/images?id=x%27)%3B%20DROP%20TABLE%20images%3B--", body: jpeg), status: 201),
            .init(name: "path traversal", bytes: request("GET", "/v1/images/../../etc/passwd", headers: ""), status: 404),
            .init(name: "unknown id with dots", bytes: request("GET", "/v1/images/%2E%2E", headers: ""), status: 404),
            // Metadata.
            .init(name: "metadata that is an array", bytes: multipartUpload([image, (name: "metadata", body: Array("[1,2]".utf8))]), status: 400),
            .init(name: "metadata that is a string", bytes: multipartUpload([image, (name: "metadata", body: Array("\"x\"".utf8))]), status: 400),
            .init(name: "metadata that is not JSON", bytes: multipartUpload([image, (name: "metadata", body: Array("{sku:".utf8))]), status: 400),
            .init(name: "metadata of 1 MB", bytes: multipartUpload([image, (name: "metadata", body: Array(("{\"a\":\"" + String(repeating: "m", count: 1 << 20) + "\"}").utf8))]), status: 400),
            .init(name: "metadata with invalid UTF-8", bytes: multipartUpload([image, (name: "metadata", body: [0x7B, 0xFF, 0x7D])]), status: 400),
            // Search parameters and vectors.
            .init(name: "k = 0", bytes: search("k=0"), status: 400),
            .init(name: "k = -1", bytes: search("k=-1"), status: 400),
            .init(name: "k = 10^9", bytes: search("k=1000000000"), status: 400),
            .init(name: "k = NaN", bytes: search("k=NaN"), status: 400),
            .init(name: "min_score = NaN", bytes: search("min_score=NaN"), status: 400),
            .init(name: "search_k = -5", bytes: search("search_k=-5"), status: 400),
            .init(name: "exact = perhaps", bytes: search("exact=perhaps"), status: 400),
            .init(name: "similar with k = 10^9", bytes: request("GET", "/v1/images/anchor/similar?k=1000000000", headers: ""), status: 400),
            .init(name: "vector of the wrong length", bytes: vector(#"{"vector":[1,2,3]}"#), status: 400),
            .init(name: "vector with a string", bytes: vector(#"{"vector":[1,"x"]}"#), status: 400),
            .init(name: "vector that overflows a float", bytes: vector(#"{"vector":[1e999]}"#), status: 400),
            .init(name: "vector of zeros", bytes: vector("{\"vector\":" + vector1280.replacingOccurrences(of: "0.01", with: "0") + "}"), status: 400),
            .init(name: "vector body that is not JSON", bytes: vector("vector=1,2"), status: 400),
            .init(name: "vector with k = 0", bytes: vector("{\"vector\":\(vector1280),\"k\":0}"), status: 400),
            // Authorization.
            .init(name: "upload without a token", bytes: request("POST", "/v1/images?id=na", headers: "", body: jpeg), status: 401),
            .init(name: "upload with a wrong token", bytes: request("POST", "/v1/images?id=wt", headers: "Authorization: Bearer wrong\r\n", body: jpeg), status: 401),
            .init(name: "upload with a prefix of the token", bytes: request("POST", "/v1/images?id=pt", headers: "Authorization: Bearer \(token.dropLast())\r\n", body: jpeg), status: 401),
            .init(name: "upload with Basic auth", bytes: request("POST", "/v1/images?id=ba", headers: "Authorization: Basic \(token)\r\n", body: jpeg), status: 401),
            .init(name: "delete without a token", bytes: request("DELETE", "/v1/images/anchor", headers: ""), status: 401),
            // Protocol abuse and request smuggling.
            .init(name: "header flood", bytes: Array(("GET /healthz HTTP/1.1\r\nHost: t\r\n" + (0..<150).map { "X-F\($0): y\r\n" }.joined() + "\r\n").utf8), status: 431),
            .init(name: "70 KB header", bytes: Array(("GET /healthz HTTP/1.1\r\nHost: t\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n").utf8), status: 431),
            .init(name: "giant request line", bytes: Array(("GET /" + String(repeating: "a", count: 300_000) + " HTTP/1.1\r\nHost: t\r\n\r\n").utf8), status: 414),
            .init(name: "Content-Length and Transfer-Encoding", bytes: Array("POST /v1/search HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8), status: 400),
            .init(name: "conflicting Content-Lengths", bytes: Array("POST /v1/search HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde".utf8), status: 400),
            .init(name: "negative Content-Length", bytes: Array("POST /v1/search HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n".utf8), status: 400),
            .init(name: "obsolete line folding", bytes: Array("GET /healthz HTTP/1.1\r\nHost: t\r\nX: a\r\n  b\r\n\r\n".utf8), status: 400),
            .init(name: "bad chunk size", bytes: Array("POST /v1/search HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8), status: 400),
            .init(name: "space before the header colon", bytes: Array("GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n".utf8), status: 400),
            .init(name: "binary request line", bytes: [0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03, 0x0D, 0x0A, 0x0D, 0x0A], status: 400),
            .init(name: "HTTP/2 version", bytes: Array("GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n".utf8), status: 505),
            .init(name: "unknown method", bytes: Array("BREW /v1/images HTTP/1.1\r\nHost: t\r\n\r\n".utf8), status: 405),
        ]
        cases.sort { $0.name < $1.name }
        return cases
    }

    @Test func everyCaseGetsItsStatusAndNothingIsLost() throws {
        let harness = try APITestHarness(
            configure: { $0.server.apiKeys = [Self.token]; $0.server.maxMultipartParts = 8 },
            limits: { $0.maxBodyBytes = 4 << 20; $0.headerTimeout = 1 })
        let anchor = try APITestHarness.jpeg(seed: 3)
        let setup = try harness.client()
        let stored = try setup.request("POST", "/v1/images?id=anchor", headers: [("Authorization", "Bearer \(Self.token)")], body: anchor)
        #expect(stored.status == 201)

        let cases = try Self.cases()
        #expect(cases.count >= 60)
        for hostile in cases {
            let client = try harness.client(timeout: 30)
            try client.send(hostile.bytes)
            let response = try client.readResponse()
            #expect(response.status == hostile.status, "\(hostile.name): \(response.status) \(response.text.prefix(200))")
            if response.status >= 400 && response.status != 405 {
                #expect(response.headers["content-type"] == "application/problem+json", "\(hostile.name)")
            }
            #expect(try harness.client().request("GET", "/healthz").status == 200, "server down after \(hostile.name)")
        }

        // Slowloris: a head that never ends is cut off by the header timeout, and others are served meanwhile.
        let slow = try harness.client(timeout: 10)
        try slow.send("POST /v1/images HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        let started = Date()
        #expect(try harness.client().request("GET", "/healthz").status == 200)
        #expect(try slow.readResponse().status == 408)
        #expect(Date().timeIntervalSince(started) < 5)

        // Nothing lost, nothing half-stored: the anchor is intact and found first; store and index agree exactly.
        let reader = try harness.client()
        let search = try reader.request("POST", "/v1/search?k=3", body: anchor)
        let first = (search.json["results"] as? [[String: Any]])?.first
        #expect(first?["id"] as? String == "anchor")
        let expectedKeys = Set(["anchor"] + ["one-pixel", "one-pixel-png", "big-exif", "typed", "shelf/item", "x'); DROP TABLE images;--"])
        #expect(cases.filter(\.stores).count == expectedKeys.count - 1)
        let keys = Set(try harness.service.list(limit: 100, after: nil).map(\.key))
        #expect(keys == expectedKeys)
        #expect(try harness.service.statistics().indexed == expectedKeys.count)
        #expect(try reader.request("GET", "/v1/images/shelf%2Fitem").status == 200)
        #expect(try harness.service.integrityCheck() == "ok")
    }
}

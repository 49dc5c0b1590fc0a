import Foundation
import Testing
import TestSupport

/// HTTP/1.1 behaviour over real sockets against the real service.
@Suite(.serialized)
struct ServerProtocolTests {
    @Test func keepAliveAndPipelining() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        try client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        let responses = try (0..<3).map { _ in try client.readResponse() }
        #expect(responses.map(\.status) == [200, 200, 404])
        #expect(responses[0].text.contains("ok") && responses[1].text.contains("ready"))
        #expect(responses[2].headers["content-type"] == "application/problem+json")
        // HEAD of a GET route: headers with the length, no body.
        try client.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        client.expectNoBody = true
        let head = try client.readResponse()
        #expect(head.status == 200 && head.body.isEmpty && head.headers["content-length"] == "15")
        // 405 with Allow.
        let wrongMethod = try client.request("POST", "/v1/images/x")
        #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"]?.contains("GET") == true)
        // HTTP/1.0 closes after the response.
        try client.send("GET /healthz HTTP/1.0\r\n\r\n")
        #expect(try client.readResponse().headers["connection"] == "close")
        #expect(client.isClosedByPeer())
    }

    @Test func chunkedUploadAndExpectContinue() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let image = try APITestHarness.jpeg(seed: 30)
        var chunked = "POST /v1/images?id=chunky HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        var bytes = Array(chunked.utf8)
        for start in stride(from: 0, to: image.count, by: 1000) {
            let piece = image[start..<min(start + 1000, image.count)]
            bytes += Array("\(String(piece.count, radix: 16))\r\n".utf8) + piece + Array("\r\n".utf8)
        }
        bytes += Array("0\r\n\r\n".utf8)
        try client.send(bytes)
        #expect(try client.readResponse().status == 201)

        chunked = "PUT /v1/images/expecting HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: \(image.count)\r\n\r\n"
        try client.send(chunked)
        #expect(try client.readResponse().status == 100)
        try client.send(image)
        let stored = try client.readResponse()
        #expect(stored.status == 201, "\(stored.text)")
        #expect(stored.json["duplicates"].map { ($0 as? [[String: Any]])?.first?["id"] as? String } == "chunky")
    }

    static let malformed: [(String, Int)] = [
        ("GARBAGE\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
        ("POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400),
        ("POST /v1/images HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 400),
        ("GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
        ("GET /" + String(repeating: "a", count: 300_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        ("GET / HTTP/1.1\r\nHost: x\r\n" + (0..<101).map { "X-\($0): y\r\n" }.joined() + "\r\n", 431),
        ("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n", 431),
        ("POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n", 413),
        ("POST /v1/images HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 3\r\n\r\n", 417),
    ]

    @Test func malformedRequestsGet4xxAndTheServerKeepsServing() throws {
        let harness = try APITestHarness()
        for (text, status) in Self.malformed {
            let client = try harness.client()
            try client.send(text)
            let response = try client.readResponse()
            #expect(response.status == status, "\(text.prefix(60))")
            #expect(client.isClosedByPeer())
            #expect(try harness.client().request("GET", "/healthz").status == 200)
        }
    }

    @Test func oversizedBodyIsRefusedBeforeItIsSent() throws {
        let harness = try APITestHarness(limits: { $0.maxBodyBytes = 1 << 20 })
        let client = try harness.client(timeout: 5)
        try client.send("POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: \(10 << 20)\r\n\r\n")
        // Answered from the headers alone: no body byte was sent.
        #expect(try client.readResponse().status == 413)
    }

    @Test func stalledClientsAreTimedOut() throws {
        let harness = try APITestHarness(limits: { $0.headerTimeout = 1; $0.minBodyBytesPerSecond = 1000 })
        let slowHead = try harness.client(timeout: 10)
        try slowHead.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")  // never finishes the head
        let start = Date()
        #expect(try slowHead.readResponse().status == 408)
        #expect(Date().timeIntervalSince(start) < 5)
        let slowBody = try harness.client(timeout: 10)
        try slowBody.send("POST /v1/images HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
        #expect(try slowBody.readResponse().status == 408)
        #expect(try harness.client().request("GET", "/healthz").status == 200)
    }

    @Test func fiftyConcurrentClients() throws {
        let harness = try APITestHarness()
        let seedImage = try APITestHarness.jpeg(seed: 40)
        #expect(try harness.client().request("POST", "/v1/images?id=base", body: seedImage).status == 201)
        let port = harness.port
        let statuses = ThreadFanOut.run(count: 50) { _ -> [Int] in
            guard let client = try? HTTPTestClient(port: port) else { return [-1] }
            return ["/healthz", "/v1/images/base", "/v1/images/base/similar?k=5", "/v1/stats"].map { path in
                (try? client.request("GET", path).status) ?? -1
            }
        }.flatMap { $0 }
        #expect(statuses.count == 200)
        #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
    }

    @Test func fullInferenceQueueAnswers503WithRetryAfter() throws {
        let harness = try APITestHarness(configure: { $0.model.workers = 1; $0.model.queueCapacity = 1; $0.model.maxBatch = 1 })
        let port = harness.port
        let images = try (0..<8).map { try APITestHarness.jpeg(seed: UInt64(50 + $0)) }
        let responses = ThreadFanOut.run(count: images.count) { index -> (Int, String?) in
            guard let client = try? HTTPTestClient(port: port),
                  let response = try? client.request("POST", "/v1/search", body: images[index]) else { return (-1, nil) }
            return (response.status, response.headers["retry-after"])
        }
        #expect(responses.contains { $0.0 == 503 && $0.1 == "1" }, "\(responses)")
        #expect(responses.contains { $0.0 == 200 })
        #expect(responses.allSatisfy { $0.0 == 200 || $0.0 == 503 })
        #expect(try harness.client().request("POST", "/v1/search", body: images[0]).status == 200)  // recovered
    }

    @Test func badUploadsAreTypedErrorsAndStoreNothing() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let cases: [(String, [(String, String)], [UInt8], Int)] = [
            ("/v1/images?id=a", [], [], 400),
            ("/v1/images?id=a", [], Array("GIF89a....".utf8), 422),
            ("/v1/images?id=a", [], Array("BM".utf8) + [UInt8](repeating: 0, count: 40), 415),
            ("/v1/images?id=a", [], Array(TestImages.randomBytes(count: 3000, seed: 3)), 415),
            ("/v1/images?id=a", [], [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3], 422),
            ("/v1/images?id=%0A", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/images?id=a&metadata=%5B1%5D", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/images?id=a&on_duplicate=maybe", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/images", [("Content-Type", "multipart/form-data")], Array("x".utf8), 400),
            ("/v1/images", [("Content-Type", "multipart/form-data; boundary=zz")], Array("--zz\r\nbroken".utf8), 400),
            ("/v1/search?k=0", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/search?k=-1", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/search?k=1000000000", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/search?k=NaN", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/search?min_score=NaN", [], try APITestHarness.jpeg(seed: 1), 400),
            ("/v1/search/vector", [], Array(#"{"vector":[1,2,"x"]}"#.utf8), 400),
            ("/v1/search/vector", [], Array(#"{"vector":[1,2,3]}"#.utf8), 400),
        ]
        for (target, headers, body, status) in cases {
            let response = try client.request("POST", target, headers: headers, body: body)
            #expect(response.status == status, "\(target): \(response.status) \(response.text)")
            #expect(response.headers["content-type"] == "application/problem+json")
        }
        #expect(try client.request("GET", "/v1/images/%2E%2E").status == 404)
        #expect(try client.request("GET", "/v1/images/%ZZ").status == 400)
        #expect(try harness.service.statistics().indexed == 0)
        #expect(try harness.service.statistics().images == 0)
    }
}

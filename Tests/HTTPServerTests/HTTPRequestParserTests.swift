import Testing
import HTTPCore
@testable import HTTPServer

/// The parser driven with raw bytes, no sockets.
struct HTTPRequestParserTests {
    static func parse(_ text: String, limits: HTTPLimits = HTTPLimits(), split: Int? = nil) throws -> [HTTPRequest] {
        var parser = HTTPRequestParser(limits: limits)
        let bytes = Array(text.utf8)
        var requests: [HTTPRequest] = []
        let pieces = split.map { size in stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) } } ?? [bytes]
        for piece in pieces {
            parser.append(piece)
            loop: while true {
                switch try parser.next() {
                case .request(let request): requests.append(request)
                case .expectContinue: continue
                case .needMoreData: break loop
                }
            }
        }
        return requests
    }

    static func failure(_ text: String, limits: HTTPLimits = HTTPLimits()) -> Int? {
        do { _ = try parse(text, limits: limits); return nil } catch let error as HTTPRequestParser.Failure { return error.status.code } catch { return -1 }
    }

    @Test(arguments: [nil, 1, 7])
    func simpleGetWithHeadersAndQuery(split: Int?) throws {
        let requests = try Self.parse("GET /v1/images?limit=5&after=a%20b HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\n\r\n", split: split)
        #expect(requests.count == 1)
        #expect(requests[0].method == .get && requests[0].path == "/v1/images")
        #expect(requests[0].query == ["limit": "5", "after": "a b"])
        #expect(requests[0].header("x-request-id") == "abc")
        #expect(requests[0].keepAlive)
    }

    @Test(arguments: [nil, 3])
    func contentLengthBodyAndPipelining(split: Int?) throws {
        let text = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        let requests = try Self.parse(text, split: split)
        #expect(requests.map(\.path) == ["/a", "/b"])
        #expect(requests[0].body == Array("hello".utf8))
        #expect(!requests[1].keepAlive)
    }

    @Test(arguments: [nil, 2])
    func chunkedWithExtensionsAndTrailers(split: Int?) throws {
        let text = "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        let requests = try Self.parse(text, split: split)
        #expect(requests.first?.body == Array("hello world".utf8))
    }

    @Test func expectContinueIsSignalledBeforeTheBody() throws {
        var parser = HTTPRequestParser()
        parser.append(Array("PUT /x HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        guard case .expectContinue = try parser.next() else { Issue.record("no 100-continue"); return }
        guard case .needMoreData = try parser.next() else { Issue.record("expected to wait"); return }
        parser.append(Array("abc".utf8))
        guard case .request(let request) = try parser.next() else { Issue.record("no request"); return }
        #expect(request.body == Array("abc".utf8))
    }

    @Test func http10DefaultsToClose() throws {
        let requests = try Self.parse("GET / HTTP/1.0\r\n\r\n")
        #expect(requests.count == 1 && !requests[0].keepAlive)
        #expect(try Self.parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")[0].keepAlive)
    }

    @Test(arguments: [
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n", 400),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET /\r\n\r\n", 400),
        ("GET  / HTTP/1.1\r\n\r\n", 400),
        ("GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400),
        ("PUT / HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 1\r\n\r\n", 417),
        ("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999\r\n\r\n", 413),
    ])
    func malformedShapesAreRejected(text: String, status: Int) {
        #expect(Self.failure(text) == status)
    }

    @Test func limitsAreEnforced() {
        var limits = HTTPLimits()
        limits.maxRequestLineBytes = 100
        limits.maxHeaderBytes = 300
        limits.maxHeaderCount = 5
        limits.maxBodyBytes = 10
        #expect(Self.failure("GET /" + String(repeating: "a", count: 200) + " HTTP/1.1\r\n", limits: limits) == 414)
        #expect(Self.failure("GET / HTTP/1.1\r\nHost: x\r\nX: " + String(repeating: "a", count: 400), limits: limits) == 431)
        let many = (0..<6).map { "X-\($0): 1\r\n" }.joined()
        #expect(Self.failure("GET / HTTP/1.1\r\nHost: x\r\n" + many + "\r\n", limits: limits) == 431)
        #expect(Self.failure("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n", limits: limits) == 413)
        #expect(Self.failure("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n", limits: limits) == 413)
    }
}

struct MultipartParserTests {
    static let body = Array((
        "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"id\"\r\n\r\nsku-1\r\n" +
        "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    ).utf8) + [0xFF, 0xD8, 13, 10, 0x2D, 0x2D, 0xFF] + Array("\r\n--XyZ--\r\n".utf8)

    @Test func partsWithNamesFilenamesAndBinaryBodies() throws {
        #expect(MultipartParser.boundary(contentType: "multipart/form-data; boundary=XyZ") == "XyZ")
        #expect(MultipartParser.boundary(contentType: "multipart/form-data; boundary=\"XyZ\"") == "XyZ")
        #expect(MultipartParser.boundary(contentType: "application/json") == nil)
        let parts = try MultipartParser().parse(Self.body, boundary: "XyZ")
        #expect(parts.map(\.name) == ["id", "image"])
        #expect(parts[0].body == Array("sku-1".utf8))
        #expect(parts[1].filename == "a.jpg" && parts[1].contentType == "image/jpeg")
        #expect(parts[1].body == [0xFF, 0xD8, 13, 10, 0x2D, 0x2D, 0xFF])
    }

    @Test func brokenBodiesAndLimits() {
        #expect(throws: MultipartParser.Failure.self) { try MultipartParser().parse(Array("no boundary".utf8), boundary: "XyZ") }
        #expect(throws: MultipartParser.Failure.self) { try MultipartParser().parse(Array(Self.body.dropLast(12)), boundary: "XyZ") }
        #expect(throws: MultipartParser.Failure(status: .contentTooLarge, reason: "more than 1 parts")) {
            try MultipartParser(maxParts: 1).parse(Self.body, boundary: "XyZ")
        }
        #expect(throws: MultipartParser.Failure.self) { try MultipartParser(maxPartBytes: 3).parse(Self.body, boundary: "XyZ") }
    }
}

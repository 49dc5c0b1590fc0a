import Foundation
import Testing
import RemoteFetch
import TestSupport

/// The fetcher against a real HTTP origin on loopback (scripts/test_origin.py) that answers, fails, stalls,
/// redirects and oversends on request.
@Suite struct HTTPFetcherTests {
    static func origin() throws -> TestOrigin {
        let folder = try ExternalTool.scratchDirectory()
        try Data((0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: folder.appendingPathComponent("a.jpg"))
        try Data("not an image".utf8).write(to: folder.appendingPathComponent("page.html"))
        return try TestOrigin(folder: folder)
    }

    static func fetcher(maxBytes: Int = 1 << 20, maxRedirects: Int = 3, timeout: Double = 5, ownPorts: Set<Int> = [],
                        denied: [String] = NetworkPolicy.defaultDenied, allowed: [String] = NetworkPolicy.defaultAllowed) throws -> HTTPFetcher {
        HTTPFetcher(limits: .init(maxBytes: maxBytes, maxRedirects: maxRedirects, connectTimeoutSeconds: 2, timeoutSeconds: timeout,
                                  minBytesPerSecond: 1, lowSpeedSeconds: 30),
                    policy: try NetworkPolicy(allowed: allowed, denied: denied, ownPorts: ownPorts))
    }

    @Test func bodiesArriveWholeThroughRedirectsWithinTheLimit() throws {
        let origin = try Self.origin()
        let expected = try [UInt8](Data(contentsOf: origin.folder.appendingPathComponent("a.jpg")))
        let fetcher = try Self.fetcher()
        #expect(try fetcher.fetch(origin.url("/files/a.jpg")) == expected)
        #expect(try fetcher.fetch(origin.url("/redirect/3/a.jpg")) == expected)
        #expect(throws: FetchError.tooManyRedirects(limit: 3)) { try fetcher.fetch(origin.url("/redirect/4/a.jpg")) }
        #expect(try fetcher.fetch(origin.url("/typed/application~octet-stream/a.jpg")) == expected)
    }

    @Test func failuresAreClassifiedForRetrying() throws {
        let origin = try Self.origin()
        let fetcher = try Self.fetcher(timeout: 1.5)
        for (path, expected, transient) in [("/status/503", FetchError.status(503), true), ("/status/500", .status(500), true),
                                            ("/status/429", .status(429), true), ("/status/404", .status(404), false),
                                            ("/status/403", .status(403), false)] {
            do {
                _ = try fetcher.fetch(origin.url(path))
                Issue.record("\(path) fetched")
            } catch {
                #expect(error == expected)
                #expect(error.isTransient == transient, "\(path)")
            }
        }
        do {
            _ = try fetcher.fetch(origin.url("/hang"))
            Issue.record("/hang fetched")
        } catch {
            guard case .timedOut = error else { Issue.record("/hang: \(error)"); return }
            #expect(error.isTransient)
        }
        // A port nobody listens on: connection refused, worth a retry later.
        let closed = try Self.fetcher()
        do {
            _ = try closed.fetch("http://127.0.0.1:9/x.jpg")
            Issue.record("port 9 fetched")
        } catch {
            guard case .network = error else { Issue.record("port 9: \(error)"); return }
        }
    }

    @Test func oversizedAndWrongTypeBodiesAreRefusedBeforeTheyAreKept() throws {
        let origin = try Self.origin()
        let fetcher = try Self.fetcher(maxBytes: 100_000)
        #expect(throws: FetchError.tooLarge(limit: 100_000)) { try fetcher.fetch(origin.url("/large/5000000")) }
        #expect(throws: FetchError.tooLarge(limit: 100_000)) { try fetcher.fetch(origin.url("/endless")) }
        #expect(throws: FetchError.contentType("text/html")) { try fetcher.fetch(origin.url("/typed/text~html/page.html")) }
        #expect(throws: FetchError.contentType("application/json")) { try fetcher.fetch(origin.url("/typed/application~json/a.jpg")) }
    }

    @Test func onlyHTTPAndHTTPSAreFetched() throws {
        let origin = try Self.origin()
        let fetcher = try Self.fetcher()
        for url in ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "http:///nohost", "not a url", ""] {
            do {
                _ = try fetcher.fetch(url)
                Issue.record("\(url) fetched")
            } catch {
                guard case .unsupportedURL = error else { Issue.record("\(url): \(error)"); continue }
            }
        }
        // A redirect to another scheme is not followed either.
        do {
            _ = try fetcher.fetch(origin.url("/location?to=file:///etc/passwd"))
            Issue.record("redirect to file:// followed")
        } catch {
            #expect(!error.isTransient, "\(error)")
        }
    }

    @Test func theNetworkPolicyHoldsAtEveryConnectionIncludingRedirects() throws {
        let origin = try Self.origin()
        // Loopback denied: the direct request and the address behind a name are refused.
        let noLoopback = try Self.fetcher(denied: NetworkPolicy.defaultDenied + ["127.0.0.0/8", "::1/128"])
        #expect(throws: FetchError.addressRefused("127.0.0.1 is in the denied network 127.0.0.0/8")) {
            try noLoopback.fetch(origin.url("/files/a.jpg"))
        }
        do {
            _ = try noLoopback.fetch("http://localhost:\(origin.port)/files/a.jpg")
            Issue.record("localhost fetched")
        } catch {
            guard case .addressRefused = error else { Issue.record("localhost: \(error)"); return }
        }
        // The node's own port: refused on loopback even when loopback is allowed.
        let own = try Self.fetcher(ownPorts: [origin.port])
        #expect(throws: FetchError.addressRefused("127.0.0.1:\(origin.port) is this node's own port")) {
            try own.fetch(origin.url("/files/a.jpg"))
        }
        // A redirect from an allowed origin to a link-local address (a cloud metadata service) is refused at
        // its connection; so is an allow-list that leaves loopback out.
        let fetcher = try Self.fetcher()
        #expect(throws: FetchError.addressRefused("169.254.169.254 is in the denied network 169.254.0.0/16")) {
            try fetcher.fetch(origin.url("/location?to=http://169.254.169.254/latest/meta-data/"))
        }
        let allowList = try Self.fetcher(allowed: ["10.0.0.0/8"])
        #expect(throws: FetchError.addressRefused("127.0.0.1 is not in an allowed network")) {
            try allowList.fetch(origin.url("/files/a.jpg"))
        }
    }

    /// https with a certificate from a CA of the user's own (`imports.caFile`); without it the handshake fails as
    /// a TLS error, which another try cannot mend.
    @Test func httpsTrustsTheGivenCertificatesAndOnlyThose() throws {
        let folder = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data((0..<2000).map { UInt8(truncatingIfNeeded: $0 &* 3) }).write(to: folder.appendingPathComponent("a.jpg"))
        let certificate = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        try ExternalTool("openssl", package: "openssl").run([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        let origin = try TestOrigin(folder: folder, tls: (certificate, key))
        #expect(origin.url("/").hasPrefix("https://"))
        let policy = try NetworkPolicy(allowed: NetworkPolicy.defaultAllowed, denied: NetworkPolicy.defaultDenied, ownPorts: [])
        let limits = HTTPFetcher.Limits(maxBytes: 1 << 20, timeoutSeconds: 5)
        let trusting = HTTPFetcher(limits: limits, policy: policy, caFile: certificate)
        #expect(try trusting.fetch(origin.url("/files/a.jpg")) == [UInt8](Data(contentsOf: folder.appendingPathComponent("a.jpg"))))
        do {
            _ = try HTTPFetcher(limits: limits, policy: policy).fetch(origin.url("/files/a.jpg"))
            Issue.record("a self-signed certificate was trusted by the system's store")
        } catch {
            guard case .tls = error else { Issue.record("\(error)"); return }
            #expect(!error.isTransient)
        }
    }

    @Test func networksParseAndMatchAsCIDR() throws {
        let network = try IPNetwork(parsing: "192.168.0.0/16")
        #expect(network.contains([192, 168, 4, 5]))
        #expect(!network.contains([192, 169, 0, 1]))
        // IPv4-mapped IPv6 addresses match IPv4 networks.
        #expect(network.contains([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 192, 168, 1, 1]))
        let v6 = try IPNetwork(parsing: "fe80::/10")
        #expect(v6.contains([0xFE, 0xBF] + [UInt8](repeating: 7, count: 14)))
        #expect(!v6.contains([0xFE, 0xC0] + [UInt8](repeating: 0, count: 14)))
        #expect(try IPNetwork(parsing: "10.1.2.3").length == 32)
        for bad in ["10.0.0.0/33", "::/129", "example.com", "10.0.0/8", "10.0.0.0/-1", ""] {
            #expect(throws: FetchError.self) { try IPNetwork(parsing: bad) }
        }
    }
}

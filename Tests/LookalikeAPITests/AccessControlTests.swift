import Foundation
import Lookalike
import LookalikeAPI
import Testing
import TestSupport

/// Keys with roles and collections, rate limits and CORS, over real sockets.
@Suite(.serialized)
struct AccessControlTests {
    static let admin = "admin:admin-0123456789abcdef"
    static let writer = "write:writer-0123456789abcdef"
    static let reader = "read:reader-0123456789abcdef"
    static let shopWriter = "write:shop-writer-0123456789:shop"

    static func bearer(_ entry: String) -> [(String, String)] {
        [("Authorization", "Bearer " + entry.split(separator: ":")[1])]
    }

    @Test func rolesAndCollectionsDecideBetween401And403() throws {
        let harness = try APITestHarness(configure: {
            $0.server.apiKeys = [Self.admin, Self.writer, Self.reader, Self.shopWriter]
            $0.server.protectReads = true
        })
        let client = try harness.client()
        let image = try APITestHarness.jpeg(seed: 31)
        let shop = #"{"name": "shop"}"#

        // No key, a wrong key, a key of the wrong role.
        #expect(try client.request("GET", "/v1/images").status == 401)
        let wrong = try client.request("GET", "/v1/images", headers: [("Authorization", "Bearer not-a-key-0123456789")])
        #expect(wrong.status == 401 && wrong.headers["www-authenticate"] == "Bearer")
        #expect(try client.request("POST", "/v1/collections", headers: Self.bearer(Self.writer), body: Array(shop.utf8)).status == 403)
        #expect(try client.request("POST", "/v1/collections", headers: Self.bearer(Self.admin), body: Array(shop.utf8)).status == 201)
        #expect(try client.request("PUT", "/v1/images/a", headers: Self.bearer(Self.reader), body: image).status == 403)
        #expect(try client.request("PUT", "/v1/images/a", headers: Self.bearer(Self.writer), body: image).status == 201)
        #expect(try client.request("GET", "/v1/images/a", headers: Self.bearer(Self.reader)).status == 200)
        #expect(try client.request("DELETE", "/v1/images/a", headers: Self.bearer(Self.reader)).status == 403)

        // A key limited to one collection: its own collection yes, another no, a collection-wide listing no.
        #expect(try client.request("PUT", "/v1/collections/shop/images/b", headers: Self.bearer(Self.shopWriter), body: image).status == 201)
        #expect(try client.request("GET", "/v1/collections/shop/images/b", headers: Self.bearer(Self.shopWriter)).status == 200)
        #expect(try client.request("PUT", "/v1/images/b", headers: Self.bearer(Self.shopWriter), body: image).status == 403)
        #expect(try client.request("GET", "/v1/images/a", headers: Self.bearer(Self.shopWriter)).status == 403)
        #expect(try client.request("GET", "/v1/collections", headers: Self.bearer(Self.shopWriter)).status == 403)
        #expect(try client.request("DELETE", "/v1/collections/shop", headers: Self.bearer(Self.shopWriter)).status == 403)

        // Nothing refused was stored; the open routes stay open.
        #expect(try harness.service.statistics().images == 1)
        #expect(try harness.service.statistics(collection: "shop").images == 1)
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(try client.request("DELETE", "/v1/collections/shop", headers: Self.bearer(Self.admin)).status == 204)
    }

    @Test func aBurstBeyondTheBucketGets429WithRetryAfter() throws {
        let harness = try APITestHarness(configure: {
            $0.server.apiKeys = [Self.writer, Self.reader]
            $0.rateLimits.anonymousPerSecond = 0.5
            $0.rateLimits.anonymousBurst = 5
            $0.rateLimits.readPerSecond = 0.5
            $0.rateLimits.readBurst = 3
        })
        let client = try harness.client()
        // Anonymous callers (by address): 5 pass, then 429 with a Retry-After of the time to the next token.
        let anonymous = try (0..<8).map { _ in try client.request("GET", "/v1/images") }
        #expect(anonymous.map(\.status) == [200, 200, 200, 200, 200, 429, 429, 429])
        #expect(anonymous[5].headers["retry-after"].flatMap(Int.init).map { (1...2).contains($0) } == true)
        #expect(anonymous[5].headers["content-type"] == "application/problem+json")
        // A key has its own bucket with its role's limit; an unlimited role is never refused.
        let reads = try (0..<5).map { _ in try client.request("GET", "/v1/images", headers: Self.bearer(Self.reader)).status }
        #expect(reads == [200, 200, 200, 429, 429])
        let writes = try (0..<20).map { _ in try client.request("GET", "/v1/images", headers: Self.bearer(Self.writer)).status }
        #expect(writes.allSatisfy { $0 == 200 })
        // Health checks are never limited; refusals are counted per role.
        #expect(try client.request("GET", "/healthz").status == 200)
        let metrics = try client.request("GET", "/metrics", headers: Self.bearer(Self.writer)).text
        #expect(metrics.contains(#"lookalike_rate_limited_total{role="anonymous"} 3"#))
        #expect(metrics.contains(#"lookalike_rate_limited_total{role="read"} 2"#))
        // The document lists the 429.
        let document = try client.request("GET", "/openapi.json").text
        #expect(document.contains(#""429""#))
    }

    /// Behind a trusted load balancer each client has its own bucket, named by the right-most untrusted address
    /// in `X-Forwarded-For`; from anyone else the header is ignored.
    @Test func forwardedClientsHaveTheirOwnBucketsOnlyBehindATrustedProxy() throws {
        func statuses(_ harness: APITestHarness, _ forwarded: String, _ count: Int) throws -> [Int] {
            let client = try harness.client()
            return try (0..<count).map { _ in try client.request("GET", "/v1/images", headers: [("X-Forwarded-For", forwarded)]).status }
        }
        let trusted = try APITestHarness(configure: {
            $0.server.trustedProxies = ["127.0.0.1"]
            $0.rateLimits.anonymousPerSecond = 0.1
            $0.rateLimits.anonymousBurst = 2
        })
        #expect(try statuses(trusted, "10.0.0.1", 3) == [200, 200, 429])
        #expect(try statuses(trusted, "10.0.0.2", 2) == [200, 200])
        // A client's own claim further left does not buy a new bucket.
        #expect(try statuses(trusted, "203.0.113.9, 10.0.0.1", 1) == [429])
        let untrusted = try APITestHarness(configure: {
            $0.rateLimits.anonymousPerSecond = 0.1
            $0.rateLimits.anonymousBurst = 2
        })
        #expect(try statuses(untrusted, "10.0.0.1", 2) == [200, 200])
        #expect(try statuses(untrusted, "10.0.0.2", 1) == [429])
    }

    @Test func corsAnswersPreflightsAndEchoesOnlyListedOrigins() throws {
        let harness = try APITestHarness(configure: {
            $0.server.corsOrigins = ["https://shop.example"]
            $0.server.apiKeys = [Self.writer]
        })
        let client = try harness.client()
        let preflight = try client.request("OPTIONS", "/v1/images/x", headers: [
            ("Origin", "https://shop.example"), ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "authorization, content-type"),
        ])
        #expect(preflight.status == 204)
        #expect(preflight.headers["access-control-allow-origin"] == "https://shop.example")
        #expect(preflight.headers["access-control-allow-methods"]?.contains("PUT") == true)
        #expect(preflight.headers["access-control-allow-headers"]?.contains("Authorization") == true)
        #expect(preflight.headers["access-control-allow-credentials"] == nil)
        let stranger = try client.request("OPTIONS", "/v1/images/x", headers: [
            ("Origin", "https://evil.example"), ("Access-Control-Request-Method", "PUT"),
        ])
        #expect(stranger.status == 403 && stranger.headers["access-control-allow-origin"] == nil)

        let listed = try client.request("GET", "/v1/images", headers: [("Origin", "https://shop.example")])
        #expect(listed.status == 200 && listed.headers["access-control-allow-origin"] == "https://shop.example")
        #expect(listed.headers["vary"] == "Origin" && listed.headers["access-control-expose-headers"]?.contains("Location") == true)
        let other = try client.request("GET", "/v1/images", headers: [("Origin", "https://evil.example")])
        #expect(other.status == 200 && other.headers["access-control-allow-origin"] == nil)
        // A cross-origin write still needs its key; the refusal is readable by the listed origin's script.
        let refused = try client.request("DELETE", "/v1/images/x", headers: [("Origin", "https://shop.example")])
        #expect(refused.status == 401 && refused.headers["access-control-allow-origin"] == "https://shop.example")
        // OPTIONS that is not a preflight is not a method the API serves.
        #expect(try client.request("OPTIONS", "/v1/images").status == 405)
    }

    @Test func withoutCorsOriginsNoCrossOriginHeadersAreSent() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let response = try client.request("GET", "/v1/images", headers: [("Origin", "https://shop.example")])
        #expect(response.status == 200 && response.headers["access-control-allow-origin"] == nil && response.headers["vary"] == nil)
        let preflight = try client.request("OPTIONS", "/v1/images", headers: [
            ("Origin", "https://shop.example"), ("Access-Control-Request-Method", "GET"),
        ])
        #expect(preflight.status == 403)
    }
}

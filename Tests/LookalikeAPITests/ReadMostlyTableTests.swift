import Dispatch
import Foundation
import HTTPCore
import Synchronization
import Testing
@testable import LookalikeAPI

/// The lock-free table behind the request metrics: each key's value made once, whichever thread asks first, and
/// every thread sees that one value; the counts the metrics export match the requests recorded from many threads.
@Suite struct ReadMostlyTableTests {
    final class Made: Sendable {
        let key: Int
        init(key: Int) { self.key = key }
    }

    @Test func eachKeyIsMadeOnceAndSeenByEveryThread() {
        let table = ReadMostlyTable<Int, Made>()
        let makes = Mutex([Int: Int]())
        let seen = Mutex([Int: Set<ObjectIdentifier>]())
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            var local: [Int: Set<ObjectIdentifier>] = [:]
            for step in 0..<5_000 {
                let key = (step * 7 + thread * 13) % 100
                let value = table.value(for: key) {
                    makes.withLock { $0[key, default: 0] += 1 }
                    return Made(key: key)
                }
                #expect(value.key == key)
                local[key, default: []].insert(ObjectIdentifier(value))
            }
            seen.withLock { all in for (key, ids) in local { all[key, default: []].formUnion(ids) } }
        }
        #expect(makes.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<100).map { ($0, 1) }))
        #expect(seen.withLock { $0 }.values.allSatisfy { $0.count == 1 })
    }

    @Test func requestCountsFromManyThreadsAreExportedExactly() throws {
        let metrics = APIMetrics()
        let routes = ["/healthz", "/v1/images", "/v1/images/{id}/similar"]
        let statuses: [HTTPStatus] = [.ok, .notFound, .badRequest]
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for step in 0..<3_000 {
                metrics.record(route: routes[(step + thread) % 3], method: .get, status: statuses[step % 3], seconds: 0.0001)
            }
        }
        let text = metrics.render(gauges: [])
        var total = 0
        for line in text.split(separator: "\n") where line.hasPrefix("lookalike_http_requests_total{") {
            total += try #require(Int(line.split(separator: " ").last ?? ""))
        }
        #expect(total == 6 * 3_000)
        let counts = text.split(separator: "\n").filter { $0.hasPrefix("lookalike_http_request_duration_seconds_count{") }
        #expect(counts.count == 3)
        #expect(counts.compactMap { Int($0.split(separator: " ").last ?? "") }.reduce(0, +) == 6 * 3_000)
    }
}

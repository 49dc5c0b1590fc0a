import NIOConcurrencyHelpers
import Dispatch
import Foundation
import Lookalike

/// Token buckets, one per caller (a key, or a client address for requests without a valid key), with the rate
/// and burst of the caller's role.
///
/// A bucket starts full (`burst` tokens), gains `perSecond` tokens a second up to `burst`, and a request takes
/// one; an empty bucket answers how long until the next token. Buckets that have refilled carry no state worth
/// keeping, so when more than `maxBuckets` exist those are dropped first (a flood of new addresses cannot grow
/// the table without bound).
///
final class RateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: Double
        /// Whose limits refill it (nil: requests without a valid key).
        let role: APIKey.Role?
    }

    private let limits: Configuration.RateLimits
    private let maxBuckets: Int
    private struct State {
        var buckets: [String: Bucket] = [:]
        var rejected: [String: Int] = [:]
    }
    private let state = NIOLockedValueBox(State())

    init(limits: Configuration.RateLimits, maxBuckets: Int = 100_000) {
        self.limits = limits
        self.maxBuckets = maxBuckets
    }

    /// Whether any role is limited.
    var isActive: Bool { [nil, APIKey.Role.read, .write, .admin].contains { limits.limit(for: $0).perSecond > 0 } }

    /// nil: go ahead; otherwise the seconds until the caller may try again.
    func admit(caller: String, role: APIKey.Role?, now: Double = RateLimiter.now()) -> Double? {
        let (perSecond, burst) = limits.limit(for: role)
        guard perSecond > 0 else { return nil }
        let capacity = Double(burst)
        let bucketKey = (role.map(\.description) ?? "anonymous") + "|" + caller
        return state.withLockedValue { state in
            var bucket = state.buckets[bucketKey] ?? Bucket(tokens: capacity, updated: now, role: role)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now - bucket.updated) * perSecond)
            bucket.updated = now
            defer {
                state.buckets[bucketKey] = bucket
                if state.buckets.count > maxBuckets { evictRefilled(&state.buckets, now: now) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            state.rejected[role.map(\.description) ?? "anonymous", default: 0] += 1
            return (1 - bucket.tokens) / perSecond
        }
    }

    /// Requests refused so far, by role (`anonymous` for requests without a valid key).
    var rejections: [(role: String, count: Int)] {
        state.withLockedValue { $0.rejected.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Drops buckets that would be full by now; if every bucket is in use, the oldest half.
    private func evictRefilled(_ buckets: inout [String: Bucket], now: Double) {
        buckets = buckets.filter { _, bucket in
            let (perSecond, burst) = limits.limit(for: bucket.role)
            return bucket.tokens + (now - bucket.updated) * perSecond < Double(burst)
        }
        if buckets.count > maxBuckets {
            let oldest = buckets.sorted { $0.value.updated < $1.value.updated }.prefix(buckets.count / 2).map(\.key)
            for key in oldest { buckets[key] = nil }
        }
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

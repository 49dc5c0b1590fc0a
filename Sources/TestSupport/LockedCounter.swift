import NIOConcurrencyHelpers

/// A counter incremented from any thread.
public final class LockedCounter: Sendable {
    private let count = NIOLockedValueBox(0)
    public init() {}
    public func increment() { count.withLockedValue { $0 += 1 } }
    public var value: Int { count.withLockedValue { $0 } }
}

import NIOConcurrencyHelpers

/// A flag set once by one thread and read by others.
public final class LockedFlag: Sendable {
    private let value = NIOLockedValueBox(false)
    public init() {}
    public func set() { value.withLockedValue { $0 = true } }
    public var isSet: Bool { value.withLockedValue { $0 } }
}

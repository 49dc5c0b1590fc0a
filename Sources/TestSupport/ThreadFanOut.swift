import NIOConcurrencyHelpers
import Foundation

/// Runs `count` blocking bodies at once, each on its own thread, and returns their results in order.
///
/// Blocking socket clients must not run as Swift tasks: they would occupy the cooperative pool the server
/// under test needs to answer them.
public enum ThreadFanOut {
    public static func run<T: Sendable>(count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let results = Results<T>(count: count)
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            let thread = Thread {
                results.set(index, body(index))
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return results.values
    }

    /// Collected results.
    final class Results<T: Sendable>: Sendable {
        private let storage: NIOLockedValueBox<[T?]>
        init(count: Int) { storage = NIOLockedValueBox(Array(repeating: nil, count: count)) }
        func set(_ index: Int, _ value: T) { storage.withLockedValue { $0[index] = value } }
        var values: [T] { storage.withLockedValue { $0.map { $0! } } }
    }
}

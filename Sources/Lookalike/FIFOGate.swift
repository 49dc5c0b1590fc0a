import Foundation

/// Lets at most `capacity` callers run a section at once and admits the others strictly in arrival order.
///
/// Searches are short and CPU-bound. With one thread per connection, dozens of searches would otherwise share
/// two cores by time slicing, and each would finish only after many slices of the others: under 64 concurrent
/// clients the slowest 1 % took ten times the median. Queued in order instead, a search waits for those ahead
/// of it and then runs without competing, so latency tracks queue position.
///
/// `@unchecked Sendable` is safe because `available` and `waiters` are only touched under `lock`.
final class FIFOGate: @unchecked Sendable {
    let capacity: Int
    private let lock = NSLock()
    private var available: Int
    /// One semaphore per waiting caller, oldest first; leaving hands the slot to the oldest.
    private var waiters: [DispatchSemaphore] = []

    init(capacity: Int) {
        precondition(capacity > 0, "a gate needs at least one slot")
        self.capacity = capacity
        available = capacity
    }

    /// Callers waiting for a slot.
    var waiting: Int { lock.withLock { waiters.count } }

    func withAdmission<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    private func enter() {
        lock.lock()
        if available > 0 {
            available -= 1
            lock.unlock()
            return
        }
        let turn = DispatchSemaphore(value: 0)
        waiters.append(turn)
        lock.unlock()
        turn.wait()
    }

    private func leave() {
        lock.lock()
        if waiters.isEmpty {
            available += 1
            lock.unlock()
        } else {
            let next = waiters.removeFirst()
            lock.unlock()
            next.signal()
        }
    }
}

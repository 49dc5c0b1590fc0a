import Foundation
import NIOConcurrencyHelpers

/// Lets at most `capacity` callers run a section at once and admits the others strictly in arrival order.
///
/// Searches are short and CPU-bound. With one thread per connection, dozens of searches would otherwise share
/// two cores by time slicing, and each would finish only after many slices of the others: under 64 concurrent
/// clients the slowest 1 % took ten times the median. Queued in order instead, a search waits for those ahead
/// of it and then runs without competing, so latency tracks queue position.
///
final class FIFOGate: Sendable {
    let capacity: Int
    private struct State {
        var available: Int
        /// One semaphore per waiting caller, oldest first; leaving hands the slot to the oldest.
        var waiters: [DispatchSemaphore] = []
    }
    /// A pthread lock rather than `Synchronization.Mutex`: every search passes here under contention, where
    /// the latter (a priority-inheritance futex on Linux) hands over far more slowly.
    private let state: NIOLockedValueBox<State>

    init(capacity: Int) {
        precondition(capacity > 0, "a gate needs at least one slot")
        self.capacity = capacity
        state = NIOLockedValueBox(State(available: capacity))
    }

    /// Callers waiting for a slot.
    var waiting: Int { state.withLockedValue { $0.waiters.count } }

    func withAdmission<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    private func enter() {
        let turn = state.withLockedValue { state -> DispatchSemaphore? in
            if state.available > 0 {
                state.available -= 1
                return nil
            }
            let turn = DispatchSemaphore(value: 0)
            state.waiters.append(turn)
            return turn
        }
        turn?.wait()
    }

    private func leave() {
        let next = state.withLockedValue { state -> DispatchSemaphore? in
            if state.waiters.isEmpty {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.signal()
    }
}

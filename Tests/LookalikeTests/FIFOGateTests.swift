import Foundation
import Testing
@testable import Lookalike

/// The search gate admits at most its capacity at once and the rest in arrival order. Real threads block in it
/// (not tasks: a blocked task would hold a thread of the cooperative pool).
struct FIFOGateTests {
    /// Thread-safe record of who ran, and how many ran at once.
    final class Log: @unchecked Sendable {
        private let lock = NSLock()
        private var order: [Int] = []
        private var running = 0
        private var peak = 0
        func enter(_ id: Int) { lock.withLock { order.append(id); running += 1; peak = max(peak, running) } }
        func leave() { lock.withLock { running -= 1 } }
        var entries: [Int] { lock.withLock { order } }
        var mostAtOnce: Int { lock.withLock { peak } }
    }

    /// With one slot, entries follow arrival: a holder keeps the slot while five callers queue one after
    /// another, then each runs in turn.
    @Test func admitsInArrivalOrder() {
        let gate = FIFOGate(capacity: 1)
        let log = Log()
        let holder = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        func start(_ id: Int, holding release: DispatchSemaphore?) {
            done.enter()
            Thread {
                gate.withAdmission {
                    log.enter(id)
                    release?.wait()
                    log.leave()
                }
                done.leave()
            }.start()
        }
        start(0, holding: holder)
        while log.entries.isEmpty { usleep(1_000) }
        for id in 1...5 {
            start(id, holding: nil)
            while gate.waiting < id { usleep(1_000) }  // queued before the next one starts
        }
        #expect(log.entries == [0])
        holder.signal()
        done.wait()
        #expect(log.entries == [0, 1, 2, 3, 4, 5])
        #expect(gate.waiting == 0)
    }

    /// Never more than `capacity` inside at once, however many threads push.
    @Test func neverMoreThanCapacityAtOnce() {
        let gate = FIFOGate(capacity: 2)
        let log = Log()
        let done = DispatchGroup()
        for id in 0..<12 {
            done.enter()
            Thread {
                for _ in 0..<20 {
                    gate.withAdmission {
                        log.enter(id)
                        usleep(200)
                        log.leave()
                    }
                }
                done.leave()
            }.start()
        }
        done.wait()
        #expect(log.entries.count == 240)
        #expect(log.mostAtOnce == 2)
    }

    /// A throwing body still frees its slot.
    @Test func errorsReleaseTheSlot() {
        struct Failure: Error {}
        let gate = FIFOGate(capacity: 1)
        for _ in 0..<3 { #expect(throws: Failure.self) { try gate.withAdmission { throw Failure() } } }
        #expect(gate.withAdmission { 7 } == 7)
    }
}

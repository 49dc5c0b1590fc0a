import Foundation
import Testing
@testable import VectorIndex

struct ReadWriteLockTests {
    /// Eight threads keep the read side held, overlapping each other, as steady search load does; a writer
    /// must still get in within a bound. With glibc's default (reader-preferring) rwlock it waited for as long
    /// as the readers kept coming.
    @Test func aWriterIsNotStarvedBySteadyReaders() throws {
        let lock = ReadWriteLock()
        let stop = StopFlag()
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread {
                while !stop.isSet {
                    _ = lock.withReadLock { usleep(300) }
                }
                group.leave()
            }.start()
        }
        usleep(50_000)  // let the readers overlap
        var worst = 0.0
        for _ in 0..<20 {
            let started = DispatchTime.now().uptimeNanoseconds
            lock.withWriteLock {}
            worst = max(worst, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            usleep(5_000)
        }
        stop.set()
        group.wait()
        #expect(worst < 0.25, "longest wait for the write lock: \(worst) s")
    }

    /// `@unchecked Sendable`: every access holds `lock`.
    final class StopFlag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        var isSet: Bool { lock.withLock { value } }
        func set() { lock.withLock { value = true } }
    }
}

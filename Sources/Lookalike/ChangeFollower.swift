import Foundation
import Storage

/// Keeps a service current with what other nodes store in a shared database: woken by the store's change
/// notifications (or its polling interval when none arrive), it reconciles the list of collections and applies
/// every collection's changes after the sequence its index holds. Errors (the database restarting) are
/// retried with backoff; the index keeps serving what it holds meanwhile.
///
/// `@unchecked Sendable` is safe because `stopped`, `lastSuccess` and `lastError` change only under `lock`.
final class ChangeFollower: @unchecked Sendable {
    /// How far behind a node may be before it reports that it is not caught up.
    struct Status: Sendable, Equatable {
        /// When the last pass finished without error (nil: none yet).
        let caughtUpAt: Date?
        /// The last pass's failure, while it lasts.
        let error: String?
        /// Changes applied since the follower started.
        let applied: Int
    }

    private let interval: Double
    private let pass: () throws -> Int
    private let wait: (Double) -> Bool
    private let lock = NSLock()
    private var stopped = false
    private var lastSuccess: Date?
    private var lastError: String?
    private var applied = 0
    private let finished = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// `pass` reconciles and applies (returning the changes applied); `wait` blocks until a change may have
    /// been stored or the timeout passes.
    init(interval: Double, pass: @escaping () throws -> Int, wait: @escaping (Double) -> Bool) {
        self.interval = interval
        self.pass = pass
        self.wait = wait
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "lookalike.follower"
        lock.withLock { self.thread = thread }
        thread.start()
    }

    /// Stops after the pass in progress (at most one polling interval later).
    func stop() {
        let running = lock.withLock { () -> Bool in
            defer { stopped = true }
            return thread != nil && !stopped
        }
        if running { finished.wait() }
    }

    var status: Status { lock.withLock { Status(caughtUpAt: lastSuccess, error: lastError, applied: applied) } }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func run() {
        defer { finished.signal() }
        var backoff = interval
        while !isStopped {
            do {
                let count = try pass()
                lock.withLock {
                    lastSuccess = Date()
                    lastError = nil
                    applied += count
                }
                backoff = interval
                // A doorbell rung during the pass is kept by the store, so this returns at once for it.
                _ = wait(interval)
            } catch {
                lock.withLock { lastError = "\(error)" }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 5)
            }
        }
    }
}

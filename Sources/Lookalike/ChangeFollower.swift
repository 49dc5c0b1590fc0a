import NIOConcurrencyHelpers
import Foundation
import Storage

/// Keeps a service current with what other nodes store in a shared database: woken by the store's change
/// notifications (or its polling interval when none arrive), it reconciles the list of collections and applies
/// every collection's changes after the sequence its index holds. Errors (the database restarting) are
/// retried with backoff; the index keeps serving what it holds meanwhile.
final class ChangeFollower: Sendable {
    /// How far behind a node may be before it reports that it is not caught up.
    struct Status: Sendable, Equatable {
        /// When the last pass finished without error (nil: none yet).
        let caughtUpAt: Date?
        /// The last pass's failure, while it lasts.
        let error: String?
        /// Changes applied since the follower started.
        let applied: Int
    }

    private struct State {
        var started = false
        var stopped = false
        var lastSuccess: Date?
        var lastError: String?
        var applied = 0
    }

    /// The longest pause between failed passes.
    static let maxBackoffSeconds = 1.0

    private let interval: Double
    private let created = Date()
    private let pass: @Sendable () throws -> Int
    private let wait: @Sendable (Double) -> Bool
    private let state = NIOLockedValueBox(State())
    private let finished = DispatchSemaphore(value: 0)

    /// `pass` reconciles and applies (returning the changes applied); `wait` blocks until a change may have
    /// been stored or the timeout passes.
    init(interval: Double, pass: @escaping @Sendable () throws -> Int, wait: @escaping @Sendable (Double) -> Bool) {
        self.interval = interval
        self.pass = pass
        self.wait = wait
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "lookalike.follower"
        state.withLockedValue { $0.started = true }
        thread.start()
    }

    /// Stops after the pass in progress (at most one polling interval later).
    func stop() {
        let running = state.withLockedValue { state -> Bool in
            defer { state.stopped = true }
            return state.started && !state.stopped
        }
        if running { finished.wait() }
    }

    var status: Status { state.withLockedValue { Status(caughtUpAt: $0.lastSuccess, error: $0.lastError, applied: $0.applied) } }

    /// Seconds since the last pass that finished without error (since the follower was made, before any).
    var lagSeconds: Double { Date().timeIntervalSince(state.withLockedValue { $0.lastSuccess } ?? created) }

    private var isStopped: Bool { state.withLockedValue { $0.stopped } }

    private func run() {
        defer { finished.signal() }
        var backoff = interval
        while !isStopped {
            do {
                let count = try pass()
                state.withLockedValue {
                    $0.lastSuccess = Date()
                    $0.lastError = nil
                    $0.applied += count
                }
                backoff = interval
                // A doorbell rung during the pass is kept by the store, so this returns at once for it.
                _ = wait(interval)
            } catch {
                state.withLockedValue { $0.lastError = "\(error)" }
                Thread.sleep(forTimeInterval: backoff)
                // Short: a pass against an unreachable database already waits out its connection attempt, and
                // once the network heals the node should catch up within seconds, not sit out a long backoff.
                backoff = min(backoff * 2, Self.maxBackoffSeconds)
            }
        }
    }
}

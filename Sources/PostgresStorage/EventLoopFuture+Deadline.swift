#if PostgreSQL
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

extension EventLoopFuture where Value: Sendable {
    /// Blocks the calling thread until the future completes or `seconds` pass. A connection whose server went
    /// away in the middle of a statement has been seen to leave that statement's future pending for good; the
    /// deadline turns that into ``PostgresStorageError/unavailable(_:)``, whose connection the pool discards.
    func wait(seconds: Int64, doing what: @autoclosure () -> String) throws -> Value {
        let loop = eventLoop
        let promise = loop.makePromise(of: Value.self)
        let description = what()
        // Both completions run on `loop`; the lock is never contended, and lets the compiler check the flag.
        let settled = SettledFlag()
        let deadline = loop.scheduleTask(in: .seconds(seconds)) {
            guard settled.settle() else { return }
            promise.fail(PostgresStorageError.unavailable("no answer within \(seconds) s to \(description)"))
        }
        whenComplete { result in
            deadline.cancel()
            guard settled.settle() else { return }
            promise.completeWith(result)
        }
        return try promise.futureResult.wait()
    }

}

extension PostgresConnection {
    /// Closes without waiting for the goodbye (a connection worth discarding may never answer it), holding on
    /// to the connection until the close completes: postgres-nio requires a connection closed before it is freed.
    func closeInBackground() {
        close().whenComplete { _ in withExtendedLifetime(self) {} }
    }
}

/// Whether the result or the deadline came first.
private final class SettledFlag: Sendable {
    private let settled = NIOLockedValueBox(false)
    /// True for the first caller only.
    func settle() -> Bool { settled.withLockedValue { settled in defer { settled = true }; return !settled } }
}
#endif

#if PostgreSQL
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
        // Both completions run on `loop`, so the flag needs no lock.
        let settled = SettledFlag()
        let deadline = loop.scheduleTask(in: .seconds(seconds)) {
            guard !settled.value else { return }
            settled.value = true
            promise.fail(PostgresStorageError.unavailable("no answer within \(seconds) s to \(description)"))
        }
        whenComplete { result in
            deadline.cancel()
            guard !settled.value else { return }
            settled.value = true
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

/// Touched only on one event loop.
private final class SettledFlag: @unchecked Sendable {
    var value = false
}
#endif

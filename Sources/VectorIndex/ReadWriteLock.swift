#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Many concurrent readers or one writer, with writers first: once a writer is waiting, new readers wait behind
/// it. Searches take the read side; inserts and the swap of a rebuilt forest take the write side for
/// microseconds.
///
/// glibc's `pthread_rwlock_t` prefers readers by default, so under steady overlapping searches a writer could
/// wait indefinitely. A writer therefore holds `turnstile` (a mutex) while it waits for the rwlock; a reader
/// passes through `turnstile` before taking its read lock, so it queues behind a waiting writer. Readers must not
/// take the read side again while holding it (a writer queued in between would deadlock them); none do.
/// `@unchecked Sendable` is safe because its only state is the two pthread locks, touched only through pthread calls.
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    private let turnstile = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        lock.initialize(to: pthread_rwlock_t())
        turnstile.initialize(to: pthread_mutex_t())
        precondition(pthread_rwlock_init(lock, nil) == 0, "pthread_rwlock_init failed")
        precondition(pthread_mutex_init(turnstile, nil) == 0, "pthread_mutex_init failed")
    }

    deinit {
        pthread_rwlock_destroy(lock)
        pthread_mutex_destroy(turnstile)
        lock.deallocate()
        turnstile.deallocate()
    }

    func withReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(turnstile)
        pthread_mutex_unlock(turnstile)
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func withWriteLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(turnstile)
        pthread_rwlock_wrlock(lock)
        pthread_mutex_unlock(turnstile)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Log lines on their way to standard error, written by a thread of their own.
///
/// A request appends its line to one of several buffers, chosen by its thread, so that the server's many
/// connection threads rarely wait for each other (one shared lock made logging halve the request rate); no
/// system call happens on the request path. The writer thread collects every buffer each few milliseconds, or at
/// once when one passes `flushBytes`, and writes them with one `write(2)` each. Lines of one thread stay in order.
/// A full buffer (the reader of standard error stalled) drops new lines rather than block requests, and counts
/// them (`lookalike_log_lines_dropped_total`). ``flush(timeout:)`` writes out everything appended before it.
/// `@unchecked Sendable` is safe because `passes` is touched only under `progress`; the shards lock themselves.
final class LogSink: @unchecked Sendable {
    /// One buffer's lines not yet written, and the lines it had no room for.
    struct Shard {
        var pending: [UInt8] = []
        var dropped = 0
    }

    private let descriptor: Int32
    /// A pthread lock each (not `Synchronization.Mutex`, which hands over slowly under contention on Linux).
    private let shards: [NIOLockedValueBox<Shard>]
    private let shardCapacity: Int
    private let flushBytes: Int
    private let wake = DispatchSemaphore(value: 0)
    /// Drain passes completed, for ``flush(timeout:)``; guarded by `progress`.
    private let progress = NSCondition()
    private var passes = 0

    /// The sink of the process's log (standard error).
    static let standardError = LogSink(descriptor: 2)

    init(descriptor: Int32, shardCount: Int = 16, capacity: Int = 16 << 20, flushBytes: Int = 64 << 10) {
        self.descriptor = descriptor
        self.shards = (0..<shardCount).map { _ in NIOLockedValueBox(Shard()) }
        self.shardCapacity = capacity / shardCount
        self.flushBytes = flushBytes
        let thread = Thread { [self] in writeLoop() }
        thread.name = "lookalike.log"
        thread.start()
    }

    /// Queues one line (with its newline).
    func append(_ line: String) {
        // pthread_t is the thread's address: mix its bits (Fibonacci hashing) so neighbouring threads spread out.
        let shard = shards[Int((UInt(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 58) % shards.count]
        var line = line
        let (capacity, flushBytes) = (shardCapacity, flushBytes)
        let full = line.withUTF8 { bytes -> Bool in
            shard.withLockedValue { shard in
                guard shard.pending.count + bytes.count <= capacity else {
                    shard.dropped += 1
                    return false
                }
                shard.pending.append(contentsOf: bytes)
                return shard.pending.count >= flushBytes
            }
        }
        if full { wake.signal() }
    }

    /// Lines dropped because a buffer was full.
    var droppedLines: Int { shards.reduce(0) { total, shard in total + shard.withLockedValue { $0.dropped } } }

    /// Waits (at most `timeout` seconds) until every line appended before the call is written.
    func flush(timeout: Double = 5) {
        let deadline = Date().addingTimeInterval(timeout)
        progress.lock()
        defer { progress.unlock() }
        // A pass that starts after this point sees every earlier line: wait for two to complete.
        let target = passes + 2
        wake.signal()
        while passes < target && Date() < deadline { _ = progress.wait(until: min(deadline, Date().addingTimeInterval(0.01))) }
    }

    private func writeLoop() {
        var batch: [UInt8] = []
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(20))
            for shard in shards {
                shard.withLockedValue { swap(&batch, &$0.pending) }
                if !batch.isEmpty { Self.writeAll(descriptor, batch) }
                batch.removeAll(keepingCapacity: true)
            }
            progress.lock()
            passes += 1
            progress.broadcast()
            progress.unlock()
        }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }  // standard error is gone: nothing to report it on
                offset += count
            }
        }
    }
}

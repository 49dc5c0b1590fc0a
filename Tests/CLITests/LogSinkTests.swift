import Foundation
import Testing
@testable import lookalike

/// The server's log buffer: every line arrives whole and in its thread's order, or is counted as dropped.
struct LogSinkTests {
    @Test func linesFromManyThreadsArriveWholeAndInOrder() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString)").path
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer { close(descriptor); unlink(path) }
        let sink = LogSink(descriptor: descriptor, shardCount: 4, capacity: 64 << 20, flushBytes: 4096)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for line in 0..<2000 { sink.append("t\(thread) \(line) " + String(repeating: "x", count: line % 50) + "\n") }
        }
        sink.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 16_000 && sink.droppedLines == 0)
        var next = [Int](repeating: 0, count: 8)
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let thread = Int(parts[0].dropFirst()), let number = Int(parts[1]) else {
                Issue.record("mangled line: \(line.prefix(80))")
                continue
            }
            #expect(number == next[thread], "thread \(thread): \(number) after \(next[thread] - 1)")
            #expect(line.count == "t\(thread) \(number) ".count + number % 50)
            next[thread] = number + 1
        }
    }

    /// A reader that stops reading must not block the request path: lines beyond the buffer are dropped and
    /// counted, and what was kept arrives once the reader drains.
    @Test func aStalledReaderCostsCountedLinesNotBlockedRequests() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        let sink = LogSink(descriptor: ends[1], shardCount: 2, capacity: 256 << 10, flushBytes: 4096)
        let line = String(repeating: "y", count: 99) + "\n"
        let started = Date()
        for _ in 0..<20_000 { sink.append(line) }  // 2 MB into a 64 KiB pipe nobody reads yet, and a 256 KiB buffer
        #expect(Date().timeIntervalSince(started) < 5)
        let dropped = sink.droppedLines
        #expect(dropped > 0)
        let readEnd = ends[0]
        let received = LineCount()
        let counter = Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(readEnd, &buffer, buffer.count)
                if count <= 0 { break }
                received.add(buffer[0..<count].filter { $0 == 10 }.count)
            }
        }
        counter.start()
        sink.flush(timeout: 10)
        close(ends[1])
        while !counter.isFinished { usleep(10_000) }
        #expect(received.value + dropped == 20_000)
    }
}

/// Newlines counted by a reader thread; `@unchecked Sendable` because `count` is only touched under `lock`.
final class LineCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ lines: Int) { lock.withLock { count += lines } }
    var value: Int { lock.withLock { count } }
}

import ArgumentParser
import Dispatch
import Foundation
import Storage

struct BenchStorage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-storage",
        abstract: "SQLite insert throughput (1280-d vectors, batched transactions) and start-up vector load time.")

    @Option(help: "Records to insert.") var count = 100_000
    @Option(help: "Records per transaction.") var batch = 500
    @Option(help: "Database file (deleted first).") var db = "/tmp/lookalike-bench-storage.sqlite"

    func validate() throws {
        guard (1...10_000_000).contains(count), (1...100_000).contains(batch) else {
            throw ValidationError("--count must be 1...10000000 and --batch 1...100000")
        }
    }

    func run() throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        let store = try ImageStore(path: db)
        let scheme = try store.saveHashScheme(kind: "simhash", bits: 256, dimension: 1280, parameters: [])
        // One record's vector is reused with a varying first value: generation must not dominate the timing.
        let template = StressRecord.write(index: 0, scheme: scheme)
        var start = DispatchTime.now().uptimeNanoseconds
        var index = 0
        while index < count {
            let records = (index..<min(index + batch, count)).map { i -> ImageWrite in
                var record = template
                record.key = "k\(i)"
                record.vector[0] = Float(i)
                record.thumbnail = []
                return record
            }
            try store.upsert(batch: records)
            index += records.count
        }
        let insertSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let size = (try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int) ?? 0
        print(String(format: "insert: %d records in %.2f s = %.0f records/s (batches of %d, synchronous=FULL); file %.0f MB",
                     count, insertSeconds, Double(count) / insertSeconds, batch, Double(size) / 1e6))
        start = DispatchTime.now().uptimeNanoseconds
        var loaded = 0
        var checksum: Float = 0
        try store.forEachVector(model: template.model) { _, vector in
            loaded += 1
            checksum += vector[1]
        }
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print(String(format: "load: %d vectors streamed in %.2f s = %.0f vectors/s (checksum %.1f)",
                     loaded, loadSeconds, Double(loaded) / loadSeconds, checksum))
    }
}

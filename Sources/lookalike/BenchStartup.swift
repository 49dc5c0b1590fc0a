import ArgumentParser
import Dispatch
import Synchronization
import Foundation
import Lookalike
import Storage

/// A service's start-up with a large graph-kind collection, through the real domain and a real SQLite file: the
/// rows of an .npy file stored as a collection's images (vectors and codes, no pixels), then the service opened
/// twice. The first start has no graph snapshot (ready as soon as the vectors are loaded, the graph built in the
/// background while searches are exact); its shutdown saves the snapshot; the second start restores from it.
/// Each start's answers are checked against exact search.
struct BenchStartup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-startup",
        abstract: "Start-up time of a service holding a large graph-kind collection, without and with its snapshot.")

    @OptionGroup var options: ServiceOptions
    @Option(help: "Base vectors (.npy, float32, 2-D): stored as the collection's images.") var base: String
    @Option(help: "Query vectors (.npy): answers checked against exact search after each start.") var queries: String
    @Option(help: "Store only the first this many rows (0: all).") var count = 0
    @Option(help: "Queries checked after each start.") var maxQueries = 50
    @Option(help: "Records per transaction while filling the database.") var batch = 2000
    @Flag(help: "Use the database as it is (filled by an earlier run) rather than filling it anew.") var reuse = false
    @Flag(help: "With --reuse: only the start from the snapshot an earlier run saved.") var snapshotOnly = false
    @Option(help: ArgumentHelp("After the start from the snapshot, upload every image file in this folder (real inference) into "
                               + "the large collection and into an empty one, in alternating rounds, and compare the rates."))
    var ingestFolder: String?
    @Option(help: "Rounds of uploads into each collection (with --ingest-folder).") var ingestRounds = 2

    static let collectionName = "bench-startup"

    func validate() throws {
        guard options.db != nil else { throw ValidationError("--db names the SQLite file to fill (it is replaced)") }
        guard count >= 0, (1...10_000).contains(maxQueries), (1...100_000).contains(batch) else {
            throw ValidationError("--count must be ≥ 0, --max-queries 1...10000, --batch 1...100000")
        }
    }

    func run() throws {
        let rows = try MappedNumpyRows(path: base)
        let stored = count == 0 ? rows.count : min(count, rows.count)
        let queryRows = BenchIndex.rowsOf(try BenchIndex.load(queries), limit: maxQueries)
        guard queryRows.first?.count == rows.dimension else { throw ValidationError("base and queries differ in dimension") }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores; \(stored) vectors of \(rows.dimension) dimensions")
        if !reuse { try fill(rows, stored: stored) }

        // First start: no snapshot (a fresh fill has none; a reused database's is removed).
        let database = options.db!
        if !(reuse && snapshotOnly) {
            try? FileManager.default.removeItem(atPath: database + "." + Self.collectionName + ".graph")
            try startOnce(label: "start without a snapshot", queryRows, waitForBuild: true)
        }
        let images = try ingestFolder.map { folder in
            try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { name in
                try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(name)))
            }
        }
        try startOnce(label: "start from the snapshot", queryRows, waitForBuild: false, ingest: images)
    }

    /// Stores `stored` rows as images of a new graph-kind collection, with the codes the collection's scheme gives.
    private func fill(_ rows: MappedNumpyRows, stored: Int) throws {
        nonisolated(unsafe) let rows = rows  // mapped read-only
        try BenchCollectionFill(options: options, collection: Self.collectionName, settings: ["index": ["kind": "graph"]], batch: batch)
            .fill(count: stored, key: { "v\($0)" }, vector: { rows.row($0) })
    }

    /// Opens the service (timed to ready: every vector loaded, searches answered), optionally waits for the
    /// background graph build, checks answers against exact search, and shuts down (saving the snapshot).
    private func startOnce(label: String, _ queryRows: [[Float]], waitForBuild: Bool, ingest images: [[UInt8]]? = nil) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let service = try options.openService()
        let readySeconds = BenchIndex.seconds(since: start)
        let building = service.collectionsBuildingIndexes
        let loadOutcome = service.indexLoad(collection: Self.collectionName).map { "\($0)" } ?? "none"
        let resident = BenchIndex.residentBytes()
        print(String(format: "%@: ready in %.2f s (index load: %@; building: %@); RSS %.2f GB (anonymous %.2f GB)",
                     label, readySeconds, loadOutcome, building.isEmpty ? "none" : building.joined(separator: ","),
                     Double(resident.total) / 1e9, Double(resident.anonymous) / 1e9))
        if waitForBuild {
            let buildStart = DispatchTime.now().uptimeNanoseconds
            service.waitForIndexBuilds()
            print(String(format: "  graph built in the background in a further %.1f s", BenchIndex.seconds(since: buildStart)))
        }
        let statistics = try service.statistics(collection: Self.collectionName)
        var found = 0
        var wanted = 0
        var latencies: [Double] = []
        for query in queryRows {
            let truth = try service.search(vector: query, options: SearchOptions(k: 10, exact: true), collection: Self.collectionName)
            let queryStart = DispatchTime.now().uptimeNanoseconds
            let answer = try service.search(vector: query, options: SearchOptions(k: 10), collection: Self.collectionName)
            latencies.append(BenchIndex.seconds(since: queryStart))
            found += Set(answer.map(\.key)).intersection(truth.map(\.key)).count
            wanted += truth.count
        }
        let (p50, p99) = BenchIndex.percentiles(latencies)  // milliseconds
        print(String(format: "  %d images indexed, index %.1f MB in memory (%d bytes per image); recall@10 %.4f over %d queries, "
                     + "p50 %.2f ms, p99 %.2f ms", statistics.indexed, Double(statistics.indexBytes) / 1e6,
                     statistics.indexBytes / max(1, statistics.indexed), Double(found) / Double(max(1, wanted)), queryRows.count,
                     p50, p99))
        if let images, !images.isEmpty { try compareIngestion(service, images: images) }
        let stopStart = DispatchTime.now().uptimeNanoseconds
        if let problem = service.shutdown() { print("  shutdown: \(problem)") }
        print(String(format: "  shut down (snapshot saved) in %.1f s", BenchIndex.seconds(since: stopStart)))
    }

    /// Uploads `images` into the large collection and into an empty graph-kind one, in alternating rounds with
    /// fresh keys, four uploads at a time (the inference pool's queue kept full), and prints each rate.
    private func compareIngestion(_ service: LookalikeService, images: [[UInt8]]) throws {
        let empty = Self.collectionName + "-empty"
        if (try? service.requireCollection(empty)) == nil {
            _ = try service.createCollection(name: empty, settings: ["index": ["kind": "graph"]])
        }
        var rates: [String: [Double]] = [:]
        for round in 0..<ingestRounds {
            let order = round % 2 == 0 ? [empty, Self.collectionName] : [Self.collectionName, empty]
            for collection in order {
                let next = Atomic<Int>(0)
                let failures = Mutex<[String]>([])
                let start = DispatchTime.now().uptimeNanoseconds
                DispatchQueue.concurrentPerform(iterations: 4) { _ in
                    while true {
                        let index = next.add(1, ordering: .relaxed).oldValue
                        guard index < images.count else { return }
                        do {
                            _ = try service.ingest(bytes: images[index], key: "ingest-r\(round)-\(index)", collection: collection)
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
                let rate = Double(images.count) / BenchIndex.seconds(since: start)
                if let failure = failures.withLock({ $0.first }) { throw ValidationError("an upload failed: \(failure)") }
                rates[collection, default: []].append(rate)
                print(String(format: "  ingestion round %d: %d images into %@ at %.1f images/s", round + 1, images.count, collection, rate))
            }
        }
        let large = rates[Self.collectionName] ?? [], small = rates[empty] ?? []
        let ratios = zip(large, small).map { $0 / $1 }
        print("  ingestion into the large collection against the empty one: round ratios "
              + ratios.map { String(format: "%.3f", $0) }.joined(separator: ", "))
    }
}

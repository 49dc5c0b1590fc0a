import ArgumentParser
import Foundation
import Lookalike
import Synchronization
import VectorIndex

/// Duplicate groups over a large collection, through the real domain and a real SQLite file: the rows of an .npy
/// file stored as images, and every `duplicateEvery`-th row stored a second time as a near copy (a fixed cosine to
/// its original, under a key of its own). The service is opened, and the groups of the whole collection computed
/// once, timed, with the process's resident memory sampled meanwhile; then how many planted pairs share a group.
/// Run it under `taskset -c 0` for one core.
struct BenchGroups: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-groups",
        abstract: "Time and peak memory of duplicate groups over a large collection with planted near copies.")

    @OptionGroup var options: ServiceOptions
    @Option(help: "Base vectors (.npy, float32, 2-D): stored as the collection's images.") var base: String
    @Option(help: "Store only the first this many rows (0: all).") var count = 0
    @Option(help: "Every this many rows, a near copy of the row is stored too.") var duplicateEvery = 10
    @Option(help: "The cosine of each planted copy to its original.") var copyCosine: Float = 0.97
    @Option(help: "Grouping threshold (cosine).") var threshold = Paging.defaultThreshold
    @Option(help: "Nearest neighbours each image is joined with.") var neighbours = Paging.defaultNeighbours
    @Option(help: "Index kind of the collection: forest or graph.") var kind = "forest"
    @Option(help: "Records per transaction while filling the database.") var batch = 2000
    @Flag(help: "Use the database as it is (filled by an earlier run with the same options).") var reuse = false

    static let collectionName = "bench-groups"

    func validate() throws {
        guard options.db != nil else { throw ValidationError("--db names the SQLite file to fill (it is replaced)") }
        guard count >= 0, duplicateEvery >= 1, (0.5...0.9999).contains(copyCosine), (1...100_000).contains(batch) else {
            throw ValidationError("--count must be ≥ 0, --duplicate-every ≥ 1, --copy-cosine 0.5...0.9999, --batch 1...100000")
        }
        guard ["forest", "graph"].contains(kind) else { throw ValidationError("--kind must be forest or graph") }
    }

    func run() throws {
        nonisolated(unsafe) let rows = try MappedNumpyRows(path: base)  // mapped read-only
        let originals = count == 0 ? rows.count : min(count, rows.count)
        let copies = (originals + duplicateEvery - 1) / duplicateEvery
        let every = duplicateEvery, cosine = copyCosine
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores available; \(originals) vectors of \(rows.dimension) "
              + "dimensions and \(copies) near copies (cosine \(cosine)); threshold \(threshold), \(neighbours) neighbours, \(kind)")
        // The generator's promise, checked on the first planted pair.
        let first = rows.row(0), copy = Self.nearCopy(of: first, cosine: cosine, seed: UInt64(originals))
        let measured = zip(first, copy).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        guard abs(measured - cosine) < 1e-3 else { throw ValidationError("a planted copy has cosine \(measured), not \(cosine)") }
        if !reuse {
            try BenchCollectionFill(options: options, collection: Self.collectionName, settings: ["index": ["kind": kind]], batch: batch)
                .fill(count: originals + copies,
                      key: { $0 < originals ? "v\($0)" : "v\(($0 - originals) * every)-copy" },
                      vector: { $0 < originals ? rows.row($0) : Self.nearCopy(of: rows.row(($0 - originals) * every), cosine: cosine,
                                                                               seed: UInt64($0)) })
        }

        let start = DispatchTime.now().uptimeNanoseconds
        let service = try options.openService()
        defer { _ = service.shutdown() }
        service.waitForIndexBuilds()
        let idle = BenchIndex.residentBytes().total
        print(String(format: "ready in %.1f s; RSS %.2f GB", BenchIndex.seconds(since: start), Double(idle) / 1e9))

        // Resident memory sampled every 20 ms while the groups are computed.
        let peak = Atomic<Int>(idle)
        let done = Atomic<Bool>(false)
        let sampler = Thread {
            while !done.load(ordering: .acquiring) {
                let now = BenchIndex.residentBytes().total
                if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
                Thread.sleep(forTimeInterval: 0.02)
            }
        }
        sampler.start()
        let groupStart = DispatchTime.now().uptimeNanoseconds
        var page = try service.duplicates(threshold: Float(threshold), neighbours: neighbours, limit: Paging.limitRange.upperBound,
                                          collection: Self.collectionName)
        let seconds = BenchIndex.seconds(since: groupStart)
        done.store(true, ordering: .releasing)
        while !sampler.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        print(String(format: "groups: %d groups holding %d images in %.1f s; peak RSS %.2f GB, %.0f MB above the loaded service",
                     page.totalGroups, page.totalImages, seconds, Double(peak.load(ordering: .relaxed)) / 1e9,
                     Double(peak.load(ordering: .relaxed) - idle) / 1e6))

        // Which planted pairs share a group, and how many groups hold no planted pair.
        var groupOf: [String: Int] = [:]
        var groupNumber = 0
        var sizes: [Int: Int] = [:]
        while true {
            for group in page.groups {
                for key in group { groupOf[key] = groupNumber }
                sizes[group.count, default: 0] += 1
                groupNumber += 1
            }
            guard let next = page.next else { break }
            page = try service.duplicates(threshold: Float(threshold), neighbours: neighbours, limit: Paging.limitRange.upperBound,
                                          after: next, collection: Self.collectionName)
        }
        var found = 0
        var withPlanted = Set<Int>()
        for original in stride(from: 0, to: originals, by: every) {
            if let group = groupOf["v\(original)"], groupOf["v\(original)-copy"] == group {
                found += 1
                withPlanted.insert(group)
            }
        }
        let largest = sizes.keys.max() ?? 0
        print(String(format: "planted pairs in one group: %d of %d (%.4f); groups without a planted pair: %d; largest group %d images",
                     found, copies, Double(found) / Double(max(1, copies)), groupNumber - withPlanted.count, largest))
    }

    /// A unit vector at exactly `cosine` to `vector` (a unit vector), in a direction drawn from `seed`.
    static func nearCopy(of vector: [Float], cosine: Float, seed: UInt64) -> [Float] {
        // A Gaussian direction, made orthogonal to `vector` and unit length.
        var random = SplitMix64(seed: seed)
        var noise = (0..<vector.count).map { _ in random.nextGaussian() }
        let along = zip(noise, vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        for i in noise.indices { noise[i] -= along * vector[i] }
        let length = noise.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        let sine = (1 - cosine * cosine).squareRoot()
        return zip(vector, noise).map { cosine * $0.0 + sine * $0.1 / length }
    }
}

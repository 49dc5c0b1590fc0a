import ArgumentParser
import Dispatch
import Foundation
import Inference
import MetadataFilter
import VectorIndex

struct BenchIndex: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-index",
        abstract: "Recall@k against exact search and single-thread queries/s for the forest, Hamming and exact strategies.",
        discussion: "Reads .npy (float32, 2-D) or .fvecs files. Vectors are L2-normalised on load.")

    @Option(help: "Base vectors (.npy or .fvecs).") var base: String
    @Option(help: "Query vectors (.npy or .fvecs).") var queries: String
    @Option(help: "Neighbours per query.") var k = 10
    @Option(help: "Comma-separated tree counts.") var trees = "10,20"
    @Option(help: "Comma-separated search_k values.") var searchK = "2000,5000,10000,20000"
    @Option(help: "Comma-separated Hamming candidate counts.") var candidates = "1000,3000,10000"
    @Option(help: "Leaf size.") var leafSize = 32
    @Option(help: "Comma-separated Hamming re-rank limits for the forest (0: exact re-ranking of every candidate).")
    var rerank = "0,3000"
    @Option(help: "Comma-separated principal-subspace dimensions (0: no subspace stage).") var reduced = "0,128"
    @Option(help: "Comma-separated counts of subspace-ranked candidates scored exactly.") var reducedRerank = "256"
    @Option(help: "Use at most this many queries.") var maxQueries = 1000
    @Option(help: "Also time saving the first forest (or the graph) to this file and restoring it into a fresh index.")
    var snapshot: String?
    @Option(help: ArgumentHelp(
        "Comma-separated filter selectivities (e.g. 0.5,0.1,0.01,0.001): instead of the sweep, filtered search with the service's defaults against the exact filtered answer, at k and at 100, beside the unfiltered run.",
        valueName: "fractions"))
    var filterSelectivity: String?
    @Flag(help: "One JSON object per row.") var json = false
    @Option(help: "Comma-separated index kinds to measure: forest, graph.") var kind = "forest"
    @Option(help: "Graph: out-edges per node.") var degree = 32
    @Option(help: "Graph: candidates kept while inserting a node.") var buildBeam = 64
    @Option(help: "Graph: principal directions in a code (bytes per code).") var codeRank = 256
    @Option(help: "Graph: comma-separated search beams.") var beams = "16,24,32,48,64,96,128"
    @Option(help: "Graph: comma-separated counts of candidates re-ranked exactly.") var graphRerank = "20,40,80"
    @Option(help: "Graph: comma-separated early-stop slacks for re-ranking (none: re-rank every candidate).")
    var stopSlack = "none"
    @Option(help: "Graph: build after this many vectors and insert the rest one by one (0: build once after all).")
    var graphIncrementalAfter = 0
    @Option(help: "Graph: restore the graph from this snapshot (saved by --snapshot over the same base) instead of building it.")
    var graphFrom: String?
    @Option(help: "Graph: folder for the full-vector file (default: a temporary folder, deleted afterwards).")
    var vectorFolder: String?

    func validate() throws {
        guard (1...1000).contains(k) else { throw ValidationError("--k must be 1...1000") }
        guard (1...1_000_000).contains(maxQueries) else { throw ValidationError("--max-queries must be 1...1000000") }
        if let filterSelectivity {
            let values = filterSelectivity.split(separator: ",").map { Double($0) }
            guard !values.isEmpty, values.allSatisfy({ $0.map { $0 > 0 && $0 <= 1 } ?? false }) else {
                throw ValidationError("--filter-selectivity takes fractions in (0, 1], comma-separated")
            }
        }
    }

    static func load(_ path: String) throws -> (rows: Int, dimension: Int, values: [Float]) {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let bytes = [UInt8](data)
        if path.hasSuffix(".npy") {
            let array = try NumpyArray(bytes: bytes)
            guard array.shape.count == 2 else { throw ValidationError("\(path): expected a 2-D array, got \(array.shape)") }
            return (array.shape[0], array.shape[1], array.values)
        }
        guard bytes.count >= 4 else { throw ValidationError("\(path): empty") }
        let dimension = Int(Int32(littleEndian: bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }))
        let rowBytes = 4 + dimension * 4
        guard dimension > 0, dimension <= 1 << 20, bytes.count % rowBytes == 0 else {
            throw ValidationError("\(path): not an .fvecs file (dimension \(dimension), \(bytes.count) bytes)")
        }
        let rows = bytes.count / rowBytes
        var values = [Float](repeating: 0, count: rows * dimension)
        bytes.withUnsafeBytes { raw in
            values.withUnsafeMutableBytes { out in
                for row in 0..<rows {
                    out.baseAddress!.advanced(by: row * dimension * 4)
                        .copyMemory(from: raw.baseAddress!.advanced(by: row * rowBytes + 4), byteCount: dimension * 4)
                }
            }
        }
        return (rows, dimension, values)
    }

    static func rowsOf(_ matrix: (rows: Int, dimension: Int, values: [Float]), limit: Int = .max) -> [[Float]] {
        (0..<min(matrix.rows, limit)).map {
            FeatureVector.normalized(matrix.values[($0 * matrix.dimension)..<(($0 + 1) * matrix.dimension)])
        }
    }

    func run() throws {
        let kinds = Set(kind.split(separator: ",").map(String.init))
        if kinds == ["graph"] && filterSelectivity == nil && base.hasSuffix(".npy") {
            // Millions of rows: streamed from the mapped file into the index, never all in memory at once.
            let baseRows = try MappedNumpyRows(path: base)
            let queryRows = Self.rowsOf(try Self.load(queries), limit: maxQueries)
            guard baseRows.dimension == queryRows.first?.count else { throw ValidationError("base and queries differ in dimension") }
            if !json { print("base \(baseRows.count)×\(baseRows.dimension) (mapped), \(queryRows.count) queries, k=\(k)") }
            try runGraph(baseCount: baseRows.count, baseRow: baseRows.row, queryRows)
            return
        }
        let baseMatrix = try Self.load(base)
        let queryMatrix = try Self.load(queries)
        guard baseMatrix.dimension == queryMatrix.dimension else { throw ValidationError("base and queries differ in dimension") }
        let dimension = baseMatrix.dimension
        let baseRows = Self.rowsOf(baseMatrix)
        let queryRows = Self.rowsOf(queryMatrix, limit: maxQueries)
        let hasher = RandomHyperplaneHasher(bits: 256, dimension: dimension, seed: 7)
        let baseCodes = baseRows.map { hasher.code(for: $0) }
        let queryCodes = queryRows.map { hasher.code(for: $0) }
        if !json { print("base \(baseRows.count)×\(dimension), \(queryRows.count) queries, k=\(k)") }
        if let filterSelectivity {
            try runFiltered(baseRows, queryRows, baseCodes: baseCodes, queryCodes: queryCodes,
                            selectivities: filterSelectivity.split(separator: ",").compactMap { Double($0) },
                            kinds: kind.split(separator: ",").map(String.init))
            return
        }

        if kinds.contains("graph") { try runGraph(baseCount: baseRows.count, baseRow: { baseRows[$0] }, queryRows) }
        guard kinds.contains("forest") else { return }
        var truth: [Set<Int64>] = []
        let treeCounts = trees.split(separator: ",").compactMap { Int($0) }
        let subspaceRerankLimits = reducedRerank.split(separator: ",").compactMap { Int($0) }
        for reducedDimension in reduced.split(separator: ",").compactMap({ Int($0) }) {
            for treeCount in treeCounts {
                let index = SimilarityIndex(configuration: .init(
                    dimension: dimension, trees: treeCount, leafSize: leafSize, exactThreshold: 0, rebuildFraction: 1e9,
                    codeBits: 256, reducedDimension: reducedDimension))
                for (id, row) in baseRows.enumerated() { index.add(id: Int64(id), vector: row, code: baseCodes[id]) }
                let buildStart = DispatchTime.now().uptimeNanoseconds
                index.rebuild()
                let buildSeconds = Self.seconds(since: buildStart)
                let stats = index.statistics
                if truth.isEmpty {
                    // Ground truth: exact search (brute force over every vector).
                    let (rate, results) = try measure(index, queryRows, queryCodes, strategy: .exact)
                    truth = results.map { Set($0) }
                    report(strategy: "exact", params: "", recall: 1, qps: rate, build: 0, bytes: stats.vectorBytes)
                }
                if let snapshot, reducedDimension == reduced.split(separator: ",").compactMap({ Int($0) }).last,
                   treeCount == treeCounts.first {
                    try measureSnapshot(index.configuration, path: snapshot, rows: baseRows, codes: baseCodes)
                }
                for subspaceLimit in reducedDimension > 0 ? subspaceRerankLimits : [0] {
                    if subspaceLimit > 0 { index.subspaceRerankLimit = subspaceLimit }
                    let subspace = reducedDimension > 0 ? " subspace=\(reducedDimension)/\(subspaceLimit)" : ""
                    for limit in rerank.split(separator: ",").compactMap({ Int($0) }) {
                        index.hammingRerankLimit = limit
                        for value in searchK.split(separator: ",").compactMap({ Int($0) }) {
                            let (rate, results) = try measure(index, queryRows, queryCodes, strategy: .forest(searchK: value))
                            report(strategy: "forest",
                                   params: "trees=\(treeCount) leaf=\(leafSize) search_k=\(value) rerank=\(limit == 0 ? "all" : String(limit))\(subspace)",
                                   recall: recall(results, truth), qps: rate, build: buildSeconds,
                                   bytes: stats.vectorBytes + stats.forestBytes)
                        }
                    }
                    guard treeCount == treeCounts.first else { continue }
                    for value in candidates.split(separator: ",").compactMap({ Int($0) }) {
                        let (rate, results) = try measure(index, queryRows, queryCodes, strategy: .hamming(candidates: value))
                        report(strategy: "hamming", params: "bits=256 candidates=\(value)\(subspace)",
                               recall: recall(results, truth), qps: rate, build: 0,
                               bytes: stats.vectorBytes + baseRows.count * 32)
                    }
                }
            }
        }
    }

    /// Filtered search with the service's default index settings. Row i gets `bucket`, a uniform random integer
    /// in 0..<10,000 independent of its vector, as a declared number column and again as an undeclared field
    /// (`bucket_doc`, read from each document); selectivity s is `bucket < 10,000·s`. Ground truth: the exact
    /// filtered top k (the index's exact strategy under the filter, checked against brute force in the tests).
    /// Filtered search on each kind asked for: every row gets a random bucket 0..<10,000 (as a typed column and as
    /// a document field), and each selectivity's filter is compared with exact search under the same filter.
    private func runFiltered(_ baseRows: [[Float]], _ queryRows: [[Float]], baseCodes: [BinaryCode], queryCodes: [BinaryCode],
                             selectivities: [Double], kinds: [String]) throws {
        let attributes = AttributeSchema(fields: ["bucket": .number])
        for kind in kinds {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-bench-filter-\(ProcessInfo.processInfo.processIdentifier)").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let index: any ImageIndex
            switch kind {
            case "forest":
                index = SimilarityIndex(configuration: .init(dimension: baseRows[0].count, attributes: attributes))
            case "graph":
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                index = try GraphIndex(configuration: .init(dimension: baseRows[0].count, degree: degree, buildBeam: buildBeam,
                                                            codeRank: codeRank, vectorPath: folder + "/vectors.f32", attributes: attributes))
            default:
                throw ValidationError("unknown index kind \(kind)")
            }
            var random = SplitMix64(seed: 99)
            index.beginLoading()
            for (id, row) in baseRows.enumerated() {
                let bucket = FilterValue.number(Double(random.next() % 10_000))
                index.add(id: Int64(id), vector: row, code: kind == "forest" ? baseCodes[id] : nil, sequence: nil,
                          metadata: .object(["bucket": bucket, "bucket_doc": bucket]))
            }
            let buildStart = DispatchTime.now().uptimeNanoseconds
            index.finishLoading()
            index.buildNow()
            if !json { print(String(format: "%@ built in %.2f s", kind, Self.seconds(since: buildStart))) }
            for k in Set([self.k, 100]).sorted() {
                let (exactRate, truthRows) = try measure(index, queryRows, queryCodes, strategy: .exact, k: k)
                let (rate, results) = try measure(index, queryRows, queryCodes, strategy: .automatic, k: k)
                report(strategy: "unfiltered", params: "\(kind) k=\(k) automatic (exact \(String(format: "%.1f", exactRate)) q/s)",
                       recall: recall(results, truthRows.map { Set($0) }), qps: rate, build: 0, bytes: 0, k: k)
                for selectivity in selectivities {
                    let limit = Int((10_000 * selectivity).rounded())
                    for field in ["bucket", "bucket_doc"] {
                        let filter = try Filter.parse(#"{"\#(field)": {"$lt": \#(limit)}}"#)
                        let admitted = index.count(matching: filter)
                        let (exactRate, truthRows) = try measure(index, queryRows, queryCodes, strategy: .exact, k: k, filter: filter)
                        let (rate, results) = try measure(index, queryRows, queryCodes, strategy: .automatic, k: k, filter: filter)
                        report(strategy: "filtered", params: "\(kind) k=\(k) \(field == "bucket" ? "column" : "documents") selectivity=\(selectivity) admitted=\(admitted) (exact \(String(format: "%.1f", exactRate)) q/s)",
                               recall: recall(results, truthRows.map { Set($0) }), qps: rate, build: 0, bytes: 0, k: k)
                        if field == "bucket" && !json {
                            let ratios = try pairedRatios(index, queryRows, queryCodes, k: k, filter: filter)
                            print(String(format: "  filtered / unfiltered queries/s, %d paired rounds: median %.3f (%.3f–%.3f)",
                                         ratios.count, ratios[ratios.count / 2], ratios.first!, ratios.last!))
                        }
                    }
                }
            }
        }
    }

    /// Loads `rows` into a fresh index with a forest snapshot at `path`, times the first load (a build) and a save,
    /// then loads the same rows into another fresh index the way a restart does and times the restore.
    private func measureSnapshot(_ configuration: SimilarityIndex.Configuration, path: String, rows: [[Float]],
                                 codes: [BinaryCode]) throws {
        var configuration = configuration
        configuration.snapshotPath = path
        func loadTimed() -> (SimilarityIndex, SimilarityIndex.LoadOutcome, Double) {
            let index = SimilarityIndex(configuration: configuration)
            index.beginLoading()
            for (id, row) in rows.enumerated() { index.add(id: Int64(id), vector: row, code: codes[id]) }
            let start = DispatchTime.now().uptimeNanoseconds
            let outcome = index.finishLoading()
            return (index, outcome, Self.seconds(since: start))
        }
        let (saving, built, buildSeconds) = loadTimed()
        let saveStart = DispatchTime.now().uptimeNanoseconds
        try saving.saveSnapshot()
        let saveSeconds = Self.seconds(since: saveStart)
        let (_, restored, restoreSeconds) = loadTimed()
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print(String(format: "snapshot: first load %@ in %.2f s; save %.2f s, %.1f MB; restart %@ in %.2f s",
                     "\(built)", buildSeconds, saveSeconds, Double(bytes) / 1e6, "\(restored)", restoreSeconds))
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Queries/s and each query's ids, through the index seam (codes passed to the forest, which keeps them).
    private func measure(_ index: any ImageIndex, _ queries: [[Float]], _ codes: [BinaryCode],
                         strategy: SearchStrategy, k: Int? = nil, filter: Filter? = nil) throws -> (Double, [[Int64]]) {
        var results: [[Int64]] = []
        let start = DispatchTime.now().uptimeNanoseconds
        for (position, query) in queries.enumerated() {
            results.append(try index.search(query, k: k ?? self.k, strategy: strategy, minScore: nil, excluding: [],
                                            code: index is SimilarityIndex ? codes[position] : nil, filter: filter).map(\.id))
        }
        return (Double(queries.count) / Self.seconds(since: start), results)
    }

    /// The machine's speed drifts within seconds, so the filtered and unfiltered rates are compared in
    /// alternating rounds over the same queries; the ratios come back sorted.
    private func pairedRatios(_ index: any ImageIndex, _ queries: [[Float]], _ codes: [BinaryCode], k: Int,
                              filter: Filter, rounds: Int = 7) throws -> [Double] {
        var ratios: [Double] = []
        for _ in 0..<rounds {
            let (unfiltered, _) = try measure(index, queries, codes, strategy: .automatic, k: k)
            let (filtered, _) = try measure(index, queries, codes, strategy: .automatic, k: k, filter: filter)
            ratios.append(filtered / unfiltered)
        }
        return ratios.sorted()
    }

    func recall(_ results: [[Int64]], _ truth: [Set<Int64>]) -> Double {
        let found = zip(results, truth).reduce(0) { $0 + $1.0.filter($1.1.contains).count }
        return Double(found) / Double(truth.reduce(0) { $0 + $1.count })
    }

    /// One row; `latency` (median and 99th percentile of single queries, milliseconds) where it was measured.
    func report(strategy: String, params: String, recall: Double, qps: Double, build: Double, bytes: Int, k: Int? = nil,
                latency: (median: Double, p99: Double)? = nil) {
        let k = k ?? self.k
        if json {
            let latencyFields = latency.map { String(format: ",\"p50_ms\":%.3f,\"p99_ms\":%.3f", $0.median, $0.p99) } ?? ""
            print("{\"engine\":\"lookalike\",\"strategy\":\"\(strategy)\",\"params\":\"\(params)\",\"recall\":\(String(format: "%.4f", recall)),\"qps\":\(String(format: "%.1f", qps)),\"build_s\":\(String(format: "%.2f", build)),\"bytes\":\(bytes)\(latencyFields)}")
        } else {
            print(String(format: "%-10@ %-32@ recall@%d %.4f  %8.1f q/s  build %6.2f s  %7.1f MB",
                         strategy, params, k, recall, qps, build, Double(bytes) / 1e6)
                  + (latency.map { String(format: "  p50 %.2f ms  p99 %.2f ms", $0.median, $0.p99) } ?? ""))
        }
    }

    /// The median and 99th percentile of `seconds`, in milliseconds.
    static func percentiles(_ seconds: [Double]) -> (median: Double, p99: Double) {
        let sorted = seconds.sorted()
        guard !sorted.isEmpty else { return (0, 0) }
        let at = { (fraction: Double) in sorted[min(sorted.count - 1, Int((fraction * Double(sorted.count)).rounded(.down)))] * 1000 }
        return (at(0.5), at(0.99))
    }
}

import ArgumentParser
import Dispatch
import Foundation
import VectorIndex

extension BenchIndex {
    /// The graph kind: built once with the given degree, build beam and code rank over a vector file, then swept
    /// over search beams and re-rank counts, each query timed alone. `bytes` is what the index holds in memory
    /// (codes, graph, ids, codec), the vectors being in the file; the process's resident memory is printed beside
    /// it. `baseRow(i)` is row `i` of `baseCount`, unit length (from memory, or streamed from a mapped file).
    func runGraph(baseCount: Int, baseRow: (Int) -> [Float], _ queryRows: [[Float]]) throws {
        let folder = vectorFolder ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("lookalike-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if vectorFolder == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let index = try GraphIndex(configuration: .init(
            dimension: queryRows[0].count, degree: degree, buildBeam: buildBeam, codeRank: codeRank,
            exactThreshold: graphIncrementalAfter > 0 || graphFrom != nil ? max(1, graphIncrementalAfter) : .max,
            vectorPath: folder + "/vectors.f32", snapshotPath: graphFrom))
        let buildStart = DispatchTime.now().uptimeNanoseconds
        if graphFrom != nil { index.beginLoading() }
        for id in 0..<baseCount {
            index.add(id: Int64(id), vector: baseRow(id))
            if !json && id % 100_000 == 99_999 { print("  \(id + 1) vectors added") }
        }
        let addSeconds = Self.seconds(since: buildStart)
        if graphFrom != nil {
            let outcome = index.finishLoading()
            guard case .restored = outcome else { throw ValidationError("the graph was not restored from \(graphFrom!): \(outcome)") }
            print(String(format: "vectors added in %.1f s; graph restored from %@ in %.1f s", addSeconds, graphFrom!,
                         Self.seconds(since: buildStart) - addSeconds))
        } else if graphIncrementalAfter == 0 {
            index.buildNow(force: true)
        }
        let buildSeconds = Self.seconds(since: buildStart)
        if !json { print(String(format: "vectors added in %.1f s of the %.1f s", addSeconds, buildSeconds)) }
        let memory = index.memory
        let exactStart = DispatchTime.now().uptimeNanoseconds
        let truth = queryRows.map { Set(index.search($0, k: k, effort: .init(exact: true)).map(\.id)) }
        let exactRate = Double(queryRows.count) / Self.seconds(since: exactStart)
        do {
            let resident = Self.residentBytes()
            let line = String(format: "graph built in %.2f s: degree %d, build beam %d, code rank %d; in memory %d bytes per vector "
                         + "(codes %d, graph %d, ids %d, codec %d); vectors in file %.1f MB; process RSS %.1f MB "
                         + "(anonymous %.1f MB = %d bytes per vector, file-backed %.1f MB); exact %.1f q/s",
                         buildSeconds, degree, buildBeam, codeRank, memory.residentBytes / baseCount,
                         memory.codeBytes / baseCount, memory.graphBytes / baseCount,
                         memory.idBytes / baseCount, memory.codecBytes, Double(memory.vectorBytes) / 1e6,
                         Double(resident.total) / 1e6, Double(resident.anonymous) / 1e6, resident.anonymous / baseCount,
                         Double(resident.total - resident.anonymous) / 1e6, exactRate)
            // JSON rows go to standard output alone; the breakdown then goes to standard error.
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        if let snapshot {
            try measureGraphSnapshot(index, path: snapshot, folder: folder, baseCount: baseCount, baseRow: baseRow,
                                     queryRows, truth: truth)
        }
        for slackText in stopSlack.split(separator: ",") {
            let slack = Float(slackText)
            for rerank in graphRerank.split(separator: ",").compactMap({ Int($0) }) {
                for beam in beams.split(separator: ",").compactMap({ Int($0) }) {
                    let effort = GraphIndex.Effort(beam: beam, rerank: rerank, stopSlack: slack)
                    var results: [[Int64]] = []
                    var latencies: [Double] = []
                    latencies.reserveCapacity(queryRows.count)
                    let start = DispatchTime.now().uptimeNanoseconds
                    for query in queryRows {
                        let queryStart = DispatchTime.now().uptimeNanoseconds
                        results.append(index.search(query, k: k, effort: effort).map(\.id))
                        latencies.append(Self.seconds(since: queryStart))
                    }
                    let rate = Double(queryRows.count) / Self.seconds(since: start)
                    report(strategy: "graph",
                           params: "degree=\(degree) build_beam=\(buildBeam) rank=\(codeRank) beam=\(beam) rerank=\(rerank)"
                               + (slack.map { " stop_slack=\($0)" } ?? ""),
                           recall: recall(results, truth), qps: rate, build: buildSeconds, bytes: memory.residentBytes,
                           latency: Self.percentiles(latencies))
                }
            }
        }
    }

    /// Times saving the graph to `path` and a start-up from it: a fresh index loaded with every row (as from the
    /// store) and restored from the file, checked to answer with the same recall as the one saved.
    func measureGraphSnapshot(_ index: GraphIndex, path: String, folder: String, baseCount: Int, baseRow: (Int) -> [Float],
                              _ queryRows: [[Float]], truth: [Set<Int64>]) throws {
        let saveStart = DispatchTime.now().uptimeNanoseconds
        try index.saveSnapshot(to: path)
        let saveSeconds = Self.seconds(since: saveStart)
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        var configuration = index.configuration
        configuration.snapshotPath = path
        // As a service has it: a graph past the default threshold (the benchmark's own index builds only on demand).
        configuration.exactThreshold = GraphIndex.Configuration(dimension: configuration.dimension).exactThreshold
        configuration.vectorPath = folder + "/restored.f32"
        let restored = try GraphIndex(configuration: configuration)
        let loadStart = DispatchTime.now().uptimeNanoseconds
        restored.beginLoading()
        for id in 0..<baseCount { restored.add(id: Int64(id), vector: baseRow(id)) }
        let loadSeconds = Self.seconds(since: loadStart)
        let restoreStart = DispatchTime.now().uptimeNanoseconds
        let outcome = restored.finishLoading()
        let restoreSeconds = Self.seconds(since: restoreStart)
        let before = recall(queryRows.map { index.search($0, k: k).map(\.id) }, truth)
        let after = recall(queryRows.map { restored.search($0, k: k).map(\.id) }, truth)
        let line = String(format: "snapshot: saved in %.2f s (%.1f MB); a start-up loaded %d vectors in %.2f s and restored the graph "
                          + "in %.2f s (%@); recall@%d at the default effort %.4f saved, %.4f restored",
                          saveSeconds, Double(fileBytes) / 1e6, baseCount, loadSeconds, restoreSeconds, "\(outcome)", k, before, after)
        if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        try? FileManager.default.removeItem(atPath: configuration.vectorPath!)
    }

    /// The process's resident set (VmRSS) and its anonymous part (RssAnon: what is not a page of a mapped file
    /// such as the vector file or the benchmark's own input); 0 where /proc is not available.
    static func residentBytes() -> (total: Int, anonymous: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
                  let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
            return kilobytes * 1024
        }
        return (field("VmRSS:"), field("RssAnon:"))
    }
}

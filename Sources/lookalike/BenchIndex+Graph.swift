import ArgumentParser
import Dispatch
import Foundation
import VectorIndex

extension BenchIndex {
    /// The graph kind: built once with the given degree, build beam and code rank over a vector file, then swept
    /// over search beams and re-rank counts. `bytes` is what the index holds in memory (codes, graph, ids, codec),
    /// the vectors being in the file; the process's resident memory is printed beside it.
    func runGraph(_ baseRows: [[Float]], _ queryRows: [[Float]]) throws {
        let folder = vectorFolder ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("lookalike-bench-\(ProcessInfo.processInfo.processIdentifier)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { if vectorFolder == nil { try? FileManager.default.removeItem(atPath: folder) } }
        let index = try GraphIndex(configuration: .init(
            dimension: baseRows[0].count, degree: degree, buildBeam: buildBeam, codeRank: codeRank,
            exactThreshold: graphIncrementalAfter > 0 ? graphIncrementalAfter : .max, vectorPath: folder + "/vectors.f32"))
        let buildStart = DispatchTime.now().uptimeNanoseconds
        for (id, row) in baseRows.enumerated() { index.add(id: Int64(id), vector: row) }
        if graphIncrementalAfter == 0 { index.buildNow(force: true) }
        let buildSeconds = Self.seconds(since: buildStart)
        let memory = index.memory
        let exactStart = DispatchTime.now().uptimeNanoseconds
        let truth = queryRows.map { Set(index.search($0, k: k, effort: .init(exact: true)).map(\.id)) }
        let exactRate = Double(queryRows.count) / Self.seconds(since: exactStart)
        do {
            let line = String(format: "graph built in %.2f s: degree %d, build beam %d, code rank %d; in memory %d bytes per vector "
                         + "(codes %d, graph %d, ids %d, codec %d); vectors in file %.1f MB; process RSS %.1f MB; exact %.1f q/s",
                         buildSeconds, degree, buildBeam, codeRank, memory.residentBytes / baseRows.count,
                         memory.codeBytes / baseRows.count, memory.graphBytes / baseRows.count,
                         memory.idBytes / baseRows.count, memory.codecBytes, Double(memory.vectorBytes) / 1e6,
                         Double(Self.residentBytes()) / 1e6, exactRate)
            // JSON rows go to standard output alone; the breakdown then goes to standard error.
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        for slackText in stopSlack.split(separator: ",") {
            let slack = Float(slackText)
            for rerank in graphRerank.split(separator: ",").compactMap({ Int($0) }) {
                for beam in beams.split(separator: ",").compactMap({ Int($0) }) {
                    let effort = GraphIndex.Effort(beam: beam, rerank: rerank, stopSlack: slack)
                    var results: [[Int64]] = []
                    let start = DispatchTime.now().uptimeNanoseconds
                    for query in queryRows { results.append(index.search(query, k: k, effort: effort).map(\.id)) }
                    let rate = Double(queryRows.count) / Self.seconds(since: start)
                    report(strategy: "graph",
                           params: "degree=\(degree) build_beam=\(buildBeam) rank=\(codeRank) beam=\(beam) rerank=\(rerank)"
                               + (slack.map { " stop_slack=\($0)" } ?? ""),
                           recall: recall(results, truth), qps: rate, build: buildSeconds, bytes: memory.residentBytes)
                }
            }
        }
    }

    /// The process's resident set (VmRSS), 0 where /proc is not available.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kilobytes * 1024
    }
}

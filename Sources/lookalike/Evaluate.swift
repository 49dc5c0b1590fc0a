import ArgumentParser
import Dispatch
import Foundation
import Lookalike

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure retrieval quality on a labelled image set.",
        discussion: """
            The manifest is a CSV file with a header row and at least the columns path and group_id (paths relative \
            to the manifest's folder). Every image is stored in a temporary database; every image with a group is \
            queried (itself excluded) with approximate and exact search. Rows with an empty group are distractors: \
            stored, never relevant. Extra columns (e.g. transform) get a per-value breakdown.
            """)

    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Option(help: "CSV manifest.") var manifest: String
    @Option(help: "Column to break results down by (default: every column other than path, group_id and a few descriptive ones).")
    var by: [String] = []
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Also print precision and recall of \"score ≥ t means the same group\" at each cosine threshold t (exact search).")
    var thresholds = false
    @Option(help: "Query expansion for every query (0–10; 0: off).") var expand = 0

    struct Row {
        let path: String
        let group: String
        let columns: [String: String]
    }

    static func parseCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var field = "", row: [String] = [], quoted = false
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            if quoted {
                if character == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.append("\"") } else {
                            quoted = false
                            if next == "," { row.append(field); field = "" } else if next == "\n" || next == "\r\n" {
                                row.append(field); rows.append(row); row = []; field = ""
                            } else if next != "\r" { field.append(next) }
                        }
                    } else { quoted = false }
                } else { field.append(character) }
            } else if character == "\"" && field.isEmpty {
                quoted = true
            } else if character == "," {
                row.append(field); field = ""
            } else if character == "\n" || character == "\r\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else if character != "\r" {
                field.append(character)
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    static func loadManifest(_ path: String) throws -> [Row] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let table = try parseCSV(String(decoding: data, as: UTF8.self)).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = table.first, let pathColumn = header.firstIndex(of: "path"),
              let groupColumn = header.firstIndex(of: "group_id") else {
            throw ValidationError("\(path): the header must have 'path' and 'group_id' columns")
        }
        let folder = (path as NSString).deletingLastPathComponent
        return try table.dropFirst().enumerated().map { offset, fields in
            guard fields.count == header.count else {
                throw ValidationError("\(path): line \(offset + 2) has \(fields.count) fields, the header has \(header.count)")
            }
            let relative = fields[pathColumn]
            let full = relative.hasPrefix("/") ? relative : (folder as NSString).appendingPathComponent(relative)
            return Row(path: full, group: fields[groupColumn],
                       columns: Dictionary(uniqueKeysWithValues: zip(header, fields)))
        }
    }

    func run() throws {
        let rows = try Self.loadManifest(manifest)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let service = try options.openService { $0.storage.databasePath = directory.appendingPathComponent("eval.sqlite").path }
        defer { service.shutdown() }
        if collection.name != LookalikeService.defaultCollection { _ = try service.createCollection(name: collection.name) }

        let summary = Ingest.store(rows.map(\.path), in: service, collection: collection.name, skipStored: false)
        try service.rebuildIndex(collection: collection.name)

        var members: [String: Set<String>] = [:]
        for row in rows where !row.group.isEmpty { members[row.group, default: []].insert(row.path) }
        let queries = rows.filter { !$0.group.isEmpty }
        var relevantSets: [String: Set<String>] = [:]
        for row in queries { relevantSets[row.path] = (members[row.group] ?? []).subtracting([row.path]) }

        let breakdownColumns = by.isEmpty
            ? (rows.first?.columns.keys.filter { !["path", "group_id", "source", "license", "width", "height", "jpeg_q", "role"].contains($0) }.sorted() ?? [])
            : by
        var report: [String: Any] = ["images": rows.count, "stored": summary.storedCount, "failed": summary.failedCount,
                                     "queries": queries.count]
        for (name, exact) in [("approximate", false), ("exact", true)] {
            var ranked: [(query: String, ranked: [String])] = []
            let start = DispatchTime.now().uptimeNanoseconds
            for row in queries {
                let matches = (try? service.similar(key: row.path, options: SearchOptions(k: 10, exact: exact, expansion: expand))) ?? []
                ranked.append((row.path, matches.map(\.key)))
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let overall = RetrievalMetrics.score(ranked) { relevantSets[$0] ?? [] }
            var section: [String: Any] = ["overall": Self.dictionary(overall), "queries_per_second": Double(queries.count) / seconds]
            for column in breakdownColumns {
                var parts: [String: Any] = [:]
                let values = Set(queries.map { Self.category($0.columns[column] ?? "") })
                for value in values.sorted() {
                    let subset = ranked.filter { entry in
                        Self.category(queries.first { $0.path == entry.query }?.columns[column] ?? "") == value
                    }
                    parts[value] = Self.dictionary(RetrievalMetrics.score(subset) { relevantSets[$0] ?? [] })
                }
                section["by_\(column)"] = parts
            }
            report[name] = section
        }
        if thresholds {
            report["thresholds"] = try Self.thresholdTable(queries: queries, relevant: relevantSets, service: service,
                                                           collection: collection.name)
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("images \(rows.count) (stored \(summary.storedCount), failed \(summary.failedCount)), queries \(queries.count)")
            for name in ["approximate", "exact"] {
                let section = report[name] as! [String: Any]
                print("\n\(name) (\(String(format: "%.0f", section["queries_per_second"] as! Double)) queries/s)")
                Self.printRow("overall", section["overall"] as! [String: Double])
                for column in breakdownColumns {
                    for (value, metrics) in (section["by_\(column)"] as! [String: Any]).sorted(by: { $0.key < $1.key }) {
                        Self.printRow("  \(column)=\(value)", metrics as! [String: Double])
                    }
                }
            }
            if let table = report["thresholds"] as? [[String: Double]] {
                print("\ncosine ≥ t means the same group (exact neighbours)")
                for row in table {
                    print(String(format: "  t %.2f  precision %.4f  recall %.4f  (%d pairs)", row["threshold"]!, row["precision"]!,
                                 row["recall"]!, Int(row["pairs"]!)))
                }
            }
        }
    }

    /// Precision and recall of "cosine ≥ t means a near-duplicate" over every query's exact neighbours: a pair is
    /// a true positive when both images share a group. Each query looks at its `depth` nearest images, enough to
    /// hold its whole group; false positives beyond that depth would need a score above the depth-th neighbour's.
    static func thresholdTable(queries: [Row], relevant: [String: Set<String>], service: LookalikeService,
                               collection: String) throws -> [[String: Double]] {
        let depth = min(1000, (relevant.values.map(\.count).max() ?? 0) + 20)
        var pairs: [(score: Float, relevant: Bool)] = []
        for row in queries {
            let matches = try service.similar(key: row.path, options: SearchOptions(k: depth, exact: true), collection: collection)
            let wanted = relevant[row.path] ?? []
            pairs += matches.map { ($0.score, wanted.contains($0.key)) }
        }
        let total = Double(queries.reduce(0) { $0 + (relevant[$1.path]?.count ?? 0) })
        return stride(from: 0.70, through: 0.99, by: 0.01).map { threshold in
            let kept = pairs.filter { Double($0.score) >= threshold - 1e-9 }
            let hits = Double(kept.filter(\.relevant).count)
            return ["threshold": (threshold * 100).rounded() / 100, "precision": kept.isEmpty ? 1 : hits / Double(kept.count),
                    "recall": total == 0 ? 0 : hits / total, "pairs": Double(kept.count)]
        }
    }

    /// The kind of a value: `crop(area=0.71)` → `crop`.
    static func category(_ value: String) -> String {
        String(value.prefix { $0 != "(" })
    }

    static func dictionary(_ metrics: RetrievalMetrics) -> [String: Double] {
        ["mAP@10": metrics.meanAveragePrecision, "R@1": metrics.recallAt1, "R@10": metrics.recallAt10,
         "P@10": metrics.precisionAt10, "queries": Double(metrics.queries)]
    }

    static func printRow(_ label: String, _ metrics: [String: Double]) {
        print(String(format: "%-28@ mAP@10 %.3f  R@1 %.3f  R@10 %.3f  P@10 %.3f  (%d queries)", label,
                     metrics["mAP@10"]!, metrics["R@1"]!, metrics["R@10"]!, metrics["P@10"]!, Int(metrics["queries"]!)))
    }
}

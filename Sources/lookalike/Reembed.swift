import ArgumentParser
import Foundation
import Lookalike

struct Reembed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute a collection's vectors with the current recipe (model, weights, pooling, preprocessing).",
        discussion: """
            Vectors made by another recipe are left out of search until recomputed. Each image's bytes come from \
            its stored original (storage.keepOriginals) or, with --from, from a file under FOLDER with the same \
            SHA-256. Keys, metadata and originals are kept. Images already on the current recipe are skipped, so \
            an interrupted run resumes. Exits with status 1 when some images could not be recomputed.
            """)

    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Option(name: .customLong("from"), help: "A folder holding the collection's files (found by SHA-256).") var folder: String?
    @Flag(help: "Print the summary as JSON.") var json = false

    func run() throws {
        var files: [[UInt8]: String] = [:]
        if let folder {
            for path in try Ingest.files(in: [folder]) {
                guard let data = FileManager.default.contents(atPath: path) else { continue }
                files[SHA256.hash(Array(data))] = path
            }
        }
        let service = try options.openService()
        defer { service.shutdown() }
        var reporter: ProgressReporter?
        var reported = 0
        let result = try service.reembed(collection: collection.name, source: { _, sha256 in
            files[sha256].flatMap { FileManager.default.contents(atPath: $0) }.map { Array($0) }
        }, progress: { state in
            if reporter == nil { reporter = ProgressReporter(total: state.total, label: "reembed") }
            while reported < state.done {
                reporter?.advance()
                reported += 1
            }
        })
        if json {
            let body: [String: Any] = [
                "total": result.total, "recomputed": result.recomputed, "current": result.current, "missing": result.missing,
                "failed": result.failed.map { ["id": $0.key, "error": $0.reason] },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("reembed: \(result.recomputed) recomputed, \(result.current) already current, \(result.missing.count) missing, "
                  + "\(result.failed.count) failed (of \(result.total))")
            for key in result.missing.prefix(20) { print("  missing: \(key) (no stored original; no file with its SHA-256)") }
            for failure in result.failed.prefix(20) { print("  failed: \(failure.key): \(failure.reason)") }
        }
        if !result.missing.isEmpty || !result.failed.isEmpty { throw ExitCode(1) }
    }
}

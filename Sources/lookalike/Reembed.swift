import ArgumentParser
import Foundation
import Lookalike

struct Reembed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute a collection's vectors with the current recipe, or (--online) move it to another recipe on a running server.",
        discussion: """
            With --online --server URL, the collection moves to the recipe --crop, --trim-borders, --mirror-average \
            and --feature-power describe (settings left out keep theirs) while the server keeps serving: new \
            vectors are computed from the stored originals, then the server switches at once. Progress is \
            followed until the switch unless --detach.

            Without --online: vectors made by another recipe are left out of search until recomputed. Each image's bytes come from \
            its stored original (storage.keepOriginals) or, with --from, from a file under FOLDER with the same \
            SHA-256. Keys, metadata and originals are kept. Images already on the current recipe are skipped, so \
            an interrupted run resumes. Exits with status 1 when some images could not be recomputed.
            """)

    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Option(name: .customLong("from"), help: "A folder holding the collection's files (found by SHA-256).") var folder: String?
    @Flag(help: "Print the summary as JSON.") var json = false
    @Flag(help: "Change the collection's recipe on a running server (--server) while it serves.") var online = false
    @Option(help: "With --online: the running server (http://host:port).") var server: String?
    @Option(help: "Bearer key (admin) for --server.") var apiKey: String?
    @Option(help: "With --online: the crop (center, squash or pad).") var crop: String?
    @Option(help: "With --online: cut uniform borders first (true or false).") var trimBorders: Bool?
    @Option(help: "With --online: average with the mirror image (true or false).") var mirrorAverage: Bool?
    @Option(help: "With --online: the feature power (0.1–1).") var featurePower: Double?
    @Flag(help: "With --online: return once the change has started.") var detach = false

    func validate() throws {
        if online {
            guard let server, URL(string: server)?.scheme?.hasPrefix("http") == true else {
                throw ValidationError("--online needs --server http://host:port")
            }
            guard crop != nil || trimBorders != nil || mirrorAverage != nil || featurePower != nil else {
                throw ValidationError("--online needs the recipe to move to: --crop, --trim-borders, --mirror-average or --feature-power")
            }
        } else if server != nil || crop != nil || trimBorders != nil || mirrorAverage != nil || featurePower != nil || detach {
            throw ValidationError("--server, --crop, --trim-borders, --mirror-average, --feature-power and --detach go with --online")
        }
    }

    func run() throws {
        if online { return try runOnline() }
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

    /// Starts the change on the server and follows it.
    private func runOnline() throws {
        let base = (server ?? "").hasSuffix("/") ? String((server ?? "").dropLast()) : server ?? ""
        var recipe: [String: Any] = [:]
        if let crop { recipe["crop"] = crop }
        if let trimBorders { recipe["trim_borders"] = trimBorders }
        if let mirrorAverage { recipe["mirror_average"] = mirrorAverage }
        if let featurePower { recipe["feature_power"] = featurePower }
        let location = "\(base)/v1/collections/\(collection.name)"
        let started = ServerRequest.json("PATCH", location, body: try JSONSerialization.data(withJSONObject: ["recipe": recipe]),
                                         contentType: "application/json", apiKey: apiKey)
        guard started.status == 202 || started.status == 200 else {
            throw ValidationError("the server answered \(started.status): \(started.json["detail"] as? String ?? started.error ?? "")")
        }
        guard started.status == 202, !detach else {
            print(started.status == 202 ? "reembed: started" : "reembed: the collection already has this recipe")
            return
        }
        var change = started.json["recipe_change"] as? [String: Any] ?? [:]
        var progress: ProgressReporter?
        while !["done", "failed"].contains(change["state"] as? String ?? "") {
            usleep(500_000)
            let answer = ServerRequest.json("GET", location, body: nil, contentType: nil, apiKey: apiKey)
            guard answer.status == 200 else { throw ValidationError("following the change: HTTP \(answer.status) \(answer.error ?? "")") }
            change = answer.json["recipe_change"] as? [String: Any] ?? ["state": "failed", "error": "the server no longer reports it"]
            if let total = change["total"] as? Int, total > 0 {
                if progress == nil { progress = ProgressReporter(total: total, label: "reembed") }
                progress?.update(done: change["done"] as? Int ?? 0)
            }
        }
        guard change["state"] as? String == "done" else {
            throw ValidationError("the re-embedding failed: \(change["error"] as? String ?? "")")
        }
        print("reembed: \(change["done"] as? Int ?? 0) images on the new recipe (\(change["resumed"] as? Int ?? 0) computed before a restart or by uploads)")
    }
}

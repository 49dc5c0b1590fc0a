import ArgumentParser
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Lookalike

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a manifest (JSON lines or CSV: id, url or path, metadata) or a folder under imports.root as a job.",
        discussion: """
            With --server the job runs on that server (which fetches the URLs and reads paths under its imports.root) and \
            this command follows its progress; without, it runs in this process on the database (--db or the \
            configuration), and a job cut short resumes at the next `lookalike import` or `lookalike serve` on it. \
            Each item's outcome (stored, duplicate, refused with its reason) is kept; --failures lists the refused ones.
            """)

    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Argument(help: "A manifest file: .csv is CSV, anything else JSON lines.") var manifest: String?
    @Option(help: "A folder under imports.root instead of a manifest ('' for the root).") var folder: String?
    @Option(help: "A running server (http://host:port) to run the job on.") var server: String?
    @Option(help: "Bearer key for --server.") var apiKey: String?
    @Option(help: "Items worked on at once (default imports.concurrency).") var concurrency: Int?
    @Option(help: "store or skip: what happens to a near-duplicate of a stored image.") var onDuplicate = "store"
    @Flag(help: "With --server: print the job's id and return without following it.") var detach = false
    @Flag(help: "List the refused items and their reasons at the end.") var failures = false
    @Flag(help: "Print the final job as JSON.") var json = false

    func validate() throws {
        guard (manifest == nil) != (folder == nil) else { throw ValidationError("give a manifest file or --folder, not both") }
        guard ImportJob.DuplicatePolicy(rawValue: onDuplicate) != nil else { throw ValidationError("--on-duplicate must be store or skip") }
        if let concurrency, !(1...256).contains(concurrency) { throw ValidationError("--concurrency must be 1...256") }
        if let server { guard URL(string: server)?.scheme?.hasPrefix("http") == true else { throw ValidationError("--server must be an http:// URL") } }
        if detach && server == nil { throw ValidationError("--detach needs --server") }
    }

    var format: ImportManifest.Format { manifest?.lowercased().hasSuffix(".csv") == true ? .csv : .jsonLines }

    func run() throws {
        if let server {
            try runOnServer(server.hasSuffix("/") ? String(server.dropLast()) : server)
            return
        }
        let service = try options.openService()
        defer { service.shutdown() }
        let policy = ImportJob.DuplicatePolicy(rawValue: onDuplicate) ?? .store
        let job: ImportJob
        if let folder {
            job = try service.createFolderImport(folder: folder, collection: collection.name, concurrency: concurrency, onDuplicate: policy)
        } else {
            let path = manifest ?? ""
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            job = try service.createImport(manifest: [UInt8](data), format: format, collection: collection.name,
                                           concurrency: concurrency, onDuplicate: policy)
        }
        service.startImports(ownPorts: { [] })
        let progress = ProgressReporter(total: job.total, label: "import")
        var current = job
        while current.state != .completed && current.state != .cancelled {
            usleep(200_000)
            current = try service.importJob(job.id, collection: collection.name)
            progress.update(done: current.done)
        }
        if failures {
            for item in try service.importItems(job.id, collection: collection.name, states: [.refused], after: 0, limit: 100_000) {
                FileHandle.standardError.write(Data("refused: item \(item.position) \(item.key ?? "-"): \(item.reason ?? "")\n".utf8))
            }
        }
        report(id: current.id, state: current.state.rawValue, counts: Dictionary(uniqueKeysWithValues: current.counts.map { ($0.key.rawValue, $0.value) }))
    }

    private func report(id: String, state: String, counts: [String: Int]) {
        if json {
            let object: [String: Any] = ["id": id, "state": state, "counts": counts]
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print("import \(id) \(state): stored \(counts["stored"] ?? 0), duplicate \(counts["duplicate"] ?? 0), refused \(counts["refused"] ?? 0), pending \(counts["pending"] ?? 0)")
        }
    }

    private func runOnServer(_ base: String) throws {
        var query = "on_duplicate=\(onDuplicate)"
        if let concurrency { query += "&concurrency=\(concurrency)" }
        let body: Data, contentType: String
        if let folder {
            body = try JSONSerialization.data(withJSONObject: ["folder": folder])
            contentType = "application/json"
        } else {
            let path = manifest ?? ""
            guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
            body = data
            contentType = format == .csv ? "text/csv" : "application/x-ndjson"
        }
        let created = send("POST", "\(base)/v1/collections/\(collection.name)/imports?\(query)", body: body, contentType: contentType)
        guard created.status == 202, let job = created.json["id"] as? String else {
            throw ValidationError("the server answered \(created.status): \(created.json["detail"] as? String ?? created.error ?? "")")
        }
        if detach {
            print(job)
            return
        }
        let location = "\(base)/v1/collections/\(collection.name)/imports/\(job)"
        let progress = ProgressReporter(total: created.json["total"] as? Int ?? 0, label: "import")
        var status = created.json
        while !["completed", "cancelled"].contains(status["state"] as? String ?? "") {
            usleep(500_000)
            let answer = send("GET", location, body: nil, contentType: nil)
            guard answer.status == 200 else { throw ValidationError("following \(job): HTTP \(answer.status) \(answer.error ?? "")") }
            status = answer.json
            progress.update(done: status["done"] as? Int ?? 0)
        }
        if failures {
            var after = ""
            repeat {
                let page = send("GET", "\(location)/items?state=refused&limit=1000\(after.isEmpty ? "" : "&after=\(after)")", body: nil, contentType: nil).json
                for item in page["items"] as? [[String: Any]] ?? [] {
                    let line = "refused: item \(item["position"] as? Int ?? 0) \(item["id"] as? String ?? "-"): \(item["reason"] as? String ?? "")\n"
                    FileHandle.standardError.write(Data(line.utf8))
                }
                after = page["next"] as? String ?? ""
            } while !after.isEmpty
        }
        report(id: job, state: status["state"] as? String ?? "", counts: status["counts"] as? [String: Int] ?? [:])
    }

    private func send(_ method: String, _ url: String, body: Data?, contentType: String?) -> (status: Int, json: [String: Any], error: String?) {
        ServerRequest.json(method, url, body: body, contentType: contentType, apiKey: apiKey)
    }
}

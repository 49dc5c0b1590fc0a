import Synchronization
import ArgumentParser
import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Lookalike

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store JPEG, PNG, WebP, GIF, HEIC, AVIF, BMP and TIFF files (folders are searched recursively) in the database.",
        discussion: "Each file's id is its path as given (relative paths stay relative). Files whose bytes are already stored under that id are skipped; a bad file is reported and skipped. Without --server the database is opened directly (--db or the configuration).")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var collection: CollectionOption
    @Argument(help: "Files or folders.") var paths: [String]
    @Option(help: "Upload to a running server (e.g. http://127.0.0.1:8080) instead of opening the database.")
    var server: String?
    @Option(help: "Bearer key for --server.") var apiKey: String?
    @Option(help: "Concurrent uploads with --server.") var parallel = 4
    @Flag(help: "Print a JSON summary.") var json = false

    func validate() throws {
        if let server { guard URL(string: server)?.scheme?.hasPrefix("http") == true else { throw ValidationError("--server must be an http:// URL") } }
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1...64") }
    }

    /// The file name extensions a folder is searched for: those of folder imports.
    static let extensions = ImportManifest.imageExtensions

    /// Files under `paths`, sorted, JPEG/PNG by extension (the decoder still checks the bytes).
    static func files(in paths: [String]) throws -> [String] {
        var result: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or folder: \(path)")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(atPath: path)
                while let item = enumerator?.nextObject() as? String {
                    if extensions.contains((item as NSString).pathExtension.lowercased()) {
                        result.append((path as NSString).appendingPathComponent(item))
                    }
                }
            } else {
                result.append(path)
            }
        }
        return result.sorted()
    }

    func run() throws {
        let files = try Self.files(in: paths)
        if let server {
            try upload(files, to: server)
            return
        }
        let service = try options.openService()
        defer { service.shutdown() }
        let summary = Self.store(files, in: service, collection: collection.name, skipStored: true)
        summary.print(json: json)
        if summary.failedCount > 0 && summary.storedCount == 0 && summary.skippedCount == 0 { throw ExitCode.failure }
    }
}

extension Ingest {
    /// Reads and stores `files` (each under its path as id) with one thread per inference worker, so every
    /// worker stays busy; failures are reported per file. `skipStored` skips a file whose bytes are already
    /// stored under its id.
    static func store(_ files: [String], in service: LookalikeService, collection: String, skipStored: Bool) -> IngestSummary {
        let progress = ProgressReporter(total: files.count, label: "ingest")
        let summary = IngestSummary()
        let lanes = max(1, service.inferenceWorkers)
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: files.count, by: lanes) {
                let file = files[index]
                defer { progress.advance() }
                guard let data = FileManager.default.contents(atPath: file) else {
                    summary.fail(file, "cannot read")
                    continue
                }
                let bytes = [UInt8](data)
                do {
                    if skipStored, try service.holds(key: file, bytes: bytes, collection: collection) {
                        summary.skip()
                        continue
                    }
                    _ = try service.ingest(bytes: bytes, key: file, collection: collection)
                    summary.store()
                } catch {
                    summary.fail(file, "\(error)")
                }
            }
        }
        return summary
    }

    /// Sends each file to `POST /v1/collections/{collection}/images?id=...` of a running server; skips files the server already holds
    /// with the same SHA-256 (`GET .../images/{id}`).
    func upload(_ files: [String], to server: String) throws {
        let base = server.hasSuffix("/") ? String(server.dropLast()) : server
        let progress = ProgressReporter(total: files.count, label: "ingest")
        let summary = IngestSummary()
        DispatchQueue.concurrentPerform(iterations: parallel) { lane in
            for index in stride(from: lane, to: files.count, by: parallel) {
                let file = files[index]
                defer { progress.advance() }
                guard let data = FileManager.default.contents(atPath: file) else {
                    summary.fail(file, "cannot read")
                    continue
                }
                var allowed = CharacterSet.urlPathAllowed
                allowed.remove(charactersIn: "/?#&=+")
                let id = file.addingPercentEncoding(withAllowedCharacters: allowed) ?? file
                let existing = send("GET", "\(base)/v1/collections/\(collection.name)/images/\(id)", body: nil)
                if existing.status == 200,
                   let record = (try? JSONSerialization.jsonObject(with: existing.body)) as? [String: Any],
                   record["sha256"] as? String == SHA256.hex(SHA256.hash([UInt8](data))) {
                    summary.skip()
                    continue
                }
                let response = send("POST", "\(base)/v1/collections/\(collection.name)/images?id=\(id)", body: data)
                if response.status == 200 || response.status == 201 {
                    summary.store()
                } else {
                    let detail = ((try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any])?["detail"] as? String
                    summary.fail(file, "HTTP \(response.status): \(detail ?? response.error ?? "")")
                }
            }
        }
        summary.print(json: json)
        if summary.failedCount > 0 && summary.storedCount == 0 && summary.skippedCount == 0 { throw ExitCode.failure }
    }

    private func send(_ method: String, _ url: String, body: Data?) -> (status: Int, body: Data, error: String?) {
        ServerRequest.send(method, url, body: body, contentType: nil, apiKey: apiKey)
    }
}

/// Counts and failures of an ingest run, written from several threads under a lock.
final class IngestSummary: Sendable {
    private struct Counts {
        var stored = 0
        var skipped = 0
        var failures: [(String, String)] = []
    }
    private let counts = Mutex(Counts())
    var storedCount: Int { counts.withLock { $0.stored } }
    var skippedCount: Int { counts.withLock { $0.skipped } }
    var failedCount: Int { counts.withLock { $0.failures.count } }

    func store() { counts.withLock { $0.stored += 1 } }
    func skip() { counts.withLock { $0.skipped += 1 } }
    func fail(_ file: String, _ reason: String) {
        counts.withLock { $0.failures.append((file, reason)) }
        FileHandle.standardError.write(Data("error: \(file): \(reason)\n".utf8))
    }

    func print(json: Bool) {
        let (storedCount, skippedCount, failures) = counts.withLock { ($0.stored, $0.skipped, $0.failures) }
        do {
            if json {
                let failed = failures.map { "{\"file\":\(jsonQuote($0.0)),\"error\":\(jsonQuote($0.1))}" }
                Swift.print("{\"stored\":\(storedCount),\"skipped\":\(skippedCount),\"failed\":[\(failed.joined(separator: ","))]}")
            } else {
                Swift.print("stored \(storedCount), skipped \(skippedCount) already stored, failed \(failures.count)")
            }
        }
    }
}

func jsonQuote(_ text: String) -> String {
    let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    return data.map { String(decoding: $0.dropFirst().dropLast(), as: UTF8.self) } ?? "\"\""
}

import ArgumentParser
import Dispatch
import Foundation
import Lookalike

struct Ingest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Store JPEG and PNG files (folders are searched recursively) in the database.",
        discussion: "Each file's id is its path as given (relative paths stay relative). Files whose bytes are already stored are skipped; a bad file is reported and skipped.")

    @OptionGroup var options: ServiceOptions
    @Argument(help: "Files or folders.") var paths: [String]
    @Flag(help: "Print a JSON summary.") var json = false

    static let extensions: Set<String> = ["jpg", "jpeg", "png", "jpe"]

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
        let service = try options.openService()
        defer { service.shutdown() }
        let progress = ProgressReporter(total: files.count, label: "ingest")
        let summary = IngestSummary()
        let lanes = max(1, service.embedder.pool.configuration.workers)
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
                    if try service.store.images(sha256: SHA256.hash(bytes)).contains(where: { $0.key == file }) {
                        summary.skip()
                        continue
                    }
                    _ = try service.ingest(bytes: bytes, key: file)
                    summary.store()
                } catch {
                    summary.fail(file, "\(error)")
                }
            }
        }
        summary.print(json: json)
        if summary.failedCount > 0 && summary.storedCount == 0 && summary.skippedCount == 0 { throw ExitCode.failure }
    }
}

/// Counts and failures of an ingest run, written from several threads under a lock.
final class IngestSummary: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var storedCount = 0
    private(set) var skippedCount = 0
    private var failures: [(String, String)] = []
    var failedCount: Int { lock.withLock { failures.count } }

    func store() { lock.withLock { storedCount += 1 } }
    func skip() { lock.withLock { skippedCount += 1 } }
    func fail(_ file: String, _ reason: String) {
        lock.withLock { failures.append((file, reason)) }
        FileHandle.standardError.write(Data("error: \(file): \(reason)\n".utf8))
    }

    func print(json: Bool) {
        lock.withLock {
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

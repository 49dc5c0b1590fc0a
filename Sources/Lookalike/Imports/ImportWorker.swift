import Dispatch
import Foundation
import HTTPCore
import RemoteFetch

/// Works through one job's items with `job.concurrency` lanes: each item is read (a path under `imports.root`) or
/// fetched (a URL), looked up, then stored through the service's upload path; transient failures of the source are
/// tried again after a growing pause, up to `imports.maxAttempts` tries. A busy service (503: inference queue full,
/// still loading) is waited for without using up the item's tries: it says nothing about the item.
struct ImportWorker: Sendable {
    let service: LookalikeService
    let job: ImportJob
    let scheduler: ImportScheduler
    let journal: ImportJournal
    let fetcher: HTTPFetcher

    var settings: Configuration.Imports { service.configuration.imports }

    /// Returns when every item has its outcome or the scheduler was halted.
    func run() {
        let group = DispatchGroup()
        for lane in 0..<max(1, job.concurrency) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                lanes()
            }
            thread.name = "import-\(lane)"
            thread.start()
        }
        group.wait()
    }

    private func lanes() {
        while true {
            let item: ImportItem?
            do { item = try scheduler.next() } catch {
                // The journal cannot be read: stop this run; the job resumes at the next start.
                scheduler.halt()
                return
            }
            guard let item else { return }
            process(item)
        }
    }

    /// What one try of an item came to.
    private enum Outcome {
        case final(ImportItem.State, String?)
        case tryAgain(String)
        /// The service is busy: try again after a pause, without counting a try.
        case waitForService(String)
        case halted
    }

    private func process(_ item: ImportItem) {
        let attempt = item.attempts + 1
        var outcome = tryOnce(item)
        if case .tryAgain(let reason) = outcome, attempt >= settings.maxAttempts {
            outcome = .final(.refused, "\(reason) (after \(attempt) tries)")
        }
        do {
            switch outcome {
            case .final(let state, let reason):
                try journal.record(job: job.id, position: item.position, state: state, reason: reason, attempts: attempt)
                scheduler.moved(from: item.state, to: state)
            case .tryAgain(let reason):
                try journal.record(job: job.id, position: item.position, state: .pending, reason: reason, attempts: attempt)
                scheduler.moved(from: item.state, to: .pending)
                var next = item
                next.state = .pending
                next.attempts = attempt
                next.reason = reason
                let pause = settings.retryDelaySeconds * pow(2, Double(attempt - 1)) * Double.random(in: 0.8...1.2)
                scheduler.retry(next, at: Date().addingTimeInterval(pause))
            case .waitForService(let reason):
                // Back from `storing` (the store was not reached), with the tries it had.
                try journal.record(job: job.id, position: item.position, state: .pending, reason: reason, attempts: item.attempts)
                let pause = max(0.05, settings.retryDelaySeconds) * Double.random(in: 0.8...1.2)
                scheduler.retry(item, at: Date().addingTimeInterval(pause))
            case .halted:
                break
            }
        } catch {
            scheduler.halt()
        }
    }

    private func tryOnce(_ item: ImportItem) -> Outcome {
        guard let key = item.key, let source = item.source else { return .final(.refused, item.reason ?? "no id or source") }
        let bytes: [UInt8]
        switch source {
        case .url(let url):
            do {
                bytes = try fetcher.fetch(url, abandon: { [scheduler] in scheduler.isHalted })
            } catch .abandoned {
                return .halted
            } catch {
                return error.isTransient ? .tryAgain(error.description) : .final(.refused, error.description)
            }
        case .path(let path):
            guard !settings.root.isEmpty else { return .final(.refused, "path items need imports.root") }
            do {
                bytes = try ImportPaths.readFile(path, under: settings.root, maxBytes: service.configuration.importMaxItemBytes)
            } catch {
                return .final(.refused, error.description)
            }
        }
        if scheduler.isHalted { return .halted }
        do {
            // Already stored under this id with these bytes: by this job before a restart (the item was marked
            // `storing`), or by anyone before the job.
            if try service.holds(key: key, bytes: bytes, collection: job.collection) {
                return .final(item.state == .storing ? .stored : .duplicate,
                              item.state == .storing ? nil : "already stored under this id with the same bytes")
            }
            try journal.record(job: job.id, position: item.position, state: .storing, reason: nil, attempts: item.attempts)
            let result = try service.ingest(bytes: bytes, key: key, metadata: item.metadata,
                                            rejectDuplicates: job.onDuplicate == .skip, collection: job.collection)
            return .final(.stored, result.duplicates.isEmpty ? nil : Self.nearDuplicates(result.duplicates))
        } catch LookalikeError.duplicate(let matches) {
            return .final(.duplicate, Self.nearDuplicates(matches))
        } catch let error as any HTTPResponseError where error.status == .serviceUnavailable {
            return .waitForService(error.publicDetail)
        } catch let error as any HTTPResponseError {
            return .final(.refused, error.publicDetail)
        } catch {
            return .final(.refused, "\(error)")
        }
    }

    /// An outcome's reason naming the first few near-duplicates and their cosines.
    static func nearDuplicates(_ matches: [Match]) -> String {
        "near-duplicate of " + matches.prefix(5).map { "\($0.key) (\(String(format: "%.3f", $0.score)))" }.joined(separator: ", ")
    }
}

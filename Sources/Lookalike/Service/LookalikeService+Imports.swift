import Foundation
import RemoteFetch

/// Import jobs: a manifest or a folder becomes a job whose items are fetched or read and stored in the
/// background (see ``ImportJobs``, ``ImportWorker``); their status, items and cancellation.
extension LookalikeService {
    /// A job for the items of a manifest (JSON lines or CSV) in `collection`, queued behind earlier jobs.
    public func createImport(
        manifest: [UInt8], format: ImportManifest.Format, collection name: String,
        concurrency: Int? = nil, onDuplicate: ImportJob.DuplicatePolicy = .store
    ) throws -> ImportJob {
        _ = try collection(name)
        let items = try ImportManifest.items(
            from: manifest, format: format, maxItems: configuration.imports.maxItems,
            maxMetadataBytes: configuration.storage.maxMetadataBytes)
        return try enqueue(items, source: "manifest (\(format == .csv ? "csv" : "jsonl"))", collection: name,
                           concurrency: concurrency, onDuplicate: onDuplicate)
    }

    /// A job for the image files under `folder` (relative to `imports.root`), each stored under its path
    /// relative to the folder.
    public func createFolderImport(
        folder: String, collection name: String, concurrency: Int? = nil, onDuplicate: ImportJob.DuplicatePolicy = .store
    ) throws -> ImportJob {
        _ = try collection(name)
        let items = try ImportManifest.items(inFolder: folder, root: configuration.imports.root, maxItems: configuration.imports.maxItems)
        return try enqueue(items, source: "folder \(folder.isEmpty ? "." : folder)", collection: name,
                           concurrency: concurrency, onDuplicate: onDuplicate)
    }

    private func enqueue(_ items: [ImportItem], source: String, collection: String, concurrency: Int?,
                         onDuplicate: ImportJob.DuplicatePolicy) throws -> ImportJob {
        // Above the configured maximum a job gets the maximum (its status shows what it got).
        let lanes = min(concurrency ?? configuration.imports.concurrency, configuration.imports.maxConcurrency)
        guard lanes >= 1 else { throw LookalikeError.invalidArgument("concurrency must be at least 1") }
        var counts: [ImportItem.State: Int] = [:]
        for item in items { counts[item.state, default: 0] += 1 }
        let job = ImportJob(
            id: "imp-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20),
            collection: collection, state: .queued, source: source, concurrency: lanes, onDuplicate: onDuplicate,
            created: Date(), total: items.count, counts: counts)
        try imports.create(job, items: items)
        return job
    }

    /// The job, if it belongs to `collection`.
    public func importJob(_ id: String, collection name: String) throws -> ImportJob {
        guard let job = try imports.job(id), job.collection == name else { throw ImportError.jobNotFound(id) }
        return job
    }

    /// `collection`'s jobs, newest first.
    public func importJobs(collection name: String, limit: Int, after: String?) throws -> [ImportJob] {
        _ = try collection(name)
        return try imports.journal().jobs(collection: name, limit: limit, after: after)
    }

    /// A job's items in `states` (all when empty), by position, `limit` after position `after`.
    public func importItems(_ id: String, collection name: String, states: [ImportItem.State], after: Int, limit: Int) throws -> [ImportItem] {
        _ = try importJob(id, collection: name)
        return try imports.journal().items(job: id, states: states.isEmpty ? ImportItem.State.allCases : states, after: after, limit: limit)
    }

    /// Cancels a queued or running job of `collection`.
    public func cancelImport(_ id: String, collection name: String) throws -> ImportJob {
        _ = try importJob(id, collection: name)
        return try imports.cancel(id)
    }

    /// Starts running import jobs (those left unfinished by the last run first). `ownPorts` names the ports
    /// this node listens on, which fetches may not reach on its own addresses.
    public func startImports(ownPorts: @escaping @Sendable () -> Set<Int>) {
        imports.start { [weak self] job, scheduler in
            guard let self else { return }
            let settings = configuration.imports
            var ports = ownPorts()
            if configuration.server.port != 0 { ports.insert(configuration.server.port) }
            guard let journal = try? imports.journal(),
                  let policy = try? NetworkPolicy(allowed: settings.allowedNetworks, denied: settings.deniedNetworks, ownPorts: ports) else {
                scheduler.halt()
                return
            }
            let fetcher = HTTPFetcher(
                limits: .init(maxBytes: configuration.importMaxItemBytes, maxRedirects: settings.maxRedirects,
                              connectTimeoutSeconds: settings.connectTimeoutSeconds, timeoutSeconds: settings.timeoutSeconds,
                              minBytesPerSecond: settings.minBytesPerSecond, lowSpeedSeconds: settings.lowSpeedSeconds),
                policy: policy, caFile: settings.caFile.isEmpty ? nil : settings.caFile)
            ImportWorker(service: self, job: job, scheduler: scheduler, journal: journal, fetcher: fetcher).run()
        }
    }
}

import Foundation
import RemoteFetch

extension Configuration {
    /// Import jobs: where their files and URLs may come from, and how their fetches are bounded.
    public struct Imports: Codable, Sendable, Equatable {
        /// The folder `path` items and folder imports are read from (relative paths inside it only; symbolic
        /// links may not lead out). Empty: path items and folder imports are refused.
        public var root = ""
        /// Addresses fetches may connect to (CIDR); checked at every connection, redirects included.
        public var allowedNetworks = NetworkPolicy.defaultAllowed
        /// Addresses fetches may not connect to, even inside ``allowedNetworks``: link-local (cloud metadata
        /// services), multicast, broadcast by default. Add private ranges (`10.0.0.0/8`, `127.0.0.0/8`, …) when
        /// the images only come from the internet. The node's own listening ports are refused on its own
        /// addresses regardless.
        public var deniedNetworks = NetworkPolicy.defaultDenied
        /// Largest item, fetched or read; 0: `server.maxBodyBytes`.
        public var maxItemBytes = 0
        public var maxRedirects = 5
        public var connectTimeoutSeconds = 10.0
        /// The whole fetch of one item.
        public var timeoutSeconds = 60.0
        /// A fetch slower than `minBytesPerSecond` for `lowSpeedSeconds` is abandoned (and retried).
        public var minBytesPerSecond = 1024
        public var lowSpeedSeconds = 15
        /// Tries per item when a fetch fails transiently (5xx, 429, time-out, network) or the service is busy.
        public var maxAttempts = 4
        /// The pause before the second try; doubled before each further one (±20 % jitter).
        public var retryDelaySeconds = 1.0
        /// Items a job works on at once, unless the job asks for another number up to ``maxConcurrency``.
        public var concurrency = 4
        public var maxConcurrency = 32
        /// Items in one job at most.
        public var maxItems = 1_000_000
        /// Certificates (a PEM file) trusted for https fetches instead of the system's store (an internal CA);
        /// empty: the system's.
        public var caFile = ""
        /// Where jobs and their items' outcomes are kept (a SQLite file of this node); empty:
        /// `<storage.databasePath>.imports`.
        public var journalPath = ""
    }

    /// Import settings checked by ``validate()``.
    func validateImports() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw Error(key: key, message: message) }
        }
        for (key, list) in [("imports.allowedNetworks", imports.allowedNetworks), ("imports.deniedNetworks", imports.deniedNetworks)] {
            for entry in list {
                do { _ = try IPNetwork(parsing: entry) } catch { throw Error(key: key, message: error.description) }
            }
        }
        try check(imports.maxItemBytes == 0 || (1024...1 << 31).contains(imports.maxItemBytes), "imports.maxItemBytes", "must be 0 (server.maxBodyBytes) or 1 KiB...2 GiB")
        try check((0...20).contains(imports.maxRedirects), "imports.maxRedirects", "must be 0...20")
        try check(imports.connectTimeoutSeconds > 0 && imports.connectTimeoutSeconds <= 600, "imports.connectTimeoutSeconds", "must be in (0, 600]")
        try check(imports.timeoutSeconds > 0 && imports.timeoutSeconds <= 3600, "imports.timeoutSeconds", "must be in (0, 3600]")
        try check((1...1 << 30).contains(imports.minBytesPerSecond), "imports.minBytesPerSecond", "must be 1...1073741824")
        try check((1...3600).contains(imports.lowSpeedSeconds), "imports.lowSpeedSeconds", "must be 1...3600")
        try check((1...100).contains(imports.maxAttempts), "imports.maxAttempts", "must be 1...100")
        try check(imports.retryDelaySeconds >= 0 && imports.retryDelaySeconds <= 3600, "imports.retryDelaySeconds", "must be 0...3600")
        try check((1...256).contains(imports.maxConcurrency), "imports.maxConcurrency", "must be 1...256")
        try check((1...imports.maxConcurrency).contains(imports.concurrency), "imports.concurrency", "must be 1...imports.maxConcurrency")
        try check((1...100_000_000).contains(imports.maxItems), "imports.maxItems", "must be 1...100000000")
        try check(imports.caFile.isEmpty || FileManager.default.isReadableFile(atPath: imports.caFile), "imports.caFile",
                  "must be empty (the system's certificates) or a readable PEM file")
    }

    /// The import journal's file.
    public var importJournalPath: String {
        imports.journalPath.isEmpty ? storage.databasePath + ".imports" : imports.journalPath
    }

    /// The largest item an import reads or fetches.
    public var importMaxItemBytes: Int { imports.maxItemBytes == 0 ? server.maxBodyBytes : imports.maxItemBytes }
}

import Foundation
import PostgresStorage

/// The ranges every option must be in.
extension Configuration {
    /// Checks every range; the error names the first bad key.
    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ message: String) throws {
            if !ok { throw Error(key: key, message: message) }
        }
        try check(!server.hosts.isEmpty, "server.hosts", "must list at least one address")
        try check((0...65535).contains(server.port), "server.port", "must be 0...65535")
        try check((1...100_000).contains(server.maxConnections), "server.maxConnections", "must be 1...100000")
        try check((256...1 << 20).contains(server.maxRequestLineBytes), "server.maxRequestLineBytes", "must be 256...1048576")
        try check((1024...16 << 20).contains(server.maxHeaderBytes), "server.maxHeaderBytes", "must be 1024...16777216")
        try check((1...10_000).contains(server.maxHeaderCount), "server.maxHeaderCount", "must be 1...10000")
        try check((1024...1 << 31).contains(server.maxBodyBytes), "server.maxBodyBytes", "must be 1 KiB...2 GiB")
        try check((1...100_000).contains(server.maxMultipartParts), "server.maxMultipartParts", "must be 1...100000")
        try check(server.headerTimeoutSeconds > 0 && server.headerTimeoutSeconds <= 3600, "server.headerTimeoutSeconds", "must be in (0, 3600]")
        try check(server.idleTimeoutSeconds > 0 && server.idleTimeoutSeconds <= 86_400, "server.idleTimeoutSeconds", "must be in (0, 86400]")
        try check(server.minBodyBytesPerSecond > 0, "server.minBodyBytesPerSecond", "must be positive")
        try check(server.shutdownGraceSeconds >= 0, "server.shutdownGraceSeconds", "must be ≥ 0")
        for entry in server.apiKeys { _ = try APIKey(parsing: entry) }
        try check(Set(server.keys.map(\.secret)).count == server.apiKeys.count, "server.apiKeys", "a secret is listed twice")
        for proxy in server.trustedProxies {
            try check(Self.isIPAddress(proxy), "server.trustedProxies", "each entry is an IPv4 or IPv6 address, got '\(proxy.prefix(80))'")
        }
        for origin in server.corsOrigins {
            try check(origin == "*" || ((origin.hasPrefix("http://") || origin.hasPrefix("https://")) && !origin.hasSuffix("/")
                                        && origin.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 }),
                      "server.corsOrigins", "each origin is '*' or scheme://host[:port] without a path, got '\(origin.prefix(80))'")
        }
        try check(storage.url.isEmpty || storage.postgresURL != nil, "storage.url",
                  "must be a file path, sqlite:PATH or postgresql://user:password@host:port/database")
        if let url = storage.postgresURL {
            do { _ = try PostgresLocation(url: url) } catch { throw Error(key: "storage.url", message: error.description) }
        }
        try check((2...1_000).contains(storage.maxConnections), "storage.maxConnections", "must be 2...1000 (a background claim holds one)")
        try check((10...60_000).contains(storage.followIntervalMilliseconds), "storage.followIntervalMilliseconds", "must be 10...60000")
        try check((1...2_592_000).contains(storage.tombstoneRetentionSeconds), "storage.tombstoneRetentionSeconds",
                  "must be 1...2592000 (30 days)")
        try check(!storage.databasePath.isEmpty, "storage.databasePath", "must not be empty")
        try check((2...16 << 20).contains(storage.maxMetadataBytes), "storage.maxMetadataBytes", "must be 2...16777216")
        try check((0...600_000).contains(storage.busyTimeoutMilliseconds), "storage.busyTimeoutMilliseconds", "must be 0...600000")
        try check((1...1_000_000).contains(storage.maxCollections), "storage.maxCollections", "must be 1...1000000")
        try check(storage.maxDatabaseBytes == 0 || storage.maxDatabaseBytes >= 4 << 20, "storage.maxDatabaseBytes", "must be 0 (no limit) or at least 4 MiB (an empty database takes 1.5)")
        try check(!storage.backupDirectory.isEmpty, "storage.backupDirectory", "must not be empty")
        for role in [nil] + APIKey.Role.allCases.map(Optional.some) {
            let (perSecond, burst) = rateLimits.limit(for: role)
            let name = role.map(\.description) ?? "anonymous"
            try check(perSecond >= 0 && perSecond <= 1_000_000, "rateLimits.\(name)PerSecond", "must be 0 (no limit) ... 1000000")
            try check(perSecond == 0 || (1...1_000_000).contains(burst), "rateLimits.\(name)Burst", "must be 1...1000000 when the rate is set")
        }
        try check((0...256).contains(model.workers), "model.workers", "must be 0...256 (0: one per core)")
        try check((1...100_000).contains(model.queueCapacity), "model.queueCapacity", "must be 1...100000")
        try check((1...256).contains(model.maxBatch), "model.maxBatch", "must be 1...256")
        try check(model.maxBatchWaitMilliseconds >= 0 && model.maxBatchWaitMilliseconds <= 10_000, "model.maxBatchWaitMilliseconds", "must be 0...10000")
        try check((1...1_000_000_000).contains(model.maxImagePixels), "model.maxImagePixels", "must be 1...1000000000")
        try check((16...4096).contains(model.thumbnailSize), "model.thumbnailSize", "must be 16...4096")
        try check(model.cropPolicy == "auto" || model.explicitCropPolicy != nil, "model.cropPolicy", "must be auto, pad, squash or centerSquare")
        try check(model.featurePower >= 0.1 && model.featurePower <= 1 || model.featurePower == 0, "model.featurePower",
                  "must be 0 (auto) or 0.1...1")
        try check(["average", "gem", "rmac"].contains(model.pooling), "model.pooling", "must be average, gem or rmac")
        try check(model.gemPower >= 1 && model.gemPower <= 16, "model.gemPower", "must be 1...16")
        try check((1...256).contains(index.trees), "index.trees", "must be 1...256")
        try check((2...10_000).contains(index.leafSize), "index.leafSize", "must be 2...10000")
        try check((1...10_000).contains(index.searchKFactor), "index.searchKFactor", "must be 1...10000")
        try check((0...10_000_000).contains(index.hammingRerankLimit), "index.hammingRerankLimit", "must be 0...10000000")
        try check((0...4096).contains(index.reducedDimension), "index.reducedDimension", "must be 0...4096 (0: off)")
        try check((1...1_000_000).contains(index.reducedRerankLimit), "index.reducedRerankLimit", "must be 1...1000000")
        try check(index.hammingScanLimit >= 0, "index.hammingScanLimit", "must be ≥ 0 (0: never)")
        try check((1...10_000).contains(index.hammingCandidateFactor), "index.hammingCandidateFactor", "must be 1...10000")
        try check(index.exactThreshold >= 0, "index.exactThreshold", "must be ≥ 0")
        try check(index.rebuildFraction > 0 && index.rebuildFraction <= 100, "index.rebuildFraction", "must be in (0, 100]")
        try check(hashing.itqMinimumImages >= hashing.bits, "hashing.itqMinimumImages", "must be at least hashing.bits")
        try check((hashing.bits...10_000_000).contains(hashing.itqTrainingSample), "hashing.itqTrainingSample", "must be hashing.bits...10000000")
        try check([64, 128, 256].contains(hashing.bits), "hashing.bits", "must be 64, 128 or 256")
        try validateImports()
        try check((-1...1).contains(duplicates.minCosine), "duplicates.minCosine", "must be -1...1")
        try check((0...1).contains(duplicates.maxHammingFraction), "duplicates.maxHammingFraction", "must be 0...1")
        try check(["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logging.level), "logging.level", "must be trace, debug, info, notice, warning, error or critical")
        try check(["text", "json"].contains(logging.format), "logging.format", "must be text or json")
    }
}

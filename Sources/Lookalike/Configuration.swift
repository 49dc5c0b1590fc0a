import Foundation
public import Imaging
public import Inference
import Storage
import PostgresStorage
import VectorIndex

/// Every option of the service, with its default. `Config/lookalike.json` documents the same keys.
///
/// An option that configures a lower module takes that module's default, so each default has one home.
///
/// Precedence: defaults < JSON file < environment (`LOOKALIKE_<SECTION>_<KEY>`, e.g. `LOOKALIKE_SERVER_PORT`,
/// `LOOKALIKE_INDEX_TREES`) < command-line flags. ``validate()`` runs once at startup and names the bad key.
public struct Configuration: Codable, Sendable, Equatable {
    public struct Server: Codable, Sendable, Equatable {
        /// Addresses to listen on; `0.0.0.0` is every IPv4 address, `::` every IPv6 address.
        public var hosts = ["0.0.0.0", "::"]
        public var port = 8080
        public var maxConnections = 512
        /// Long enough for a URL-encoded filter of the filter's own 64 KiB limit.
        public var maxRequestLineBytes = 256 * 1024
        public var maxHeaderBytes = 64 * 1024
        public var maxHeaderCount = 100
        public var maxBodyBytes = 32 * 1024 * 1024
        public var maxMultipartParts = 256
        public var headerTimeoutSeconds = 10.0
        public var idleTimeoutSeconds = 60.0
        public var minBodyBytesPerSecond = 16.0 * 1024
        public var shutdownGraceSeconds = 10.0
        /// Bearer keys, each `SECRET` (admin), `ROLE:SECRET` or `ROLE:SECRET:NAME+NAME` (see ``APIKey``); empty: no
        /// authentication.
        public var apiKeys: [String] = []
        /// Also require a key for reads.
        public var protectReads = false
        /// Origins whose browser scripts may call the API (`https://shop.example`; `*`: any); empty: none.
        public var corsOrigins: [String] = []
        /// Addresses of load balancers whose `X-Forwarded-For` names the client (for per-client rate limits);
        /// empty: the connection's address is the client.
        public var trustedProxies: [String] = []

        /// The keys, parsed (after ``Configuration/validate()``).
        public var keys: [APIKey] { apiKeys.compactMap { try? APIKey(parsing: $0) } }
    }

    /// Token buckets per key (per client address for requests without a valid key); a rate of 0 is no limit.
    public struct RateLimits: Codable, Sendable, Equatable {
        public var anonymousPerSecond = 0.0
        public var anonymousBurst = 0
        public var readPerSecond = 0.0
        public var readBurst = 0
        public var writePerSecond = 0.0
        public var writeBurst = 0
        public var adminPerSecond = 0.0
        public var adminBurst = 0

        /// Requests per second and burst for a role (nil: requests without a valid key).
        public func limit(for role: APIKey.Role?) -> (perSecond: Double, burst: Int) {
            switch role {
            case nil: (anonymousPerSecond, anonymousBurst)
            case .read: (readPerSecond, readBurst)
            case .write: (writePerSecond, writeBurst)
            case .admin: (adminPerSecond, adminBurst)
            }
        }
    }

    public struct Storage: Codable, Sendable, Equatable {
        /// Where the data lives: empty (``databasePath``), a SQLite file path or `sqlite:PATH`, or
        /// `postgresql://user:password@host:port/database` (nodes sharing one database; `PG*` variables fill in
        /// what the URL leaves out). With PostgreSQL, ``databasePath`` only names where this node keeps its
        /// local files (forest snapshots).
        public var url = ""
        public var databasePath = "data/lookalike.sqlite"
        public var keepOriginals = StoreDefaults.keepOriginals
        public var maxMetadataBytes = StoreDefaults.maxMetadataBytes
        /// How long a write waits for another process's lock on the database before the request gets 503.
        public var busyTimeoutMilliseconds = ImageStore.Options().busyTimeoutMilliseconds
        /// Collections at most (the default collection counts).
        public var maxCollections = 1_000
        /// The database file grows to this many bytes at most (0: until the disk is full); beyond, uploads get 507.
        public var maxDatabaseBytes = 0
        /// Where `POST /v1/backups` writes; relative paths are relative to the database's folder.
        public var backupDirectory = "backups"
        /// PostgreSQL connections a node opens at most.
        public var maxConnections = StoreDefaults.maxConnections
        /// With a shared database (PostgreSQL): how often a node reads the change sequence when no notification
        /// arrives (notifications wake it at once; this is the fallback).
        public var followIntervalMilliseconds = 500
        /// Tombstones (deletions as changes) are kept at least this long, then compacted: a node that has been
        /// away longer finds the deletions it missed by listing the collection's ids instead.
        public var tombstoneRetentionSeconds = 3_600

        /// The PostgreSQL database ``url`` names, if it names one.
        public var postgresURL: String? { PostgresLocation.isPostgresURL(url) ? url : nil }

        /// Where the data is, for logs: the file, or the PostgreSQL URL without its password.
        public var displayLocation: String {
            guard let url = postgresURL else { return databasePath }
            return (try? PostgresLocation(url: url).description) ?? "postgresql"
        }

        /// Moves a SQLite ``url`` (a path or `sqlite:PATH`) into ``databasePath``; a PostgreSQL URL stays.
        public mutating func resolveURL() {
            guard !url.isEmpty, postgresURL == nil else { return }
            let path = url.hasPrefix("sqlite://") ? String(url.dropFirst(9)) : url.hasPrefix("sqlite:") ? String(url.dropFirst(7)) : url
            guard !path.isEmpty, !path.contains("://") else { return }  // left for validate() to name
            databasePath = path
            url = ""
        }
    }

    public struct Model: Codable, Sendable, Equatable {
        /// Weight file; empty: `$LOOKALIKE_MODEL`, `$LOOKALIKE_MODEL_DIR` or `models/efficientnet-lite0.safetensors`.
        public var path = ""
        /// Inference workers; 0: one per core.
        public var workers = 0
        public var queueCapacity = InferencePool.Configuration().queueCapacity
        /// 2, taking whatever is waiting (no batching wait): on 2-core x86 machines two images per pass were
        /// 1–3 % faster under upload load than one (the weights are read once for both), while 8 ran slower
        /// per image than single images (its activations outgrow the caches). A lone request never waits for a
        /// partner.
        public var maxBatch = InferencePool.Configuration().maxBatch
        public var maxBatchWaitMilliseconds = InferencePool.Configuration().maxBatchWaitMilliseconds
        public var maxImagePixels = DecodingLimits().maxPixels
        public var thumbnailSize = Thumbnailer().maxSide
        /// How the square model input is cut: `pad` (the whole image, aspect kept, centred on the model's mean
        /// colour), `squash` (the whole image, aspect not kept), `centerSquare` (the largest centred square), or
        /// `auto`: whatever the database's stored vectors were made with, ``newDatabaseCropPolicy`` for a
        /// database without vectors. Part of the recipe.
        public var cropPolicy = "auto"
        /// The crop of a new database under `auto`.
        public static let newDatabaseCropPolicy: ModelInputPreprocessor.CropPolicy = .pad
        /// `average` (what the model was trained with), `gem` (generalized mean with `gemPower`) or `rmac`
        /// (regional maxima). Part of the
        /// vectors' recipe: a change leaves the vectors pooled the other way out of search until re-ingested.
        public var pooling = "average"
        public var gemPower = 3.0
        /// Cut uniform margins (added borders, letterboxing) before the crop. Part of the recipe.
        public var trimBorders = false
        /// Embed the image and its mirror image and average the two (twice the inference). Part of the recipe.
        public var mirrorAverage = false
        /// Each feature x becomes sign(x)·|x|^featurePower before normalisation: 1 leaves the features as they
        /// are; 0 means `auto`: whatever the database's stored vectors were made with,
        /// ``newDatabaseFeaturePower`` for a database without vectors. Part of the recipe.
        public var featurePower = 0.0
        /// The feature power of a new database under `auto`.
        public static let newDatabaseFeaturePower: Float = 0.8

        /// The crop these settings name, nil for `auto` (after ``Configuration/validate()``).
        public var explicitCropPolicy: ModelInputPreprocessor.CropPolicy? {
            ModelInputPreprocessor.CropPolicy(rawValue: cropPolicy)
        }

        /// The feature power these settings name, nil for `auto`.
        public var explicitFeaturePower: Float? { featurePower == 0 ? nil : Float(featurePower) }

        /// The pooling these settings name (after ``Configuration/validate()``).
        public var featurePooling: FeaturePooling {
            switch pooling {
            case "gem": .generalizedMean(power: Float(gemPower))
            case "rmac": .regionalMaximum
            default: .average
            }
        }
    }

    public struct Index: Codable, Sendable, Equatable {
        public var trees = Configuration.indexDefaults.trees
        public var leafSize = Configuration.indexDefaults.leafSize
        public var searchKFactor = Configuration.indexDefaults.searchKFactor
        /// Forest candidates are narrowed to this many by Hamming distance before exact re-ranking (0: off).
        public var hammingRerankLimit = Configuration.indexDefaults.hammingRerankLimit
        public var exactThreshold = Configuration.indexDefaults.exactThreshold
        public var rebuildFraction = Configuration.indexDefaults.rebuildFraction
        public var seed = Int(Configuration.indexDefaults.seed)
        /// Candidates are re-ranked first in the top principal subspace of this many dimensions (0: off)...
        public var reducedDimension = Configuration.indexDefaults.reducedDimension
        /// ...and only this many of them exactly.
        public var reducedRerankLimit = Configuration.indexDefaults.reducedRerankLimit
        /// Keep the forest in `<databasePath>.forest` so that a restart restores it instead of rebuilding.
        public var snapshot = true
        /// Above `exactThreshold` and up to this many images, searches scan the binary codes instead of the forest
        /// (0: always the forest).
        public var hammingScanLimit = Configuration.indexDefaults.hammingScanLimit
        /// Hamming-scan candidates: `factor × √images × max(k, 10) / 10`.
        public var hammingCandidateFactor = Configuration.indexDefaults.hammingCandidateFactor
    }

    public struct Hashing: Codable, Sendable, Equatable {
        /// `simhash` (random hyperplanes) or `itq` (learned; random hyperplanes until `itqMinimumImages`): the
        /// default for new collections, which may choose their own.
        public var scheme = CodeSchemeKind.simhash
        /// 64, 128 or 256.
        public var bits = Configuration.indexDefaults.codeBits
        public var seed = 7
        /// Images stored before ITQ is trained.
        public var itqMinimumImages = 1_000
        /// Stored vectors ITQ trains on at most.
        public var itqTrainingSample = 20_000
    }

    public struct Duplicates: Codable, Sendable, Equatable {
        /// A stored image is a near-duplicate of an upload when cosine ≥ this...
        public var minCosine = Paging.defaultThreshold
        /// ...and the Hamming distance of their codes is at most this fraction of the code length.
        public var maxHammingFraction = 0.25
    }

    public struct Logging: Codable, Sendable, Equatable {
        /// trace, debug, info, notice, warning, error, critical.
        public var level = "info"
        /// `text` or `json` (one JSON object per line).
        public var format = "text"
    }

    /// The index's own defaults, which the `index` section and `hashing.bits` take.
    static let indexDefaults = SimilarityIndex.Configuration(dimension: 1)

    public var server = Server()
    public var storage = Storage()
    public var model = Model()
    public var index = Index()
    public var hashing = Hashing()
    public var duplicates = Duplicates()
    public var rateLimits = RateLimits()
    public var logging = Logging()
    public var imports = Imports()

    public init() {}

    /// A configuration problem, naming the key.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let key: String
        public let message: String
        public var description: String { "configuration: \(key): \(message)" }
    }

    /// Defaults, overlaid with the JSON file (if any), then the environment.
    public static func load(file: String?, environment: [String: String]) throws -> Configuration {
        var tree = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Configuration())) as! [String: Any]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw Error(key: file, message: "cannot read the configuration file")
            }
            guard let overlay = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw Error(key: file, message: "not a JSON object")
            }
            try merge(overlay, into: &tree, path: "")
        }
        try applyEnvironment(environment, to: &tree)
        do {
            var configuration = try JSONDecoder().decode(
                Configuration.self, from: JSONSerialization.data(withJSONObject: tree))
            configuration.storage.resolveURL()
            try configuration.validate()
            return configuration
        } catch let error as DecodingError {
            if case .dataCorrupted = error {
                throw Error(key: Self.path(of: error), message: "has an unsupported value")
            }
            throw Error(key: Self.path(of: error), message: "has the wrong type")
        }
    }

    private static func merge(_ overlay: [String: Any], into tree: inout [String: Any], path: String) throws {
        for (key, value) in overlay {
            let fullKey = path.isEmpty ? key : "\(path).\(key)"
            guard let existing = tree[key] else { throw Error(key: fullKey, message: "unknown key") }
            if var section = existing as? [String: Any] {
                guard let values = value as? [String: Any] else { throw Error(key: fullKey, message: "must be an object") }
                try merge(values, into: &section, path: fullKey)
                tree[key] = section
            } else {
                tree[key] = value
            }
        }
    }

    /// `LOOKALIKE_SERVER_PORT=9000` sets `server.port`; lists are comma-separated.
    private static func applyEnvironment(_ environment: [String: String], to tree: inout [String: Any]) throws {
        // Property types come from the defaults (Mirror), not from JSONSerialization's number boxing.
        for section in Mirror(reflecting: Configuration()).children {
            guard let sectionName = section.label, var values = tree[sectionName] as? [String: Any] else { continue }
            for property in Mirror(reflecting: section.value).children {
                guard let key = property.label else { continue }
                let variable = "LOOKALIKE_\(sectionName.uppercased())_\(snake(key).uppercased())"
                guard let text = environment[variable] else { continue }
                switch property.value {
                case is [String]:
                    values[key] = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                case is Bool:
                    guard let flag = ["true": true, "1": true, "false": false, "0": false][text.lowercased()] else {
                        throw Error(key: variable, message: "must be true or false, got '\(text)'")
                    }
                    values[key] = flag
                case is Int:
                    guard let number = Int(text) else { throw Error(key: variable, message: "must be an integer, got '\(text)'") }
                    values[key] = number
                case is Double:
                    guard let number = Double(text), number.isFinite else {
                        throw Error(key: variable, message: "must be a number, got '\(text)'")
                    }
                    values[key] = number
                default:
                    values[key] = text
                }
            }
            tree[sectionName] = values
        }
    }

    private static func snake(_ camel: String) -> String {
        var out = ""
        for character in camel {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }

    private static func path(of error: DecodingError) -> String {
        let context: DecodingError.Context
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c), .dataCorrupted(let c): context = c
        @unknown default: return "?"
        }
        return context.codingPath.map(\.stringValue).joined(separator: ".")
    }

    /// Whether `text` is a numeric IPv4 or IPv6 address.
    public static func isIPAddress(_ text: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, text, &buffer) == 1 || inet_pton(AF_INET6, text, &buffer) == 1
    }
}

import Foundation
import Imaging
import Inference
import Storage
import Testing
import PostgresStorage
import VectorIndex
@testable import Lookalike

struct ConfigurationTests {
    static var repositoryConfig: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Config/lookalike.json").path
    }

    static func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func shippedFileDocumentsExactlyTheDefaults() throws {
        #expect(try Configuration.load(file: Self.repositoryConfig, environment: [:]) == Configuration())
        // Every key of the defaults appears in the file (and the loader rejects unknown keys, so no extras).
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.repositoryConfig))) as! [String: [String: Any]]
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(Configuration())) as! [String: [String: Any]]
        #expect(Set(file.keys) == Set(defaults.keys))
        for (section, values) in defaults { #expect(Set(file[section]!.keys) == Set(values.keys), "\(section)") }
    }

    /// An option that configures a lower module has that module's default: the service never builds an index,
    /// pool, store or decoder with values that differ from what the module itself documents.
    @Test func defaultsAreTheConfiguredModulesOwn() {
        let defaults = Configuration()
        let index = SimilarityIndex.Configuration(dimension: 1)
        #expect(defaults.index.trees == index.trees && defaults.index.leafSize == index.leafSize)
        #expect(defaults.index.searchKFactor == index.searchKFactor && defaults.index.exactThreshold == index.exactThreshold)
        #expect(defaults.index.hammingRerankLimit == index.hammingRerankLimit)
        #expect(defaults.index.rebuildFraction == index.rebuildFraction && UInt64(defaults.index.seed) == index.seed)
        #expect(defaults.index.reducedDimension == index.reducedDimension)
        #expect(defaults.index.reducedRerankLimit == index.reducedRerankLimit)
        #expect(defaults.index.hammingScanLimit == index.hammingScanLimit)
        #expect(defaults.index.hammingCandidateFactor == index.hammingCandidateFactor)
        #expect(defaults.hashing.bits == index.codeBits)
        let pool = InferencePool.Configuration()
        #expect(defaults.model.queueCapacity == pool.queueCapacity && defaults.model.maxBatch == pool.maxBatch)
        #expect(defaults.model.maxBatchWaitMilliseconds == pool.maxBatchWaitMilliseconds)
        #expect(defaults.model.maxImagePixels == DecodingLimits().maxPixels)
        #expect(defaults.model.thumbnailSize == Thumbnailer().maxSide)
        let store = ImageStore.Options()
        #expect(defaults.storage.maxMetadataBytes == store.maxMetadataBytes && defaults.storage.keepOriginals == store.keepOriginals)
        #expect(defaults.storage.busyTimeoutMilliseconds == store.busyTimeoutMilliseconds)
    }

    @Test func precedenceIsDefaultsThenFileThenEnvironment() throws {
        let path = try Self.write(#"{"server": {"port": 9000, "hosts": ["127.0.0.1"]}, "index": {"trees": 20}}"#)
        let fileOnly = try Configuration.load(file: path, environment: [:])
        #expect(fileOnly.server.port == 9000 && fileOnly.index.trees == 20 && fileOnly.server.hosts == ["127.0.0.1"])
        #expect(fileOnly.index.leafSize == Configuration().index.leafSize)
        let environment = ["LOOKALIKE_SERVER_PORT": "9100", "LOOKALIKE_SERVER_API_KEYS": "aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb",
                           "LOOKALIKE_STORAGE_KEEP_ORIGINALS": "true", "LOOKALIKE_DUPLICATES_MIN_COSINE": "0.8"]
        let both = try Configuration.load(file: path, environment: environment)
        #expect(both.server.port == 9100 && both.index.trees == 20)
        #expect(both.server.apiKeys == ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"])
        #expect(both.storage.keepOriginals && both.duplicates.minCosine == 0.8)
    }

    @Test(arguments: [
        (#"{"server": {"port": 70000}}"#, "server.port"),
        (#"{"server": {"prot": 1}}"#, "server.prot"),
        (#"{"index": {"trees": "ten"}}"#, "index.trees"),
        (#"{"hashing": {"bits": 100}}"#, "hashing.bits"),
        (#"{"model": {"cropPolicy": "zoom"}}"#, "model.cropPolicy"),
        (#"{"model": {"pooling": "max"}}"#, "model.pooling"),
        (#"{"model": {"gemPower": 0.5}}"#, "model.gemPower"),
        (#"{"logging": 3}"#, "logging"),
        (#"{"server": {"apiKeys": ["short"]}}"#, "server.apiKeys"),
        (#"{"server": {"apiKeys": ["read:short"]}}"#, "server.apiKeys"),
        (#"{"server": {"apiKeys": ["write:0123456789abcdef:Bad Name"]}}"#, "server.apiKeys"),
        (#"{"server": {"apiKeys": ["admin:0123456789abcdef:a:b"]}}"#, "server.apiKeys"),
        (#"{"server": {"apiKeys": ["0123456789abcdef", "read:0123456789abcdef"]}}"#, "server.apiKeys"),
        (#"{"server": {"corsOrigins": ["https://shop.example/"]}}"#, "server.corsOrigins"),
        (#"{"server": {"corsOrigins": ["shop.example"]}}"#, "server.corsOrigins"),
        (#"{"rateLimits": {"readPerSecond": 5}}"#, "rateLimits.readBurst"),
        (#"{"rateLimits": {"anonymousPerSecond": -1}}"#, "rateLimits.anonymousPerSecond"),
        (#"{"storage": {"maxDatabaseBytes": 1000}}"#, "storage.maxDatabaseBytes"),
        (#"{"server": {"trustedProxies": ["10.0.0.1", "lb.internal"]}}"#, "server.trustedProxies"),
        (#"{"storage": {"url": "mysql://db/x"}}"#, "storage.url"),
        (#"{"storage": {"url": "postgresql://u@h:99999/db"}}"#, "storage.url"),
        (#"{"storage": {"url": "postgresql://u@h/db?sslmode=sometimes"}}"#, "storage.url"),
        (#"{"storage": {"url": "postgresql://u@h/db?fancy=1"}}"#, "storage.url"),
        (#"{"storage": {"followIntervalMilliseconds": 1}}"#, "storage.followIntervalMilliseconds"),
        (#"{"storage": {"tombstoneRetentionSeconds": 0}}"#, "storage.tombstoneRetentionSeconds"),
    ])
    func badValuesNameTheKey(text: String, key: String) throws {
        let path = try Self.write(text)
        #expect {
            try Configuration.load(file: path, environment: [:])
        } throws: { error in
            (error as? Configuration.Error)?.key == key
        }
    }

    /// `storage.url`: a path or `sqlite:` URL names the SQLite file; a PostgreSQL URL is kept, its password never
    /// shown in logs.
    @Test func storageURLNamesSQLiteOrPostgreSQL() throws {
        let sqlite = try Configuration.load(file: nil, environment: ["LOOKALIKE_STORAGE_URL": "sqlite:/var/lib/lookalike/a.sqlite"])
        #expect(sqlite.storage.databasePath == "/var/lib/lookalike/a.sqlite" && sqlite.storage.url.isEmpty)
        #expect(sqlite.storage.postgresURL == nil)
        let path = try Configuration.load(file: nil, environment: ["LOOKALIKE_STORAGE_URL": "data/b.sqlite"])
        #expect(path.storage.databasePath == "data/b.sqlite")
        let postgres = try Configuration.load(file: nil, environment: [
            "LOOKALIKE_STORAGE_URL": "postgresql://shop:s%40cret@db.internal:6543/images?sslmode=require"])
        #expect(postgres.storage.postgresURL != nil && postgres.storage.databasePath == Configuration().storage.databasePath)
        #expect(postgres.storage.displayLocation == "postgresql://shop@db.internal:6543/images?sslmode=require")
        let location = try PostgresLocation(url: "postgresql://shop:s%40cret@db.internal:6543/images?sslmode=require")
        #expect(location.user == "shop" && location.password == "s@cret" && location.host == "db.internal"
                && location.port == 6543 && location.database == "images" && location.tls == .require)
    }

    /// What the URL leaves out comes from libpq's variables, then libpq's defaults.
    @Test func postgresLocationFallsBackToPGVariables() throws {
        let environment = ["PGHOST": "10.1.2.3", "PGPORT": "5433", "PGUSER": "app", "PGPASSWORD": "pw", "PGDATABASE": "lk",
                           "PGSSLMODE": "disable"]
        let location = try PostgresLocation(url: "postgresql://", environment: environment)
        #expect(location == PostgresLocation(host: "10.1.2.3", port: 5433, user: "app", password: "pw", database: "lk", tls: .disable))
        let defaults = try PostgresLocation(url: "postgres://u@/", environment: [:])
        #expect(defaults.host == "localhost" && defaults.port == 5432 && defaults.database == "u" && defaults.tls == .prefer)
        let overridden = try PostgresLocation(url: "postgresql://other@h:7/x?sslmode=verify-full", environment: environment)
        #expect(overridden.user == "other" && overridden.password == "pw" && overridden.port == 7 && overridden.tls == .verifyFull)
        #expect(throws: PostgresStorageError.self) { try PostgresLocation(url: "postgresql://h/x", environment: ["PGPORT": "many"]) }
    }

    /// `SECRET` is an admin key (as keys were before roles); `ROLE:SECRET[:NAME+NAME]` grants a role, optionally
    /// on some collections only.
    @Test func apiKeysCarryARoleAndCollections() throws {
        let configuration = try Configuration.load(file: nil, environment: [
            "LOOKALIKE_SERVER_API_KEYS": "legacy-0123456789abcdef, read:reader-0123456789abcdef, write:writer-0123456789abcdef:shop+photos-2",
        ])
        let keys = configuration.server.keys
        #expect(keys.map(\.role) == [.admin, .read, .write])
        #expect(keys.map { String(decoding: $0.secret, as: UTF8.self) }
                == ["legacy-0123456789abcdef", "reader-0123456789abcdef", "writer-0123456789abcdef"])
        #expect(keys[0].collections == nil && keys[2].collections == ["shop", "photos-2"])
        #expect(keys[2].mayTouch("shop") && !keys[2].mayTouch("default") && !keys[2].mayTouch(nil) && keys[1].mayTouch(nil))
        // A colon that does not follow a role name is part of a legacy secret.
        #expect(try APIKey(parsing: "reed:0123456789abcdef").role == .admin)
    }

    @Test func badEnvironmentValuesNameTheVariable() {
        #expect(throws: Configuration.Error.self) { try Configuration.load(file: nil, environment: ["LOOKALIKE_SERVER_PORT": "eighty"]) }
        #expect(throws: Configuration.Error.self) { try Configuration.load(file: nil, environment: ["LOOKALIKE_SERVER_PROTECT_READS": "maybe"]) }
        #expect(throws: Configuration.Error.self) { try Configuration.load(file: "/nonexistent.json", environment: [:]) }
    }
}

import Foundation
import Imaging
@testable import Lookalike
import Testing
import TestSupport

/// Import jobs with the real model, a real SQLite file and a real HTTP origin on loopback that answers, fails,
/// stalls, redirects and oversends: every item gets the outcome its source deserves.
@Suite(.serialized)
struct ImportJobTests {
    static func configuration(_ directory: URL, root: URL) -> Configuration {
        CollectionTests.configuration(directory) { configuration in
            configuration.imports.root = root.path
            configuration.imports.retryDelaySeconds = 0.05
            configuration.imports.maxAttempts = 3
            configuration.imports.timeoutSeconds = 2
            configuration.imports.maxItemBytes = 200_000
        }
    }

    /// A folder the origin serves and path items read: images, a copy of one under another name, a file that is
    /// not an image.
    static func fixtures() throws -> URL {
        let root = try ExternalTool.scratchDirectory()
        for seed in 0..<4 as Range<UInt64> {
            try Data(CollectionTests.jpeg(500 + seed)).write(to: root.appendingPathComponent("img\(seed).jpg"))
        }
        try Data(CollectionTests.jpeg(500)).write(to: root.appendingPathComponent("copy-of-img0.jpg"))
        try Data("no pixels here".utf8).write(to: root.appendingPathComponent("notes.jpg"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("local/sub"), withIntermediateDirectories: true)
        try Data(CollectionTests.jpeg(600)).write(to: root.appendingPathComponent("local/sub/shelf.png"))
        return root
    }

    /// A service with imports from `fixtures()` (served by a real origin, and as `imports.root`), shut down and
    /// removed when released.
    final class Setup {
        let directory: URL
        let root: URL
        let origin: TestOrigin
        let service: LookalikeService

        init(_ configure: (inout Configuration) -> Void = { _ in }) throws {
            directory = try CollectionTests.temporaryDirectory()
            root = try ImportJobTests.fixtures()
            origin = try TestOrigin(folder: root)
            var configuration = ImportJobTests.configuration(directory, root: root)
            configure(&configuration)
            service = try CollectionTests.open(configuration)
        }

        deinit {
            service.shutdown()
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: root)
        }
    }

    static func waitUntilEnded(_ service: LookalikeService, _ id: String, collection: String = "default", timeout: Double = 300) throws -> ImportJob {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let job = try service.importJob(id, collection: collection)
            if job.state == .completed || job.state == .cancelled { return job }
            usleep(50_000)
        }
        Issue.record("import \(id) did not end within \(timeout) s")
        return try service.importJob(id, collection: collection)
    }

    @Test func everyItemGetsTheOutcomeItsSourceDeserves() throws {
        let setup = try Setup()
        defer { withExtendedLifetime(setup) {} }  // released (and shut down) at the end of the test, not after its last use
        let (root, origin, service) = (setup.root, setup.origin, setup.service)
        service.startImports(ownPorts: { [] })

        let lines: [(String, String?)] = [
            (#"{"id": "plain", "url": "\#(origin.url("/files/img0.jpg"))", "metadata": {"sku": "A-1", "price": 12.5}}"#, "stored"),
            (#"{"id": "redirected", "url": "\#(origin.url("/redirect/2/img1.jpg"))"}"#, "stored"),
            (#"{"id": "flaky", "url": "\#(origin.url("/flaky/2/img2.jpg"))"}"#, "stored"),
            (#"{"id": "slow", "url": "\#(origin.url("/slow/0.5/img3.jpg"))"}"#, "stored"),
            (#"{"id": "from-disk", "path": "local/sub/shelf.png", "metadata": {"shelf": 3}}"#, "stored"),
            (#"{"id": "copy", "url": "\#(origin.url("/files/copy-of-img0.jpg"))"}"#, "duplicate"),
            (#"{"id": "broken", "url": "\#(origin.url("/status/500"))"}"#, "refused"),
            (#"{"id": "gone", "url": "\#(origin.url("/status/404"))"}"#, "refused"),
            (#"{"id": "page", "url": "\#(origin.url("/typed/text~html/img0.jpg"))"}"#, "refused"),
            (#"{"id": "huge", "url": "\#(origin.url("/large/5000000"))"}"#, "refused"),
            (#"{"id": "stalled", "url": "\#(origin.url("/hang"))"}"#, "refused"),
            (#"{"id": "not-an-image", "url": "\#(origin.url("/files/notes.jpg"))"}"#, "refused"),
            (#"{"id": "metadata-service", "url": "\#(origin.url("/location?to=http://169.254.169.254/latest/"))"}"#, "refused"),
            (#"{"id": "escape", "path": "../../etc/passwd"}"#, "refused"),
            (#"{"id": "file-scheme", "url": "file:///etc/passwd"}"#, "refused"),
            (#"{"id": "plain", "url": "\#(origin.url("/files/img1.jpg"))"}"#, "refused"),
            (#"{"url": "\#(origin.url("/files/img1.jpg"))"}"#, "refused"),
            (#"not json at all"#, "refused"),
        ]
        let manifest = Array(lines.map(\.0).joined(separator: "\n").utf8)
        // One lane: "copy" must come after "plain" is stored to be its duplicate.
        let created = try service.createImport(manifest: manifest, format: .jsonLines, collection: "default", concurrency: 1, onDuplicate: .skip)
        #expect(created.total == lines.count && created.state == .queued)
        let job = try Self.waitUntilEnded(service, created.id)
        #expect(job.state == .completed)
        let items = try service.importItems(job.id, collection: "default", states: [], after: 0, limit: 100)
        #expect(items.count == lines.count)
        for (item, (line, expected)) in zip(items, lines) {
            #expect(item.state.rawValue == expected, "\(line): \(item.state) \(item.reason ?? "")")
        }
        let byKey = Dictionary(items.compactMap { item in item.key.map { ($0, item) } }, uniquingKeysWith: { first, _ in first })
        #expect(byKey["flaky"]?.attempts == 3)
        #expect(byKey["broken"]?.attempts == 3 && byKey["broken"]?.reason?.contains("after 3 tries") == true)
        #expect(byKey["gone"]?.attempts == 1, "a 404 is not tried again")
        #expect(byKey["stalled"]?.reason?.contains("timed out") == true)
        #expect(byKey["copy"]?.reason?.contains("near-duplicate of plain") == true)
        #expect(byKey["metadata-service"]?.reason?.contains("169.254.0.0/16") == true)
        #expect(byKey["escape"]?.reason?.contains("..") == true)
        #expect(items[15].reason?.contains("also item 1") == true)
        #expect(job.counts[.stored] == 5 && job.counts[.duplicate] == 1 && job.counts[.refused] == 12)

        // What was stored is the origin's bytes under the manifest's ids and metadata, and searchable.
        #expect(try service.record(key: "plain")?.metadata.contains("A-1") == true)
        #expect(try service.holds(key: "from-disk", bytes: [UInt8](Data(contentsOf: root.appendingPathComponent("local/sub/shelf.png")))))
        #expect(try service.search(bytes: CollectionTests.jpeg(502), options: .init(k: 1)).first?.key == "flaky")
        #expect(try service.record(key: "copy") == nil && service.record(key: "broken") == nil)

        // The same manifest again: nothing is stored twice (same bytes under the same id: a duplicate).
        let again = try service.createImport(manifest: manifest, format: .jsonLines, collection: "default", concurrency: 4, onDuplicate: .skip)
        let second = try Self.waitUntilEnded(service, again.id)
        #expect(second.counts[.stored] == nil && second.counts[.duplicate] == 6)
        #expect(try service.list(limit: 100, after: nil).count == 5)
    }

    @Test func foldersImportUnderTheirRelativePathsAndJobsCancel() throws {
        let setup = try Setup()
        defer { withExtendedLifetime(setup) {} }
        let (origin, service) = (setup.origin, setup.service)
        _ = try service.createCollection(name: "shop")
        #expect(throws: ImportError.self) { try service.createFolderImport(folder: "../", collection: "shop") }
        #expect(throws: ImportError.self) { try service.createFolderImport(folder: "missing", collection: "shop") }
        #expect(throws: LookalikeError.collectionNotFound("nope")) { try service.createFolderImport(folder: "local", collection: "nope") }

        // Queued before the runner starts; a second job waits for the first.
        let folder = try service.createFolderImport(folder: "local", collection: "shop")
        let csv = "id,url,metadata\nslow-1,\(origin.url("/slow/3/img1.jpg")),\"{\"\"n\"\": 1}\"\n" + (2...9).map { "slow-\($0),\(origin.url("/slow/3/img\($0 % 4).jpg")),\n" }.joined()
        let slow = try service.createImport(manifest: Array(csv.utf8), format: .csv, collection: "shop", concurrency: 1)
        #expect(slow.total == 9)
        service.startImports(ownPorts: { [] })
        let done = try Self.waitUntilEnded(service, folder.id, collection: "shop")
        #expect(done.state == .completed && done.counts[.stored] == 1)
        #expect(try service.record(key: "sub/shelf.png", collection: "shop") != nil)

        // Cancelled while its first slow item is being fetched: it ends at once, the rest stay pending.
        while try service.importJob(slow.id, collection: "shop").state != .running { usleep(20_000) }
        usleep(500_000)
        let cancelled = try service.cancelImport(slow.id, collection: "shop")
        #expect(cancelled.state == .cancelled)
        let ended = try Self.waitUntilEnded(service, slow.id, collection: "shop", timeout: 10)
        #expect(ended.counts[.pending] ?? 0 >= 8, "\(ended.counts)")
        #expect(throws: ImportError.jobFinished(slow.id)) { try service.cancelImport(slow.id, collection: "shop") }
        #expect(throws: ImportError.jobNotFound(slow.id)) { try service.importJob(slow.id, collection: "default") }
        #expect(try service.importJobs(collection: "shop", limit: 10, after: nil).map(\.id) == [slow.id, folder.id])
    }

    /// A full inference queue (503 from the service) is waited out without using up an item's tries: with one try
    /// per item, a queue of one and eight lanes, every image is still stored.
    @Test func aBusyServiceIsWaitedForWithoutUsingUpTries() throws {
        let setup = try Setup {
            $0.imports.maxAttempts = 1
            $0.model.queueCapacity = 1
            $0.model.workers = 1
        }
        defer { withExtendedLifetime(setup) {} }
        let service = setup.service
        let busy = setup.root.appendingPathComponent("busy")
        try FileManager.default.createDirectory(at: busy, withIntermediateDirectories: true)
        for seed in 0..<8 as Range<UInt64> {
            try Data(CollectionTests.jpeg(700 + seed)).write(to: busy.appendingPathComponent("b\(seed).jpg"))
        }
        service.startImports(ownPorts: { [] })
        let job = try service.createFolderImport(folder: "busy", collection: "default", concurrency: 8)
        let done = try Self.waitUntilEnded(service, job.id)
        #expect(done.counts[.stored] == 8, "\(done.counts)")
        let items = try service.importItems(job.id, collection: "default", states: [], after: 0, limit: 10)
        #expect(items.allSatisfy { $0.attempts == 1 }, "\(items.map(\.reason))")
    }

    @Test func manifestsAreParsedLineByLineWithinLimits() throws {
        let csv = "ID,Path,metadata\r\n\"a,b\",x/1.jpg,\"{\"\"k\"\": \"\"v, w\"\"}\"\r\nb,x/2.jpg,\r\nc,x/3.jpg,[1]\r\nd\r\n"
        let items = try ImportManifest.items(from: Array(csv.utf8), format: .csv, maxItems: 10, maxMetadataBytes: 1000)
        #expect(items.map(\.key) == ["a,b", "b", "c", nil])
        #expect(items[0].source == .path("x/1.jpg") && items[0].metadata?.contains("v, w") == true && items[0].state == .pending)
        #expect(items[1].metadata == nil && items[1].state == .pending)
        #expect(items[2].state == .refused && items[3].state == .refused)
        #expect(throws: ImportError.tooManyItems(limit: 2)) {
            try ImportManifest.items(from: Array("{}\n{}\n{}".utf8), format: .jsonLines, maxItems: 2, maxMetadataBytes: 100)
        }
        #expect(throws: ImportError.self) { try ImportManifest.items(from: Array("name,url\nx,y".utf8), format: .csv, maxItems: 2, maxMetadataBytes: 100) }
        #expect(throws: ImportError.self) { try ImportManifest.items(from: [0xFF, 0xFE], format: .jsonLines, maxItems: 2, maxMetadataBytes: 100) }
        #expect(throws: ImportError.self) { try ImportManifest.items(from: Array("\n\n".utf8), format: .jsonLines, maxItems: 2, maxMetadataBytes: 100) }
        #expect(throws: ImportError.self) { try ImportManifest.items(from: Array("id,url\n\"open".utf8), format: .csv, maxItems: 2, maxMetadataBytes: 100) }
        let lines = #"{"id": "x", "url": "http://a/b", "path": "c"}"# + "\n" + #"{"id": "y", "url": "http://a/b", "colour": 1}"# + "\n"
            + #"{"id": "z", "url": "http://a/b", "metadata": [1]}"# + "\n" + #"{"id": "w", "url": "http://a/b", "metadata": {"big": "\#(String(repeating: "x", count: 200))"}}"#
        let refused = try ImportManifest.items(from: Array(lines.utf8), format: .jsonLines, maxItems: 10, maxMetadataBytes: 100)
        #expect(refused.allSatisfy { $0.state == .refused })
        #expect(refused.map { $0.reason ?? "" }.enumerated().allSatisfy { $1.hasPrefix("item \($0 + 1): ") })
    }
}

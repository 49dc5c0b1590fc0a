import Foundation
import HTTPServer
import Imaging
import Inference
import Logging
import Lookalike
import LookalikeAPI
import TestSupport

/// A real service on a real socket (127.0.0.1, ephemeral port) with a fresh SQLite file and the real model.
final class APITestHarness {
    static let model: ImageModel = {
        do { return try ImageModel(path: ModelLocator.path()) } catch {
            fatalError("cannot load the model (run scripts/fetch-model): \(error)")
        }
    }()

    let service: LookalikeService
    let server: HTTPServer
    let directory: URL

    var port: Int { server.port }

    init(configure: (inout Configuration) -> Void = { _ in }, limits: (inout HTTPLimits) -> Void = { _ in }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lookalike-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.storage.databasePath = directory.appendingPathComponent("db.sqlite").path
        configuration.model.workers = 2
        configure(&configuration)
        service = try LookalikeService(configuration: configuration, model: Self.model)
        let api = LookalikeAPI(service: service, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        var httpLimits = HTTPLimits()
        limits(&httpLimits)
        server = HTTPServer(configuration: .init(hosts: ["127.0.0.1"], port: 0, limits: httpLimits), handler: { api.handle($0) })
        try server.start()
        try service.loadIndex()
    }

    deinit {
        server.shutdown(deadline: 2)
        service.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }

    func client(timeout: Double = 60) throws -> HTTPTestClient { try HTTPTestClient(port: port, timeout: timeout) }

    static func jpeg(seed: UInt64) throws -> [UInt8] { try JPEGEncoder.encode(TestImages.scene(seed: seed), quality: 90) }

    static func png(seed: UInt64) -> [UInt8] {
        let image = TestImages.scene(seed: seed, width: 200, height: 150)
        return PNGWriter(colorType: .rgb).encode(width: image.width, height: image.height, samples: image.pixels.map(Int.init))
    }
}

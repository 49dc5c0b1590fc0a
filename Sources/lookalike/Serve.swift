import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import HTTPServer
import Inference
import Logging
import Lookalike
import LookalikeAPI

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service.")

    @OptionGroup var options: ServiceOptions
    @Option(help: "TCP port (overrides server.port).") var port: Int?
    @Option(help: "Listen address; repeat for several (overrides server.hosts).") var host: [String] = []

    func run() async throws {
        let configuration = try options.configuration { configuration in
            if let port { configuration.server.port = port }
            if !host.isEmpty { configuration.server.hosts = host }
        }
        ServiceOptions.bootstrapLogging(configuration)
        defer { LogSink.standardError.flush() }
        let logger = Logger(label: "lookalike")
        let modelPath = options.modelPath(configuration)
        let model: ImageModel
        do {
            model = try ImageModel(path: modelPath, pooling: configuration.model.featurePooling)
        } catch {
            throw ValidationError("cannot load the model: \(error)")
        }
        logger.info("model loaded", metadata: ["model": "\(model.identity)", "path": "\(modelPath)"])
        let service = try LookalikeService(configuration: configuration, model: model)
        let api = LookalikeAPI(service: service, logger: logger, accessLog: ServiceOptions.accessLog(configuration),
                               droppedLogLines: { LogSink.standardError.droppedLines })

        var limits = HTTPLimits()
        limits.maxRequestLineBytes = configuration.server.maxRequestLineBytes
        limits.maxHeaderBytes = configuration.server.maxHeaderBytes
        limits.maxHeaderCount = configuration.server.maxHeaderCount
        limits.maxBodyBytes = configuration.server.maxBodyBytes
        limits.headerTimeout = configuration.server.headerTimeoutSeconds
        limits.idleTimeout = configuration.server.idleTimeoutSeconds
        limits.minBodyBytesPerSecond = configuration.server.minBodyBytesPerSecond
        limits.maxConnections = configuration.server.maxConnections
        let server = HTTPServer(
            configuration: .init(hosts: configuration.server.hosts, port: configuration.server.port, limits: limits),
            handler: { api.handle($0) })
        try server.start()
        logger.info("listening", metadata: [
            "hosts": "\(configuration.server.hosts.joined(separator: ","))", "port": "\(server.port)",
            "database": "\(configuration.storage.displayLocation)",
        ])

        let started = Date()
        let loaded = try service.loadIndex()
        logger.info("index ready", metadata: [
            "vectors": "\(loaded)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
            "forest": "\(service.indexLoad().map { "\($0)" } ?? "none")",
        ])
        // Nodes on a shared database follow each other's writes from here on.
        service.startFollowing()
        let foreign = try service.vectorsFromOtherModels()
        if foreign > 0 {
            logger.warning("images embedded by another model are not searchable; re-ingest them", metadata: ["count": "\(foreign)"])
        }

        // Wait for SIGTERM or SIGINT, then drain.
        let signal = await Self.waitForTerminationSignal()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        server.shutdown(deadline: configuration.server.shutdownGraceSeconds)
        if let problem = service.shutdown() {
            logger.warning("forest snapshot not saved; the next start rebuilds it", metadata: ["error": "\(problem)"])
        }
        logger.info("stopped")
    }

    static func waitForTerminationSignal() async -> Int32 {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "lookalike.signals")
            let once = OnceFlag()
            var sources: [DispatchSourceSignal] = []
            for value in [SIGTERM, SIGINT] {
                signal(value, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: value, queue: queue)
                source.setEventHandler {
                    if once.claim() { continuation.resume(returning: value) }
                }
                source.resume()
                sources.append(source)
            }
            SignalSources.keep(sources)
        }
    }
}

/// Keeps the signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    static func keep(_ list: [DispatchSourceSignal]) { sources = list }
}

/// True exactly once.
final class OnceFlag: Sendable {
    private let claimed = Mutex(false)
    func claim() -> Bool { claimed.withLock { claimed in defer { claimed = true }; return !claimed } }
}

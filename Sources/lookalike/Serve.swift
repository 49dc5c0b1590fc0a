import ArgumentParser
import Dispatch
import Foundation
import ServiceLifecycle
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
        // Started in order, stopped in reverse on SIGTERM or SIGINT: the server drains first, then the domain stops
        // following and saves its snapshots, and the log is flushed last.
        let group = ServiceGroup(
            services: [
                LogFlushService(),
                CatalogService(service: service, logger: logger, ownPorts: { [server] in [server.port] }),
                HTTPServerService(server: server, configuration: configuration, logger: logger),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        logger.info("stopped")
    }
}

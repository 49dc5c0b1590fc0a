import Dispatch
import Foundation
import HTTPServer
import Logging
import Lookalike
import ServiceLifecycle

/// The HTTP server: listening from the start (so `/readyz` answers while the indexes load), draining on
/// graceful shutdown for up to `server.shutdownGraceSeconds`.
struct HTTPServerService: Service {
    let server: HTTPServer
    let configuration: Configuration
    let logger: Logger

    func run() async throws {
        try server.start()
        logger.info("listening", metadata: [
            "hosts": "\(configuration.server.hosts.joined(separator: ","))", "port": "\(server.port)",
            "database": "\(configuration.storage.displayLocation)",
        ])
        try? await gracefulShutdown()
        logger.info("shutting down")
        let server = self.server, grace = configuration.server.shutdownGraceSeconds
        await onThread { server.shutdown(deadline: grace) }
    }
}

/// The domain: loads every collection's index, then follows other nodes' writes on a shared database and runs
/// import jobs; on graceful shutdown stops imports, following and the inference workers, and saves the index
/// snapshots.
struct CatalogService: Service {
    let service: LookalikeService
    let logger: Logger
    /// The ports this node listens on (import fetches may not reach them).
    let ownPorts: @Sendable () -> Set<Int>

    func run() async throws {
        let service = self.service
        let started = Date()
        let loaded = try await onThread { try service.loadIndex() }
        logger.info("index ready", metadata: [
            "vectors": "\(loaded)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(started)))",
            "forest": "\(service.indexLoad().map { "\($0)" } ?? "none")",
        ])
        // Nodes on a shared database follow each other's writes from here on.
        service.startFollowing()
        service.startImports(ownPorts: ownPorts)
        // Re-embeddings that were in progress when the process stopped.
        service.startRecipeChanges()
        let foreign = try await onThread { try service.vectorsFromOtherModels() }
        if foreign > 0 {
            logger.warning("images embedded by another model are not searchable; re-ingest them", metadata: ["count": "\(foreign)"])
        }
        try? await gracefulShutdown()
        if let problem = await onThread({ service.shutdown() }) {
            logger.warning("forest snapshot not saved; the next start rebuilds it", metadata: ["error": "\(problem)"])
        }
    }
}

/// The log writer: flushed when everything else has stopped.
struct LogFlushService: Service {
    func run() async throws {
        try? await gracefulShutdown()
        await onThread { LogSink.standardError.flush() }
    }
}

/// Runs blocking work (a load, a drain, a flush) on a thread of its own rather than on the cooperative pool.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

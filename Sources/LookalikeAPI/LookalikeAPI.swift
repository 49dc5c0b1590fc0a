import Dispatch
import Foundation
public import HTTPCore
public import HTTPServer
public import Logging
public import Lookalike
import MetadataFilter
import Imaging

/// The REST API v1 over ``LookalikeService``: routes, request parsing, auth, request ids, metrics and the
/// access log. Errors are `application/problem+json` (RFC 9457).
public final class LookalikeAPI: Sendable {
    let service: LookalikeService
    public let metrics = APIMetrics()
    let logger: Logger
    let keys: [APIKey]
    let protectReads: Bool
    let rateLimiter: RateLimiter
    let trustedProxies: Set<String>
    let cors: CORSPolicy
    let multipart: MultipartParser
    let router: Router
    /// `/openapi.json` for this configuration (its security follows the keys in force).
    let openAPIDocument: String

    /// Log lines lost because the log's buffer was full (`/metrics`).
    let droppedLogLines: @Sendable () -> Int

    /// Where each request's access-log line goes; nil: `logger` at `info`.
    let accessLog: (@Sendable (AccessRecord) -> Void)?

    /// - Parameters:
    ///   - accessLog: writes a request's access-log line without going through swift-log's metadata dictionary
    ///     (the server's own log sink; a line per request at tens of thousands of requests a second); nil: the
    ///     line goes to `logger` at `info`.
    ///   - droppedLogLines: log lines lost to a full log buffer, for `/metrics`.
    public init(service: LookalikeService, logger: Logger, accessLog: (@Sendable (AccessRecord) -> Void)? = nil,
                droppedLogLines: @escaping @Sendable () -> Int = { 0 }) {
        self.service = service
        self.logger = logger
        self.accessLog = accessLog
        self.droppedLogLines = droppedLogLines
        self.keys = service.configuration.server.keys
        self.protectReads = service.configuration.server.protectReads
        self.rateLimiter = RateLimiter(limits: service.configuration.rateLimits)
        self.trustedProxies = Set(service.configuration.server.trustedProxies)
        self.cors = CORSPolicy(origins: service.configuration.server.corsOrigins)
        self.openAPIDocument = OpenAPIDocument.json(security: .init(
            keys: !keys.isEmpty, protectReads: protectReads, rateLimited: rateLimiter.isActive),
            dimension: service.model.featureDimension)
        self.multipart = MultipartParser(
            maxParts: service.configuration.server.maxMultipartParts, maxPartBytes: service.configuration.server.maxBodyBytes)
        // Routes reach the API through a weak box filled once `self` exists (the router is built first).
        let box = WeakAPIBox()
        var router = Router()
        for route in Self.routes {
            for (pattern, fixedCollection) in route.patterns {
                router.add(route.method, pattern) { [box] request in
                    guard let api = box.api else { return .problem(status: .serviceUnavailable, detail: "shutting down") }
                    return api.serve(request, route: route, collection: fixedCollection ?? request.parameters["collection"] ?? "")
                }
            }
        }
        self.router = router
        box.api = self
    }

    /// Every pattern served, with its method (the OpenAPI test checks the document against it).
    public static var servedRoutes: [(method: HTTPMethod, pattern: String)] {
        routes.flatMap { route in route.patterns.map { (route.method, $0.pattern) } }
    }

    /// The server's handler: request id, routing, auth, error mapping, metrics and the access log.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let requestID = Self.requestID(from: request)
        var (response, pattern) = cors.preflight(request).map { ($0, "preflight") } ?? router.route(request)
        cors.decorate(&response, for: request)
        response.setHeader("X-Request-Id", requestID)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(route: pattern ?? "unmatched", method: request.method, status: response.status, seconds: seconds)
        let record = AccessRecord(requestID: requestID, method: request.method.rawValue, path: request.path, status: response.status.code,
                                  milliseconds: Self.hundredths(seconds * 1000), bytesIn: request.body.count, bytesOut: response.body.count)
        if let accessLog {
            accessLog(record)
        } else {
            logger.info("request", metadata: Logger.Metadata(uniqueKeysWithValues: record.fields.map { ($0.name, .string($0.value)) }))
        }
        return response
    }

    /// One matched route: its rate limit and authorisation, then its handler, with errors rendered as problems.
    private func serve(_ request: HTTPRequest, route: APIRoute, collection: String) -> HTTPResponse {
        if route.access != .open {
            let caller = identify(request)
            if let wait = rateLimiter.admit(caller: caller.key.map { "key:\(keys.firstIndex(of: $0) ?? -1)" } ?? clientAddress(request),
                                            role: caller.key?.role) {
                var response = HTTPResponse.problem(status: .tooManyRequests, detail: "rate limit reached; retry after the time in Retry-After")
                response.setHeader("Retry-After", String(max(1, Int(wait.rounded(.up)))))
                return response
            }
            let addressed = route.scope == .collection ? collection : request.parameters["collection"]
            if let denied = authorize(caller, access: route.access, collection: addressed) { return denied }
        }
        do {
            return try route.handler(self, request, collection)
        } catch {
            let (response, isServerFault) = ErrorMapping.response(for: error)
            if isServerFault { logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.path)"]) }
            return response
        }
    }

    /// `12.34`: two decimals without `String(format:)`, which costs more than the rest of a log line.
    static func hundredths(_ value: Double) -> String {
        let scaled = Int((max(0, value) * 100).rounded())
        let fraction = scaled % 100
        return "\(scaled / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }

    private static func requestID(from request: HTTPRequest) -> String {
        if let given = request.header("X-Request-Id"), (1...128).contains(given.utf8.count),
           given.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) {
            return given
        }
        // One 64-bit draw (one getrandom call), not one per hex digit.
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

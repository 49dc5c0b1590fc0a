import Dispatch
import HTTPServer
import Logging

/// Times each request and records it: the request counter and latency histogram by the route pattern it matched
/// (carried in the context, so metrics never match the path again), and one access-log line.
final class MetricsAndAccessLogMiddleware: APIMiddleware {
    let metrics: APIMetrics
    /// Where each line goes; nil: `logger` at `info`.
    let accessLog: (@Sendable (AccessRecord) -> Void)?
    let logger: Logger

    init(metrics: APIMetrics, accessLog: (@Sendable (AccessRecord) -> Void)?, logger: Logger) {
        self.metrics = metrics
        self.accessLog = accessLog
        self.logger = logger
    }

    func respond(to request: HTTPRequest, context: inout RequestContext,
                 next: (HTTPRequest, inout RequestContext) -> HTTPResponse) -> HTTPResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = next(request, &context)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        metrics.record(route: context.routePattern ?? "unmatched", method: request.method, status: response.status, seconds: seconds)
        let record = AccessRecord(requestID: context.requestID, method: request.method.rawValue, path: request.path,
                                  status: response.status.code, milliseconds: Self.hundredths(seconds * 1000),
                                  bytesIn: request.body.count, bytesOut: response.body.count)
        if let accessLog {
            accessLog(record)
        } else {
            logger.info("request", metadata: Logger.Metadata(uniqueKeysWithValues: record.fields.map { ($0.name, .string($0.value)) }))
        }
        return response
    }

    /// `12.34`: two decimals without `String(format:)`, which costs more than the rest of a log line.
    static func hundredths(_ value: Double) -> String {
        let scaled = Int((max(0, value) * 100).rounded())
        let fraction = scaled % 100
        return "\(scaled / 100)." + (fraction < 10 ? "0" : "") + "\(fraction)"
    }
}

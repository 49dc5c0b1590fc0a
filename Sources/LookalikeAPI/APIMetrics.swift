public import HTTPCore
import Foundation

/// Request counters and latency histograms, rendered in the Prometheus text format (version 0.0.4).
///
/// `@unchecked Sendable` is safe because all state is guarded by `lock`.
public final class APIMetrics: @unchecked Sendable {
    /// Histogram bucket upper bounds in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Histogram {
        var counts = [Int](repeating: 0, count: APIMetrics.buckets.count)
        var count = 0
        var sum = 0.0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in APIMetrics.buckets.enumerated() where seconds <= bound { counts[index] += 1 }
            count += 1
            sum += seconds
        }
    }

    private let lock = NSLock()
    private var requests: [String: Int] = [:]  // "route|method|status"
    private var latency: [String: Histogram] = [:]  // route
    private var inference = Histogram()

    public init() {}

    public func record(route: String, method: HTTPMethod, status: HTTPStatus, seconds: Double) {
        lock.withLock {
            requests["\(route)|\(method.rawValue)|\(status.code)", default: 0] += 1
            latency[route, default: Histogram()].observe(seconds)
        }
    }

    public func recordInference(seconds: Double) {
        lock.withLock { inference.observe(seconds) }
    }

    /// The exposition text; `gauges` are extra (name, help, value) samples read at scrape time, `counters` extra
    /// counters with one label (name, help, label name, [(label value, value)]).
    public func render(gauges: [(String, String, Double)],
                       counters: [(String, String, String, [(String, Double)])] = []) -> String {
        lock.withLock {
            var out = "# HELP lookalike_http_requests_total HTTP requests by route, method and status.\n"
            out += "# TYPE lookalike_http_requests_total counter\n"
            for (key, count) in requests.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|", omittingEmptySubsequences: false)
                out += "lookalike_http_requests_total{route=\"\(parts[0])\",method=\"\(parts[1])\",status=\"\(parts[2])\"} \(count)\n"
            }
            out += "# HELP lookalike_http_request_duration_seconds Request latency by route.\n"
            out += "# TYPE lookalike_http_request_duration_seconds histogram\n"
            for (route, histogram) in latency.sorted(by: { $0.key < $1.key }) {
                out += Self.histogramLines("lookalike_http_request_duration_seconds", label: "route=\"\(route)\",", histogram)
            }
            out += "# HELP lookalike_inference_duration_seconds Time from upload received to feature vector.\n"
            out += "# TYPE lookalike_inference_duration_seconds histogram\n"
            out += Self.histogramLines("lookalike_inference_duration_seconds", label: "", inference)
            for (name, help, value) in gauges {
                out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
            }
            for (name, help, label, samples) in counters {
                out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
                for (value, count) in samples { out += label.isEmpty ? "\(name) \(count)\n" : "\(name){\(label)=\"\(value)\"} \(count)\n" }
            }
            return out
        }
    }

    private static func histogramLines(_ name: String, label: String, _ histogram: Histogram) -> String {
        var out = ""
        for (index, bound) in buckets.enumerated() {
            out += "\(name)_bucket{\(label)le=\"\(bound)\"} \(histogram.counts[index])\n"
        }
        out += "\(name)_bucket{\(label)le=\"+Inf\"} \(histogram.count)\n"
        let plain = label.isEmpty ? "" : "{\(label.dropLast())}"
        out += "\(name)_sum\(plain) \(histogram.sum)\n\(name)_count\(plain) \(histogram.count)\n"
        return out
    }
}

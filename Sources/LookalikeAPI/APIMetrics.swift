public import HTTPCore
import CoreMetrics
import Foundation
import NIOConcurrencyHelpers
import Prometheus

/// Request counters and latency histograms, recorded through swift-metrics and exported in the Prometheus text
/// format by swift-prometheus. Each API has a registry of its own (no process-wide bootstrap), so several servers in
/// one process (the tests) keep separate counts.
public final class APIMetrics: Sendable {
    /// Histogram bucket upper bounds in seconds.
    static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let inference: CoreMetrics.Timer
    /// Each request's counter and each route's timer, made the first time they are needed and then read without a
    /// lock (every request reads them).
    private let counters = ReadMostlyTable<RequestKey, CoreMetrics.Counter>()
    private let timers = ReadMostlyTable<String, CoreMetrics.Timer>()

    /// A request counter's labels, as a key that costs no string building per request.
    private struct RequestKey: Hashable {
        let route: String
        let method: HTTPMethod
        let status: Int
    }
    /// The last value exported of each counter read at scrape time, so the exported counter grows by the difference.
    private let exported = NIOLockedValueBox<[String: Int64]>([:])

    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets.map { Duration.nanoseconds(Int64(($0 * 1e9).rounded())) }
        self.factory = factory
        inference = CoreMetrics.Timer(label: "lookalike_inference_duration_seconds", factory: factory)
    }

    public func record(route: String, method: HTTPMethod, status: HTTPStatus, seconds: Double) {
        let counter = counters.value(for: RequestKey(route: route, method: method, status: status.code)) {
            CoreMetrics.Counter(label: "lookalike_http_requests_total",
                                dimensions: [("route", route), ("method", method.rawValue), ("status", "\(status.code)")],
                                factory: factory)
        }
        let timer = timers.value(for: route) {
            CoreMetrics.Timer(label: "lookalike_http_request_duration_seconds", dimensions: [("route", route)], factory: factory)
        }
        counter.increment()
        timer.recordNanoseconds(Int64((seconds * 1e9).rounded()))
    }

    public func recordInference(seconds: Double) {
        inference.recordNanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The exposition text; `gauges` are extra (name, help, value) samples read at scrape time, `counters` extra
    /// counters with one label (name, help, label name, [(label value, value)]) read from elsewhere.
    public func render(gauges: [(String, String, Double)],
                       counters: [(String, String, String, [(String, Double)])] = []) -> String {
        for (name, help, value) in gauges {
            registry.makeGauge(name: name, labels: [], help: help).set(value)
        }
        for (name, help, label, samples) in counters {
            for (value, count) in samples {
                let labels = label.isEmpty ? [] : [(label, value)]
                let counter = registry.makeCounter(name: name, labels: labels, help: help)
                let total = Int64(count)
                let increase = exported.withLockedValue { exported -> Int64 in
                    let key = "\(name)|\(value)"
                    defer { exported[key] = max(exported[key] ?? 0, total) }
                    return total - (exported[key] ?? 0)
                }
                if increase > 0 { counter.increment(by: increase) }
            }
        }
        return registry.emitToString()
    }
}

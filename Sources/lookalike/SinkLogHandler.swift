import Logging

/// A swift-log handler writing one line per event, in `layout`, to a ``LogSink``.
struct SinkLogHandler: LogHandler {
    let label: String
    let layout: LogLayout
    let sink: LogSink
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    init(label: String, layout: LogLayout, sink: LogSink) {
        self.label = label
        self.layout = layout
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.isEmpty ? event.metadata ?? [:] : metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        sink.append(layout.line(level: event.level.rawValue, label: label, source: event.source, message: event.message.description,
                                fields: merged.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value.description) }))
    }
}

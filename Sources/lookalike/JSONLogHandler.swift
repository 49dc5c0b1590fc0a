import Foundation
import HTTPServer
import Logging

/// One JSON object per line on standard error: `{"ts":..., "level":..., "label":..., "message":..., ...metadata}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String] = [
            "\"ts\":\(JSONText.quote(InternetTimestamp.string(secondsSince1970: Date().timeIntervalSince1970)))",
            "\"level\":\(JSONText.quote(event.level.rawValue))",
            "\"label\":\(JSONText.quote(label))",
            "\"message\":\(JSONText.quote(event.message.description))",
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).sorted(by: { $0.key < $1.key }) {
            fields.append("\(JSONText.quote(key)):\(JSONText.quote(value.description))")
        }
        let line = "{" + fields.joined(separator: ",") + "}\n"
        Self.lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }
}

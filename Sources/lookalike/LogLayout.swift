import Foundation
import HTTPServer

/// How a log line looks.
enum LogLayout: Sendable {
    /// swift-log's `StreamLogHandler` layout: `2026-12-03T17:16:02+0000 info lookalike: key=value ... [source] message`.
    case text
    /// One JSON object: `{"ts":..., "level":..., "label":..., "message":..., ...fields}`.
    case json

    /// One line, with its newline; `fields` in the order given.
    func line(level: String, label: String, source: String, message: String, fields: [(name: String, value: String)]) -> String {
        switch self {
        case .text:
            var line = LogTimestamp.text() + " " + level + " " + label + ":"
            for (name, value) in fields { line += " " + name + "=" + value }
            return line + " [" + source + "] " + message + "\n"
        case .json:
            var line = "{\"ts\":" + JSONText.quote(InternetTimestamp.string(secondsSince1970: Date().timeIntervalSince1970))
                + ",\"level\":" + JSONText.quote(level) + ",\"label\":" + JSONText.quote(label) + ",\"message\":" + JSONText.quote(message)
            for (name, value) in fields { line += "," + JSONText.quote(name) + ":" + JSONText.quote(value) }
            return line + "}\n"
        }
    }
}

/// The time in UTC as `2026-12-03T17:16:02+0000`, without a lock (`localtime_r` takes glibc's time-zone lock,
/// which every connection thread then waits on) and without `strftime`.
enum LogTimestamp {
    static func text() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))+0000"
    }
}

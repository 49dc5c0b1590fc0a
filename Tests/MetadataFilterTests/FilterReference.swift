import Foundation
import MetadataFilter

/// A naive reading of the filter language straight from the filter's JSON, written apart from the library's
/// parser and evaluators, with Foundation's ISO 8601 parser for date-times: the reference the tests compare
/// with.
enum FilterReference {
    static func matches(_ filter: FilterValue, _ document: FilterValue) -> Bool {
        guard case .object(let members) = filter else { return false }
        return members.allSatisfy { key, value in
            switch key {
            case "$and": if case .array(let parts) = value { return parts.allSatisfy { matches($0, document) } }; return false
            case "$or": if case .array(let parts) = value { return parts.contains { matches($0, document) } }; return false
            case "$not": return !matches(value, document)
            default: return condition(value, lookup(key, in: document))
            }
        }
    }

    static func lookup(_ key: String, in document: FilterValue) -> FilterValue? {
        var current: FilterValue? = document
        for part in key.components(separatedBy: ".") {
            guard case .object(let members)? = current else { return nil }
            current = members[part]
        }
        return current
    }

    static func condition(_ condition: FilterValue, _ stored: FilterValue?) -> Bool {
        guard case .object(let members) = condition, members.keys.contains(where: { $0.hasPrefix("$") }) else {
            return equal(stored, condition)
        }
        return members.allSatisfy { op, argument in
            switch op {
            case "$eq": return equal(stored, argument)
            case "$ne": return !equal(stored, argument)
            case "$in": if case .array(let list) = argument { return list.contains { equal(stored, $0) } }; return false
            case "$nin": if case .array(let list) = argument { return !list.contains { equal(stored, $0) } }; return false
            case "$exists": return (stored != nil) == (argument == .bool(true))
            case "$not": return !self.condition(argument, stored)
            case "$all":
                guard case .array(let list) = argument, let stored else { return false }
                return list.allSatisfy { wanted in elements(stored).contains { scalarEqual($0, wanted) } }
            case "$lt", "$lte", "$gt", "$gte":
                guard let stored else { return false }
                return elements(stored).contains { compare($0, op, argument) }
            default: return false
            }
        }
    }

    /// The value itself, and its elements when it is an array.
    static func elements(_ value: FilterValue) -> [FilterValue] {
        if case .array(let list) = value { return [value] + list }
        return [value]
    }

    static func equal(_ stored: FilterValue?, _ wanted: FilterValue) -> Bool {
        guard let stored else { return false }
        return elements(stored).contains { scalarEqual($0, wanted) }
    }

    static func scalarEqual(_ a: FilterValue, _ b: FilterValue) -> Bool {
        if case .string(let x) = a, case .string(let y) = b {
            if x == y { return true }
            if let dx = date(x), let dy = date(y) { return dx == dy }
            return false
        }
        return a == b
    }

    static func compare(_ stored: FilterValue, _ op: String, _ bound: FilterValue) -> Bool {
        let x: Double, y: Double
        switch (stored, bound) {
        case (.number(let a), .number(let b)): x = a; y = b
        case (.string(let a), .string(let b)):
            guard let da = date(a), let db = date(b) else { return false }
            x = da; y = db
        default: return false
        }
        switch op {
        case "$lt": return x < y
        case "$lte": return x <= y
        case "$gt": return x > y
        default: return x >= y
        }
    }

    // Formatters are costly to make; Foundation's are safe to share between threads.
    nonisolated(unsafe) static let plain = ISO8601DateFormatter()
    nonisolated(unsafe) static let fractional = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions.insert(.withFractionalSeconds)
        return formatter
    }()

    nonisolated(unsafe) static var parsed: [String: Double?] = [:]
    static let parsedLock = NSLock()

    static func date(_ text: String) -> Double? {
        if let known = parsedLock.withLock({ parsed[text] }) { return known }
        let value = (plain.date(from: text) ?? fractional.date(from: text))?.timeIntervalSince1970
        parsedLock.withLock { parsed[text] = value }
        return value
    }
}

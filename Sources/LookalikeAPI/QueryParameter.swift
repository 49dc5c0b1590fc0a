import HTTPCore
import MetadataFilter

/// A query parameter, declared once: its name, type, default, bounds and description. Handlers read the query
/// through the declaration (which applies the default and refuses a value out of bounds with a 400 naming it),
/// and the OpenAPI document's entry is made from the same declaration, so the two cannot drift.
struct QueryParameter: Sendable {
    enum Kind: Sendable {
        case integer(ClosedRange<Int>, default: Int?)
        /// Checked as the decimal sent, before rounding to a Float.
        case number(ClosedRange<Double>, default: Double?)
        case boolean(default: Bool)
        /// Free text, optionally described by one of the document's schemas.
        case string(schema: String?)
        /// A metadata filter: URL-encoded JSON (see the Filter schema).
        case filter
        /// One of a few words.
        case choice([String], default: String)
        /// Text matching a pattern.
        case pattern(String, example: String)
        /// A URL-encoded JSON object.
        case jsonObject
    }

    let name: String
    let kind: Kind
    let description: String?
    /// Its key under the document's `components/parameters` (the name, unless a path parameter has it).
    let component: String

    init(_ name: String, _ kind: Kind, _ description: String? = nil, component: String? = nil) {
        self.name = name
        self.kind = kind
        self.description = description
        self.component = component ?? name
    }

    /// The document's `components/parameters` entry.
    var document: [String: Any] {
        var entry: [String: Any] = ["name": name, "in": "query"]
        if let description { entry["description"] = description }
        switch kind {
        case .integer(let range, let value):
            var schema: [String: Any] = ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
            if let value { schema["default"] = value }
            entry["schema"] = schema
        case .number(let range, let value):
            var schema: [String: Any] = ["type": "number", "minimum": range.lowerBound, "maximum": range.upperBound]
            if let value { schema["default"] = value }
            entry["schema"] = schema
        case .boolean(let value):
            entry["schema"] = ["type": "boolean", "default": value]
        case .string(let schema):
            entry["schema"] = schema.map { ["$ref": "#/components/schemas/\($0)"] } ?? ["type": "string"]
        case .filter:
            entry["content"] = ["application/json": ["schema": ["$ref": "#/components/schemas/Filter"]]]
        case .choice(let words, let value):
            entry["schema"] = ["type": "string", "enum": words, "default": value]
        case .pattern(let pattern, let example):
            entry["schema"] = ["type": "string", "pattern": pattern, "example": example]
        case .jsonObject:
            entry["content"] = ["application/json": ["schema": ["type": "object"]]]
        }
        return entry
    }

    /// The schema of the same member in a JSON body (no default: the query string's value, or the default, is
    /// what an absent member means).
    var bodySchema: [String: Any] {
        switch kind {
        case .integer(let range, _): ["type": "integer", "minimum": range.lowerBound, "maximum": range.upperBound]
        case .number(let range, _): ["type": "number", "minimum": range.lowerBound, "maximum": range.upperBound]
        case .boolean: ["type": "boolean"]
        case .string(let schema): schema.map { ["$ref": "#/components/schemas/\($0)"] } ?? ["type": "string"]
        case .filter: ["$ref": "#/components/schemas/Filter"]
        case .choice(let words, _): ["type": "string", "enum": words]
        case .pattern(let pattern, _): ["type": "string", "pattern": pattern]
        case .jsonObject: ["type": "object"]
        }
    }

    /// An integer parameter's value, or its default; a 400 for text that is not an integer or out of bounds.
    func integer(in query: [String: String]) throws -> Int? {
        guard case .integer(let range, let fallback) = kind else { preconditionFailure("\(name) is not an integer parameter") }
        guard let text = query[name] else { return fallback }
        guard let value = Int(text) else { throw APIError(status: .badRequest, detail: "\(name) must be an integer, got '\(text.prefix(40))'") }
        guard range.contains(value) else {
            throw APIError(status: .badRequest, detail: "\(name) must be \(range.lowerBound)...\(range.upperBound), got \(value)")
        }
        return value
    }

    /// An integer parameter that has a default.
    func definiteInteger(in query: [String: String]) throws -> Int {
        guard let value = try integer(in: query) else { preconditionFailure("\(name) has no default") }
        return value
    }

    func number(in query: [String: String]) throws -> Double? {
        guard case .number(let range, let fallback) = kind else { preconditionFailure("\(name) is not a number parameter") }
        guard let text = query[name] else { return fallback }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw APIError(status: .badRequest, detail: "\(name) must be a number in \(Self.bound(range.lowerBound))...\(Self.bound(range.upperBound))")
        }
        return value
    }

    func boolean(in query: [String: String]) throws -> Bool {
        guard case .boolean(let fallback) = kind else { preconditionFailure("\(name) is not a boolean parameter") }
        guard let text = query[name] else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError(status: .badRequest, detail: "\(name) must be true or false")
        }
    }

    func string(in query: [String: String]) -> String? { query[name] }

    /// A choice parameter's word, or its default; a 400 naming the words for any other.
    func choice(in query: [String: String]) throws -> String {
        guard case .choice(let words, let fallback) = kind else { preconditionFailure("\(name) is not a choice parameter") }
        guard let text = query[name] else { return fallback }
        guard words.contains(text) else {
            throw APIError(status: .badRequest, detail: "\(name) must be \(words.dropLast().joined(separator: ", ")) or \(words.last ?? "")")
        }
        return text
    }

    func filter(in query: [String: String]) throws -> Filter? {
        guard case .filter = kind else { preconditionFailure("\(name) is not a filter parameter") }
        return try LookalikeAPI.filter(query[name])
    }

    /// `-1` rather than `-1.0` in messages.
    private static func bound(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

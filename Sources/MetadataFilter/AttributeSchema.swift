/// The metadata fields a collection declares indexed, each with its type. Declared fields are held in columns
/// that turn a filter into a bitmap fast, and uploads whose value for one has another type are refused; every
/// other field is still filterable, by reading each document (slower).
public struct AttributeSchema: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case keyword
        case number
        case bool
        case keywords = "keyword[]"
        case datetime
    }

    public static let maxFields = 32

    /// Declared fields by dotted path.
    public let fields: [String: Kind]

    public init(fields: [String: Kind] = [:]) { self.fields = fields }

    /// Reads `{"category": "keyword", "price": "number", ...}`.
    public init(declaration: FilterValue) throws(FilterError) {
        guard case .object(let members) = declaration else {
            throw .invalid(path: "indexes", reason: "must be an object of field: type")
        }
        guard members.count <= Self.maxFields else { throw .tooLarge("\(members.count) indexed fields, at most \(Self.maxFields)") }
        var fields: [String: Kind] = [:]
        for (path, value) in members {
            guard FieldPath.isValid(path) else {
                throw .invalid(path: "indexes.\(path)", reason: "is not a field path")
            }
            guard case .string(let name) = value, let kind = Kind(rawValue: name) else {
                throw .invalid(path: "indexes.\(path)", reason: "must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            fields[path] = kind
        }
        self.fields = fields
    }

    public var declaration: FilterValue { .object(fields.mapValues { .string($0.rawValue) }) }

    /// Checks that `document` gives each declared field a value of its type (or leaves it out; `null` is refused, so a column's "missing" means absent).
    public func validate(_ document: FilterValue) throws(FilterError) {
        for (path, kind) in fields {
            guard let value = document.value(at: FieldPath.components(path)) else { continue }
            let fits: Bool
            switch (kind, value) {
            case (.keyword, .string), (.number, .number), (.bool, .bool): fits = true
            case (.datetime, .string(let text)): fits = RFC3339.seconds(text) != nil
            case (.keywords, .array(let elements)): fits = elements.allSatisfy { if case .string = $0 { true } else { false } }
            default: fits = false
            }
            guard fits else {
                throw .invalid(path: path, reason: "is indexed as \(kind.rawValue), got \(value.typeName)")
            }
        }
    }
}

/// A JSON value as filters see it: numbers are one kind (`100` equals `100.0`), objects are keyed.
public enum FilterValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([FilterValue])
    case object([String: FilterValue])

    /// The value at a dotted path (`["size", "eu"]`), nil when any step is missing or not an object.
    public func value(at path: [String]) -> FilterValue? {
        var current = self
        for component in path {
            guard case .object(let members) = current, let next = members[component] else { return nil }
            current = next
        }
        return current
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

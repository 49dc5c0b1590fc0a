/// A metadata filter in the operator language of MongoDB, Pinecone and Chroma:
/// `{"category": "shoes", "price": {"$lt": 100}, "$or": [{"in_stock": true}, {"backorder": {"$exists": true}}]}`.
///
/// Semantics (the README's "Filters" section is the user-facing copy):
/// - A bare value means `$eq`; several keys in one object are and-ed; `"size.eu"` is a nested key.
/// - Numbers compare as numbers (`100` equals `100.0`); strings, booleans and `null` by equality.
/// - A string that is an RFC 3339 date-time compares with stored date-time strings as an instant, in
///   `$eq`, `$in`, and in `$lt`/`$lte`/`$gt`/`$gte` (whose operand must be a number or a date-time).
/// - Type mismatch: a condition comparing different types (a stored string with `$lt: 100`) is false,
///   never an error; so `$ne`/`$nin`, being its negation, are true, and true for a missing key too.
/// - A stored array matches `$eq`, `$in` and the range operators when any element does; `$all` when it
///   holds every listed value.
public indirect enum Filter: Sendable, Equatable {
    case all([Filter])
    case any([Filter])
    case not(Filter)
    case condition(path: [String], Condition)

    /// A condition on one key's value.
    public indirect enum Condition: Sendable, Equatable {
        case equals(Operand)
        case oneOf([Operand])
        case range(lower: Bound?, upper: Bound?)
        case exists(Bool)
        case containsAll([Operand])
        case not(Condition)
        case allOf([Condition])
    }

    /// A comparison value, with its date-time reading computed once.
    public struct Operand: Sendable, Equatable {
        public let value: FilterValue
        public let instant: Double?

        init(_ value: FilterValue) {
            self.value = value
            if case .string(let text) = value { instant = RFC3339.seconds(text) } else { instant = nil }
        }
    }

    /// One end of a range: a number or an instant.
    public struct Bound: Sendable, Equatable {
        public enum Kind: Sendable, Equatable { case number, instant }
        public let kind: Kind
        public let value: Double
        public let inclusive: Bool
    }

    /// Limits checked while reading a filter.
    public static let maxBytes = 64 * 1024
    public static let maxListLength = 1_024
    public static let maxConditions = 1_024

    /// Parses a filter from JSON text.
    public static func parse(_ bytes: [UInt8]) throws(FilterError) -> Filter {
        guard bytes.count <= maxBytes else { throw .tooLarge("\(bytes.count) bytes, at most \(maxBytes)") }
        return try parse(value: FilterValue.parse(bytes))
    }

    public static func parse(_ text: String) throws(FilterError) -> Filter { try parse(Array(text.utf8)) }

    /// Reads a filter from an already parsed JSON value (a `"filter"` member of a request body).
    public static func parse(value: FilterValue) throws(FilterError) -> Filter {
        var parser = FilterParser()
        return try parser.filter(value, path: "")
    }

    /// Whether `document` (a metadata object) matches: the direct evaluation over one document.
    public func matches(_ document: FilterValue) -> Bool {
        switch self {
        case .all(let filters): filters.allSatisfy { $0.matches(document) }
        case .any(let filters): filters.contains { $0.matches(document) }
        case .not(let filter): !filter.matches(document)
        case .condition(let path, let condition): condition.matches(document.value(at: path))
        }
    }

    /// Every key path the filter reads.
    public var paths: [[String]] {
        switch self {
        case .all(let filters), .any(let filters): filters.flatMap(\.paths)
        case .not(let filter): filter.paths
        case .condition(let path, _): [path]
        }
    }
}

extension Filter.Condition {
    /// Whether a stored value (nil: the key is missing) satisfies the condition.
    public func matches(_ stored: FilterValue?) -> Bool {
        switch self {
        case .equals(let operand): stored.map { Self.anyElement(of: $0) { operand.equals($0) } } ?? false
        case .oneOf(let operands):
            stored.map { value in operands.contains { operand in Self.anyElement(of: value) { operand.equals($0) } } } ?? false
        case .range(let lower, let upper):
            stored.map { Self.anyElement(of: $0) { element in Self.inRange(element, lower: lower, upper: upper) } } ?? false
        case .exists(let wanted): (stored != nil) == wanted
        case .containsAll(let operands):
            stored.map { value in operands.allSatisfy { operand in Self.anyElement(of: value) { operand.equals($0) } } } ?? false
        case .not(let condition): !condition.matches(stored)
        case .allOf(let conditions): conditions.allSatisfy { $0.matches(stored) }
        }
    }

    /// An array's elements, or the value itself.
    @inline(__always)
    static func anyElement(of value: FilterValue, _ test: (FilterValue) -> Bool) -> Bool {
        if case .array(let elements) = value { return test(value) || elements.contains(where: test) }
        return test(value)
    }

    static func inRange(_ value: FilterValue, lower: Filter.Bound?, upper: Filter.Bound?) -> Bool {
        let kind = lower?.kind ?? upper?.kind ?? .number
        let position: Double
        switch (kind, value) {
        case (.number, .number(let number)): position = number
        case (.instant, .string(let text)):
            guard let instant = RFC3339.seconds(text) else { return false }
            position = instant
        default: return false
        }
        return Filter.Bound.admits(position, lower: lower, upper: upper)
    }
}

extension Filter.Bound {
    @inline(__always)
    static func admits(_ position: Double, lower: Filter.Bound?, upper: Filter.Bound?) -> Bool {
        if let lower, lower.inclusive ? position < lower.value : position <= lower.value { return false }
        if let upper, upper.inclusive ? position > upper.value : position >= upper.value { return false }
        return true
    }
}

extension Filter.Operand {
    /// Equality as filters define it: numbers by value, date-time strings by instant, the rest exactly.
    func equals(_ stored: FilterValue) -> Bool {
        if let instant, case .string(let text) = stored {
            return text == stringValue || RFC3339.seconds(text) == instant
        }
        return value == stored
    }

    private var stringValue: String? {
        if case .string(let text) = value { return text }
        return nil
    }
}

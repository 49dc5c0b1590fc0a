import HTTPCore
import Lookalike
import MetadataFilter

/// A JSON query body (`search/vector`, `recommend`): its members read by name, with a 400 naming the member
/// for a wrong type and for a member the route does not know (a misspelt `"filtr"` must not silently search
/// everything).
struct QueryBody {
    /// The search options a body may carry, as in the query string.
    static let optionMembers = Set(QueryParameters.search.map(\.name))

    private let members: [String: FilterValue]

    init(_ bytes: [UInt8], members allowed: Set<String>, example: String) throws {
        let value: FilterValue
        do {
            value = try FilterValue.parse(bytes)
        } catch {
            throw APIError(status: .badRequest, detail: "the body is not JSON: \(error.description); expected \(example)")
        }
        guard case .object(let members) = value else {
            throw APIError(status: .badRequest, detail: "the body must be a JSON object: \(example)")
        }
        if let unknown = members.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError(status: .badRequest,
                           detail: "unknown member '\(unknown.prefix(64))'; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
        self.members = members
    }

    /// The search options in the body, over those in the query string.
    func options(over query: [String: String]) throws -> SearchOptions {
        var query = query
        // Each member as its query-string text, read by the same declarations.
        for parameter in QueryParameters.search {
            let name = parameter.name
            switch parameter.kind {
            case .integer: if let value = try integer(name) { query[name] = String(value) }
            case .number: if let value = try number(name) { query[name] = String(value) }
            case .boolean: if let value = try boolean(name) { query[name] = String(value) }
            case .string, .choice, .pattern: if let value = try string(name) { query[name] = value }
            case .filter, .jsonObject: continue  // JSON values: the filter is parsed from its value below
            }
        }
        var options = try LookalikeAPI.searchOptions(query)
        if let filter = members["filter"] {
            do {
                options.filter = try Filter.parse(value: filter)
            } catch {
                throw APIError(status: .badRequest, detail: error.description)
            }
        }
        return options
    }

    func integer(_ name: String) throws -> Int? {
        guard let value = members[name] else { return nil }
        guard case .number(let number) = value, number.rounded() == number, abs(number) < 1e15 else {
            throw APIError(status: .badRequest, detail: "'\(name)' must be an integer")
        }
        return Int(number)
    }

    func number(_ name: String) throws -> Double? {
        guard let value = members[name] else { return nil }
        guard case .number(let number) = value else { throw APIError(status: .badRequest, detail: "'\(name)' must be a number") }
        return number
    }

    func boolean(_ name: String) throws -> Bool? {
        guard let value = members[name] else { return nil }
        guard case .bool(let flag) = value else { throw APIError(status: .badRequest, detail: "'\(name)' must be true or false") }
        return flag
    }

    func string(_ name: String) throws -> String? {
        guard let value = members[name] else { return nil }
        guard case .string(let text) = value else { throw APIError(status: .badRequest, detail: "'\(name)' must be a string") }
        return text
    }

    /// A member holding an array of numbers (a feature vector).
    func vector(_ name: String) throws -> [Float]? {
        guard let value = members[name] else { return nil }
        return try Self.vector(value, name: name)
    }

    /// A member holding examples: stored image ids (strings) or feature vectors (arrays of numbers).
    func examples(_ name: String) throws -> [Recommendation.Example]? {
        guard let value = members[name] else { return nil }
        guard case .array(let elements) = value else {
            throw APIError(status: .badRequest, detail: "'\(name)' must be an array of image ids and vectors")
        }
        return try elements.enumerated().map { index, element in
            switch element {
            case .string(let key): return .image(key)
            case .array: return .vector(try Self.vector(element, name: "\(name)[\(index)]"))
            default: throw APIError(status: .badRequest, detail: "'\(name)[\(index)]' must be an image id or a vector")
            }
        }
    }

    private static func vector(_ value: FilterValue, name: String) throws -> [Float] {
        guard case .array(let elements) = value else { throw APIError(status: .badRequest, detail: "'\(name)' must be an array of numbers") }
        return try elements.map { element in
            // The bound keeps the squared norm within Float's range.
            guard case .number(let number) = element, abs(number) <= 1e15 else {
                throw APIError(status: .badRequest, detail: "'\(name)' must be an array of numbers of magnitude at most 1e15")
            }
            return Float(number)
        }
    }
}

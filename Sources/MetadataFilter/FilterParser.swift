/// Turns a parsed JSON value into a ``Filter``, naming the key path of anything it refuses.
struct FilterParser {
    private var conditions = 0

    mutating func filter(_ value: FilterValue, path: String) throws(FilterError) -> Filter {
        guard case .object(let members) = value else {
            throw .invalid(path: path, reason: "must be an object, got \(value.typeName)")
        }
        var parts: [Filter] = []
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            let here = path.isEmpty ? key : "\(path).\(key)"
            switch key {
            case "$and", "$or":
                guard case .array(let elements) = member, !elements.isEmpty else {
                    throw .invalid(path: here, reason: "must be a non-empty array of filters")
                }
                var children: [Filter] = []
                for (index, element) in elements.enumerated() {
                    children.append(try filter(element, path: "\(here)[\(index)]"))
                }
                parts.append(key == "$and" ? .all(children) : .any(children))
            case "$not":
                parts.append(.not(try filter(member, path: here)))
            default:
                guard !FieldPath.isOperator(key) else {
                    throw .invalid(path: here, reason: "is not a combinator (use $and, $or, $not; operators go under a key)")
                }
                let components = FieldPath.components(key)
                guard !components.contains(where: \.isEmpty) else { throw .invalid(path: here, reason: "has an empty key component") }
                parts.append(.condition(path: components, try condition(member, path: here)))
            }
        }
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    private mutating func condition(_ value: FilterValue, path: String) throws(FilterError) -> Filter.Condition {
        conditions += 1
        guard conditions <= Filter.maxConditions else { throw .tooLarge("more than \(Filter.maxConditions) conditions") }
        guard case .object(let members) = value, members.keys.contains(where: FieldPath.isOperator) else {
            // A bare value (an object without operators too: equality with that object).
            return .equals(try operand(value, path: path))
        }
        if let plain = members.keys.first(where: { !FieldPath.isOperator($0) }) {
            throw .invalid(path: "\(path).\(plain)", reason: "mixes a plain key with operators")
        }
        var parts: [Filter.Condition] = []
        var lower: Filter.Bound?, upper: Filter.Bound?
        for (name, argument) in members.sorted(by: { $0.key < $1.key }) {
            let here = "\(path).\(name)"
            switch name {
            case "$eq": parts.append(.equals(try operand(argument, path: here)))
            case "$ne": parts.append(.not(.equals(try operand(argument, path: here))))
            case "$in": parts.append(.oneOf(try list(argument, path: here)))
            case "$nin": parts.append(.not(.oneOf(try list(argument, path: here))))
            case "$all": parts.append(.containsAll(try list(argument, path: here)))
            case "$exists":
                guard case .bool(let wanted) = argument else { throw .invalid(path: here, reason: "must be true or false") }
                parts.append(.exists(wanted))
            case "$not": parts.append(.not(try condition(argument, path: here)))
            case "$lt", "$lte", "$gt", "$gte":
                let bound = try self.bound(argument, inclusive: name.hasSuffix("e"), path: here)
                if name.hasPrefix("$l") {
                    guard upper == nil else { throw .invalid(path: here, reason: "repeats an upper bound ($lt and $lte)") }
                    upper = bound
                } else {
                    guard lower == nil else { throw .invalid(path: here, reason: "repeats a lower bound ($gt and $gte)") }
                    lower = bound
                }
                if let lower, let upper, lower.kind != upper.kind {
                    throw .invalid(path: here, reason: "mixes a number and a date-time bound")
                }
            default:
                throw .invalid(path: here, reason: "is not an operator ($eq $ne $in $nin $lt $lte $gt $gte $exists $all $not)")
            }
        }
        if lower != nil || upper != nil { parts.append(.range(lower: lower, upper: upper)) }
        return parts.count == 1 ? parts[0] : .allOf(parts)
    }

    private func operand(_ value: FilterValue, path: String) throws(FilterError) -> Filter.Operand {
        Filter.Operand(value)
    }

    private func list(_ value: FilterValue, path: String) throws(FilterError) -> [Filter.Operand] {
        guard case .array(let elements) = value else { throw .invalid(path: path, reason: "must be an array") }
        guard elements.count <= Filter.maxListLength else {
            throw .tooLarge("\(path) lists \(elements.count) values, at most \(Filter.maxListLength)")
        }
        return elements.map(Filter.Operand.init)
    }

    private func bound(_ value: FilterValue, inclusive: Bool, path: String) throws(FilterError) -> Filter.Bound {
        switch value {
        case .number(let number): return Filter.Bound(kind: .number, value: number, inclusive: inclusive)
        case .string(let text):
            guard let instant = RFC3339.seconds(text) else {
                throw .invalid(path: path, reason: "must be a number or an RFC 3339 date-time, got \"\(text)\"")
            }
            return Filter.Bound(kind: .instant, value: instant, inclusive: inclusive)
        default:
            throw .invalid(path: path, reason: "must be a number or an RFC 3339 date-time, got \(value.typeName)")
        }
    }
}

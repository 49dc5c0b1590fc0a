import Testing
import MetadataFilter

/// Random filter trees over random documents: the library's evaluation (documents, and declared columns)
/// against ``FilterReference``.
struct RandomFilterTests {
    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ values: [T]) -> T { values[below(values.count)] }
    }

    static let categories = ["shoes", "bags", "hats", "belts", "socks"]
    static let tags = ["a", "b", "c", "d", "e", "f"]
    static let dates = ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", "2024-06-30T12:30:00.25Z",
                        "2023-12-31T23:59:59-00:30", "2025-02-28T08:00:00+05:30", "2024-06-30T14:30:00.25+02:00"]

    static func document(_ random: inout Generator) -> FilterValue {
        var members: [String: FilterValue] = [:]
        if random.below(10) < 8 { members["category"] = .string(random.pick(categories)) }
        if random.below(10) < 8 { members["price"] = .number(Double(random.below(400)) / 2) }
        if random.below(10) < 7 { members["in_stock"] = .bool(random.below(2) == 1) }
        if random.below(10) < 6 { members["tags"] = .array((0..<random.below(4)).map { _ in .string(random.pick(tags)) }) }
        if random.below(10) < 7 { members["released"] = .string(random.pick(dates)) }
        if random.below(10) < 5 { members["size"] = .object(["eu": .number(Double(36 + random.below(10)))]) }
        if random.below(10) < 2 { members["note"] = random.below(2) == 0 ? .null : .number(1) }
        return .object(members)
    }

    static func operand(for key: String, _ random: inout Generator) -> FilterValue {
        // Mostly a value of the field's type; sometimes another type, to exercise type mismatches.
        if random.below(8) == 0 { return random.pick([.string("x"), .number(3), .bool(true), .null]) }
        switch key {
        case "category": return .string(random.pick(categories))
        case "price": return .number(Double(random.below(400)) / 2)
        case "in_stock": return .bool(random.below(2) == 1)
        case "tags": return .string(random.pick(tags))
        case "released": return .string(random.pick(dates))
        case "size.eu": return .number(Double(36 + random.below(10)))
        default: return random.pick([.null, .number(1)])
        }
    }

    static func condition(for key: String, _ random: inout Generator) -> FilterValue {
        let rangeOperand: FilterValue = key == "released" ? .string(random.pick(dates)) : .number(Double(random.below(400)) / 2)
        switch random.below(11) {
        case 0: return operand(for: key, &random)
        case 1: return .object(["$eq": operand(for: key, &random)])
        case 2: return .object(["$ne": operand(for: key, &random)])
        case 3: return .object(["$in": .array((0..<1 + random.below(3)).map { _ in operand(for: key, &random) })])
        case 4: return .object(["$nin": .array((0..<1 + random.below(3)).map { _ in operand(for: key, &random) })])
        case 5: return .object([random.pick(["$lt", "$lte"]): rangeOperand])
        case 6: return .object([random.pick(["$gt", "$gte"]): rangeOperand])
        case 7: return .object(["$exists": .bool(random.below(2) == 1)])
        case 8: return .object(["$all": .array((0..<1 + random.below(2)).map { _ in operand(for: key, &random) })])
        case 9: return .object(["$not": condition(for: key, &random)])
        default:
            let low = key == "released" ? FilterValue.string(random.pick(dates)) : .number(Double(random.below(200)) / 2)
            let high = key == "released" ? FilterValue.string(random.pick(dates)) : .number(100 + Double(random.below(200)) / 2)
            return .object(["$gte": low, "$lt": high])
        }
    }

    static func filter(_ random: inout Generator, depth: Int) -> FilterValue {
        let keys = ["category", "price", "in_stock", "tags", "released", "size.eu", "note"]
        if depth >= 3 || random.below(3) == 0 {
            var members: [String: FilterValue] = [:]
            for _ in 0..<1 + random.below(2) {
                let key = random.pick(keys)
                members[key] = condition(for: key, &random)
            }
            return .object(members)
        }
        let children = (0..<1 + random.below(3)).map { _ in filter(&random, depth: depth + 1) }
        switch random.below(3) {
        case 0: return .object(["$and": .array(children)])
        case 1: return .object(["$or": .array(children)])
        default: return .object(["$not": children[0]])
        }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomTreesMatchTheReference(seed: UInt64) throws {
        var random = Generator(state: seed)
        let documents = (0..<2_000).map { _ in Self.document(&random) }
        let schema = try AttributeSchema(declaration: FilterValue.parse(
            #"{"category": "keyword", "price": "number", "in_stock": "bool", "tags": "keyword[]", "released": "datetime", "size.eu": "number"}"#))
        let columns = AttributeTable(schema: schema), plain = AttributeTable(schema: AttributeSchema())
        for document in documents {
            try schema.validate(document)
            columns.append(document)
            plain.append(document)
        }
        var selective = 0
        for _ in 0..<150 {
            let raw = Self.filter(&random, depth: 0)
            let filter = try Filter.parse(value: raw)
            let expected = documents.map { FilterReference.matches(raw, $0) }
            let viaColumns = columns.rows(matching: filter, count: documents.count)
            let viaDocuments = plain.rows(matching: filter, count: documents.count)
            #expect((0..<documents.count).map(viaColumns.contains) == expected, "\(raw)")
            #expect((0..<documents.count).map(viaDocuments.contains) == expected, "\(raw)")
            #expect(viaColumns.cardinality == expected.filter { $0 }.count)
            let share = expected.filter { $0 }.count
            if share > 0 && share < documents.count { selective += 1 }
        }
        // The generator must produce filters that split the documents, or the comparison proves little.
        #expect(selective >= 75)
    }
}

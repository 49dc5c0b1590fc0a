import Testing
import MetadataFilter

struct FilterTests {
    static let products: [String] = [
        #"{"category": "shoes", "price": 89.5, "in_stock": true, "tags": ["leather", "sale"], "released": "2024-03-01T10:00:00Z", "size": {"eu": 42}}"#,
        #"{"category": "shoes", "price": 120, "in_stock": false, "tags": ["canvas"], "released": "2024-03-01T12:00:00+02:00", "size": {"eu": 40}}"#,
        #"{"category": "bags", "price": 100.0, "in_stock": true, "tags": ["leather"], "released": "2023-12-31T23:59:59.5Z"}"#,
        #"{"category": "bags", "price": 45, "backorder": null, "tags": []}"#,
        #"{"category": "hats", "price": "cheap", "in_stock": true}"#,
        #"{"brand": "a", "price": 10, "size": {"eu": "small"}}"#,
        #"{}"#,
        #"{"category": "shoes", "brand": "b", "price": 0, "in_stock": false, "released": "2025-01-01T00:00:00-05:00"}"#,
    ]

    /// One or more filters per operator, combinator and rule of the language.
    static let filters: [String] = [
        #"{"category": "shoes"}"#, #"{"category": {"$eq": "bags"}}"#, #"{"category": {"$ne": "shoes"}}"#,
        #"{"price": 100}"#, #"{"price": {"$eq": 100}}"#, #"{"price": {"$lt": 100}}"#, #"{"price": {"$lte": 100}}"#,
        #"{"price": {"$gt": 89.5}}"#, #"{"price": {"$gte": 89.5, "$lt": 120}}"#, #"{"price": {"$lt": 1e9}}"#,
        #"{"price": {"$in": [45, 120, "cheap"]}}"#, #"{"price": {"$nin": [45, 120]}}"#, #"{"price": "cheap"}"#,
        #"{"in_stock": true}"#, #"{"in_stock": {"$ne": true}}"#, #"{"in_stock": {"$exists": false}}"#,
        #"{"backorder": {"$exists": true}}"#, #"{"backorder": null}"#,
        #"{"tags": "leather"}"#, #"{"tags": {"$in": ["sale", "canvas"]}}"#, #"{"tags": {"$all": ["leather", "sale"]}}"#,
        #"{"tags": {"$all": ["leather"]}}"#, #"{"tags": {"$nin": ["leather"]}}"#, #"{"tags": []}"#, #"{"tags": ["canvas"]}"#,
        #"{"released": {"$gte": "2024-01-01T00:00:00Z"}}"#, #"{"released": {"$lt": "2024-03-01T10:00:00Z"}}"#,
        #"{"released": "2024-03-01T11:00:00+01:00"}"#, #"{"released": {"$in": ["2024-03-01T10:00:00Z", "2025-01-01T05:00:00Z"]}}"#,
        #"{"size.eu": 42}"#, #"{"size.eu": {"$gt": 40}}"#, #"{"size.eu": {"$exists": true}}"#, #"{"size": {"eu": 40}}"#,
        #"{"category": "shoes", "price": {"$lt": 100}}"#,
        #"{"$or": [{"in_stock": true}, {"backorder": {"$exists": true}}]}"#,
        #"{"$and": [{"category": "shoes"}, {"$not": {"in_stock": true}}]}"#,
        #"{"$not": {"category": {"$in": ["shoes", "bags"]}}}"#, #"{"price": {"$not": {"$lt": 50}}}"#,
        #"{"category": "shoes", "$or": [{"brand": "b"}, {"size.eu": 42}]}"#, #"{}"#,
    ]

    static let schema = try! AttributeSchema(declaration: FilterValue.parse(
        #"{"category": "keyword", "price": "number", "in_stock": "bool", "tags": "keyword[]", "released": "datetime", "size.eu": "number"}"#))

    @Test func everyOperatorAgainstTheReference() throws {
        let documents = try Self.products.map { try FilterValue.parse($0) }
        let plain = AttributeTable(schema: AttributeSchema())
        for document in documents { plain.append(document) }
        for text in Self.filters {
            let raw = try FilterValue.parse(text)
            let filter = try Filter.parse(text)
            let expected = documents.map { FilterReference.matches(raw, $0) }
            #expect(documents.map(filter.matches) == expected, "\(text)")
            let rows = plain.rows(matching: filter, count: documents.count)
            #expect((0..<documents.count).map(rows.contains) == expected, "\(text)")
        }
    }

    @Test func declaredColumnsAgreeWithTheReference() throws {
        // Only documents that fit the schema can be stored in a collection that declares it.
        let documents = try Self.products.map { try FilterValue.parse($0) }.filter { (try? Self.schema.validate($0)) != nil }
        #expect(documents.count == 6)
        let table = AttributeTable(schema: Self.schema)
        for document in documents { table.append(document) }
        for text in Self.filters {
            let raw = try FilterValue.parse(text)
            let rows = table.rows(matching: try Filter.parse(text), count: documents.count)
            #expect((0..<documents.count).map(rows.contains) == documents.map { FilterReference.matches(raw, $0) }, "\(text)")
        }
    }

    @Test func schemaRefusesValuesOfAnotherType() throws {
        #expect(throws: FilterError.invalid(path: "size.eu", reason: "is indexed as number, got a string")) {
            try Self.schema.validate(FilterValue.parse(#"{"size": {"eu": "small"}}"#))
        }
        #expect(throws: FilterError.self) { try Self.schema.validate(FilterValue.parse(#"{"released": "yesterday"}"#)) }
        #expect(throws: FilterError.self) { try Self.schema.validate(FilterValue.parse(#"{"tags": ["a", 1]}"#)) }
        #expect(throws: FilterError.self) { try AttributeSchema(declaration: FilterValue.parse(#"{"price": "money"}"#)) }
        #expect(throws: FilterError.self) { try AttributeSchema(declaration: FilterValue.parse(#"{"$price": "number"}"#)) }
    }

    @Test(arguments: [
        (#"{"price": {"$lt": 1"#, "byte 19"), (#"{"price": 1,}"#, "byte 12"), (#"[1]"#, "must be an object"),
        (#"{"price": {"$foo": 1}}"#, "price.$foo"), (#"{"$nor": []}"#, "$nor"), (#"{"$or": []}"#, "$or"),
        (#"{"$and": [1]}"#, "$and[0]"), (#"{"price": {"$in": 5}}"#, "price.$in"), (#"{"price": {"$lt": "soon"}}"#, "price.$lt"),
        (#"{"price": {"$lt": true}}"#, "price.$lt"), (#"{"in_stock": {"$exists": 1}}"#, "in_stock.$exists"),
        (#"{"price": {"$lt": 5, "max": 3}}"#, "price.max"), (#"{"price": {"$lt": 5, "$lte": 6}}"#, "price.$lte"),
        (#"{"d": {"$gt": 5, "$lt": "2024-01-01T00:00:00Z"}}"#, "d.$lt"), (#"{"a..b": 1}"#, "a..b"),
        (#"{"a": 1, "a": 2}"#, "repeated key"), (#"{"a": "\x"}"#, "escape"), (#"{"a": 01}"#, "leading zero"),
        (#"{"a": 1e999}"#, "finite"), ("{\"a\": \"\u{01}\"}", "control"), (#"{"a": tru}"#, "'true'"),
        (String(repeating: "[", count: 40), "nested deeper"),
        (#"{"tags": {"$in": ["#, "byte 18"),
    ])
    func malformedFiltersNameWhere(text: String, mention: String) {
        do {
            _ = try Filter.parse(text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(mention), "\(text): \(error.description)")
        }
    }

    @Test func limitsAreCheckedBeforeWork() {
        let long = "{\"a\": {\"$in\": [" + Array(repeating: "1", count: 1_025).joined(separator: ",") + "]}}"
        #expect(throws: FilterError.self) { try Filter.parse(long) }
        let huge = "{\"a\": \"" + String(repeating: "x", count: Filter.maxBytes) + "\"}"
        #expect(throws: FilterError.tooLarge("\(huge.utf8.count) bytes, at most \(Filter.maxBytes)")) { try Filter.parse(huge) }
    }

    @Test func jsonStringsAndNumbersDecode() throws {
        #expect(try FilterValue.parse(#"{"k": "a\u00e9\ud83d\ude00\n\"", "n": -1.5e2, "z": 0}"#)
            == .object(["k": .string("aé😀\n\""), "n": .number(-150), "z": .number(0)]))
    }
}

import HTTPServer

/// A JSON document built by the API, serialised straight to UTF-8.
///
/// Foundation's `JSONSerialization` boxes every value into a reference object and sorts keys with a locale-aware
/// comparison; on `GET /v1/images/{id}/similar` that was about 40 % of a request's CPU time. Objects keep their
/// members sorted by key (as the API has always answered), so bodies stay byte-for-byte stable.
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    /// Non-finite numbers have no JSON form and are written as `null`.
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])
    /// Text that already is one JSON value: stored metadata, validated and re-serialised when it was written.
    case verbatim(String)

    /// An object with `members` sorted by key; a later duplicate key replaces an earlier one.
    static func object(sorting members: [String: JSONValue]) -> JSONValue {
        .object(members.sorted { $0.key < $1.key }.map { (key: $0.key, value: $0.value) })
    }

    /// The UTF-8 bytes of the compact serialisation.
    var serialized: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(into: &output)
        return output
    }

    func write(into output: inout [UInt8]) {
        switch self {
        case .null: output += "null".utf8
        case .bool(let value): output += (value ? "true" : "false").utf8
        case .int(let value): output += String(value).utf8
        case .number(let value):
            if !value.isFinite {
                output += "null".utf8
            } else if value == value.rounded(), abs(value) < 1e15 {
                output += String(Int(value)).utf8  // 3.0 → 3, as JSONSerialization writes it
            } else {
                output += value.description.utf8  // shortest round-trip form, e.g. 0.123456 or 1e-07
            }
        case .string(let value): Self.writeString(value, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                element.write(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            for (position, member) in members.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &output)
                output.append(UInt8(ascii: ":"))
                member.value.write(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        case .verbatim(let text): output += text.utf8
        }
    }

    /// Strings without quotes, backslashes or control characters (nearly all of them) are copied as they are.
    private static func writeString(_ text: String, into output: inout [UInt8]) {
        let needsEscaping = text.utf8.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        if needsEscaping {
            output += JSONText.quote(text).utf8
        } else {
            output.append(UInt8(ascii: "\""))
            output += text.utf8
            output.append(UInt8(ascii: "\""))
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(sorting: Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// A strict JSON reader for filters and metadata documents, with limits checked as it reads: nesting depth,
/// total values and string length, so an adversarial document cannot make it allocate much more than its
/// own size. Errors carry the byte offset.
struct JSONReader {
    struct Limits {
        var maxDepth = 32
        var maxValues = 100_000
    }

    private let bytes: [UInt8]
    private let limits: Limits
    private var position = 0
    private var values = 0

    static func parse(_ bytes: [UInt8], limits: Limits = Limits()) throws(FilterError) -> FilterValue {
        var reader = JSONReader(bytes: bytes, limits: limits)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw .syntax(offset: reader.position, expected: "the end of the document") }
        return value
    }

    private init(bytes: [UInt8], limits: Limits) {
        self.bytes = bytes
        self.limits = limits
    }

    private mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(FilterError) {
        guard position < bytes.count, bytes[position] == byte else { throw .syntax(offset: position, expected: what) }
        position += 1
    }

    private mutating func readValue(depth: Int) throws(FilterError) -> FilterValue {
        guard depth <= limits.maxDepth else { throw .tooLarge("nested deeper than \(limits.maxDepth) levels") }
        values += 1
        guard values <= limits.maxValues else { throw .tooLarge("more than \(limits.maxValues) values") }
        guard position < bytes.count else { throw .syntax(offset: position, expected: "a value") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try readObject(depth: depth)
        case UInt8(ascii: "["): return try readArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try readLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default: throw .syntax(offset: position, expected: "a value")
        }
    }

    private mutating func readLiteral(_ literal: String) throws(FilterError) {
        for byte in literal.utf8 { try expect(byte, "'\(literal)'") }
    }

    private mutating func readObject(depth: Int) throws(FilterError) -> FilterValue {
        position += 1
        var members: [String: FilterValue] = [:]
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            let keyOffset = position
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw .syntax(offset: position, expected: "a key") }
            let key = try readString()
            guard members[key] == nil else { throw .syntax(offset: keyOffset, expected: "no repeated key (\"\(key)\" again)") }
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            members[key] = try readValue(depth: depth + 1)
            skipWhitespace()
            guard position < bytes.count else { throw .syntax(offset: position, expected: "',' or '}'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            return .object(members)
        }
    }

    private mutating func readArray(depth: Int) throws(FilterError) -> FilterValue {
        position += 1
        var elements: [FilterValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try readValue(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw .syntax(offset: position, expected: "',' or ']'") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            try expect(UInt8(ascii: "]"), "',' or ']'")
            return .array(elements)
        }
    }

    private mutating func readString() throws(FilterError) -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var run = position
        func flush(_ end: Int) throws(FilterError) {
            guard run < end else { return }
            guard let text = String(validating: bytes[run..<end], as: UTF8.self) else {
                throw .syntax(offset: run, expected: "UTF-8 text")
            }
            scalars.append(contentsOf: text.unicodeScalars)
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                try flush(position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw .syntax(offset: position, expected: "no control character in a string") }
            if byte == UInt8(ascii: "\\") {
                try flush(position)
                position += 1
                guard position < bytes.count else { break }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var unit = try readHex4()
                    if (0xD800..<0xDC00).contains(unit) {
                        try expect(UInt8(ascii: "\\"), "a low surrogate")
                        try expect(UInt8(ascii: "u"), "a low surrogate")
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw .syntax(offset: position - 4, expected: "a low surrogate") }
                        unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(unit) else { throw .syntax(offset: position - 4, expected: "a Unicode scalar") }
                    scalars.append(scalar)
                default: throw .syntax(offset: position - 1, expected: "an escape character")
                }
                run = position
                continue
            }
            position += 1
        }
        throw .syntax(offset: position, expected: "'\"' closing the string")
    }

    private mutating func readHex4() throws(FilterError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard position < bytes.count, let digit = Self.hexDigit(bytes[position]) else {
                throw .syntax(offset: position, expected: "a hexadecimal digit")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    private mutating func readNumber() throws(FilterError) -> Double {
        let start = position
        func digits() -> Int {
            let first = position
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
            return position - first
        }
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        let integerDigits = digits()
        guard integerDigits > 0 else { throw .syntax(offset: position, expected: "a digit") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw .syntax(offset: integerStart, expected: "no leading zero")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw .syntax(offset: position, expected: "a digit after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw .syntax(offset: position, expected: "a digit in the exponent") }
        }
        guard let text = String(validating: bytes[start..<position], as: UTF8.self), let value = Double(text), value.isFinite else {
            throw .syntax(offset: start, expected: "a finite number")
        }
        return value
    }
}

extension FilterValue {
    /// Parses a JSON document (a filter or stored metadata).
    public static func parse(_ bytes: [UInt8]) throws(FilterError) -> FilterValue {
        try JSONReader.parse(bytes)
    }

    public static func parse(_ text: String) throws(FilterError) -> FilterValue {
        try JSONReader.parse(Array(text.utf8))
    }
}

public import HTTPCore

/// A parsed HTTP/1.x request with its whole body.
public struct HTTPRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent (`/v1/images?limit=10`).
    public var target: String
    /// `HTTP/1.1` → (1, 1).
    public var version: (major: Int, minor: Int)
    /// Header fields in order; names as sent.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Path parameters filled in by the router (`{id}` → value), percent-decoded.
    public var parameters: [String: String] = [:]
    /// The client's IP address as text (empty when unknown), set by the server for each connection.
    public var remoteAddress = ""

    public init(method: HTTPMethod, target: String, version: (Int, Int) = (1, 1), headers: [(String, String)] = [],
                body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = (version.0, version.1)
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { Self.equalIgnoringASCIICase($0.name, name) }?.value
    }

    /// Field names are ASCII tokens: compared byte by byte, without building lower-cased copies.
    static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { a in
            b.withUTF8 { b in
                guard a.count == b.count else { return false }
                for index in 0..<a.count where a[index] | 0x20 != b[index] | 0x20 || (a[index] != b[index] && !Self.isLetter(a[index])) {
                    return false
                }
                return true
            }
        }
    }

    private static func isLetter(_ byte: UInt8) -> Bool { (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A }

    /// The path without the query, percent-decoding left to the router per segment.
    public var path: String {
        String(target.prefix { $0 != "?" })
    }

    /// Query parameters (`a=1&b=x%20y`), percent- and plus-decoded; later duplicates win.
    public var query: [String: String] {
        guard let mark = target.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentDecoding.decode(String(parts[0]), plusAsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (PercentDecoding.decode(String(parts[1]), plusAsSpace: true) ?? "") : ""
            result[name] = value
        }
        return result
    }

    /// Whether the client asked to keep the connection open (HTTP/1.1 default yes, 1.0 default no).
    public var keepAlive: Bool {
        let connection = header("Connection")?.lowercased() ?? ""
        if connection.contains("close") { return false }
        if version.major == 1 && version.minor == 0 { return connection.contains("keep-alive") }
        return true
    }
}

/// Percent-decoding of URL components.
public enum PercentDecoding {
    /// Decodes `%XX` escapes; `nil` for a malformed escape or bytes that are not UTF-8.
    public static func decode(_ text: String, plusAsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else if plusAsSpace && byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

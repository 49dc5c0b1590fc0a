public import HTTPCore
import Foundation

/// A `multipart/form-data` body parser (RFC 7578) with limits on part count and part size.
public struct MultipartParser: Sendable {
    public struct Part: Sendable {
        /// The `name` of `Content-Disposition: form-data; name="..."`.
        public let name: String
        public let filename: String?
        public let contentType: String?
        public let body: [UInt8]
    }

    public struct Failure: HTTPResponseError, Sendable, Equatable {
        public let status: HTTPStatus
        public let reason: String
        public var description: String { reason }
    }

    public var maxParts: Int
    public var maxPartBytes: Int

    public init(maxParts: Int = 256, maxPartBytes: Int = 32 * 1024 * 1024) {
        self.maxParts = maxParts
        self.maxPartBytes = maxPartBytes
    }

    /// The boundary from a `Content-Type: multipart/form-data; boundary=...` value, if it is one.
    public static func boundary(contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2, pair[0].lowercased() == "boundary" {
                var value = pair[1]
                if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return (1...70).contains(value.utf8.count) ? value : nil
            }
        }
        return nil
    }

    /// Splits `body` into parts.
    public func parse(_ body: [UInt8], boundary: String) throws(Failure) -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        guard var index = Self.find(delimiter, in: body, from: 0) else {
            throw Failure(status: .badRequest, reason: "multipart body has no boundary delimiter")
        }
        var parts: [Part] = []
        while true {
            index += delimiter.count
            // "--" after the delimiter closes the body.
            if index + 1 < body.count && body[index] == 45 && body[index + 1] == 45 { return parts }
            guard let lineEnd = Self.find([13, 10], in: body, from: index) else {
                throw Failure(status: .badRequest, reason: "multipart delimiter line is not terminated")
            }
            let headerStart = lineEnd + 2
            // Searching from the delimiter line's own CRLF also finds the blank line of a part without headers.
            guard let headerEnd = Self.find([13, 10, 13, 10], in: body, from: lineEnd) else {
                throw Failure(status: .badRequest, reason: "multipart part has no header terminator")
            }
            let headerText = headerEnd > headerStart ? String(decoding: body[headerStart..<headerEnd], as: UTF8.self) : ""
            let contentStart = headerEnd + 4
            guard let next = Self.find([13, 10] + delimiter, in: body, from: contentStart) else {
                throw Failure(status: .badRequest, reason: "multipart part is not closed by the boundary")
            }
            guard parts.count < maxParts else { throw Failure(status: .contentTooLarge, reason: "more than \(maxParts) parts") }
            guard next - contentStart <= maxPartBytes else {
                throw Failure(status: .contentTooLarge, reason: "a part is larger than \(maxPartBytes) bytes")
            }
            var name: String? = nil, filename: String? = nil, contentType: String? = nil
            for line in headerText.split(separator: "\r\n") {
                let pair = line.split(separator: ":", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let field = pair[0].trimmingCharacters(in: .whitespaces).lowercased()
                let value = pair[1].trimmingCharacters(in: .whitespaces)
                if field == "content-disposition" {
                    name = Self.parameter("name", in: value)
                    filename = Self.parameter("filename", in: value)
                } else if field == "content-type" {
                    contentType = value
                }
            }
            guard let name else { throw Failure(status: .badRequest, reason: "multipart part without a name") }
            parts.append(Part(name: name, filename: filename, contentType: contentType, body: Array(body[contentStart..<next])))
            index = next + 2
        }
    }

    private static func parameter(_ key: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == key else { continue }
            var text = pair[1]
            if text.hasPrefix("\"") && text.hasSuffix("\"") && text.count >= 2 { text = String(text.dropFirst().dropLast()) }
            return text.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return nil
    }

    /// First index of `needle` in `haystack` at or after `start` (simple scan with a first-byte skip).
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        return haystack.withUnsafeBufferPointer { buffer -> Int? in
            var index = start
            let last = haystack.count - needle.count
            while index <= last {
                if buffer[index] == first {
                    var match = true
                    for offset in 1..<needle.count where buffer[index + offset] != needle[offset] {
                        match = false
                        break
                    }
                    if match { return index }
                }
                index += 1
            }
            return nil
        }
    }
}

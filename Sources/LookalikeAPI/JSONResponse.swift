import Foundation
import HTTPCore
import HTTPServer
import Lookalike

/// JSON bodies of the API.
enum JSONResponse {
    static func make(_ status: HTTPStatus, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.serialized)
    }

    /// Stored metadata as a JSON value for embedding in a response. It was validated as a JSON object and
    /// re-serialised compactly when written, so it is copied as it is.
    static func metadata(_ text: String) -> JSONValue {
        text.isEmpty ? .object([]) : .verbatim(text)
    }

    static func score(_ value: Float) -> JSONValue { .number((Double(value) * 1_000_000).rounded() / 1_000_000) }

    /// A record's fields; `extra` members (such as `duplicates`) are merged in.
    static func record(_ record: ImageRecord, extra: [String: JSONValue] = [:]) -> JSONValue {
        let fields: [String: JSONValue] = [
            "id": .string(record.key), "format": .string(record.format), "width": .int(record.width),
            "height": .int(record.height), "bytes": .int(record.byteSize), "sha256": .string(SHA256.hex(record.sha256)),
            "metadata": metadata(record.metadata), "created_at": .string(InternetTimestamp.string(secondsSince1970: record.createdAt)),
            "updated_at": .string(InternetTimestamp.string(secondsSince1970: record.updatedAt)),
        ]
        return .object(sorting: fields.merging(extra) { _, new in new })
    }

    static func match(_ match: Match) -> JSONValue {
        ["id": .string(match.key), "score": score(match.score), "metadata": metadata(match.metadata)]
    }

    /// `[{id, score}]` for near-duplicates found at upload.
    static func duplicates(_ matches: [Match]) -> JSONValue {
        .array(matches.map { ["id": .string($0.key), "score": score($0.score)] })
    }
}

import Foundation
import HTTPServer
import Lookalike
import Storage

/// JSON bodies of the API.
enum JSONResponse {
    static func make(_ status: Int, _ object: Any, headers: [(String, String)] = []) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Array(data))
    }

    /// Metadata text (validated JSON object) as a JSON value for embedding in a response.
    static func metadata(_ text: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) ?? [String: Any]()
    }

    static func score(_ value: Float) -> Double { (Double(value) * 1_000_000).rounded() / 1_000_000 }

    static func record(_ record: StoredImage) -> [String: Any] {
        [
            "id": record.key, "format": record.format, "width": record.width, "height": record.height,
            "bytes": record.byteSize, "sha256": SHA256.hex(record.sha256), "metadata": metadata(record.metadata),
            "created_at": iso8601(record.createdAt), "updated_at": iso8601(record.updatedAt),
        ]
    }

    static func match(_ match: Match) -> [String: Any] {
        ["id": match.key, "score": score(match.score), "metadata": metadata(match.metadata)]
    }

    static func iso8601(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}

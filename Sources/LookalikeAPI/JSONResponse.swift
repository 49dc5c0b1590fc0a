import Foundation
import HTTPCore
import HTTPServer
import Lookalike

/// JSON bodies of the API.
enum JSONResponse {
    static func make(_ status: HTTPStatus, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.serialized)
    }

    /// A search-path body, built directly.
    static func encoded(_ status: HTTPStatus, _ body: some DirectJSONBody, headers: [(String, String)] = []) throws -> HTTPResponse {
        make(status, body.jsonValue, headers: headers)
    }

    /// A response type's body, through ``JSONValueEncoder`` and the fast writer.
    static func encoded(_ status: HTTPStatus, _ body: some Encodable, headers: [(String, String)] = []) throws -> HTTPResponse {
        make(status, try JSONValueEncoder.encode(body), headers: headers)
    }
}

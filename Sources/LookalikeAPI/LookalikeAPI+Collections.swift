import Foundation
import HTTPServer
import Lookalike

/// Handlers of the collection routes and of near-duplicate groups.
extension LookalikeAPI {
    /// The largest `POST /v1/collections` body.
    static let maxCollectionBodyBytes = 16 * 1024

    func createCollection(_ request: HTTPRequest) throws -> HTTPResponse {
        guard request.body.count <= Self.maxCollectionBodyBytes else {
            throw APIError(status: .contentTooLarge, detail: "a collection body is at most \(Self.maxCollectionBodyBytes) bytes")
        }
        guard var object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw APIError(status: .badRequest, detail: "body must be a JSON object {\"name\": \"...\", ...settings}")
        }
        guard let name = object.removeValue(forKey: "name") as? String else {
            throw APIError(status: .badRequest, detail: "'name' is required and must be a string")
        }
        let summary = try service.createCollection(name: name, settings: object)
        return JSONResponse.make(.created, Self.collection(summary), headers: [("Location", "/v1/collections/\(summary.name)")])
    }

    func listCollections() throws -> HTTPResponse {
        JSONResponse.make(.ok, ["collections": .array(try service.listCollections().map(Self.collection))])
    }

    func describeCollection(_ name: String) throws -> HTTPResponse {
        JSONResponse.make(.ok, Self.collection(try service.describeCollection(name)))
    }

    func deleteCollection(_ name: String) throws -> HTTPResponse {
        try service.deleteCollection(name)
        return HTTPResponse(status: .noContent)
    }

    func duplicates(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let query = request.query
        // Checked as the decimal sent: 1.0000000000000002 is above 1 even though it rounds to 1 as a Float.
        let threshold = try QueryParameters.threshold.number(in: query) ?? Paging.defaultThreshold
        let page = try service.duplicates(
            threshold: Float(threshold), neighbours: try QueryParameters.neighbours.definiteInteger(in: query),
            limit: try QueryParameters.limit.definiteInteger(in: query), after: QueryParameters.after.string(in: query),
            filter: try QueryParameters.filter.filter(in: query), collection: collection)
        var body: [String: JSONValue] = [
            "groups": .array(page.groups.map { .array($0.map(JSONValue.string)) }),
            "total_groups": .int(page.totalGroups), "total_images": .int(page.totalImages),
            "threshold": .number(threshold),
        ]
        if let next = page.next { body["next"] = .string(next) }
        return JSONResponse.make(.ok, .object(sorting: body))
    }

    static func collection(_ summary: LookalikeService.CollectionSummary) -> JSONValue {
        .object(sorting: [
            "name": .string(summary.name), "images": .int(summary.images), "bytes": .int(summary.bytes),
            "index_bytes": .int(summary.indexBytes),
            "index_state": .string(summary.indexState), "code_scheme": .string(summary.codeScheme),
            "code_bits": .int(summary.codeBits), "model": .string(summary.model), "sequence": .int(Int(summary.sequence)),
            "created_at": .string(InternetTimestamp.string(secondsSince1970: summary.createdAt)),
            "indexes": .object(sorting: summary.indexes.mapValues { .string($0) }),
        ])
    }
}

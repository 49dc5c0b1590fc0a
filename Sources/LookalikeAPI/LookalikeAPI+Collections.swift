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
        return try JSONResponse.encoded(.created, CollectionBody(summary: summary), headers: [("Location", "/v1/collections/\(summary.name)")])
    }

    func listCollections() throws -> HTTPResponse {
        try JSONResponse.encoded(.ok, CollectionListBody(collections: try service.listCollections().map(CollectionBody.init)))
    }

    func describeCollection(_ name: String) throws -> HTTPResponse {
        try JSONResponse.encoded(.ok, CollectionBody(summary: try service.describeCollection(name)))
    }

    func patchCollection(_ request: HTTPRequest, name: String) throws -> HTTPResponse {
        guard request.body.count <= Self.maxCollectionBodyBytes else {
            throw APIError(status: .contentTooLarge, detail: "a collection body is at most \(Self.maxCollectionBodyBytes) bytes")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw APIError(status: .badRequest, detail: #"body must be a JSON object {"recipe": {...}}"#)
        }
        if let unknown = object.keys.first(where: { $0 != "recipe" }) {
            throw APIError(status: .badRequest, detail: "'\(unknown.prefix(64))' cannot be changed; only 'recipe' can")
        }
        guard let recipe = object["recipe"] else {
            throw APIError(status: .badRequest, detail: #"'recipe' is required, such as {"recipe": {"crop": "squash"}}"#)
        }
        let before = try service.describeCollection(name)
        let summary = try service.changeRecipe(collection: name, to: recipe)
        let started = summary.recipeChange != nil && summary.recipeChange != before.recipeChange
        return try JSONResponse.encoded(started ? .accepted : .ok, CollectionBody(summary: summary))
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
        return try JSONResponse.encoded(.ok, DuplicateGroupsBody(
            groups: page.groups, totalGroups: page.totalGroups, totalImages: page.totalImages, threshold: threshold, next: page.next))
    }
}

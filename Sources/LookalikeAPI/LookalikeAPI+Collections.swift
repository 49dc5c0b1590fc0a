import Foundation
import HTTPServer
import Lookalike

/// Handlers of the collection routes and of near-duplicate groups.
extension LookalikeAPI {
    /// The largest `POST /v1/collections` body.
    static let maxCollectionBodyBytes = 16 * 1024
    /// The largest decision body (1,000 ids of up to 256 bytes, quoted, with separators).
    static let maxDecisionBodyBytes = 300 * 1024

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

    func recordDecision(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        guard request.body.count <= Self.maxDecisionBodyBytes else {
            throw APIError(status: .contentTooLarge, detail: "a decision body is at most \(Self.maxDecisionBodyBytes) bytes")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw APIError(status: .badRequest, detail: #"body must be a JSON object {"ids": ["a", "b"]}"#)
        }
        if let unknown = object.keys.first(where: { $0 != "ids" && $0 != "decision" }) {
            throw APIError(status: .badRequest, detail: "unknown field '\(unknown.prefix(64))'")
        }
        if let kind = object["decision"], kind as? String != "not_duplicates" {
            throw APIError(status: .badRequest, detail: "decision must be \"not_duplicates\"")
        }
        guard let ids = object["ids"] as? [Any], let keys = ids as? [String] else {
            throw APIError(status: .badRequest, detail: "'ids' is required: an array of image ids")
        }
        let decision = try service.recordNotDuplicates(keys: keys, collection: collection)
        return try JSONResponse.encoded(.created, DecisionBody(decision: decision))
    }

    func listDecisions(collection: String) throws -> HTTPResponse {
        try JSONResponse.encoded(.ok, DecisionListBody(decisions: try service.duplicateDecisions(collection: collection).map(DecisionBody.init)))
    }

    func undoDecision(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let text = request.parameters["decision"] ?? ""
        guard let id = Int64(text), id > 0 else {
            throw APIError(status: .badRequest, detail: "a decision id is a positive integer, got '\(text.prefix(32))'")
        }
        try service.undoDecision(id, collection: collection)
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

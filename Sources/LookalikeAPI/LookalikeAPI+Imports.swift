import Foundation
import HTTPServer
import Lookalike

/// Handlers of the import job routes.
extension LookalikeAPI {
    func createImport(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let query = request.query
        let concurrency = try QueryParameters.importConcurrency.integer(in: query)
        let onDuplicate = ImportJob.DuplicatePolicy(rawValue: try QueryParameters.importOnDuplicate.choice(in: query)) ?? .store
        let mediaType = (request.header("Content-Type") ?? "").split(separator: ";").first
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let job: ImportJob
        switch mediaType {
        case "application/x-ndjson", "application/jsonl", "application/json-lines", "application/jsonlines":
            job = try service.createImport(manifest: request.body, format: .jsonLines, collection: collection,
                                           concurrency: concurrency, onDuplicate: onDuplicate)
        case "text/csv":
            job = try service.createImport(manifest: request.body, format: .csv, collection: collection,
                                           concurrency: concurrency, onDuplicate: onDuplicate)
        case "application/json":
            guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any],
                  let folder = object["folder"] as? String, object.count == 1 else {
                throw APIError(status: .badRequest, detail: "a JSON body is {\"folder\": \"a folder under imports.root\"}; manifests are application/x-ndjson or text/csv")
            }
            job = try service.createFolderImport(folder: folder, collection: collection, concurrency: concurrency, onDuplicate: onDuplicate)
        default:
            throw APIError(status: .unsupportedMediaType,
                           detail: "an import is a manifest (application/x-ndjson or text/csv) or a folder ({\"folder\": …} as application/json)")
        }
        return try JSONResponse.encoded(.accepted, ImportJobBody(job: job),
                                        headers: [("Location", "/v1/collections/\(collection)/imports/\(job.id)")])
    }

    func listImports(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let limit = try QueryParameters.limit.definiteInteger(in: request.query)
        let jobs = try service.importJobs(collection: collection, limit: limit + 1, after: QueryParameters.after.string(in: request.query))
        let page = jobs.prefix(limit)
        return try JSONResponse.encoded(.ok, ImportJobListBody(jobs: page.map(ImportJobBody.init),
                                                               next: jobs.count > limit ? page.last?.id : nil))
    }

    func describeImport(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        try JSONResponse.encoded(.ok, ImportJobBody(job: try service.importJob(request.parameters["job"] ?? "", collection: collection)))
    }

    func importItems(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        let query = request.query
        let limit = try QueryParameters.limit.definiteInteger(in: query)
        let state = try QueryParameters.importState.choice(in: query)
        let after = try QueryParameters.importAfter.definiteInteger(in: query)
        let items = try service.importItems(
            request.parameters["job"] ?? "", collection: collection,
            states: ImportItem.State(rawValue: state).map { [$0] } ?? [], after: after, limit: limit + 1)
        let page = items.prefix(limit)
        return try JSONResponse.encoded(.ok, ImportItemsBody(items: page.map(ImportItemsBody.Item.init),
                                                             next: items.count > limit ? page.last.map { String($0.position) } : nil))
    }

    func cancelImport(_ request: HTTPRequest, collection: String) throws -> HTTPResponse {
        try JSONResponse.encoded(.ok, ImportJobBody(job: try service.cancelImport(request.parameters["job"] ?? "", collection: collection)))
    }
}

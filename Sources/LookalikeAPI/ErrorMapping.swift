import HTTPServer
import Imaging
import Inference
import Lookalike
import Storage

/// Domain errors → HTTP problem responses, in one place at the edge.
enum ErrorMapping {
    static func response(for error: Error) -> (HTTPResponse, isServerFault: Bool) {
        switch error {
        case let error as ImagingError:
            switch error {
            case .empty, .invalidArgument: return (.problem(status: 400, detail: error.description), false)
            case .unsupportedFormat: return (.problem(status: 415, detail: error.description), false)
            case .tooManyPixels: return (.problem(status: 413, detail: error.description), false)
            case .invalidDimensions, .corrupt: return (.problem(status: 422, detail: error.description), false)
            case .encodingFailed: return (.problem(status: 500, detail: error.description), true)
            }
        case let error as StorageError:
            switch error {
            case .invalidKey, .invalidMetadata, .invalidVector: return (.problem(status: 400, detail: error.description), false)
            case .damaged, .unsupportedSchema: return (.problem(status: 500, detail: "storage failure"), true)
            case .invalidCollectionName: return (.problem(status: 400, detail: error.description), false)
            case .collectionExists: return (.problem(status: 409, detail: error.description), false)
            case .unknownCollection: return (.problem(status: 404, detail: "the collection was deleted"), false)
            case .busy:
                // Another process holds the database's write lock (a backup, the CLI): worth retrying shortly.
                var response = HTTPResponse.problem(status: 503, detail: "the database is busy; retry shortly")
                response.setHeader("Retry-After", "1")
                return (response, false)
            }
        case let error as InferencePool.Error:
            switch error {
            case .busy, .shutDown:
                var response = HTTPResponse.problem(status: 503, detail: error.description)
                response.setHeader("Retry-After", "1")
                return (response, false)
            case .invalidInput, .invalidConfiguration: return (.problem(status: 500, detail: error.description), true)
            }
        case let error as LookalikeError:
            switch error {
            case .notFound: return (.problem(status: 404, detail: error.description), false)
            case .duplicate(let matches):
                var response = JSONResponse.make(409, [
                    "type": "about:blank", "title": "Conflict", "status": 409, "detail": .string(error.description),
                    "duplicates": .array(matches.map(JSONResponse.match)),
                ])
                response.setHeader("Content-Type", "application/problem+json")
                return (response, false)
            case .invalidArgument: return (.problem(status: 400, detail: error.description), false)
            case .collectionNotFound: return (.problem(status: 404, detail: error.description), false)
            case .collectionExists, .tooManyCollections: return (.problem(status: 409, detail: error.description), false)
            case .notReady:
                var response = HTTPResponse.problem(status: 503, detail: error.description)
                response.setHeader("Retry-After", "1")
                return (response, false)
            }
        case let error as MultipartParser.Failure:
            return (.problem(status: error.status, detail: error.reason), false)
        case let error as APIError:
            return (.problem(status: error.status, detail: error.detail), false)
        case is CancellationError:
            return (.problem(status: 503, detail: "request cancelled"), false)
        default:
            return (.problem(status: 500, detail: "internal error"), true)
        }
    }
}

/// A request-level problem found by the API layer itself.
struct APIError: Error {
    let status: Int
    let detail: String
}

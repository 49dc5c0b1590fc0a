import HTTPCore
import HTTPServer
import Lookalike

/// Any error → an HTTP problem response. Errors that know their status (``HTTPResponseError``, declared by
/// each module for its own errors) are rendered as they say; anything else is a server fault.
enum ErrorMapping {
    static func response(for error: any Error) -> (HTTPResponse, isServerFault: Bool) {
        switch error {
        case LookalikeError.duplicate(let matches):
            // The one problem with extra members: which stored images the upload duplicates.
            let body = DuplicateProblemBody(detail: problem(for: error).detail, duplicates: matches.map(MatchBody.init))
            guard var response = try? JSONResponse.encoded(.conflict, body) else {
                return (HTTPResponse.problem(status: .conflict, detail: body.detail), false)
            }
            response.setHeader("Content-Type", "application/problem+json")
            return (response, false)
        default:
            let (status, detail) = problem(for: error)
            var response = HTTPResponse.problem(status: status, detail: detail)
            let headers = (error as? any HTTPResponseError)?.responseHeaders
                ?? (status == .serviceUnavailable ? [(name: "Retry-After", value: "1")] : [])
            for header in headers { response.setHeader(header.name, header.value) }
            return (response, status.isServerError && status != .serviceUnavailable)
        }
    }

    /// The status and the client-facing detail of any error.
    static func problem(for error: any Error) -> (status: HTTPStatus, detail: String) {
        switch error {
        case let error as any HTTPResponseError: (error.status, error.publicDetail)
        case is CancellationError: (.serviceUnavailable, "request cancelled")
        default: (.internalServerError, "internal error")
        }
    }
}

/// A request-level problem found by the API layer itself.
struct APIError: HTTPResponseError {
    let status: HTTPStatus
    let detail: String
    var description: String { detail }
}

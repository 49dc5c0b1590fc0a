import HTTPServer

/// Answers a preflight from a listed origin before routing (browsers send it without a key), and adds the CORS
/// headers to every other response (see ``CORSPolicy``).
final class CORSMiddleware: APIMiddleware {
    let policy: CORSPolicy

    init(policy: CORSPolicy) {
        self.policy = policy
    }

    func respond(to request: HTTPRequest, context: inout RequestContext,
                 next: (HTTPRequest, inout RequestContext) -> HTTPResponse) -> HTTPResponse {
        var response: HTTPResponse
        if let preflight = policy.preflight(request) {
            context.routePattern = "preflight"
            response = preflight
        } else {
            response = next(request, &context)
        }
        policy.decorate(&response, for: request)
        return response
    }
}

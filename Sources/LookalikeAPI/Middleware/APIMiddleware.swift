import HTTPServer
import Lookalike

/// A step every request (or every routed request) passes through on its way to a handler: it may answer itself
/// (a preflight, a 429, a 401), or call `next` and look at or change the response. The steps are final classes:
/// the pipeline reaches each through an existential, and a class's is one reference to retain where a struct's
/// would be copied field by field on every request.
protocol APIMiddleware<Context>: Sendable {
    /// What the steps of one pipeline share about a request in flight.
    associatedtype Context
    func respond(to request: HTTPRequest, context: inout Context,
                 next: (HTTPRequest, inout Context) -> HTTPResponse) -> HTTPResponse
}

/// Middleware in order, outermost first, in front of an endpoint.
struct MiddlewarePipeline<Context>: Sendable {
    let steps: [any APIMiddleware<Context>]

    init(_ steps: [any APIMiddleware<Context>]) {
        self.steps = steps
    }

    func respond(to request: HTTPRequest, context: inout Context,
                 endpoint: (HTTPRequest, inout Context) -> HTTPResponse) -> HTTPResponse {
        step(0, request, &context, endpoint)
    }

    private func step(_ index: Int, _ request: HTTPRequest, _ context: inout Context,
                      _ endpoint: (HTTPRequest, inout Context) -> HTTPResponse) -> HTTPResponse {
        guard index < steps.count else { return endpoint(request, &context) }
        return steps[index].respond(to: request, context: &context) { request, context in
            step(index + 1, request, &context, endpoint)
        }
    }
}

/// What the request pipeline knows of a request: its id, and the route pattern it matched (nil: none).
struct RequestContext: Sendable {
    var requestID = ""
    var routePattern: String?
}

/// What the route pipeline knows of a matched request: its route, the collection it addresses, and who sent it.
struct RouteContext: Sendable {
    let route: APIRoute
    let collection: String
    /// The configured key its bearer token matches (compared in constant time with every key), and whether it
    /// sent a token at all.
    let caller: (key: APIKey?, sentToken: Bool)
}

import HTTPServer
import Lookalike

/// Lets a request through when its caller may use the route's access on the collection it addresses; otherwise
/// 401 (no valid key) or 403 (a key without the role, or limited to other collections).
final class AuthorizationMiddleware: APIMiddleware {
    let keys: [APIKey]
    let protectReads: Bool

    init(keys: [APIKey], protectReads: Bool) {
        self.keys = keys
        self.protectReads = protectReads
    }

    func respond(to request: HTTPRequest, context: inout RouteContext,
                 next: (HTTPRequest, inout RouteContext) -> HTTPResponse) -> HTTPResponse {
        let addressed = context.route.scope == .collection ? context.collection : request.parameters["collection"]
        if let denied = denial(context.caller, access: context.route.access, collection: addressed) { return denied }
        return next(request, &context)
    }

    private func denial(_ caller: (key: APIKey?, sentToken: Bool), access: APIRoute.Access, collection: String?) -> HTTPResponse? {
        guard !keys.isEmpty, let required = access.requiredRole else { return nil }
        if access == .read && !protectReads { return nil }
        guard let key = caller.key else {
            var response = HTTPResponse.problem(
                status: .unauthorized,
                detail: caller.sentToken ? "the bearer key is not valid" : "a valid 'Authorization: Bearer <key>' header is required")
            response.setHeader("WWW-Authenticate", "Bearer")
            return response
        }
        guard key.role >= required else {
            return .problem(status: .forbidden, detail: "this key's role is \(key.role); the request needs \(required)")
        }
        guard key.mayTouch(collection.flatMap { $0.isEmpty ? nil : $0 }) else {
            return .problem(status: .forbidden, detail: collection.map { "this key may not use collection '\($0.prefix(64))'" }
                            ?? "this key is limited to some collections; the request concerns all of them")
        }
        return nil
    }
}

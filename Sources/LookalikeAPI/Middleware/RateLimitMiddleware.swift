import Foundation
import HTTPServer
import Lookalike

/// Refuses a caller over its role's rate with 429 and `Retry-After` (see ``RateLimiter``); callers are told apart
/// by key, or by client address without one.
final class RateLimitMiddleware: APIMiddleware {
    let limiter: RateLimiter
    let keys: [APIKey]
    /// The client's address behind trusted proxies.
    let clientAddress: @Sendable (HTTPRequest) -> String

    init(limiter: RateLimiter, keys: [APIKey], clientAddress: @escaping @Sendable (HTTPRequest) -> String) {
        self.limiter = limiter
        self.keys = keys
        self.clientAddress = clientAddress
    }

    func respond(to request: HTTPRequest, context: inout RouteContext,
                 next: (HTTPRequest, inout RouteContext) -> HTTPResponse) -> HTTPResponse {
        guard context.route.access != .open else { return next(request, &context) }
        let caller = context.caller.key.map { "key:\(keys.firstIndex(of: $0) ?? -1)" } ?? clientAddress(request)
        if let wait = limiter.admit(caller: caller, role: context.caller.key?.role) {
            var response = HTTPResponse.problem(status: .tooManyRequests, detail: "rate limit reached; retry after the time in Retry-After")
            response.setHeader("Retry-After", String(max(1, Int(wait.rounded(.up)))))
            return response
        }
        return next(request, &context)
    }
}

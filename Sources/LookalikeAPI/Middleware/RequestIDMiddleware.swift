import HTTPServer

/// Gives each request an id (the client's `X-Request-Id` when it is a plausible one) and returns it in the
/// response, for the access log and for the client to quote.
final class RequestIDMiddleware: APIMiddleware {
    func respond(to request: HTTPRequest, context: inout RequestContext,
                 next: (HTTPRequest, inout RequestContext) -> HTTPResponse) -> HTTPResponse {
        context.requestID = Self.requestID(from: request)
        var response = next(request, &context)
        response.setHeader("X-Request-Id", context.requestID)
        return response
    }

    static func requestID(from request: HTTPRequest) -> String {
        if let given = request.header("X-Request-Id"), (1...128).contains(given.utf8.count),
           given.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value < 127 }) {
            return given
        }
        // One 64-bit draw (one getrandom call), not one per hex digit.
        let hex = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

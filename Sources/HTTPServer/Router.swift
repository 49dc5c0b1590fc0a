public import HTTPCore

/// Routes requests by method and path pattern (`/v1/images/{id}/similar`).
///
/// Unknown paths get 404; a known path with another method gets 405 with `Allow`; `HEAD` is served by the `GET`
/// route (the connection drops the body).
public struct Router: Sendable {
    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: String
        let segments: [Segment]
        let handler: HTTPServer.Handler
        /// Literal segments: where patterns overlap, the most literal one owns the path.
        let specificity: Int
    }

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private var routes: [Route] = []
    /// Route indices by segment count: a path is matched only against patterns of its length.
    private var routesByLength: [Int: [Int]] = [:]

    public init() {}

    /// Adds a route. `pattern` segments in braces capture a path segment, percent-decoded.
    public mutating func add(_ method: HTTPMethod, _ pattern: String, _ handler: @escaping HTTPServer.Handler) {
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).map { part -> Segment in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        let specificity = segments.filter { if case .literal = $0 { true } else { false } }.count
        routesByLength[segments.count, default: []].append(routes.count)
        routes.append(Route(method: method, pattern: pattern, segments: segments, handler: handler, specificity: specificity))
    }

    /// Dispatches `request`.
    public func handle(_ request: HTTPRequest) -> HTTPResponse { route(request).response }

    /// Dispatches `request`, and names the pattern of the route that matched it (nil: none did), so that
    /// metrics and logs label requests without matching the path again.
    public func route(_ request: HTTPRequest) -> (response: HTTPResponse, pattern: String?) {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        // Where patterns overlap (`/images/batch` and `/images/{id}`), the one with more literal segments owns
        // the path, for every method: its Allow lists only its own methods.
        var matching: [(route: Int, parameters: [String: String]?)] = []
        for index in routesByLength[parts.count] ?? [] {
            guard let parameters = match(routes[index].segments, parts) else { continue }
            matching.append((index, parameters))
        }
        let best = matching.map { routes[$0.route].specificity }.max() ?? 0
        var allowed: [HTTPMethod] = []
        for (index, parameters) in matching where routes[index].specificity == best {
            let route = routes[index]
            allowed.append(route.method)
            if route.method == request.method || (request.method == .head && route.method == .get) {
                guard let parameters else {
                    return (HTTPResponse.problem(status: .badRequest, detail: "malformed percent-encoding in the path"), route.pattern)
                }
                var routed = request
                routed.parameters = parameters
                return (route.handler(routed), route.pattern)
            }
        }
        if allowed.isEmpty { return (HTTPResponse.problem(status: .notFound, detail: "no such resource: \(request.path)"), nil) }
        if allowed.contains(.get) && !allowed.contains(.head) { allowed.append(.head) }
        var response = HTTPResponse.problem(status: .methodNotAllowed, detail: "\(request.method) is not allowed here")
        response.setHeader("Allow", allowed.map(\.rawValue).joined(separator: ", "))
        return (response, nil)
    }

    /// nil: no match; .some(nil): matched but a parameter is not decodable.
    private func match(_ segments: [Segment], _ parts: [String]) -> [String: String]?? {
        guard segments.count == parts.count else { return nil }
        var parameters: [String: String] = [:]
        var malformed = false
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal):
                if literal != part { return nil }
            case .parameter(let name):
                if let decoded = PercentDecoding.decode(part) { parameters[name] = decoded } else { malformed = true }
            }
        }
        return malformed ? .some(nil) : .some(parameters)
    }
}

import Dispatch
import Foundation
import HTTPCore
import HTTPServer
import Logging
import Lookalike
import MetadataFilter
import Imaging

/// Who is calling and what they may do: the client address behind trusted proxies, bearer keys compared in
/// constant time, roles and collection limits.
extension LookalikeAPI {
    /// The client's address: the connection's, or, from a trusted proxy, the right-most address in
    /// `X-Forwarded-For` that is not itself a trusted proxy (addresses further left are the client's own claims).
    func clientAddress(_ request: HTTPRequest) -> String {
        guard trustedProxies.contains(request.remoteAddress), let forwarded = request.header("X-Forwarded-For") else {
            return request.remoteAddress
        }
        let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return hops.last { !trustedProxies.contains($0) } ?? hops.first ?? request.remoteAddress
    }

    /// Who sent a request: the configured key its bearer token matches (compared in constant time with every
    /// key), and whether it sent a token at all.
    func identify(_ request: HTTPRequest) -> (key: APIKey?, sentToken: Bool) {
        guard let header = request.header("Authorization") else { return (nil, false) }
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { return (nil, true) }
        let token = Array(header.dropFirst(7).utf8)
        var matched: APIKey? = nil
        for key in keys where Self.constantTimeEquals(token, key.secret) { matched = key }
        return (matched, true)
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}

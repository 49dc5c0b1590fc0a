import Foundation
import HTTPCore
public import HTTPServer

/// The browser page served at `/`: search by image, browse, near-duplicate groups.
///
/// Its files live in `Assets/` and are compiled in by the EmbedWebAssets build plugin, so the executable alone
/// serves it. The page is static: everything it shows it
/// fetches from the API with the caller's key, so it needs no access rule of its own.
public enum WebPage {
    /// The files, by the name they are served under (`/ui/<name>`; `index.html` also at `/`).
    public static let assets: [String: WebAsset] = Dictionary(
        uniqueKeysWithValues: EmbeddedAssets.all.map { ($0.name, $0) })

    /// No inline script or style anywhere, and nothing fetched from elsewhere: thumbnails arrive as blob URLs.
    public static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:",
        "connect-src 'self'", "form-action 'none'", "frame-ancestors 'none'", "base-uri 'none'",
    ].joined(separator: "; ")

    /// The response for `name`, or nil when there is no such file. A matching `If-None-Match` gets 304; every
    /// response is revalidated (`no-cache`), so a new build is picked up at once and an unchanged one costs a 304.
    public static func response(for name: String, ifNoneMatch: String?) -> HTTPResponse? {
        guard let asset = assets[name] else { return nil }
        let headers = [
            ("Content-Type", asset.contentType), ("ETag", asset.entityTag), ("Cache-Control", "no-cache"),
            ("Content-Security-Policy", contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"),
        ]
        if let ifNoneMatch, matches(ifNoneMatch, asset.entityTag) {
            return HTTPResponse(status: .notModified, headers: headers)
        }
        return HTTPResponse(status: .ok, headers: headers, body: asset.body)
    }

    /// RFC 9110 13.1.2: `*` or a list of tags, compared weakly (a `W/` prefix is ignored).
    static func matches(_ header: String, _ tag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || (trimmed.hasPrefix("W/") ? String(trimmed.dropFirst(2)) : trimmed) == tag
        }
    }
}

import Foundation
import HTTPCore
import Testing
@testable import WebPage

@Suite struct WebPageTests {
    @Test func everyFileThePageNamesIsServed() throws {
        let page = try #require(WebPage.assets["index.html"])
        let html = String(decoding: page.body, as: UTF8.self)
        let names = html.matches(of: /"\/ui\/([a-z0-9.-]+)"/).map { String($0.output.1) }
        #expect(Set(names) == ["app.js", "app.css", "icon.svg"])
        for name in names { #expect(WebPage.assets[name] != nil, "\(name) is named by the page") }
        #expect(WebPage.assets.count == 4)
    }

    /// The CSP forbids inline script and style; the page must not need them.
    @Test func thePageHasNoInlineScriptStyleOrHandlers() throws {
        let html = String(decoding: try #require(WebPage.assets["index.html"]).body, as: UTF8.self)
        #expect(html.matches(of: /<script(?![^>]*\bsrc=)[^>]*>/).isEmpty)
        #expect(!html.contains("<style"))
        #expect(html.matches(of: /\s(style|on[a-z]+)=/).isEmpty)
        #expect(html.contains(#"<input type="file" name="query""#))
        let script = String(decoding: try #require(WebPage.assets["app.js"]).body, as: UTF8.self)
        #expect(!script.contains("eval("))
        #expect(!script.contains("innerHTML"), "text goes in through textContent, never parsed as markup")
    }

    @Test func responsesCarryTypeValidatorsAndPolicy() throws {
        let response = try #require(WebPage.response(for: "app.js", ifNoneMatch: nil))
        #expect(response.status == .ok)
        #expect(response.header("Content-Type") == "text/javascript; charset=utf-8")
        #expect(response.header("Cache-Control") == "no-cache")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        let policy = try #require(response.header("Content-Security-Policy"))
        #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe"))
        let tag = try #require(response.header("ETag"))
        #expect(tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count == 18)
        #expect(response.body == WebPage.assets["app.js"]?.body)
        #expect(WebPage.response(for: "index.html", ifNoneMatch: nil)?.header("ETag") != tag, "tags differ per file")
        #expect(WebPage.response(for: "missing.js", ifNoneMatch: nil) == nil)
    }

    @Test func ifNoneMatchGivesNotModified() throws {
        let tag = try #require(WebPage.assets["app.css"]?.entityTag)
        for header in [tag, "W/\(tag)", "\"other\", \(tag)", " \(tag) ", "*"] {
            let response = try #require(WebPage.response(for: "app.css", ifNoneMatch: header))
            #expect(response.status == .notModified, "If-None-Match: \(header)")
            #expect(response.body.isEmpty)
            #expect(response.header("ETag") == tag)
        }
        for header in ["\"other\"", "", tag.replacingOccurrences(of: "\"", with: "")] {
            #expect(WebPage.response(for: "app.css", ifNoneMatch: header)?.status == .ok, "If-None-Match: \(header)")
        }
    }
}

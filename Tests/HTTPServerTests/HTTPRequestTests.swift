import Testing
import HTTPCore
@testable import HTTPServer

struct HTTPRequestTests {
    /// Field names match whatever their case, and only letters fold: `@` is not a capital `` ` ``.
    @Test func headerNamesMatchIgnoringASCIICase() {
        let request = HTTPRequest(method: .get, target: "/", headers: [("Content-Type", "a"), ("X-@", "b"), ("Ünï", "c")])
        #expect(request.header("content-type") == "a" && request.header("CONTENT-TYPE") == "a")
        #expect(request.header("Content-Typ") == nil && request.header("Content-Types") == nil)
        #expect(request.header("x-@") == "b" && request.header("x-`") == nil)
        #expect(request.header("Ünï") == "c" && request.header("ünï") == nil)  // ASCII folding only, as RFC 9110 tokens are ASCII
        for (a, b) in [("A", "a"), ("z", "Z"), ("[", "{"), ("@", "`"), ("^", "~"), ("0", "0")] {
            let expected = a.lowercased() == b.lowercased()
            #expect(HTTPRequest.equalIgnoringASCIICase(a, b) == expected, "\(a) \(b)")
        }
    }
}

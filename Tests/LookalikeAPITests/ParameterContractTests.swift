import Foundation
import Testing
import Lookalike
import LookalikeAPI
import TestSupport

/// Walks every route of the served OpenAPI document and holds each bounded parameter it documents (in the query
/// string, or as a member of a JSON body) to what the handler does: a value just outside the documented bounds is
/// a 400 naming the parameter, the documented bounds themselves are accepted, and an absent parameter behaves as
/// its documented default.
@Suite(.serialized)
struct ParameterContractTests {
    /// A request the route accepts as it is, to which one parameter at a time is added.
    struct Probe {
        let method: String
        let path: String
        let body: [UInt8]
        let contentType: String?
        /// Parameters go in this JSON body rather than in the query string.
        let jsonBody: [String: Any]?
    }

    @Test func everyBoundedParameterIsEnforcedAsDocumented() throws {
        let harness = try APITestHarness()
        let client = try harness.client()
        let png = APITestHarness.png(seed: 5)
        for seed in 1...3 {
            #expect(try client.request("POST", "/v1/images?id=img-\(seed)", body: try APITestHarness.jpeg(seed: UInt64(seed))).status == 201)
        }
        // An import job whose items list the routes below can page through (its one item is refused at once).
        let created = try client.request("POST", "/v1/imports", headers: [("Content-Type", "application/x-ndjson")], body: Self.manifest)
        let job = try #require(created.json["id"] as? String, "\(created.text)")
        let document = try client.request("GET", "/openapi.json").json
        let components = try #require((document["components"] as? [String: Any])?["parameters"] as? [String: [String: Any]])
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let dimension = harness.service.model.featureDimension
        var checked = 0, routesChecked = 0
        for (path, operations) in paths.sorted(by: { $0.key < $1.key }) {
            for (method, value) in operations {
                let operation = try #require(value as? [String: Any])
                // Bounded parameters: (name, schema, in the body?).
                var bounded: [(String, [String: Any], Bool)] = []
                // Parameters that take one of a few words.
                var choices: [String] = []
                for entry in operation["parameters"] as? [[String: Any]] ?? [] {
                    let parameter = (entry["$ref"] as? String).flatMap { components[String($0.split(separator: "/").last!)] } ?? entry
                    guard parameter["in"] as? String == "query", let schema = parameter["schema"] as? [String: Any] else { continue }
                    if schema["enum"] != nil { choices.append(parameter["name"] as! String) }
                    guard schema["minimum"] != nil else { continue }
                    bounded.append((parameter["name"] as! String, schema, false))
                }
                let bodySchema = (((operation["requestBody"] as? [String: Any])?["content"] as? [String: Any])?["application/json"]
                                  as? [String: Any])?["schema"] as? [String: Any]
                for (name, schema) in bodySchema?["properties"] as? [String: [String: Any]] ?? [:] where schema["minimum"] != nil {
                    bounded.append((name, schema, true))
                }
                guard !bounded.isEmpty || !choices.isEmpty else { continue }
                let probe = Self.probe(method: method.uppercased(), path: path, png: png, dimension: dimension, job: job)
                let known = try #require(probe, "no probe request for \(method) \(path): add one to the test")
                let plain = try Self.send(known, client: client, adding: nil)
                #expect((200..<300).contains(plain.status), "\(method) \(path): \(plain.text)")
                for (name, schema, inBody) in bounded {
                    let integer = schema["type"] as? String == "integer"
                    let minimum = try #require(schema["minimum"] as? Double), maximum = try #require(schema["maximum"] as? Double)
                    let step = integer ? 1.0 : 0.001
                    for outside in [minimum - step, maximum + step] {
                        let response = try Self.send(known, client: client, adding: (name, outside, integer, inBody))
                        #expect(response.status == 400 && response.text.contains(name),
                                "\(method) \(path) \(name)=\(outside): \(response.status) \(response.text)")
                    }
                    for inside in [minimum, maximum] {
                        let response = try Self.send(known, client: client, adding: (name, inside, integer, inBody))
                        #expect((200..<300).contains(response.status), "\(method) \(path) \(name)=\(inside): \(response.text)")
                    }
                    if let fallback = schema["default"] as? Double {
                        let explicit = try Self.send(known, client: client, adding: (name, fallback, integer, inBody))
                        #expect(Self.withoutTimings(explicit.json) == Self.withoutTimings(plain.json), "\(method) \(path) default of \(name)")
                    }
                    checked += 1
                }
                for name in choices {
                    let target = known.path + (known.path.contains("?") ? "&" : "?") + "\(name)=neither"
                    let response = try client.request(known.method, target, headers: known.contentType.map { [("Content-Type", $0)] } ?? [],
                                                      body: known.body)
                    #expect(response.status == 400 && response.text.contains(name), "\(method) \(path) \(name): \(response.text)")
                    checked += 1
                }
                routesChecked += 1
            }
        }
        // upload, similar, search, search/vector, recommend, list and duplicates, in the default collection and a named one.
        #expect(routesChecked >= 14 && checked >= 40, "\(routesChecked) routes, \(checked) parameters")
    }

    /// A one-item manifest whose item is refused without a fetch leaving the machine (a link-local address).
    static let manifest = Array(#"{"id": "probe", "url": "http://169.254.169.254/probe.jpg"}"#.utf8)

    static func probe(method: String, path: String, png: [UInt8], dimension: Int, job: String) -> Probe? {
        let collection = path.replacingOccurrences(of: "{collection}", with: "default").replacingOccurrences(of: "{id}", with: "img-1")
            .replacingOccurrences(of: "{job}", with: job)
        switch (method, path.split(separator: "/").last.map(String.init) ?? "") {
        case ("POST", "imports"):
            return Probe(method: method, path: collection, body: manifest, contentType: "application/x-ndjson", jsonBody: nil)
        case ("GET", "similar"), ("GET", "images"), ("GET", "duplicates"), ("GET", "imports"), ("GET", "items"):
            return Probe(method: method, path: collection, body: [], contentType: nil, jsonBody: nil)
        case ("POST", "images"):
            return Probe(method: method, path: collection, body: png, contentType: "image/png", jsonBody: nil)
        case ("POST", "search"):
            return Probe(method: method, path: collection, body: png, contentType: "image/png", jsonBody: nil)
        case ("POST", "vector"):
            let vector = (0..<dimension).map { Double($0 % 7) - 3 }
            return Probe(method: method, path: collection, body: [], contentType: "application/json", jsonBody: ["vector": vector])
        case ("POST", "recommend"):
            return Probe(method: method, path: collection, body: [], contentType: "application/json", jsonBody: ["positive": ["img-1"]])
        default:
            return nil
        }
    }

    static func send(_ probe: Probe, client: HTTPTestClient,
                     adding parameter: (name: String, value: Double, integer: Bool, inBody: Bool)?) throws -> HTTPTestClient.Response {
        var target = probe.path
        var json = probe.jsonBody
        if let parameter {
            let value: Any = parameter.integer ? Int(parameter.value) : parameter.value
            if parameter.inBody {
                json?[parameter.name] = value
            } else {
                target += (target.contains("?") ? "&" : "?") + "\(parameter.name)=\(value)"
            }
        }
        let body = try json.map { [UInt8](try JSONSerialization.data(withJSONObject: $0)) } ?? probe.body
        return try client.request(probe.method, target, headers: probe.contentType.map { [("Content-Type", $0)] } ?? [], body: body)
    }

    /// The answer without its timing, which differs between two runs of the same request.
    static func withoutTimings(_ json: [String: Any]) -> NSDictionary {
        var json = json
        json["took_ms"] = nil
        return json as NSDictionary
    }
}

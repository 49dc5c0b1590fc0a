import Foundation
import Inference
import Testing
import TestSupport

/// `lookalike serve` on a ResNet-50 weight file (seeded random weights in torchvision's layout, converted by
/// scripts/convert_model.py): real JPEGs in and out over HTTP, 2048-d vectors, and a database shared with
/// EfficientNet-Lite0 never mixing the two models' vectors.
@Suite(.serialized) struct ResNetServerTests {
    static func jpegs(in directory: URL) throws -> (cat: [UInt8], coffee: [UInt8]) {
        let fixtures = ExternalTool.repositoryRoot.appendingPathComponent("Tests/InferenceTests/Fixtures")
        // Pillow encodes the cat (independently of libjpeg-turbo's encoder we ship); the coffee is a camera JPEG.
        let cat = directory.appendingPathComponent("cat.jpg")
        try ExternalTool.testPython.run([
            "-c", "import sys; from PIL import Image; Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=90)",
            fixtures.appendingPathComponent("chelsea.png").path, cat.path,
        ])
        return (Array(try Data(contentsOf: cat)), Array(try Data(contentsOf: fixtures.appendingPathComponent("coffee.jpg"))))
    }

    @Test func aServerOnResNet50IngestsAndSearchesJPEGs() throws {
        let directory = try ExternalTool.scratchDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ExternalTool.runScript("make_resnet_fixture.py", [directory.path])
        let weights = directory.appendingPathComponent("resnet50.safetensors").path
        try ExternalTool.runScript("convert_model.py", ["--name", "resnet50",
                                         directory.appendingPathComponent("weights.pth").path, weights])
        let (cat, coffee) = try Self.jpegs(in: directory)
        let database = directory.appendingPathComponent("db.sqlite").path

        // First EfficientNet-Lite0 stores the coffee…
        let lite = ServerProcess(binary: CLIEndToEndTests.binary, arguments: ["--db", database],
                                 logURL: directory.appendingPathComponent("lite.log"), environment: ["LOOKALIKE_MODEL": ModelLocator.path()])
        try lite.start()
        let first = try HTTPTestClient(port: lite.port, timeout: 60)
        #expect(try first.request("PUT", "/v1/images/coffee", headers: [("Content-Type", "image/jpeg")], body: coffee).status == 201)
        lite.stop()

        // …then a ResNet-50 node on the same database stores the cat and searches.
        let server = ServerProcess(binary: CLIEndToEndTests.binary, arguments: ["--db", database, "--model", weights],
                                   logURL: directory.appendingPathComponent("resnet.log"))
        try server.start()
        defer { server.stop() }
        let log = try String(contentsOf: server.logURL, encoding: .utf8)
        #expect(log.contains("images embedded by another model are not searchable"), "\(log)")
        let client = try HTTPTestClient(port: server.port, timeout: 60)
        let stored = try client.request("PUT", "/v1/images/cat", headers: [("Content-Type", "image/jpeg")], body: cat)
        #expect(stored.status == 201, "\(stored.text)")
        let search = try client.request("POST", "/v1/search?k=5", headers: [("Content-Type", "image/jpeg")], body: cat)
        #expect(search.status == 200, "\(search.text)")
        let results = search.json["results"] as? [[String: Any]] ?? []
        // Only the cat: the coffee's vector is Lite0's, which a ResNet-50 query never meets.
        #expect(results.map { $0["id"] as? String } == ["cat"], "\(search.text)")
        #expect((results.first?["score"] as? Double ?? 0) > 0.9999)

        let stats = try client.request("GET", "/v1/stats").json
        let model = stats["model"] as? String ?? ""
        #expect(model.hasPrefix("resnet50+pad+pow0.8@"), "\(stats)")
        #expect(stats["images"] as? Int == 2 && stats["indexed"] as? Int == 1, "\(stats)")

        let uniform = (0..<2048).map { _ in "0.01" }.joined(separator: ",")
        let byVector = try client.request("POST", "/v1/search/vector", headers: [("Content-Type", "application/json")],
                                          body: Array("{\"vector\": [\(uniform)], \"k\": 1}".utf8))
        #expect(byVector.status == 200, "\(byVector.text)")
        let wrongSize = (0..<1280).map { _ in "0.01" }.joined(separator: ",")
        let refused = try client.request("POST", "/v1/search/vector", headers: [("Content-Type", "application/json")],
                                         body: Array("{\"vector\": [\(wrongSize)]}".utf8))
        #expect(refused.status == 400 && refused.text.contains("2048"), "\(refused.text)")

        // The command line describes the file and embeds a preprocessed tensor with it.
        let verify = try CLIEndToEndTests.run(["model", "verify", "--model", weights])
        #expect(verify.output.contains("ResNet v1.5, bottleneck stages of 3, 4, 6, 3 blocks") && verify.output.contains("2048"),
                "\(verify.output)")
        let embedded = try CLIEndToEndTests.run(["embed", "--model", weights, "--feature-power", "1",
                                                       directory.appendingPathComponent("input.npy").path])
        let body = try JSONSerialization.jsonObject(with: Data(embedded.output.utf8)) as? [String: Any] ?? [:]
        let vector = (body["vector"] as? [Double] ?? []).map { Float($0) }
        #expect(body["dimension"] as? Int == 2048 && vector.count == 2048, "\(embedded.output.prefix(200))")
        // The numpy reference's pooled feature for the same tensor, L2-normalised.
        let reference = try NumpyArray(bytes: Array(try Data(contentsOf: directory.appendingPathComponent("feature.npy")))).values
        let norm = reference.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let cosine = zip(vector, reference).reduce(0) { $0 + $1.0 * $1.1 } / norm
        #expect(cosine >= 0.9999, "cosine to the numpy reference \(cosine)")
    }
}

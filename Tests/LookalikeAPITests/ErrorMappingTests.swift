import Foundation
import HTTPCore
import HTTPServer
import Imaging
import Inference
import Lookalike
import Storage
import Testing
@testable import LookalikeAPI

/// Each module's errors state their own status; the API renders them without knowing the modules.
@Suite struct ErrorMappingTests {
    static let cases: [(any Error, Int)] = [
        (ImagingError.empty, 400),
        (ImagingError.unsupportedFormat(.gif), 415),
        (ImagingError.unsupportedVariant(format: .bmp, reason: "run-length compression (RLE8)"), 415),
        (ImagingError.tooManyPixels(width: 10_000, height: 10_000, limit: 1_000), 413),
        (ImagingError.corrupt(format: .jpeg, message: "bad huffman"), 422),
        (ImagingError.encodingFailed(message: "x"), 500),
        (StorageError.invalidKey("too long"), 400),
        (StorageError.invalidCollectionName("A"), 400),
        (StorageError.collectionExists("a"), 409),
        (StorageError.unknownCollection(3), 404),
        (StorageError.busy("locked"), 503),
        (StorageError.damaged(path: "/secret/path.sqlite", detail: "file is not a database"), 500),
        (InferencePool.Error.busy(capacity: 64), 503),
        (InferencePool.Error.invalidInput(expected: 3, got: 2), 500),
        (LookalikeError.notFound("k"), 404),
        (LookalikeError.collectionNotFound("shop"), 404),
        (LookalikeError.tooManyCollections(2), 409),
        (LookalikeError.invalidArgument("k must be 1...1000"), 400),
        (LookalikeError.notReady, 503),
        (APIError(status: .badRequest, detail: "missing id"), 400),
        (CancellationError(), 503),
        (CocoaError(.fileNoSuchFile), 500),
    ]

    @Test(arguments: 0..<cases.count)
    func statusComesFromTheError(index: Int) throws {
        let (error, status) = Self.cases[index]
        let (response, isServerFault) = ErrorMapping.response(for: error)
        #expect(response.status.code == status, "\(error)")
        #expect(isServerFault == (status >= 500 && status != 503))
        let problem = try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(problem["status"] as? Int == status)
        #expect(response.header("Content-Type") == "application/problem+json")
        #expect((response.header("Retry-After") != nil) == (status == 503), "503s, and only they, say when to retry")
        let detail = try #require(problem["detail"] as? String)
        if status >= 500 && status != 503 {
            #expect(!detail.contains("/secret") && !detail.contains("not a database"), "server faults hide internals: \(detail)")
        } else {
            #expect(!detail.isEmpty)
        }
    }

    @Test func aDuplicateNamesWhatItDuplicates() throws {
        let error = LookalikeError.duplicate([Match(key: "shoe-1", score: 0.97, metadata: "{}")])
        let (response, _) = ErrorMapping.response(for: error)
        #expect(response.status == .conflict)
        let problem = try #require(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let duplicates = try #require(problem["duplicates"] as? [[String: Any]])
        #expect(duplicates.first?["id"] as? String == "shoe-1")
        #expect((problem["detail"] as? String)?.contains("shoe-1") == true)
    }
}

import Foundation
import Imaging
@testable import Lookalike
import Testing
import TestSupport

/// "Not duplicates" decisions with the real model and a real SQLite file: a dismissed group stays away across a
/// restart, the upload verdict of a replaced image leaves out what it was kept apart from, an undo brings the group
/// back, and bad decisions are refused.
@Suite(.serialized)
struct DuplicateDecisionTests {
    /// An image and a re-encode of it at a lower quality: near-duplicates at the default threshold.
    static func pair(_ seed: UInt64) throws -> (original: [UInt8], copy: [UInt8]) {
        let scene = TestImages.scene(seed: seed, width: 200, height: 150)
        return (try JPEGEncoder.encode(scene, quality: 92), try JPEGEncoder.encode(scene, quality: 55))
    }

    @Test func aDismissedGroupStaysAwayAcrossARestart() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = CollectionTests.configuration(directory)
        let cat = try Self.pair(81), dog = try Self.pair(82)
        var bursts: [String] = []
        do {
            let service = try CollectionTests.open(configuration)
            defer { service.shutdown() }
            _ = try service.ingest(bytes: cat.original, key: "cat")
            _ = try service.ingest(bytes: cat.copy, key: "cat-copy")
            _ = try service.ingest(bytes: dog.original, key: "dog")
            _ = try service.ingest(bytes: dog.copy, key: "dog-copy")
            let before = try service.duplicates().groups
            #expect(before == [["cat", "cat-copy"], ["dog", "dog-copy"]], "\(before)")
            let decision = try service.recordNotDuplicates(keys: ["dog-copy", "dog", "dog"])
            #expect(decision.keys == ["dog", "dog-copy"])
            #expect(try service.duplicates().groups == [["cat", "cat-copy"]])
            bursts = decision.keys
        }
        let service = try CollectionTests.open(configuration)
        defer { service.shutdown() }
        #expect(try service.duplicates().groups == [["cat", "cat-copy"]], "the decision survives the restart")
        #expect(try service.duplicateDecisions().map(\.keys) == [bursts])

        // Replacing dog-copy with the same bytes: its verdict leaves out dog; a new key still sees both.
        #expect(try service.ingest(bytes: dog.copy, key: "dog-copy").duplicates.map(\.key) == [])
        #expect(Set(try service.ingest(bytes: dog.copy, key: "dog-third").duplicates.map(\.key)) == ["dog", "dog-copy"])
        // The new image links to both: a new group, which the decision does not cover.
        #expect(try service.duplicates().groups == [["cat", "cat-copy"], ["dog", "dog-copy", "dog-third"]])
        #expect(try service.delete(key: "dog-third"))

        let decision = try #require(try service.duplicateDecisions().first)
        try service.undoDecision(decision.id)
        #expect(try service.duplicates().groups == [["cat", "cat-copy"], ["dog", "dog-copy"]])
        #expect(throws: LookalikeError.decisionNotFound(decision.id)) { try service.undoDecision(decision.id) }
        #expect(throws: LookalikeError.self) { try service.recordNotDuplicates(keys: ["cat"]) }
        #expect(throws: LookalikeError.self) { try service.recordNotDuplicates(keys: ["cat", "cat"]) }
        #expect(throws: LookalikeError.decisionImageNotFound("nobody")) { try service.recordNotDuplicates(keys: ["cat", "nobody"]) }
        #expect(try service.duplicateDecisions().isEmpty)
    }
}

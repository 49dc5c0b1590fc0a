import Foundation
import Testing
@testable import Storage
import TestSupport

/// A child process writes records in a loop and reports each committed key; we SIGKILL it at random moments,
/// many rounds, and check that the file is intact and every reported record is there, byte for byte.
struct CrashSafetyTests {
    static var helper: URL {
        // The test bundle and the helper executable are built into the same products folder.
        var url = Bundle(for: Marker.self).bundleURL
        while url.pathExtension == "xctest" || url.lastPathComponent == "Contents" || url.lastPathComponent == "MacOS" {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("storage-stress")
    }

    final class Marker {}

    @Test func killedWriterLosesNothingAcknowledged() throws {
        let path = ImageStoreTests.temporaryPath()
        var acknowledged: [Int] = []
        var next = 0
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<12 {
            let process = Process()
            process.executableURL = Self.helper
            process.arguments = [path, String(next)]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            usleep(UInt32.random(in: 40_000...250_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let keys = output.split(separator: "\n").compactMap { Int($0.dropFirst()) }
            acknowledged += keys
            next = (keys.last ?? next) + 1000  // fresh keys each round; an unacknowledged one may or may not exist
        }
        #expect(acknowledged.count > 20, "the child wrote too little to test anything")

        let store = try ImageStore(path: path)
        #expect(try store.integrityCheck() == "ok")
        for index in acknowledged {
            let record = try #require(try store.image(key: "k\(index)"), "acknowledged key k\(index) is missing")
            #expect(record.width == index)
            #expect(try store.vector(id: record.id)?.values == StressRecord.vector(index: index))
            #expect(try store.code(id: record.id)?.words == StressRecord.words(index: index))
        }
        // No partial record: every image row has its vector, code and thumbnail.
        var vectors = 0
        try store.forEachVector(model: "test") { _, _ in vectors += 1 }
        var codes = 0
        try store.forEachCode { _, _ in codes += 1 }
        let count = try store.count()
        #expect(vectors == count && codes == count)
        for record in try store.list(limit: 10_000) { #expect(try store.thumbnail(key: record.key) != nil) }
    }
}

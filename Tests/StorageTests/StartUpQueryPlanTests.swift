import Foundation
import Testing
@testable import Storage

/// The streams a start-up reads a collection with follow the `images_collection` index: SQLite's plan has no
/// temporary B-tree for the order, which for the vectors would copy every one through temporary files (a
/// million images' start took 47–71 s that way, most of it writing 10 GB of temporary pages).
@Suite struct StartUpQueryPlanTests {
    @Test func startUpStreamsReadInIndexOrderWithoutASort() throws {
        let path = ImageStoreTests.temporaryPath()
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try ImageStore(path: path)
        let queries = [ImageStore.startUpStreams.vectors, ImageStore.startUpStreams.codes, ImageStore.startUpStreams.keysAndMetadata]
        for sql in queries {
            let plan = try store.read { db in try db.rows("EXPLAIN QUERY PLAN " + sql) }
                .map { row in row.compactMap { value -> String? in if case .text(let text) = value { return text } else { return nil } }
                    .joined(separator: " ") }
                .joined(separator: "\n")
            #expect(!plan.contains("TEMP B-TREE"), "\(sql)\n\(plan)")
            #expect(plan.contains("images_collection"), "\(sql)\n\(plan)")
        }
    }
}

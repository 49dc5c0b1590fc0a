import Foundation
import Testing
@testable import VectorIndex
import TestSupport

/// The graph snapshot: a restart restores the saved graph over the vectors loaded from the store (in any order),
/// bridging entries deleted or changed since and inserting new ones; anything it cannot trust means a rebuild.
struct GraphSnapshotTests {
    static let dimension = GraphIndexTests.dimension
    static let data = GraphIndexTests.data
    static let queries = GraphIndexTests.queries

    static func configuration(snapshotPath: String, degree: Int = 24) -> GraphIndex.Configuration {
        .init(dimension: dimension, degree: degree, buildBeam: 64, codeRank: dimension, searchBeam: 128, rerank: 64,
              exactThreshold: 300, snapshotPath: snapshotPath)
    }

    static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("graph-snapshot-\(UUID().uuidString)").path
    }

    /// One index over `data` and its snapshot, shared by the tests that only read the file.
    static let shared: (index: GraphIndex, path: String) = {
        let path = temporaryPath()
        return (try! saved(at: path), path)
    }()

    /// An index that has built its graph over `data` (and saved it, as every build does).
    static func saved(at path: String, deleting deleted: Set<Int> = []) throws -> GraphIndex {
        let index = try GraphIndex(configuration: configuration(snapshotPath: path))
        for (row, vector) in data.enumerated() { index.add(id: Int64(row), vector: vector) }
        index.waitForRebuild()
        for id in deleted { index.remove(id: Int64(id)) }
        try #require(try index.saveSnapshot())
        return index
    }

    /// A new index loaded like a collection at start-up: `rows` in the given order, then `finishLoading`.
    static func load(_ rows: [(id: Int64, vector: [Float])], path: String, degree: Int = 24) throws -> (GraphIndex, IndexLoadOutcome) {
        let index = try GraphIndex(configuration: configuration(snapshotPath: path, degree: degree))
        index.beginLoading()
        for row in rows { index.add(id: row.id, vector: row.vector) }
        return (index, index.finishLoading())
    }

    /// Recall@k against brute force over `rows` (exact in Double).
    static func recall(_ index: GraphIndex, over rows: [(id: Int64, vector: [Float])], k: Int = 10,
                       effort: GraphIndex.Effort = .init()) -> Double {
        var found = 0
        for query in queries {
            let scored: [(id: Int64, score: Double)] = rows.map { row in
                var score = 0.0
                for (a, b) in zip(row.vector, query) { score += Double(a) * Double(b) }
                return (row.id, score)
            }
            let expected = Set(scored.sorted { $0.score > $1.score }.prefix(k).map(\.id))
            found += index.search(query, k: k, effort: effort).filter { expected.contains($0.id) }.count
        }
        return Double(found) / Double(k * queries.count)
    }

    @Test func aRestartInTheSameOrderRestoresTheSameGraph() throws {
        let (original, path) = Self.shared
        let (restored, outcome) = try Self.load(Self.data.enumerated().map { (Int64($0.offset), $0.element) }, path: path)
        #expect(outcome == .restored(kept: Self.data.count, inserted: 0, dropped: 0))
        #expect(restored.hasGraph, "restored at once, with no build")
        #expect(restored.accounting.rebuilds == 0)
        for query in Self.queries {
            #expect(restored.search(query, k: 10) == original.search(query, k: 10))
        }
    }

    @Test func deletedChangedAndNewEntriesAfterTheSave() throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // Tombstones at the save are waypoints in the file, dropped on restore.
        let waypoints = Set(stride(from: 0, to: 2_000, by: 97))
        _ = try Self.saved(at: path, deleting: waypoints)
        var random = SeededRandom(seed: 5)
        // Since the save: 150 deleted, 100 changed (another vector under the same id), 200 new; loaded shuffled.
        let deleted = Set((0..<150).map { 1 + $0 * 13 }).subtracting(waypoints)
        let changed = Set((0..<100).map { 2 + $0 * 17 }).subtracting(waypoints).subtracting(deleted)
        // New points of the same clusters (the first 2,000 of this sequence are `data`).
        let fresh = Array(SimilarityIndexTests.dataset(count: 2_300, dimension: Self.dimension, clusters: 30, seed: 11)[2_000...])
        var rows: [(id: Int64, vector: [Float])] = []
        for (row, vector) in Self.data.enumerated() where !waypoints.contains(row) && !deleted.contains(row) {
            rows.append((Int64(row), changed.contains(row) ? fresh[200 + row % 100] : vector))
        }
        rows += (0..<200).map { (Int64(10_000 + $0), fresh[$0]) }
        rows.shuffle(using: &random)
        let (restored, outcome) = try Self.load(rows, path: path)
        let kept = Self.data.count - waypoints.count - deleted.count - changed.count
        #expect(outcome == .restored(kept: kept, inserted: changed.count + 200, dropped: deleted.count + changed.count))
        #expect(restored.hasGraph)
        // Measured 0.99+; the same bar as a graph built from scratch (GraphIndexTests).
        #expect(Self.recall(restored, over: rows) >= 0.95)
        let gone = Set((waypoints.union(deleted)).map(Int64.init))
        for query in Self.queries {
            #expect(restored.search(query, k: 50).allSatisfy { !gone.contains($0.id) })
        }
        // A changed entry is found at its new vector.
        for id in changed.prefix(10) {
            #expect(restored.search(fresh[200 + id % 100], k: 1).first?.id == Int64(id))
        }
    }

    @Test func unusableSnapshotsMeanARebuild() throws {
        let valid = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.shared.path)))
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rows = Self.data.enumerated().map { (id: Int64($0.offset), vector: $0.element) }
        var flipped = valid
        flipped[valid.count / 2] ^= 0x40
        let cases: [(String, [UInt8]?, Int, [(id: Int64, vector: [Float])])] = [
            ("checksum mismatch", flipped, 24, rows),
            ("too short", Array(valid.prefix(50)), 24, rows),
            ("not a graph snapshot", [UInt8](repeating: 7, count: 4_096), 24, rows),
            ("built with", valid, 16, rows),
            // Over a fifth of the saved entries gone: consolidation would rebuild anyway.
            ("deleted or changed", valid, 24, Array(rows.prefix(1_500))),
            ("no snapshot at", nil, 24, rows),
        ]
        for (reason, bytes, degree, loaded) in cases {
            if let bytes { try Data(bytes).write(to: URL(fileURLWithPath: path)) } else { try? FileManager.default.removeItem(atPath: path) }
            let (index, outcome) = try Self.load(loaded, path: path, degree: degree)
            guard case .rebuilt(let why) = outcome else {
                Issue.record("\(reason): \(outcome)")
                continue
            }
            #expect(why.contains(reason), "\(why)")
            #expect(index.accounting.building, "the build was scheduled before finishLoading returned")
            // Exact until the background build is ready, then the graph.
            #expect(index.search(Self.queries[0], k: 10).map(\.id)
                    == index.search(Self.queries[0], k: 10, effort: .init(exact: true)).map(\.id))
            index.waitForRebuild()
            #expect(index.hasGraph && !index.accounting.building)
        }
    }

    /// A file with a valid checksum but an impossible structure (as a hostile or buggy writer could make) is
    /// rejected by the decoder, never trapped on later.
    @Test func structuralDamageUnderAValidChecksumIsRejected() throws {
        let path = Self.shared.path
        let snapshot = try GraphSnapshot(decoding: [UInt8](Data(contentsOf: URL(fileURLWithPath: path))), path: path)
        var outOfRange = snapshot
        outOfRange.neighbours[0] = Int32(snapshot.nodeCount)
        var tooManyEdges = snapshot
        tooManyEdges.degrees[3] = UInt8(snapshot.parameters.degree + 1)
        var badEntry = snapshot
        badEntry.entryNode = snapshot.nodeCount
        var badStep = snapshot
        badStep.scale[0] = 0
        var badRank = snapshot
        badRank.parameters.codeRank = snapshot.parameters.dimension + 1
        for (damaged, expected) in [(outOfRange, "has an edge to"), (tooManyEdges, "edges of"), (badEntry, "entry node"),
                                    (badStep, "invalid codec"), (badRank, "invalid parameters")] {
            #expect {
                _ = try GraphSnapshot(decoding: damaged.encoded(), path: path)
            } throws: { error in
                (error as? IndexSnapshotError).map { $0.kind == .malformed && $0.reason.contains(expected) } ?? false
            }
        }
    }
}


import Foundation
import Testing
@testable import VectorIndex

/// The forest snapshot: a restart restores the saved forest when it matches the loaded vectors and rebuilds
/// whenever it does not (missing, damaged, other parameters, or too many changes).
struct ForestSnapshotTests {
    static let dimension = 32

    final class Directory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("forest-\(UUID().uuidString)")
        init() { try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        var snapshot: String { url.appendingPathComponent("index.forest").path }
    }

    static func configuration(_ path: String, trees: Int = 6) -> SimilarityIndex.Configuration {
        .init(dimension: dimension, trees: trees, leafSize: 12, exactThreshold: 100, codeBits: 0, snapshotPath: path)
    }

    /// A fresh index loaded the way the service loads one at startup.
    static func load(_ items: [(Int64, [Float])], configuration: SimilarityIndex.Configuration)
        -> (SimilarityIndex, SimilarityIndex.LoadOutcome) {
        let index = SimilarityIndex(configuration: configuration)
        index.beginLoading()
        for (id, vector) in items { index.add(id: id, vector: vector) }
        return (index, index.finishLoading())
    }

    static func items(_ data: [[Float]], firstID: Int64 = 0) -> [(Int64, [Float])] {
        data.enumerated().map { (firstID + Int64($0.offset), $0.element) }
    }

    @Test func restartRestoresTheSameForest() throws {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 1500, dimension: Self.dimension, clusters: 10, seed: 3)
        let (original, first) = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        #expect(first == .rebuilt(reason: "no snapshot at \(directory.snapshot)"))
        #expect(FileManager.default.fileExists(atPath: directory.snapshot))

        let (restarted, second) = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        #expect(second == .restored(kept: 1500, inserted: 0, dropped: 0))
        #expect(restarted.statistics.rebuilds == 0)
        for query in data.prefix(30) {
            #expect(try restarted.search(query, k: 10, strategy: .forest(searchK: 200))
                    == original.search(query, k: 10, strategy: .forest(searchK: 200)))
        }
        // The file already holds this index, so saving again (as shutdown does) writes nothing; a change does.
        func modified() throws -> Date? {
            try FileManager.default.attributesOfItem(atPath: directory.snapshot)[.modificationDate] as? Date
        }
        let before = try modified()
        #expect(try restarted.saveSnapshot())
        #expect(try modified() == before)
        restarted.remove(id: 0)
        #expect(try restarted.saveSnapshot())
        #expect(try modified() != before)
    }

    @Test func changesSinceTheSnapshotAreReplayed() throws {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 1500, dimension: Self.dimension, clusters: 10, seed: 4)
        let saved = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot)).0
        saved.waitForRebuild()

        // Since the save: ids 0..<50 deleted, 50..<70 re-embedded (changed vectors), 100 new ids added.
        let changed = SimilarityIndexTests.dataset(count: 20, dimension: Self.dimension, seed: 40)
        let added = SimilarityIndexTests.dataset(count: 100, dimension: Self.dimension, clusters: 10, seed: 41)
        var current = Self.items(data).filter { $0.0 >= 70 }
        current += Self.items(changed, firstID: 50) + Self.items(added, firstID: 10_000)
        let (index, outcome) = Self.load(current, configuration: Self.configuration(directory.snapshot))
        #expect(outcome == .restored(kept: 1430, inserted: 120, dropped: 70))
        for (id, vector) in current where id >= 50 && id < 70 || id >= 10_000 {
            #expect(try index.search(vector, k: 1, strategy: .forest(searchK: 100)).first?.id == id)
        }
        for query in data.prefix(50) {
            #expect(try index.search(query, k: 20, strategy: .forest(searchK: 300)).allSatisfy { $0.id >= 50 })
        }
    }

    @Test func tooManyChangesRebuild() {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 1000, dimension: Self.dimension, seed: 5)
        _ = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        let (index, outcome) = Self.load(Self.items(Array(data.prefix(600))), configuration: Self.configuration(directory.snapshot))
        guard case .rebuilt(let reason) = outcome else { Issue.record("expected a rebuild, got \(outcome)"); return }
        #expect(reason.contains("400 items deleted or changed"))
        #expect(index.statistics.rebuilds == 1)
    }

    @Test func otherParametersRebuild() {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 500, dimension: Self.dimension, seed: 6)
        _ = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot, trees: 6))
        let outcome = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot, trees: 8)).1
        guard case .rebuilt(let reason) = outcome else { Issue.record("expected a rebuild, got \(outcome)"); return }
        #expect(reason.contains("trees: 6") && reason.contains("trees: 8"))
    }

    @Test func damagedFilesRebuildAndSearchStaysExact() throws {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 400, dimension: Self.dimension, seed: 7)
        _ = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory.snapshot)))
        var flipped = good
        flipped[good.count / 2] ^= 0x10
        var random = SplitMix64(seed: 8)
        let damaged: [(String, [UInt8])] = [
            ("checksum mismatch", flipped),
            ("too short", Array(good.prefix(40))),
            ("checksum mismatch", Array(good.dropLast(100))),
            ("not a forest snapshot", (0..<5000).map { _ in UInt8(truncatingIfNeeded: random.next()) }),
            ("too short", []),
        ]
        for (expected, bytes) in damaged {
            try Data(bytes).write(to: URL(fileURLWithPath: directory.snapshot))
            let (index, outcome) = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
            guard case .rebuilt(let reason) = outcome else { Issue.record("expected a rebuild, got \(outcome)"); continue }
            #expect(reason.contains(expected), "\(reason)")
            #expect(try index.search(data[9], k: 1).first?.id == 9)
        }
    }

    /// A file with a valid checksum but a cycle or out-of-range references is rejected by the decoder, so a
    /// search can never loop or index out of bounds.
    @Test func structuralDamageIsRejected() throws {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 400, dimension: Self.dimension, seed: 9)
        _ = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        let snapshot = try ForestSnapshot(decoding: [UInt8](Data(contentsOf: URL(fileURLWithPath: directory.snapshot))), path: "x")
        let root = Int(snapshot.roots[0])
        let split = try #require(snapshot.nodes.firstIndex { !$0.isLeaf })
        let leaf = try #require(snapshot.nodes.firstIndex { $0.isLeaf })
        var cases: [(String, ForestSnapshot)] = []
        var cycle = snapshot
        cycle.nodes[split].left = Int32(root)
        cases.append(("shared child", cycle))
        var outOfRange = snapshot
        outOfRange.nodes[split].right = Int32(snapshot.nodes.count)
        cases.append(("shared child", outOfRange))
        var badNormal = snapshot
        badNormal.nodes[split].normal = 1 << 30
        cases.append(("refers to normal", badNormal))
        var badLeaf = snapshot
        badLeaf.nodes[leaf].count = badLeaf.nodes[leaf].capacity + 1
        cases.append(("range out of bounds", badLeaf))
        var badRoot = snapshot
        badRoot.roots[0] = -5
        cases.append(("root -5 out of range", badRoot))
        for (expected, broken) in cases {
            #expect {
                try ForestSnapshot(decoding: broken.encoded(), path: "x")
            } throws: { error in
                (error as? IndexSnapshotError).map { $0.kind == .malformed && $0.reason.contains(expected) } ?? false
            }
        }
        #expect(try ForestSnapshot(decoding: snapshot.encoded(), path: "x").encoded() == snapshot.encoded())
    }

    /// Background rebuilds save snapshots (and explicit saves run) while a writer adds and removes and readers
    /// search, with the subspace stage on; run under `--sanitize=thread` by scripts/test. The last save restores.
    @Test func savingWhileWritingAndSearching() async throws {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 3000, dimension: 16, seed: 12)
        let configuration = SimilarityIndex.Configuration(
            dimension: 16, trees: 4, leafSize: 8, exactThreshold: 500, rebuildFraction: 0.2, codeBits: 0,
            snapshotPath: directory.snapshot, reducedDimension: 12, reducedRerankLimit: 100)
        let index = SimilarityIndex(configuration: configuration)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for (id, vector) in data.enumerated() { index.add(id: Int64(id), vector: vector) }
                for id in 0..<300 { index.remove(id: Int64(id)) }
            }
            group.addTask {
                for _ in 0..<20 { _ = try? index.saveSnapshot() }
            }
            for reader in 0..<2 {
                group.addTask {
                    for query in data[(reader * 100)..<(reader * 100 + 100)] {
                        #expect((try? index.search(query, k: 5))?.count ?? .max <= 5)
                    }
                }
            }
        }
        index.waitForRebuild()
        #expect(index.statistics.snapshotFailure == nil)
        #expect(try index.saveSnapshot())
        let live = Array(Self.items(data).dropFirst(300))
        let (restarted, outcome) = Self.load(live, configuration: configuration)
        #expect(outcome == .restored(kept: 2700, inserted: 0, dropped: 0))
        for (id, vector) in live.suffix(30) {
            #expect(try restarted.search(vector, k: 1, strategy: .forest(searchK: 400)).first?.id == id)
        }
    }

    @Test func smallCollectionsNeedNoForest() {
        let directory = Directory()
        let data = SimilarityIndexTests.dataset(count: 80, dimension: Self.dimension, seed: 10)
        let (index, outcome) = Self.load(Self.items(data), configuration: Self.configuration(directory.snapshot))
        #expect(outcome == .exact)
        #expect(index.statistics.trees == 0)
        #expect(!FileManager.default.fileExists(atPath: directory.snapshot))
    }
}

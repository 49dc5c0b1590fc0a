import ArgumentParser
import Dispatch
import Foundation
import Lookalike
import Storage

/// Stores vectors as one collection's images straight through the store (vectors and codes, no pixels), the way
/// the benchmarks fill a database with a million images in minutes instead of running the model on each. The
/// database file is replaced; the collection is created through the service, so it carries the scheme and model
/// name a server would give it.
struct BenchCollectionFill {
    let options: ServiceOptions
    let collection: String
    let settings: [String: Any]?
    /// Records per transaction.
    let batch: Int

    /// Stores `count` images, the `i`-th with key `key(i)` and vector `vector(i)` (read from both cores at once).
    func fill(count: Int, key: @escaping @Sendable (Int) -> String, vector: @escaping @Sendable (Int) -> [Float]) throws {
        let database = options.db!
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: database + suffix) }
        let folder = (database as NSString).deletingLastPathComponent
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where file.hasPrefix((database as NSString).lastPathComponent + ".") {
            try? FileManager.default.removeItem(atPath: (folder as NSString).appendingPathComponent(file))
        }
        let (scheme, recipe) = try {
            let service = try options.openService()
            defer { _ = service.shutdown() }
            _ = try service.createCollection(name: collection, settings: settings)
            return (try service.codeScheme(collection: collection), try service.statistics(collection: collection).model)
        }()
        let store = try ImageStore(path: database)
        guard let stored = try store.collection(named: collection) else {
            throw ValidationError("the collection \(collection) was not created")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        var next = 0
        while next < count {
            let end = min(next + batch, count)
            // Codes cost about as much as the insert: made on both cores.
            var writes = [ImageWrite?](repeating: nil, count: end - next)
            let first = next
            writes.withUnsafeMutableBufferPointer { slots in
                // Each thread fills its own slots.
                nonisolated(unsafe) let slots = slots
                DispatchQueue.concurrentPerform(iterations: 2) { half in
                    for offset in stride(from: half, to: slots.count, by: 2) {
                        let row = vector(first + offset)
                        let code = scheme.code(for: row)
                        slots[offset] = ImageWrite(
                            key: key(first + offset), sha256: [], format: "none", width: 1, height: 1, byteSize: 0,
                            metadata: "{}", model: recipe, vector: row,
                            code: StoredCode(schemeID: scheme.id, bits: scheme.bits, words: code.words), thumbnail: [])
                    }
                }
            }
            try store.upsert(batch: writes.map { $0! }, collection: stored.id)
            next = end
            if next % 100_000 < batch || next == count {
                let seconds = BenchIndex.seconds(since: start)
                print(String(format: "  stored %d in %.1f s (%.0f per s)", next, seconds, Double(next) / seconds))
            }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: database)[.size] as? Int) ?? 0
        print(String(format: "filled: %d images in %.1f s; database %.2f GB", count, BenchIndex.seconds(since: start), Double(size) / 1e9))
    }
}

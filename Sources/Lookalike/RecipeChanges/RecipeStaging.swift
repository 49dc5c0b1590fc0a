import Foundation
import Storage

/// The vectors a re-embedding has computed and not yet switched to, in a SQLite file of this node
/// (`DATABASE.recipes`), so a restart resumes a re-embedding where it stopped. Each vector is kept with the
/// SHA-256 of the bytes it was made from and the recipe's name: an image replaced since, or a vector of another
/// target, does not count.
final class RecipeStaging: Sendable {
    private let journal: LocalJournal

    private func locked<T>(_ body: (Database) throws -> T) throws -> T { try journal.locked(body) }

    init(path: String) throws {
        journal = try LocalJournal(path: path, schema: """
            CREATE TABLE IF NOT EXISTS staged_vectors (
                collection INTEGER NOT NULL, image INTEGER NOT NULL, sha256 BLOB NOT NULL, model TEXT NOT NULL,
                vector BLOB NOT NULL, PRIMARY KEY (collection, image)) WITHOUT ROWID
            """)
    }

    /// Keeps (or replaces) an image's vector of recipe `model`.
    func stage(collection: Int64, image: Int64, sha256: [UInt8], model: String, vector: [Float]) throws {
        try locked { database in
            let statement = try database.cachedStatement(
                "INSERT OR REPLACE INTO staged_vectors (collection, image, sha256, model, vector) VALUES (?, ?, ?, ?, ?)")
            defer { statement.reset() }
            try statement.bind([.integer(collection), .integer(image), .blob(sha256), .text(model)])
            try statement.bind(floats: vector, at: 5)
            while try statement.step() {}
        }
    }

    /// The images of `collection` with a vector of `model`, each with the SHA-256 it was made from.
    func stagedImages(collection: Int64, model: String) throws -> [Int64: [UInt8]] {
        try locked { database in
            let statement = try database.prepare("SELECT image, sha256 FROM staged_vectors WHERE collection = ? AND model = ?")
            try statement.bind([.integer(collection), .text(model)])
            var images: [Int64: [UInt8]] = [:]
            while try statement.step() { images[statement.int64(at: 0)] = statement.blob(at: 1) }
            return images
        }
    }

    /// The vector of `model` made from bytes with `sha256`, if one is kept.
    func vector(collection: Int64, image: Int64, sha256: [UInt8], model: String) throws -> [Float]? {
        try locked { database in
            let statement = try database.cachedStatement(
                "SELECT vector FROM staged_vectors WHERE collection = ? AND image = ? AND sha256 = ? AND model = ?")
            defer { statement.reset() }
            try statement.bind([.integer(collection), .integer(image), .blob(sha256), .text(model)])
            return try statement.step() ? statement.floats(at: 0) : nil
        }
    }

    /// Forgets every vector kept for `collection` (after its switch, or when its re-embedding ends otherwise).
    func clear(collection: Int64) throws {
        try locked { try $0.run("DELETE FROM staged_vectors WHERE collection = ?", [.integer(collection)]) }
    }
}

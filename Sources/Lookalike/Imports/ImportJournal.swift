import Foundation
import Storage

/// Import jobs and their items' outcomes in a SQLite file of this node (`imports.journalPath`), so that a job
/// resumes after a restart or a kill where it stopped: an item's outcome is committed once it has one, and an
/// item is marked `storing` before its image is handed to the store (so a restart looks the image up before
/// storing it again).
final class ImportJournal: Sendable {
    private let journal: LocalJournal

    private func locked<T>(_ body: (Database) throws -> T) throws -> T { try journal.locked(body) }

    init(path: String) throws {
        journal = try LocalJournal(path: path, schema: """
            CREATE TABLE IF NOT EXISTS import_jobs (
                id TEXT PRIMARY KEY, collection TEXT NOT NULL, state TEXT NOT NULL, source TEXT NOT NULL,
                concurrency INTEGER NOT NULL, on_duplicate TEXT NOT NULL, created REAL NOT NULL, started REAL,
                finished REAL, total INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS import_items (
                job TEXT NOT NULL, position INTEGER NOT NULL, key TEXT, url TEXT, path TEXT, metadata TEXT,
                state TEXT NOT NULL, reason TEXT, attempts INTEGER NOT NULL DEFAULT 0,
                PRIMARY KEY (job, position)) WITHOUT ROWID;
            CREATE INDEX IF NOT EXISTS import_items_state ON import_items (job, state, position);
            """)
    }

    func create(_ job: ImportJob, items: [ImportItem]) throws {
        try locked { database in
            try database.transaction {
                try database.run(
                    "INSERT INTO import_jobs (id, collection, state, source, concurrency, on_duplicate, created, total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [.text(job.id), .text(job.collection), .text(job.state.rawValue), .text(job.source), .integer(Int64(job.concurrency)),
                     .text(job.onDuplicate.rawValue), .real(job.created.timeIntervalSince1970), .integer(Int64(job.total))])
                let insert = try database.cachedStatement(
                    "INSERT INTO import_items (job, position, key, url, path, metadata, state, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                for item in items {
                    insert.reset()
                    var url: SQLiteValue = .null
                    var path: SQLiteValue = .null
                    switch item.source {
                    case .url(let value): url = .text(value)
                    case .path(let value): path = .text(value)
                    case nil: break
                    }
                    try insert.bind([.text(job.id), .integer(Int64(item.position)), item.key.map(SQLiteValue.text) ?? .null, url, path,
                                     item.metadata.map(SQLiteValue.text) ?? .null, .text(item.state.rawValue),
                                     item.reason.map(SQLiteValue.text) ?? .null])
                    _ = try insert.step()
                }
                insert.reset()
            }
        }
    }

    private static let jobColumns = "id, collection, state, source, concurrency, on_duplicate, created, started, finished, total"

    private static func job(from row: [SQLiteValue], counts: [ImportItem.State: Int]) -> ImportJob {
        ImportJob(
            id: row[0].text ?? "", collection: row[1].text ?? "", state: ImportJob.State(rawValue: row[2].text ?? "") ?? .cancelled,
            source: row[3].text ?? "", concurrency: Int(row[4].integer ?? 1),
            onDuplicate: ImportJob.DuplicatePolicy(rawValue: row[5].text ?? "") ?? .store,
            created: Date(timeIntervalSince1970: row[6].real ?? 0), started: row[7].real.map(Date.init(timeIntervalSince1970:)),
            finished: row[8].real.map(Date.init(timeIntervalSince1970:)), total: Int(row[9].integer ?? 0), counts: counts)
    }

    /// The job with its items counted per state.
    func job(_ id: String) throws -> ImportJob? {
        try locked { database in
            guard let row = try database.rows("SELECT \(Self.jobColumns) FROM import_jobs WHERE id = ?", [.text(id)]).first else { return nil }
            return Self.job(from: row, counts: try Self.counts(id, in: database))
        }
    }

    private static func counts(_ id: String, in database: Database) throws -> [ImportItem.State: Int] {
        var counts: [ImportItem.State: Int] = [:]
        for row in try database.rows("SELECT state, count(*) FROM import_items WHERE job = ? GROUP BY state", [.text(id)]) {
            if let state = row[0].text.flatMap(ImportItem.State.init(rawValue:)) { counts[state] = Int(row[1].integer ?? 0) }
        }
        return counts
    }

    /// A collection's jobs, newest first, `limit` after the job `after` (by creation).
    func jobs(collection: String, limit: Int, after: String?) throws -> [ImportJob] {
        try locked { database in
            var sql = "SELECT \(Self.jobColumns) FROM import_jobs WHERE collection = ?"
            var arguments: [SQLiteValue] = [.text(collection)]
            if let after {
                sql += " AND (created, id) < (SELECT created, id FROM import_jobs WHERE id = ?)"
                arguments.append(.text(after))
            }
            sql += " ORDER BY created DESC, id DESC LIMIT ?"
            arguments.append(.integer(Int64(limit)))
            return try database.rows(sql, arguments).map { row in
                Self.job(from: row, counts: try Self.counts(row[0].text ?? "", in: database))
            }
        }
    }

    /// Ids of jobs that are queued or running, oldest first.
    func unfinishedJobIDs() throws -> [String] {
        try locked { database in
            try database.rows("SELECT id FROM import_jobs WHERE state IN ('queued', 'running') ORDER BY created, id").compactMap { $0[0].text }
        }
    }

    func setState(_ id: String, _ state: ImportJob.State, started: Date? = nil, finished: Date? = nil) throws {
        try locked { database in
            try database.run(
                "UPDATE import_jobs SET state = ?, started = coalesce(?, started), finished = coalesce(?, finished) WHERE id = ?",
                [.text(state.rawValue), started.map { .real($0.timeIntervalSince1970) } ?? .null,
                 finished.map { .real($0.timeIntervalSince1970) } ?? .null, .text(id)])
        }
    }

    /// Items of `job` in `states`, by position, `limit` after position `after`.
    func items(job: String, states: [ImportItem.State], after: Int, limit: Int) throws -> [ImportItem] {
        try locked { database in
            let placeholders = states.map { _ in "?" }.joined(separator: ", ")
            return try database.rows(
                "SELECT position, key, url, path, metadata, state, reason, attempts FROM import_items WHERE job = ? AND state IN (\(placeholders)) AND position > ? ORDER BY position LIMIT ?",
                [.text(job)] + states.map { .text($0.rawValue) } + [.integer(Int64(after)), .integer(Int64(limit))]
            ).map { row in
                ImportItem(
                    position: Int(row[0].integer ?? 0), key: row[1].text,
                    source: row[2].text.map(ImportItem.Source.url) ?? row[3].text.map(ImportItem.Source.path), metadata: row[4].text,
                    state: ImportItem.State(rawValue: row[5].text ?? "") ?? .pending, reason: row[6].text, attempts: Int(row[7].integer ?? 0))
            }
        }
    }

    /// Records an item's state (an outcome, `storing`, or `pending` with a failed attempt counted).
    func record(job: String, position: Int, state: ImportItem.State, reason: String?, attempts: Int) throws {
        try locked { database in
            let statement = try database.cachedStatement("UPDATE import_items SET state = ?, reason = ?, attempts = ? WHERE job = ? AND position = ?")
            statement.reset()
            try statement.bind([.text(state.rawValue), reason.map(SQLiteValue.text) ?? .null, .integer(Int64(attempts)),
                                .text(job), .integer(Int64(position))])
            _ = try statement.step()
            statement.reset()
        }
    }
}

import Foundation

/// The SQLite schema, as named steps (see ``SchemaMigration``).
extension ImageStore {
    /// Forward migrations, in order.
    static let migrations: [SchemaMigration] = [
        SchemaMigration(name: "images, vectors, codes, thumbnails", statements: [
            """
            CREATE TABLE images (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                sha256 BLOB NOT NULL,
                format TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                byte_size INTEGER NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            )
            """,
            "CREATE INDEX images_sha256 ON images(sha256)",
            SharedTables.hashSchemes(.sqlite),
        ] + SharedTables.perImage(.sqlite) + [
            "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ]),
        // Keys become unique per collection; every record gets the change sequence number of its last write
        // (existing ones in id order); deletes leave tombstones. The single code scheme of a version-1 file
        // becomes the default collection's. Ids, and so every vector, code and thumbnail row, stay as they were.
        SchemaMigration(name: "collections, change sequence, tombstones", sql: """
            CREATE TABLE collections (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                settings TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                last_seq INTEGER NOT NULL DEFAULT 0,
                code_scheme_id INTEGER REFERENCES hash_schemes(id)
            );
            INSERT INTO collections (id, name, settings, created_at, last_seq, code_scheme_id)
                VALUES (1, 'default', '{}', CAST(strftime('%s', 'now') AS REAL), (SELECT count(*) FROM images),
                        (SELECT CAST(value AS INTEGER) FROM settings WHERE name = 'active_hash_scheme'
                         AND CAST(value AS INTEGER) IN (SELECT id FROM hash_schemes)));
            DELETE FROM settings WHERE name = 'active_hash_scheme';
            CREATE TABLE images_v2 (
                id INTEGER PRIMARY KEY,
                collection_id INTEGER NOT NULL REFERENCES collections(id),
                key TEXT NOT NULL,
                sha256 BLOB NOT NULL,
                format TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                byte_size INTEGER NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL,
                seq INTEGER NOT NULL,
                UNIQUE (collection_id, key)
            );
            INSERT INTO images_v2 (id, collection_id, key, sha256, format, width, height, byte_size, metadata,
                                   created_at, updated_at, seq)
                SELECT id, 1, key, sha256, format, width, height, byte_size, metadata, created_at, updated_at,
                       ROW_NUMBER() OVER (ORDER BY id)
                FROM images;
            DROP TABLE images;
            ALTER TABLE images_v2 RENAME TO images;
            CREATE INDEX images_sha256 ON images(collection_id, sha256);
            CREATE INDEX images_seq ON images(collection_id, seq);
            CREATE TABLE tombstones (
                collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                seq INTEGER NOT NULL,
                image_id INTEGER NOT NULL,
                key TEXT NOT NULL,
                PRIMARY KEY (collection_id, seq)
            );
            """, rebuildsTables: true),
        // Compaction of tombstones leaves a horizon below which deletions are no longer changes.
        SchemaMigration(name: "compaction horizon", sql: """
            ALTER TABLE collections ADD COLUMN compacted_through INTEGER NOT NULL DEFAULT 0;
            """),
        // A collection's images in id order: the start-up streams (vectors, codes, keys) read them without a sort,
        // which for the vectors meant copying every one (5 GB a million) through temporary files first.
        SchemaMigration(name: "images of a collection in id order", sql: """
            CREATE INDEX IF NOT EXISTS images_collection ON images(collection_id, id);
            """),
        SchemaMigration(name: "duplicate decisions", statements: SharedTables.duplicateDecisions(.sqlite)),
    ]
}

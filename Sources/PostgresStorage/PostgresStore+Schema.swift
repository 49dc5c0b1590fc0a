#if PostgreSQL
import Foundation
import Logging
import NIOCore
import PostgresNIO
public import Storage

/// The PostgreSQL schema, as named steps (see ``SchemaMigration``).
extension PostgresStore {
    static let migrations: [SchemaMigration] = [
        SchemaMigration(name: "collections, images, vectors, codes, thumbnails, change sequence", statements: [
            SharedTables.hashSchemes(.postgresql),
            """
            CREATE TABLE collections (
                id BIGSERIAL PRIMARY KEY,
                name TEXT COLLATE "C" NOT NULL UNIQUE,
                settings TEXT NOT NULL DEFAULT '{}',
                created_at DOUBLE PRECISION NOT NULL,
                last_seq BIGINT NOT NULL DEFAULT 0,
                code_scheme_id BIGINT REFERENCES hash_schemes(id)
            )
            """,
            // Keys sort by code point (the "C" collation over UTF-8), as in SQLite, so listings page alike.
            """
            CREATE TABLE images (
                id BIGSERIAL PRIMARY KEY,
                collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                key TEXT COLLATE "C" NOT NULL,
                sha256 BYTEA NOT NULL,
                format TEXT NOT NULL,
                width BIGINT NOT NULL,
                height BIGINT NOT NULL,
                byte_size BIGINT NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                seq BIGINT NOT NULL,
                UNIQUE (collection_id, key)
            )
            """,
            "CREATE INDEX images_sha256 ON images (collection_id, sha256)",
            "CREATE INDEX images_seq ON images (collection_id, seq)",
        ] + SharedTables.perImage(.postgresql) + [
            """
            CREATE TABLE tombstones (
                collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
                seq BIGINT NOT NULL,
                image_id BIGINT NOT NULL,
                key TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (collection_id, seq)
            )
            """,
        ]),
        SchemaMigration(name: "compaction horizon", statements: ["ALTER TABLE collections ADD COLUMN compacted_through BIGINT NOT NULL DEFAULT 0"]),
        SchemaMigration(name: "duplicate decisions", statements: SharedTables.duplicateDecisions(.postgresql)),
    ]
}
#endif

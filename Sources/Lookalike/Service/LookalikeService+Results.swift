public import Inference

extension LookalikeService {
    /// What an upload produced.
    public struct IngestResult: Sendable {
        public let record: ImageRecord
        /// Whether the id existed before (its image was replaced).
        public let replaced: Bool
        /// Stored near-duplicates found before storing (exact byte duplicates score 1).
        public let duplicates: [Match]
    }

    public struct Statistics: Sendable {
        public let images: Int
        public let indexed: Int
        public let tombstones: Int
        public let trees: Int
        public let indexBytes: Int
        public let rebuilds: Int
        public let model: String
        public let codeBits: Int
        public let codeScheme: String
        /// The change sequence number the index reflects.
        public let sequence: Int64
        public let queue: InferencePool.Statistics
    }

    /// A collection as listed: its size, index state, code scheme and model.
    public struct CollectionSummary: Sendable, Equatable {
        public let name: String
        public let images: Int
        /// Stored bytes: vectors, codes, thumbnails and originals.
        public let bytes: Int
        /// Memory held by its index.
        public let indexBytes: Int
        /// `loading`, `exact` (small enough to scan), or the kind once its structure is built (`forest`, `graph`).
        public let indexState: String
        /// The collection's kind of index: `forest` or `graph`.
        public let indexKind: String
        public let codeScheme: String
        public let codeBits: Int
        public let model: String
        public let createdAt: Double
        public let sequence: Int64
        /// Declared metadata fields and their types.
        public let indexes: [String: String]
        /// How its images become vectors.
        public let recipe: EmbeddingRecipe
        /// Its re-embedding in progress, or the last one this node ran since it started.
        public let recipeChange: RecipeChangeStatus?
    }

}

/// One page of near-duplicate groups.
public struct DuplicateGroups: Sendable, Equatable {
    /// Each group's keys, sorted; groups ordered by their first key.
    public let groups: [[String]]
    /// Groups and grouped images in the whole collection.
    public let totalGroups: Int
    public let totalImages: Int
    /// The cursor for the next page (the last group's first key), nil on the last page.
    public let next: String?
}

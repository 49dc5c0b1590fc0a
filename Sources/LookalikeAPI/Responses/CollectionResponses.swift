import HTTPServer
import Lookalike

/// A collection as listed and described.
struct CollectionBody: Encodable {
    let summary: LookalikeService.CollectionSummary

    enum CodingKeys: String, CodingKey {
        case name, images, bytes, model, sequence, indexes
        case indexBytes = "index_bytes"
        case indexState = "index_state"
        case indexKind = "index_kind"
        case codeScheme = "code_scheme"
        case codeBits = "code_bits"
        case createdAt = "created_at"
        case recipe
        case recipeChange = "recipe_change"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(summary.name, forKey: .name)
        try container.encode(summary.images, forKey: .images)
        try container.encode(summary.bytes, forKey: .bytes)
        try container.encode(summary.indexBytes, forKey: .indexBytes)
        try container.encode(summary.indexState, forKey: .indexState)
        try container.encode(summary.indexKind, forKey: .indexKind)
        try container.encode(summary.codeScheme, forKey: .codeScheme)
        try container.encode(summary.codeBits, forKey: .codeBits)
        try container.encode(summary.model, forKey: .model)
        try container.encode(summary.sequence, forKey: .sequence)
        try container.encode(InternetTimestamp.string(secondsSince1970: summary.createdAt), forKey: .createdAt)
        try container.encode(summary.indexes, forKey: .indexes)
        try container.encode(RecipeBody(recipe: summary.recipe), forKey: .recipe)
        if let change = summary.recipeChange { try container.encode(RecipeChangeBody(status: change), forKey: .recipeChange) }
    }
}

/// A recipe: how images become vectors.
struct RecipeBody: Encodable {
    let recipe: EmbeddingRecipe

    enum CodingKeys: String, CodingKey {
        case crop
        case trimBorders = "trim_borders"
        case mirrorAverage = "mirror_average"
        case featurePower = "feature_power"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(recipe.cropName, forKey: .crop)
        try container.encode(recipe.trimBorders, forKey: .trimBorders)
        try container.encode(recipe.mirrorAverage, forKey: .mirrorAverage)
        // The decimal the recipe was given as (0.8, not 0.800000011920929).
        try container.encode(Double("\(recipe.featurePower)") ?? 1, forKey: .featurePower)
    }
}

/// A re-embedding's progress.
struct RecipeChangeBody: Encodable {
    let status: RecipeChangeStatus

    enum CodingKeys: String, CodingKey {
        case state, from, target, total, done, resumed, error, failures
        case imagesPerSecond = "images_per_second"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status.state.rawValue, forKey: .state)
        try container.encode(RecipeBody(recipe: status.from), forKey: .from)
        try container.encode(RecipeBody(recipe: status.target), forKey: .target)
        try container.encode(status.total, forKey: .total)
        try container.encode(status.done, forKey: .done)
        try container.encode(status.resumed, forKey: .resumed)
        try container.encode((status.rate * 10).rounded() / 10, forKey: .imagesPerSecond)
        try container.encode(InternetTimestamp.string(secondsSince1970: status.started.timeIntervalSince1970), forKey: .startedAt)
        if let finished = status.finished {
            try container.encode(InternetTimestamp.string(secondsSince1970: finished.timeIntervalSince1970), forKey: .finishedAt)
        }
        try container.encodeIfPresent(status.error, forKey: .error)
        if !status.failures.isEmpty {
            try container.encode(status.failures.map { ["id": $0.key, "reason": $0.reason] }, forKey: .failures)
        }
    }
}

struct CollectionListBody: Encodable {
    let collections: [CollectionBody]
}

/// One page of near-duplicate groups.
struct DuplicateGroupsBody: Encodable {
    let groups: [[String]]
    let totalGroups: Int
    let totalImages: Int
    let threshold: Double
    /// The cursor of the next page; absent on the last.
    let next: String?

    enum CodingKeys: String, CodingKey {
        case groups, threshold, next
        case totalGroups = "total_groups"
        case totalImages = "total_images"
    }
}

/// A "not duplicates" decision.
struct DecisionBody: Encodable {
    let decision: DuplicateDecision

    enum CodingKeys: String, CodingKey {
        case id, ids, decision
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(String(decision.id), forKey: .id)
        try container.encode("not_duplicates", forKey: .decision)
        try container.encode(decision.keys, forKey: .ids)
        try container.encode(InternetTimestamp.string(secondsSince1970: decision.createdAt), forKey: .createdAt)
    }
}

struct DecisionListBody: Encodable {
    let decisions: [DecisionBody]
}

/// A collection's statistics.
struct StatsBody: Encodable {
    let images: Int
    let indexed: Int
    let tombstones: Int
    let trees: Int
    let indexBytes: Int
    let indexRebuilds: Int
    let model: String
    let codeBits: Int
    let codeScheme: String
    let inferenceQueue: Int
    let imagesEmbedded: Int
    let ready: Bool
    let collection: String
    let sequence: Int64

    enum CodingKeys: String, CodingKey {
        case images, indexed, tombstones, trees, model, ready, collection, sequence
        case indexBytes = "index_bytes"
        case indexRebuilds = "index_rebuilds"
        case codeBits = "code_bits"
        case codeScheme = "code_scheme"
        case inferenceQueue = "inference_queue"
        case imagesEmbedded = "images_embedded"
    }
}

/// A backup's file and size.
struct BackupBody: Encodable {
    let path: String
    let bytes: Int
    let tookMilliseconds: Double

    enum CodingKeys: String, CodingKey {
        case path, bytes
        case tookMilliseconds = "took_ms"
    }
}

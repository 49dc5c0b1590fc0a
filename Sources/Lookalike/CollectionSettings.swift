import Foundation
public import MetadataFilter

/// What a collection is created with (`POST /v1/collections` body, `lookalike collections create`), fixed for
/// its life but for the recipe, which re-embedding changes. Omitted fields take the service configuration's values.
public struct CollectionSettings: Sendable, Equatable {
    /// The binary-code scheme: random hyperplanes, or ITQ learned from the collection's own images.
    public var codeScheme: CodeSchemeKind
    /// Code length: 64, 128 or 256.
    public var codeBits: Int
    /// Metadata fields held in memory as typed columns for fast filtering; uploads must give them values of
    /// their type.
    public var indexes: AttributeSchema
    /// The kind of index: the forest (full vectors in memory) or the graph (compressed, for millions).
    public var indexKind: IndexKind
    /// How images become vectors; nil: the service configuration's recipe. Changed by re-embedding.
    public var recipe: EmbeddingRecipe?
    /// The recipe a re-embedding in progress moves the collection to (stored, so a restart resumes it).
    public var recipeChange: EmbeddingRecipe?

    public init(codeScheme: CodeSchemeKind, codeBits: Int, indexes: AttributeSchema = AttributeSchema(),
                indexKind: IndexKind = .forest, recipe: EmbeddingRecipe? = nil) {
        self.codeScheme = codeScheme
        self.codeBits = codeBits
        self.indexes = indexes
        self.indexKind = indexKind
        self.recipe = recipe
    }

    /// The service configuration's defaults.
    public init(defaults configuration: Configuration) {
        self.init(codeScheme: configuration.hashing.scheme, codeBits: configuration.hashing.bits)
    }

    static let allowedBits: Set<Int> = [64, 128, 256]

    /// Parses settings given as a JSON object (unknown keys and bad values are errors naming the key). A recipe's
    /// fields left out take `recipeBase`'s values.
    public static func parse(_ object: [String: Any], defaults: CollectionSettings,
                             recipeBase: EmbeddingRecipe = EmbeddingRecipe()) throws -> CollectionSettings {
        try parse(object, defaults: defaults, recipeBase: recipeBase, storedForm: false)
    }

    private static func parse(_ object: [String: Any], defaults: CollectionSettings, recipeBase: EmbeddingRecipe,
                              storedForm: Bool) throws -> CollectionSettings {
        var settings = defaults
        for (key, value) in object {
            switch key {
            case "recipe":
                settings.recipe = try EmbeddingRecipe.parse(value, base: recipeBase)
            case "recipe_change" where storedForm:
                settings.recipeChange = try EmbeddingRecipe.parse(value, base: recipeBase)
            case "code_scheme":
                guard let text = value as? String, let kind = CodeSchemeKind(rawValue: text) else {
                    throw LookalikeError.invalidArgument(
                        "code_scheme must be one of \(CodeSchemeKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                settings.codeScheme = kind
            case "code_bits":
                guard let bits = value as? Int, allowedBits.contains(bits) else {
                    throw LookalikeError.invalidArgument("code_bits must be 64, 128 or 256")
                }
                settings.codeBits = bits
            case "indexes":
                guard let fields = value as? [String: Any] else {
                    throw LookalikeError.invalidArgument("indexes must be an object of field: type")
                }
                var declaration: [String: FilterValue] = [:]
                for (field, kind) in fields { declaration[field] = (kind as? String).map(FilterValue.string) ?? .null }
                do {
                    settings.indexes = try AttributeSchema(declaration: .object(declaration))
                } catch {
                    throw LookalikeError.invalidArgument(error.description)
                }
            case "index":
                guard let index = value as? [String: Any] else {
                    throw LookalikeError.invalidArgument(#"index must be an object such as {"kind": "graph"}"#)
                }
                for (field, value) in index {
                    guard field == "kind" else {
                        throw LookalikeError.invalidArgument("unknown index setting '\(field.prefix(64))'")
                    }
                    guard let text = value as? String, let kind = IndexKind(rawValue: text) else {
                        throw LookalikeError.invalidArgument(
                            "index.kind must be one of \(IndexKind.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    settings.indexKind = kind
                }
            default:
                throw LookalikeError.invalidArgument("unknown collection setting '\(key.prefix(64))'")
            }
        }
        return settings
    }

    /// The stored form (a JSON object with every field, sorted keys).
    public var json: String {
        #"{"code_bits":\#(codeBits),"code_scheme":"\#(codeScheme.rawValue)""#
            + (indexKind == .forest ? "" : #","index":{"kind":"\#(indexKind.rawValue)"}"#)
            + (indexes.fields.isEmpty ? "" : #","indexes":\#(indexes.declaration.json)"#)
            + (recipe.map { #","recipe":\#($0.json)"# } ?? "") + (recipeChange.map { #","recipe_change":\#($0.json)"# } ?? "") + "}"
    }

    /// Whether stored settings name a recipe of their own (rather than the configured one).
    static func hasOwnRecipe(_ text: String) -> Bool {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return false }
        return object["recipe"] != nil
    }

    /// Reads the stored form; fields missing from older rows (the migrated default collection stores `{}`)
    /// take `defaults`.
    static func stored(_ text: String, defaults: CollectionSettings) -> CollectionSettings {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let settings = try? parse(object, defaults: defaults, recipeBase: EmbeddingRecipe(), storedForm: true) else { return defaults }
        return settings
    }
}

/// The binary-code schemes.
public enum CodeSchemeKind: String, Codable, Sendable, CaseIterable {
    /// Random hyperplanes (SimHash).
    case simhash
    /// Iterative quantization, learned once the collection holds `hashing.itqMinimumImages`; random hyperplanes
    /// until then.
    case itq
}

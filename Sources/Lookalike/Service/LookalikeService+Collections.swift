import Foundation
import Storage

/// Creating, listing, describing and deleting collections.
extension LookalikeService {
    /// Creates a collection. `settings` is a JSON object (see ``CollectionSettings``), nil for the defaults.
    public func createCollection(name: String, settings: [String: Any]? = nil) throws -> CollectionSummary {
        guard StoredCollection.isValidName(name) else { throw StorageError.invalidCollectionName(name) }
        let parsed = try CollectionSettings.parse(settings ?? [:], defaults: CollectionSettings(defaults: configuration),
                                                  recipeBase: embedder.embeddingRecipe)
        // The name is reserved first, so two creations cannot both pass the cap or the name check, without
        // holding the registry's lock across the store's insert and the load.
        try registry.reserve(name)
        let collection: ImageCollection
        do {
            let stored: StoredCollection
            do {
                stored = try store.createCollection(name: name, settings: parsed.json)
            } catch StorageError.collectionExists {
                throw LookalikeError.collectionExists(name)
            }
            collection = try openCollection(stored)
            // A snapshot left by an earlier collection of this name describes other images.
            collection.index.removeSnapshot()
            try collection.load()
        } catch {
            registry.release(name)
            throw error
        }
        registry.publish(collection)
        return try summary(of: collection)
    }

    /// Every collection, by name.
    public func listCollections() throws -> [CollectionSummary] {
        try registry.all.map(summary(of:))
    }

    /// Collections whose index is building its first approximate structure in the background (after a start
    /// without a usable snapshot): they answer, exactly, until it is ready.
    public var collectionsBuildingIndexes: [String] {
        registry.all.filter { $0.index.accounting.building }.map(\.name).sorted()
    }

    /// Throws ``LookalikeError/collectionNotFound(_:)`` unless a collection named `name` exists.
    public func requireCollection(_ name: String) throws { _ = try collection(name) }

    public func describeCollection(_ name: String) throws -> CollectionSummary {
        try summary(of: collection(name))
    }

    func summary(of collection: ImageCollection) throws -> CollectionSummary {
        let usage = try collection.usage()
        let accounting = collection.index.accounting
        let scheme = collection.codeScheme
        let kind = collection.settings.indexKind
        let state = collection.indexLoad == nil ? "loading"
            : accounting.structures > 0 ? kind.rawValue : accounting.building ? "building" : "exact"
        return CollectionSummary(
            name: collection.name, images: usage.images, bytes: usage.bytes, indexBytes: accounting.memoryBytes,
            indexState: state, indexKind: kind.rawValue, codeScheme: scheme.kind, codeBits: scheme.bits, model: collection.modelName,
            createdAt: collection.createdAt, sequence: accounting.sequence,
            indexes: collection.settings.indexes.fields.mapValues(\.rawValue), recipe: collection.embedder.embeddingRecipe,
            recipeChange: recipeChanges.withLockedValue { $0[collection.id] }?.status)
    }

    /// Deletes a collection: every row, code, thumbnail and its snapshot file. Other collections keep serving.
    /// The default collection is emptied and recreated, so the routes without a collection name keep working.
    public func deleteCollection(_ name: String) throws {
        let removed = try registry.beginDeleting(name)
        defer { registry.finishDeleting(removed) }
        removed.close(removingSnapshot: true)
        try store.deleteCollection(id: removed.id)
        if name == Self.defaultCollection {
            _ = try createCollection(name: name)
        }
    }

}

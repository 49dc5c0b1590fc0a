import Dispatch
import Foundation
import NIOConcurrencyHelpers
import Storage
import Synchronization

/// Online re-embedding: a collection moves to another recipe while it keeps serving. New vectors are computed in
/// the background from the stored originals (uploads meanwhile get both), kept in a staging file of this node,
/// then the collection switches store, index and query embedding at once (``ImageCollection/switchRecipe``).
/// The target is stored in the collection's settings, so a restart resumes the work; with a shared database one
/// node holds the work and the others follow the switch.
extension LookalikeService {
    /// Starts moving `collection` to the recipe `recipe` describes (a JSON object; fields left out keep the
    /// collection's current values). Returns at once; ``recipeChange(collection:)`` follows the work. Nothing
    /// happens when the recipe is the current one.
    @discardableResult
    public func changeRecipe(collection name: String, to recipe: Any) throws -> CollectionSummary {
        guard isReady else { throw LookalikeError.notReady }
        let collection = try collection(name)
        let current = collection.embedder.embeddingRecipe
        let target = try EmbeddingRecipe.parse(recipe, base: current)
        if let running = recipeChanges.withLockedValue({ $0[collection.id] }), running.status.finished == nil {
            throw Self.refusal(collection: name, running: running)
        }
        guard target != current else { return try summary(of: collection) }
        guard configuration.storage.keepOriginals else {
            throw LookalikeError.recipeChangeRefused(
                "re-embedding recomputes every vector from its stored original, and this service keeps none (storage.keepOriginals)")
        }
        // Registered before the settings are stored, so two requests cannot both start one.
        let change = RecipeChange(collectionID: collection.id, collectionName: collection.name, from: current,
                                  target: embedder(for: target))
        try recipeChanges.withLockedValue { changes in
            if let running = changes[collection.id], running.status.finished == nil {
                throw Self.refusal(collection: name, running: running)
            }
            changes[collection.id] = change
        }
        var settings = collection.settings
        settings.recipeChange = target
        do {
            try store.updateSettings(settings.json, collection: collection.id)
        } catch {
            recipeChanges.withLockedValue { $0[collection.id] = nil }
            throw error
        }
        change.start { [weak self] in self?.runRecipeChange(change) }
        return try summary(of: collection)
    }

    private static func refusal(collection name: String, running: RecipeChange) -> LookalikeError {
        let status = running.status
        return .recipeChangeRefused("collection '\(name)' is being re-embedded to \(status.target) (\(status.done) of \(status.total) done)")
    }

    /// The collection's re-embedding in progress, or the last one this node ran since it started.
    public func recipeChange(collection name: String) throws -> RecipeChangeStatus? {
        let collection = try collection(name)
        return recipeChanges.withLockedValue { $0[collection.id] }?.status
    }

    /// Resumes the re-embeddings stored as in progress (after a restart). Called once the indexes are loaded.
    public func startRecipeChanges() {
        for collection in registry.all {
            guard let target = collection.settings.recipeChange,
                  recipeChanges.withLockedValue({ $0[collection.id] }) == nil else { continue }
            startRecipeChange(of: collection, from: collection.embedder.embeddingRecipe, to: target)
        }
    }

    /// Stops the re-embeddings' work (it resumes at the next start) and waits for it.
    func stopRecipeChanges() {
        for change in recipeChanges.withLockedValue({ Array($0.values) }) { change.stop() }
    }

    private func startRecipeChange(of collection: ImageCollection, from: EmbeddingRecipe, to target: EmbeddingRecipe) {
        let change = RecipeChange(collectionID: collection.id, collectionName: collection.name, from: from,
                                  target: embedder(for: target))
        recipeChanges.withLockedValue { $0[collection.id] = change }
        change.start { [weak self] in self?.runRecipeChange(change) }
    }

    func staging() throws -> RecipeStaging {
        try recipeStaging.withLockedValue { staging in
            if let staging { return staging }
            let opened = try RecipeStaging(path: configuration.storage.databasePath + ".recipes")
            staging = opened
            return opened
        }
    }

    /// An upload during a re-embedding also gets its vector of the target recipe (a failure here is left to the
    /// re-embedding's next pass).
    func stageForRecipeChange(_ bytes: [UInt8], sha256: [UInt8], image: Int64, collection: ImageCollection) {
        guard let change = recipeChanges.withLockedValue({ $0[collection.id] }), change.isComputing else { return }
        guard let embedding = try? change.target.embedBlocking(bytes) else { return }
        try? staging().stage(collection: collection.id, image: image, sha256: sha256,
                             model: change.target.recipe.description, vector: embedding.vector)
    }

    /// The work of one re-embedding, on its own thread: this node's when it holds the collection's claim, else
    /// waiting for the node that does.
    func runRecipeChange(_ change: RecipeChange) {
        do {
            while !change.isStopping {
                let worked = try store.whileHolding(claim: "lookalike.recipe.\(change.collectionID)") {
                    try computeAndSwitch(change)
                }
                if worked != nil { return }
                // Another node works on it: this one switches when its follower sees the new settings.
                change.update { $0.state = .elsewhere }
                guard let stored = try store.collection(named: change.collectionName), stored.id == change.collectionID else {
                    throw LookalikeError.collectionNotFound(change.collectionName)
                }
                let settings = CollectionSettings.stored(stored.settings, defaults: CollectionSettings(defaults: configuration))
                if settings.recipe == change.target.embeddingRecipe {
                    change.finish(.done)
                    return
                }
                guard settings.recipeChange == change.target.embeddingRecipe else {
                    change.finish(.failed, error: "the node doing the work stopped it")
                    return
                }
                Thread.sleep(forTimeInterval: 1)
            }
        } catch {
            change.finish(.failed, error: "\(error)")
            // The collection keeps its recipe; the stored target goes, so a restart does not start again.
            if let collection = registry[change.collectionName], collection.id == change.collectionID {
                var settings = collection.settings
                settings.recipeChange = nil
                try? store.updateSettings(settings.json, collection: collection.id)
            }
            try? staging().clear(collection: change.collectionID)
        }
    }

    /// Images left to compute at which the passes stop and the switch computes the rest itself (uploads
    /// wait for the switch).
    static let recipeSwitchResidue = 32

    private func computeAndSwitch(_ change: RecipeChange) throws {
        let staging = try staging()
        let model = change.target.recipe.description
        var pass = 0
        while true {
            guard !change.isStopping else { return }
            guard let collection = registry[change.collectionName], collection.id == change.collectionID else {
                throw LookalikeError.collectionNotFound(change.collectionName)
            }
            let staged = try staging.stagedImages(collection: collection.id, model: model)
            var pending: [StoredImage] = []
            var total = 0
            var after: String?
            while true {
                let page = try store.list(collection: collection.id, limit: 512, after: after)
                guard let last = page.last else { break }
                after = last.key
                total += page.count
                pending += page.filter { staged[$0.id] != $0.sha256 }
            }
            change.update {
                $0.total = total
                $0.done = total - pending.count
                if pass == 0 { $0.resumed = $0.done }
            }
            if pending.isEmpty || (pass > 0 && pending.count <= Self.recipeSwitchResidue) { break }
            let failures = try computeStaged(pending, change: change, staging: staging)
            if !failures.isEmpty {
                change.update { $0.failures = Array(failures.prefix(20)) }
                throw LookalikeError.recipeChangeRefused(
                    "\(failures.count) images could not be re-embedded (first: \(failures[0].key): \(failures[0].reason))")
            }
            pass += 1
        }
        guard !change.isStopping else { return }
        change.update { $0.state = .switching }
        let current = try collection(change.collectionName)
        try current.switchRecipe(to: change.target, vector: { record in
            if let vector = try staging.vector(collection: record.collectionID, image: record.id, sha256: record.sha256, model: model) {
                return vector
            }
            return try reembedded(record, with: change.target).vector
        }, successor: { _ in
            guard let stored = try store.collection(named: change.collectionName), stored.id == change.collectionID else {
                throw LookalikeError.collectionNotFound(change.collectionName)
            }
            let successor = try openCollection(stored)
            try successor.load()
            return successor
        }, publish: { successor in
            registry.replace(current, with: successor)
        })
        try? staging.clear(collection: change.collectionID)
        change.update { $0.done = $0.total }
        try sweepOtherRecipes(change.collectionName)
        change.finish(.done)
    }

    /// Re-embeds the images whose vectors another recipe made after a switch: uploads another node stored
    /// through its collection of the old recipe before it followed the switch.
    func sweepOtherRecipes(_ name: String) throws {
        let outcome = try reembed(collection: name)
        if let failure = outcome.failed.first {
            throw LookalikeError.recipeChangeRefused("\(outcome.failed.count) images stored meanwhile could not be re-embedded "
                                                     + "(first: \(failure.key): \(failure.reason))")
        }
    }

    /// Computes and stages the new vectors of `records` on as many lanes as there are inference workers; returns
    /// the images that failed.
    private func computeStaged(_ records: [StoredImage], change: RecipeChange, staging: RecipeStaging) throws -> [RecipeChangeStatus.Failure] {
        let next = Atomic(0)
        let failures = NIOLockedValueBox<[RecipeChangeStatus.Failure]>([])
        let model = change.target.recipe.description
        DispatchQueue.concurrentPerform(iterations: max(1, inferenceWorkers)) { _ in
            while !change.isStopping {
                let position = next.add(1, ordering: .relaxed).oldValue
                guard position < records.count else { return }
                let record = records[position]
                do {
                    let embedded = try reembedded(record, with: change.target)
                    try staging.stage(collection: record.collectionID, image: record.id, sha256: embedded.sha256,
                                      model: model, vector: embedded.vector)
                    change.update { $0.done += 1 }
                } catch is StoredImageGone {
                    // Deleted or replaced meanwhile: the next pass lists what is stored then.
                } catch {
                    failures.withLockedValue { $0.append(RecipeChangeStatus.Failure(key: record.key, reason: "\(error)")) }
                }
            }
        }
        return failures.withLockedValue { $0 }
    }

    /// The image's new vector from its stored original, with the SHA-256 of the bytes it was made from.
    private func reembedded(_ record: StoredImage, with embedder: ImageEmbedder) throws -> (vector: [Float], sha256: [UInt8]) {
        guard let bytes = try store.original(key: record.key, collection: record.collectionID) else {
            if try store.image(key: record.key, collection: record.collectionID) == nil { throw StoredImageGone() }
            throw LookalikeError.recipeChangeRefused("no stored original (it was stored before storage.keepOriginals was on)")
        }
        return (try embedder.embedBlocking(bytes).vector, SHA256.hash(bytes))
    }
}

/// An image a re-embedding pass listed is no longer stored.
private struct StoredImageGone: Error {}

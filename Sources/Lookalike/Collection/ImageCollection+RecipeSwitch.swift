import Foundation
import Storage
import VectorIndex

/// The end of a re-embedding: the store, the index and new uploads move to the new recipe at once.
extension ImageCollection {
    /// Switches to `target`'s recipe, under the write lock (uploads wait; searches go on against this object's
    /// index): every stored image gets its new vector (`vector` returns the staged one, or computes it), codes
    /// are recomputed, the store switches vectors, codes and settings in one transaction, then `successor` opens
    /// and loads the collection anew and `publish` puts it in this object's place. Writes still waiting on this
    /// object then fail with ``CollectionSuperseded`` and are retried on the successor.
    ///
    /// An ITQ scheme learned from the old vectors is left for random hyperplanes, which the successor retrains
    /// from the new vectors once it is due.
    func switchRecipe(
        to target: ImageEmbedder, vector: (StoredImage) throws -> [Float],
        successor: (CollectionSettings) throws -> ImageCollection, publish: (ImageCollection) -> Void
    ) throws {
        try writes.withLockedValue { state in
            try state.checkWritable(name)
            try applyStoredChanges(&state)
            var scheme = codeScheme
            if scheme.kind == CodeSchemeKind.itq.rawValue {
                let hasher = RandomHyperplaneHasher(bits: settings.codeBits, dimension: dimension,
                                                    seed: UInt64(configuration.hashing.seed))
                let schemeID = try store.saveHashScheme(kind: CodeSchemeKind.simhash.rawValue, bits: settings.codeBits,
                                                        dimension: dimension, parameters: hasher.projection)
                scheme = CodeScheme(id: schemeID, encoder: .simhash(hasher))
            }
            let model = target.recipe.description
            var replacements: [VectorReplacement] = []
            var after: String?
            while true {
                let page = try store.list(collection: id, limit: 512, after: after)
                guard let last = page.last else { break }
                after = last.key
                for record in page {
                    let values = try vector(record)
                    let code = scheme.code(for: values)
                    replacements.append(VectorReplacement(
                        id: record.id, model: model, vector: values,
                        code: StoredCode(schemeID: scheme.id, bits: scheme.bits, words: code.words)))
                }
            }
            var next = settings
            next.recipe = target.embeddingRecipe
            next.recipeChange = nil
            try store.switchVectors(replacements, settings: next.json, codeScheme: scheme.id, collection: id)
            // The snapshot describes the old vectors; a rebuild still running would save another.
            index.waitForRebuild()
            index.removeSnapshot()
            state.superseded = true
            publish(try successor(next))
        }
    }

    /// Puts a successor in this object's place after another node switched the store to another recipe: under the
    /// write lock, so writes waiting here go to the successor (``CollectionSuperseded``).
    func handOver(to install: () throws -> Void) throws {
        try writes.withLockedValue { state in
            try state.checkWritable(name)
            index.waitForRebuild()
            index.removeSnapshot()
            state.superseded = true
            try install()
        }
    }
}

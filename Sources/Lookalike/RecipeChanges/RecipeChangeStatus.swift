public import Foundation

/// Where a collection's re-embedding stands (``LookalikeService/recipeChange(collection:)``).
public struct RecipeChangeStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        /// New vectors are being computed; searches and uploads use the old recipe.
        case running
        /// Another node holds the work (a shared database); this one switches when it is done.
        case elsewhere
        /// Every image has its new vector; the store, index and recipe are being switched.
        case switching
        /// The collection uses the new recipe.
        case done
        /// Stopped without switching (``error`` says why); the collection keeps its old recipe.
        case failed
    }

    public var state: State
    public var from: EmbeddingRecipe
    public var target: EmbeddingRecipe
    /// Images in the collection when the last pass began.
    public var total: Int
    /// Images with a vector of the new recipe.
    public var done: Int
    /// Images that already had one when this node's work began (computed before a restart, or by uploads).
    public var resumed: Int
    public var started: Date
    public var finished: Date?
    /// Why it failed.
    public var error: String?
    /// Images that could not be re-embedded (the first few), with the reason.
    public var failures: [Failure]

    public struct Failure: Sendable, Equatable {
        public let key: String
        public let reason: String
    }

    /// Images per second this node computed since its work began.
    public var rate: Double {
        let seconds = (finished ?? Date()).timeIntervalSince(started)
        return seconds > 0 ? Double(done - resumed) / seconds : 0
    }
}
